"""PostgreSQL under the running bot: connections the server drops cost at most one refusal."""

from __future__ import annotations

import asyncpg
import pytest

from discord_layer.tree import STORAGE_UNAVAILABLE
from storage.postgres.database import POOL_SIZE
from tests.bot_world import ALICE, BOB, BotWorld, public_result
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


async def vote_until_served(world: BotWorld, member: Member) -> Exchange:
    """Each pooled connection the server dropped fails the one operation that meets it: that
    command is refused and sends nothing, until the pool has replaced them all."""
    sent = len(world.sandbox.requests)
    for _ in range(POOL_SIZE + 1):
        vote = await world.vote(member)
        if (await vote.final()).content != STORAGE_UNAVAILABLE.text:
            return vote
        assert len(world.sandbox.requests) == sent
    raise AssertionError("the bot did not carry on")


async def test_dropped_connections_refuse_cleanly_then_the_bot_carries_on(
    world: BotWorld, database_url: str
) -> None:
    await world.add_link()
    await world.connect(ALICE, world.demo.voter_token)
    assert await drop_every_connection(database_url) >= 2  # the pool's, and the lock's

    first = await vote_until_served(world, ALICE)
    assert f"<@{ALICE.id}> voted" in (await public_result(first)).content
    assert (
        "voted with the channel's shared vote"
        in (await public_result(await vote_until_served(world, BOB))).content
    )
    assert len(world.sandbox.requests) == 2
    assert [entry.status.value for entry in await world.ledger()] == ["played", "played"]
