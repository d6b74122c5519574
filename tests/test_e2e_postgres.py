"""PostgreSQL under the running bot: connections the server drops cost at most one refusal."""

from __future__ import annotations

import asyncpg
import pytest

from discord_layer.tree import STORAGE_UNAVAILABLE
from tests.bot_world import ALICE, BOB, BotWorld, public_result

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


async def test_dropped_connections_refuse_cleanly_then_the_bot_carries_on(
    world: BotWorld, database_url: str
) -> None:
    await world.add_link()
    await world.connect(ALICE, world.demo.voter_token)
    assert await drop_every_connection(database_url) >= 2  # the pool's, and the lock's

    first = await world.vote(ALICE)
    if (await first.final()).content == STORAGE_UNAVAILABLE:  # it met a dropped connection
        assert world.sandbox.requests == []  # refused, and nothing was sent
        first = await world.vote(ALICE)
    assert f"<@{ALICE.id}> voted" in (await public_result(first)).content
    assert (
        "voted with the channel's shared vote"
        in (await public_result(await world.vote(BOB))).content
    )
    assert len(world.sandbox.requests) == 2
    assert [entry.status.value for entry in await world.ledger()] == ["played", "played"]
