"""Turns to IDENTIFY: a bot that restarts right after it identified waits for its turn instead of
being refused by Discord, and one whose database cannot answer still connects.

The fake Discord starts one session per 5 s here, as Discord does for most bots (max_concurrency
1). Processes on one PostgreSQL database: `tests/test_e2e_shards.py`.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3

import pytest

from tests.bot_world import BotWorld, public_result
from tests.fake_discord.gateway import IDENTIFY_WINDOW
from tests.helpers_faults import connected_member

pytestmark = pytest.mark.sqlite_only


async def test_a_restart_right_after_the_start_waits_for_its_turn(world: BotWorld) -> None:
    gateway = world.fake.gateway
    first = gateway.session_id(0)
    gateway.identify_window = IDENTIFY_WINDOW  # Discord's, for the fake and the bot

    await world.stop()
    await world.start(discord_identify_window_seconds=IDENTIFY_WINDOW)

    assert gateway.session_id(0) not in (None, first)
    assert gateway.refused_identifies == []
    member, _ = await connected_member(world)
    await world.add_link()
    assert f"<@{member.id}> voted" in (await public_result(await world.vote(member))).content


async def test_without_the_database_a_new_identify_is_paced_as_discord_py_does(
    world: BotWorld, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="ctvote")
    gateway = world.fake.gateway
    first = gateway.session_id(0)
    world.fake.ready.clear()
    other = sqlite3.connect(world.settings.database_path, isolation_level=None)
    try:
        other.execute("BEGIN EXCLUSIVE")  # no turn can be written
        await gateway.lose_sessions()
        async with asyncio.timeout(30):
            await world.fake.ready.wait()  # set again by the next READY
    finally:
        other.execute("ROLLBACK")
        other.close()

    assert gateway.session_id(0) not in (None, first)
    assert gateway.refused_identifies == []
    assert "pacing as discord.py does" in caplog.text
