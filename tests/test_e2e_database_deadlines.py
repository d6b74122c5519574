"""A database that does not answer costs a command seconds, never the bot: each operation has a
deadline, the member is told privately, nothing reaches the tracker, /healthz says 503, and the
bot serves again by itself once the database answers."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import AsyncIterator, Callable
from urllib.parse import urlsplit

import aiohttp
import asyncpg
import pytest

from ops.health import DATABASE_FAILING, DATABASE_SILENT, MAX_CONNECTIONS
from services.calls import BEFORE_SENDING_SECONDS
from storage.models import NewCall
from storage.postgres.ledger import _voter_lock
from tests.bot_world import (
    ALICE,
    GENERAL,
    GUILD_ID,
    MODERATOR,
    OWNER,
    VOTING,
    BotWorld,
    public_result,
)
from tests.helpers_faults import connected_member, new_member, private_answer
from tests.postgres_server import PostgresServer
from tests.test_e2e_faults import STORAGE_TEXT

ANSWERED_WITHIN = 10.0


async def get(url: str) -> tuple[int, str]:
    async with (
        aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as http,
        http.get(url) as response,
    ):
        return response.status, await response.text()


async def health_until(url: str, done: Callable[[int], bool], seconds: float) -> tuple[int, str]:
    """Ask /healthz until `done(status)`; its last answer."""
    async with asyncio.timeout(seconds):
        while True:
            answer = await get(f"{url}/healthz")
            if done(answer[0]):
                return answer
            await asyncio.sleep(0.05)


@pytest.fixture
async def health_url(world: BotWorld) -> str:
    await world.stop()
    await world.start(http_port=0)
    server = world.bot.ops_server
    assert server is not None
    assert server.url is not None
    await health_until(server.url, lambda status: status == 200, 10)
    return server.url


@pytest.mark.postgres_only
async def test_a_frozen_server_costs_a_vote_seconds_and_the_bot_recovers_by_itself(
    world: BotWorld, health_url: str, postgres: PostgresServer
) -> None:
    await world.add_link()
    member, _ = await connected_member(world)
    loop = asyncio.get_running_loop()

    with postgres.frozen():
        sent = loop.time()
        answer = await private_answer(await world.vote(member))
        answered_after = loop.time() - sent
        health = await get(f"{health_url}/healthz")

    assert answered_after < ANSWERED_WITHIN
    assert STORAGE_TEXT in answer.content
    assert world.sandbox.requests == []
    assert health == (503, f"{DATABASE_SILENT}\n")
    await health_until(health_url, lambda status: status == 200, 30)
    assert f"<@{member.id}> voted" in (await public_result(await world.vote(member))).content


@contextlib.asynccontextmanager
async def locks_held(url: str, locks: list[int]) -> AsyncIterator[None]:
    """Another program holds these advisory locks until the block ends."""
    conn = await asyncpg.connect(url)
    try:
        for lock in locks:
            await conn.execute("SELECT pg_advisory_lock($1)", lock)
        yield
    finally:
        await conn.close()


@pytest.mark.postgres_only
async def test_voters_whose_lock_is_held_elsewhere_do_not_starve_other_commands(
    world: BotWorld, health_url: str
) -> None:
    await world.add_link()
    await world.add_link(world.new_link_token(), name="other", channel=VOTING)
    [link] = await world.db.links_in_channel(GUILD_ID, GENERAL.id)
    stuck = [(await connected_member(world))[0] for _ in range(12)]
    locks = [
        _voter_lock(
            NewCall(
                user_id=member.id,
                guild_id=GUILD_ID,
                channel_id=GENERAL.id,
                link_id=link.id,
                session_id=None,
                game="link",
                dom=False,
                vote_type="add",
                anonymous=False,
                interaction_id=None,
                voter_name=None,
            )
        )
        for member in stuck
    ]
    url = world.ledger_location
    assert isinstance(url, str)

    async with locks_held(url, locks):
        waiting = [await world.vote(member) for member in stuck]
        await asyncio.sleep(0)
        async with asyncio.timeout(3):
            health = await get(f"{health_url}/healthz")
            other = await public_result(await world.vote(ALICE, channel=VOTING))
            stats = await (await world.command("stats", member=MODERATOR)).final()
        refusals = [await private_answer(exchange) for exchange in waiting]

    assert health == (200, "ok\n")
    assert f"<@{ALICE.id}> voted" in other.content
    assert stats.ephemeral, stats  # answered, whatever the figures
    assert all("already on its way" in answer.content for answer in refusals), refusals
    assert len(world.sandbox.requests) == 1


@pytest.mark.postgres_only
async def test_healthz_never_shows_the_database_s_own_error_text(
    world: BotWorld, health_url: str, postgres: PostgresServer
) -> None:
    url = world.ledger_location
    assert isinstance(url, str)
    name = urlsplit(url).path.strip("/")
    admin = await asyncpg.connect(postgres.url("postgres"))
    try:
        await admin.execute(f"ALTER DATABASE {name} ALLOW_CONNECTIONS false")
        await admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = $1 AND pid <> pg_backend_pid()",
            name,
        )
        health = await health_until(health_url, lambda status: status != 200, 10)
    finally:
        await admin.execute(f"ALTER DATABASE {name} ALLOW_CONNECTIONS true")
        await admin.close()

    assert health == (503, f"{DATABASE_FAILING}\n")


async def test_slow_clients_cannot_keep_healthz_from_answering(
    world: BotWorld, health_url: str
) -> None:
    """Clients that open connections and trickle a request's first bytes (slowloris)."""
    host, port = health_url.removeprefix("http://").rsplit(":", 1)
    slow = []
    for _ in range(MAX_CONNECTIONS * 2):
        reader, writer = await asyncio.open_connection(host, int(port))
        writer.write(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        slow.append((reader, writer))
    try:
        async with asyncio.timeout(3):
            assert await get(f"{health_url}/healthz") == (200, "ok\n")
        async with asyncio.timeout(10):
            for reader, _ in slow:  # each is closed by the server
                assert await reader.read() == b""
    finally:
        for _, writer in slow:
            writer.close()


@pytest.mark.sqlite_only
async def test_a_game_waits_for_a_locked_database_once_not_once_per_statement(
    world: BotWorld,
) -> None:
    """Another program holds the write lock and other commands' writes wait in the one queue:
    the /dice's statements share one short deadline, so it is refused in time for a call that
    would take the tracker's whole read timeout to still be answered within 15 s."""
    await world.connect(OWNER, world.demo.owner_token, str(world.demo.session_id))
    members = [new_member(f"writer{i}") for i in range(4)]
    loop = asyncio.get_running_loop()
    other = sqlite3.connect(world.settings.database_path, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
        for member in members:
            await world.command("remind", "on", member=member)
        sent = loop.time()
        dice = await world.command("dice", member=OWNER)
        answer = await dice.final(within=30)
        answered_after = loop.time() - sent
    finally:
        other.execute("ROLLBACK")
        other.close()

    assert STORAGE_TEXT in answer.content
    # each statement may overrun its deadline by a second while the database thread is held
    assert answered_after < BEFORE_SENDING_SECONDS + 1.5, answered_after
    assert world.sandbox.requests == []
