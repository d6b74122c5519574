"""Two real bot processes, shards 0 and 1 of 2, on one PostgreSQL database and one fake Discord.

Each process is `python bot.py` with SHARD_COUNT=2 and its own SHARD_IDS; the fake sends each
guild's events to the session of shard `(guild_id >> 22) % 2`. What two processes must agree on
(one call per interaction, one vote under way per member and link, the vote limit, the pending
rows of a process that died) is decided by the database.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import pytest
from pydantic import SecretStr

from storage.models import LedgerStatus, NewLink
from storage.postgres.database import PostgresDatabase
from tests.bot_world import BOT_SCRIPT, GENERAL, GUILD_ID, MODERATOR, BotWorld, public_result
from tests.fake_discord import Channel, Exchange, Member, slash
from tests.fake_discord.gateway import IDENTIFY_WINDOW, shard_of
from tests.helpers_faults import world_environment
from tests.helpers_ledger import calls

pytestmark = pytest.mark.postgres_only

SHARDS = 2
OTHER_GUILD = GUILD_ID + (1 << 22)  # the next guild id on the other shard
OTHER_CHANNEL = Channel(OTHER_GUILD + 10, "votes", OTHER_GUILD)
START_TIMEOUT = 30
# A call held at the sandbox's gate outlives a restart, which waits up to 6 s for its turn to
# IDENTIFY: it must not time out meanwhile.
TRACKER_READ_TIMEOUT = 30


@dataclass
class Link:
    channel: Channel
    shard: int


class ShardedBots:
    """The world's bot as two `python bot.py` processes, one per shard."""

    def __init__(self, world: BotWorld, cwd: Path, identify_window: float) -> None:
        self.world = world
        self._cwd = cwd
        self._identify_window = identify_window
        self._processes: dict[int, asyncio.subprocess.Process] = {}

    async def start(self, shard: int) -> None:
        """Start the shard's process and return once it identified (a new session)."""
        gateway = self.world.fake.gateway
        before = gateway.session_id(shard)
        env = world_environment(
            self.world,
            SHARD_COUNT=str(SHARDS),
            SHARD_IDS=str(shard),
            DEV_GUILD_ID="",
            TRACKER_READ_TIMEOUT=str(TRACKER_READ_TIMEOUT),
            DISCORD_IDENTIFY_WINDOW_SECONDS=str(self._identify_window),
        )
        with (self._cwd / f"shard{shard}.log").open("ab") as log:
            process = await asyncio.create_subprocess_exec(
                sys.executable, str(BOT_SCRIPT), cwd=self._cwd, env=env, stdout=log, stderr=log
            )
        self._processes[shard] = process
        deadline = asyncio.get_running_loop().time() + START_TIMEOUT
        while gateway.session_id(shard) in (None, before):
            if process.returncode is not None or asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"shard {shard} did not connect: {self.log(shard)}")
            await asyncio.sleep(0.05)

    async def kill(self, shard: int) -> None:
        process = self._processes.pop(shard)
        process.kill()
        await process.wait()

    async def terminate(self, shard: int) -> None:
        """A clean stop (SIGTERM), as a rolling restart does."""
        process = self._processes.pop(shard)
        process.terminate()
        await process.wait()

    async def stop(self) -> None:
        for shard in list(self._processes):
            await self.kill(shard)

    def log(self, shard: int) -> str:
        return (self._cwd / f"shard{shard}.log").read_text(errors="replace")


@pytest.fixture
async def links(world: BotWorld) -> dict[int, Link]:
    """A link in a guild of each shard; the other guild is announced to the sharded bots."""
    now = world.sandbox.now()
    found = {}
    for channel in (GENERAL, OTHER_CHANNEL):
        assert channel.guild_id is not None
        await world.db.add_link(
            NewLink(
                guild_id=channel.guild_id,
                channel_id=channel.id,
                name="main",
                link_token=SecretStr(world.new_link_token()),
                added_by=MODERATOR.id,
            ),
            now=now,
        )
        found[shard_of(channel.guild_id, SHARDS)] = Link(
            channel, shard_of(channel.guild_id, SHARDS)
        )
    assert set(found) == {0, 1}
    return found


