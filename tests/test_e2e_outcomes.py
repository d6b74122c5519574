"""What the tracker answered reaches the ledger, however long the database takes to take it."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import Awaitable, Callable

import pytest

from services.games import BUSY
from tests.bot_world import BOB, OWNER, BotWorld, public_result
from tests.fake_discord import SentMessage

# The promise: no member is refused "still on its way" for longer than this once the database
# answers again.
UNBLOCKED_WITHIN = 60.0
ON_ITS_WAY = "on its way"


async def wait_for_log(caplog: pytest.LogCaptureFixture, text: str, seconds: float) -> None:
    async with asyncio.timeout(seconds):
        while True:
            if any(text in record.getMessage() for record in caplog.records):
                return
            await asyncio.sleep(0.05)


async def first_answer_without(
    ask: Callable[[], Awaitable[SentMessage]], text: str
) -> tuple[SentMessage, float]:
    """Ask again and again until the answer no longer says `text`; the answer and the seconds."""
    loop = asyncio.get_running_loop()
    started = loop.time()
    async with asyncio.timeout(UNBLOCKED_WITHIN):
        while True:
            answer = await ask()
            if text not in answer.content:
                return answer, loop.time() - started
            await asyncio.sleep(0.5)


@pytest.mark.sqlite_only
@pytest.mark.timeout(UNBLOCKED_WITHIN * 2 + 30)
async def test_outcomes_a_locked_database_refused_are_written_once_it_answers_again(
    world: BotWorld, caplog: pytest.LogCaptureFixture
) -> None:
    """Another program holds the write lock when the tracker answers a /dice and the channel's
    anonymous vote: both are announced, and once the lock goes the owner plays again and the
    channel's vote is limited as played, not "on its way" until the next restart."""
    caplog.set_level(logging.INFO)
    await world.add_link()
    await world.connect(OWNER, world.demo.owner_token, str(world.demo.session_id))
    world.sandbox.gate = gate = asyncio.Event()
    dice = await world.command("dice", member=OWNER)
    vote = await world.vote(BOB)
    await world.sandbox.wait_for_requests(2)

    other = sqlite3.connect(world.settings.database_path, isolation_level=None)
    try:
        other.execute("BEGIN EXCLUSIVE")
        gate.set()
        assert f"<@{OWNER.id}>" in (await public_result(dice)).content
        assert "voted with the channel's shared vote" in (await public_result(vote)).content
        await wait_for_log(caplog, "not recorded", 30)
    finally:
        other.execute("ROLLBACK")
        other.close()

    async def dice_again() -> SentMessage:
        return await (await world.command("dice", member=OWNER)).final()

    async def vote_again() -> SentMessage:
        return await (await world.vote(BOB)).final()

    played, _ = await first_answer_without(dice_again, BUSY.text)
    limited, _ = await first_answer_without(vote_again, ON_ITS_WAY)
    assert played.content == "Played."
    assert limited.ephemeral
    assert "share one vote on `link` per 24 hours, and it has been used" in limited.content, (
        limited.content
    )
    statuses = sorted((e.game, e.status.value) for e in await world.ledger())
    assert statuses == [("dice", "played"), ("dice", "played"), ("link", "played")]
    assert len(world.sandbox.requests) == 3  # the two first calls and the second /dice


@pytest.mark.sqlite_only
async def test_the_answer_does_not_wait_for_a_locked_database_to_take_the_outcome(
    world: BotWorld, caplog: pytest.LogCaptureFixture
) -> None:
    """The tracker played while another program holds the write lock: the member hears at once,
    not a database deadline later (a tracker that took its whole read timeout and then this wait
    made answers late), and the outcome lands once the lock goes."""
    await world.add_link()
    await world.connect(OWNER, world.demo.owner_token, str(world.demo.session_id))
    world.sandbox.gate = gate = asyncio.Event()
    dice = await world.command("dice", member=OWNER)
    await world.sandbox.wait_for_requests(1)
    loop = asyncio.get_running_loop()

    other = sqlite3.connect(world.settings.database_path, isolation_level=None)
    try:
        other.execute("BEGIN EXCLUSIVE")
        gate.set()
        opened = loop.time()
        answer = await public_result(dice)
        answered_after = loop.time() - opened
    finally:
        other.execute("ROLLBACK")
        other.close()

    assert f"<@{OWNER.id}>" in answer.content
    assert answered_after < world.settings.database_timeout_seconds / 2, answered_after
    await wait_for_log(caplog, "outcome recorded", 30)
    [entry] = await world.ledger()
    assert entry.status.value == "played"
