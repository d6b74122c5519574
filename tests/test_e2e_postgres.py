"""PostgreSQL under the running bot: connections the server drops cost at most one refusal."""

from __future__ import annotations

import asyncpg
import pytest

from discord_layer.tree import STORAGE_UNAVAILABLE
from storage.postgres.database import POOL_SIZE
from tests.bot_world import ALICE, BOB, BotWorld, public_result, refusal
from tests.fake_discord import Exchange, Member

pytestmark = pytest.mark.postgres_only


async def drop_every_connection(database_url: str) -> int:
    """What a restart of the server or a network cut does to the bot's connections."""
    admin = await asyncpg.connect(database_url)
    try:
        return len(
            await admin.fetch(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        )
    finally:
        await admin.close()


async def vote_until_served(world: BotWorld, member: Member, *, rows: int) -> Exchange:
    """Vote until the bot serves, and return that vote; the ledger holds `rows` rows before.

    A pooled connection the server dropped fails the one operation that meets it before asyncpg
    has read the end of the socket: that command is refused privately, sends nothing and writes
    no row, until the pool has replaced its connections. (Nothing here waits before the first
    vote: the race with the dropped connections is what this test is about.)
    """
    sent = len(world.sandbox.requests)
    for _ in range(POOL_SIZE + 1):
        vote = await world.vote(member)
        answer = await vote.final()
        if answer.content != STORAGE_UNAVAILABLE.text:
            return vote
        await refusal(vote)
        assert len(world.sandbox.requests) == sent
        assert len(await world.ledger()) == rows
    raise AssertionError("the bot did not carry on")


async def test_dropped_connections_refuse_cleanly_then_the_bot_carries_on(
    world: BotWorld, database_url: str
) -> None:
    await world.add_link()
    await world.connect(ALICE, world.demo.voter_token)
    assert await drop_every_connection(database_url) >= 2  # the pool's, and the lock's

    first = await vote_until_served(world, ALICE, rows=0)
    assert f"<@{ALICE.id}> voted" in (await public_result(first)).content
    second = await vote_until_served(world, BOB, rows=1)
    assert "voted with the channel's shared vote" in (await public_result(second)).content
    assert len(world.sandbox.requests) == 2
    assert [entry.status.value for entry in await world.ledger()] == ["played", "played"]