@contextlib.asynccontextmanager
async def sharded(
    world: BotWorld, cwd: Path, identify_window: float | None = None
) -> AsyncIterator[ShardedBots]:
    """Stop the world's bot, announce the other guild, and run shards 0 and 1 in two processes,
    with the world's window for IDENTIFY or `identify_window` (the fake's and the bots')."""
    await world.stop()
    world.fake.add_guild(OTHER_GUILD, "Other server", channels=[OTHER_CHANNEL])
    if identify_window is not None:
        world.fake.gateway.identify_window = identify_window
    running = ShardedBots(
        world, cwd, identify_window or world.settings.discord_identify_window_seconds
    )
    try:
        await asyncio.gather(running.start(0), running.start(1))
        yield running
    finally:
        await running.stop()


@pytest.fixture
async def bots(
    world: BotWorld, links: dict[int, Link], tmp_path: Path
) -> AsyncIterator[ShardedBots]:
    async with sharded(world, tmp_path) as running:
        yield running


@contextlib.asynccontextmanager
async def ledger_of(world: BotWorld) -> AsyncIterator[PostgresDatabase]:
    """The shared database, opened as a third process would."""
    assert world.settings.database_url is not None
    assert world.settings.token_key is not None
    async with PostgresDatabase.connect(
        world.settings.database_url.get_secret_value(),
        world.settings.token_key.get_secret_value().encode(),
    ) as db:
        yield db


async def members(world: BotWorld, count: int) -> list[Member]:
    """Members with tracker accounts of their own, connected through the world's bot."""
    now = world.sandbox.now()
    found = []
    for n in range(count):
        member = Member(830_000_000_000_000_000 + n, f"member{n}")
        await world.db.save_account(member.id, world.sandbox.add_user().api_token, None, now=now)
        found.append(member)
    return found


async def vote(
    world: BotWorld, member: Member, link: Link, *, shard: int | None = None
) -> Exchange:
    payload = slash("vote", "add", member=member, channel=link.channel)
    return await world.fake.interact(payload, shard=shard)


async def test_each_guild_s_votes_reach_its_shard_and_each_is_played_once(
    world: BotWorld, links: dict[int, Link], tmp_path: Path
) -> None:
    voters = [(member, links[n % 2]) for n, member in enumerate(await members(world, 200))]
    async with sharded(world, tmp_path):
        exchanges = await asyncio.gather(*(vote(world, member, link) for member, link in voters))
        announced = await asyncio.gather(*(public_result(exchange) for exchange in exchanges))

    for (member, link), exchange, message in zip(voters, exchanges, announced, strict=True):
        assert exchange.shard == link.shard
        assert f"<@{member.id}> voted" in message.content
    assert len(world.sandbox.requests) == 200
    assert world.fake.gateway.shards == {(0, SHARDS), (1, SHARDS)}
    assert world.fake.errors == []
    assert len(calls(world.ledger_location, LedgerStatus.PLAYED)) == 200
    assert len(calls(world.ledger_location)) == 200
    lives = await _lives_per_guild(world)
    assert set(lives) == {GUILD_ID, OTHER_GUILD}
    assert all(len(found) == 1 for found in lives.values()), lives  # one process per guild
    assert lives[GUILD_ID] != lives[OTHER_GUILD]


async def test_one_interaction_delivered_to_both_processes_is_played_and_answered_once(
    world: BotWorld, links: dict[int, Link], bots: ShardedBots
) -> None:
    world.sandbox.gate = gate = asyncio.Event()
    exchange = await vote(world, MODERATOR, links[0])
    await world.sandbox.wait_for_requests(1)
    await world.fake.redeliver(exchange)  # to shard 0's session again, and to shard 1's
    await _until(lambda: len([e for e in exchange.errors if e.code == 40060]) == 2)
    gate.set()

    await public_result(exchange)
    assert len(world.sandbox.requests) == 1
    assert len([message for message in exchange.messages if not message.ephemeral]) == 1


async def test_the_same_member_s_vote_racing_in_both_processes_is_sent_once(
    world: BotWorld, links: dict[int, Link], bots: ShardedBots
) -> None:
    world.sandbox.gate = gate = asyncio.Event()
    first = await vote(world, MODERATOR, links[0])
    await world.sandbox.wait_for_requests(1)
    second = await vote(world, MODERATOR, links[0], shard=1)  # a new interaction, other process
    refusal = await second.final()
    gate.set()

    await public_result(first)
    assert refusal.ephemeral
    assert "on its way" in refusal.content or "never confirmed" in refusal.content
    assert len(world.sandbox.requests) == 1


async def test_a_killed_process_leaves_the_other_serving_and_settles_its_call_on_restart(
    world: BotWorld, links: dict[int, Link], bots: ShardedBots
) -> None:
    world.sandbox.gate = gate = asyncio.Event()
    killed = await vote(world, MODERATOR, links[0])
    await world.sandbox.wait_for_requests(1)
    survivor = await vote(world, MODERATOR, links[1])
    await world.sandbox.wait_for_requests(2)
    await bots.kill(0)

    await bots.start(0)  # its start settles its own earlier call, not shard 1's call under way
    [unknown] = calls(world.ledger_location, LedgerStatus.UNKNOWN)
    assert (unknown.guild_id, unknown.reason) == (GUILD_ID, "interrupted")
    [pending] = calls(world.ledger_location, LedgerStatus.PENDING)
    assert pending.guild_id == OTHER_GUILD
    gate.set()
    assert f"<@{MODERATOR.id}> voted" in (await public_result(survivor)).content
    assert killed.messages == [] or all(message.ephemeral for message in killed.messages)

    async with ledger_of(world) as db:
        late = Member(MODERATOR.id + 1, "late")
        await db.save_account(
            late.id, world.sandbox.add_user().api_token, None, now=world.sandbox.now()
        )
    await public_result(await vote(world, late, links[1]))  # shard 1 served throughout
    assert calls(world.ledger_location, LedgerStatus.PENDING) == []


async def test_processes_started_at_the_same_moment_take_turns_to_identify(
    world: BotWorld, links: dict[int, Link], tmp_path: Path
) -> None:
    """Discord starts one session per 5 s (max_concurrency 1): the second process waits for its
    turn instead of being refused."""
    gateway = world.fake.gateway
    async with sharded(world, tmp_path, IDENTIFY_WINDOW):
        assert gateway.shards == {(0, SHARDS), (1, SHARDS)}
    assert gateway.refused_identifies == []
    assert gateway.identify_count == 3  # the world's own bot, then each shard once


async def test_a_rolling_restart_identifies_without_an_invalid_session(
    world: BotWorld, links: dict[int, Link], tmp_path: Path
) -> None:
    gateway = world.fake.gateway
    async with sharded(world, tmp_path, IDENTIFY_WINDOW) as bots:
        await bots.terminate(0)
        await bots.start(0)  # right after its last IDENTIFY: it waits for the next turn
        votes = [await vote(world, MODERATOR, links[shard]) for shard in (0, 1)]
        answers = [await public_result(exchange) for exchange in votes]

    assert gateway.refused_identifies == []
    assert [exchange.shard for exchange in votes] == [0, 1]
    assert all(f"<@{MODERATOR.id}> voted" in answer.content for answer in answers)


async def _lives_per_guild(world: BotWorld) -> dict[int, set[int]]:
    assert world.settings.database_url is not None
    conn = await asyncpg.connect(world.settings.database_url.get_secret_value())
    try:
        rows = await conn.fetch("SELECT guild_id, boot_id FROM ledger")
    finally:
        await conn.close()
    lives: dict[int, set[int]] = {}
    for row in rows:
        lives.setdefault(row["guild_id"], set()).add(row["boot_id"])
    return lives


async def _until(condition, within: float = 10) -> None:
    deadline = asyncio.get_running_loop().time() + within
    while not condition():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.02)
