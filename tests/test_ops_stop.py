"""Clean stops of `python bot.py`: SIGTERM lets calls already sent settle, then exits 0."""

from __future__ import annotations

import asyncio
import signal
import sqlite3
from pathlib import Path

import pytest

from discord_layer.tree import STORAGE_UNAVAILABLE
from services.calls import RESTARTING
from storage.models import LedgerStatus
from tests.bot_world import GENERAL, BotWorld, public_result
from tests.fake_discord import Exchange, Member, SentMessage, button_click
from tests.helpers_faults import (
    UNKNOWN_TEXT,
    bot_process,
    connected_member,
    new_member,
    private_answer,
)

CALLS = 50


async def _restarting_answer(world: BotWorld) -> SentMessage:
    """Send commands until one is refused with "restarting": the bot has begun to stop."""
    async with asyncio.timeout(15):
        while True:
            answer = await private_answer(
                await world.command("account", "status", member=new_member("late"))
            )
            if answer.content == RESTARTING.text:
                return answer


async def _logged(log: Path, line: str) -> None:
    """Wait until the bot's log holds `line` (a probe sent earlier could be handled before the
    signal and would not show the stop)."""
    async with asyncio.timeout(15):
        while True:
            if line in await asyncio.to_thread(log.read_text):
                return
            await asyncio.sleep(0.05)


async def test_sigterm_lets_50_calls_on_a_slow_tracker_settle_as_played_and_exits_0(
    world: BotWorld, tmp_path: Path
) -> None:
    await world.add_link()
    card = await world.fake.wait_for_channel_message(GENERAL.id, lambda m: bool(m.components))
    add_button = card.components[0]["components"][0]["custom_id"]
    stats_button = card.components[0]["components"][-1]["custom_id"]
    assert stats_button.startswith("ctvote:stats:")
    members: list[Member] = [(await connected_member(world))[0] for _ in range(CALLS)]
    clicker, _ = await connected_member(world)
    world.sandbox.gate = slow_tracker = asyncio.Event()

    async with bot_process(world, tmp_path, SHUTDOWN_GRACE_SECONDS="30") as process:
        votes = [await world.vote(member) for member in members]
        await world.sandbox.wait_for_requests(CALLS)
        process.send_signal(signal.SIGTERM)

        refused = await _restarting_answer(world)
        late_vote = await private_answer(await world.vote(new_member("late")))
        late_click, late_stats = [
            await private_answer(
                await world.run(
                    button_click(button, message_id=card.id, member=clicker, channel=GENERAL)
                )
            )
            for button in (add_button, stats_button)
        ]
        slow_tracker.set()
        async with asyncio.timeout(30):
            status = await process.wait()

    assert status == 0, (tmp_path / "stderr.txt").read_text()
    assert refused.ephemeral
    assert late_vote.content == RESTARTING.text
    assert (
        late_click.content == RESTARTING.text
    )  # a card button reaches the game caller, which refuses
    # Work the stop could cut off is not begun: under a frozen database a Stats press waited
    # past the grace and got no answer at all.
    assert late_stats.content == RESTARTING.text
    for member, vote in zip(members, votes, strict=True):
        assert f"<@{member.id}> voted" in (await public_result(vote)).content
    assert len(world.sandbox.requests) == CALLS
    assert len(world.sandbox.histories) == CALLS

    world.sandbox.gate = None
    await world.start()
    assert world.db.recovered_at_open == 0
    ledger = await world.ledger()
    assert [entry.status for entry in ledger] == [LedgerStatus.PLAYED] * CALLS
    assert "Traceback" not in (tmp_path / "stderr.txt").read_text()


async def test_calls_still_waiting_after_the_grace_become_unknown_and_it_exits_0(
    world: BotWorld, tmp_path: Path
) -> None:
    await world.add_link()
    member, _ = await connected_member(world)
    world.sandbox.gate = asyncio.Event()  # never opened: the tracker does not answer in time

    async with bot_process(world, tmp_path, SHUTDOWN_GRACE_SECONDS="0.5") as process:
        vote = await world.vote(member)
        await world.sandbox.wait_for_requests(1)
        process.send_signal(signal.SIGINT)
        async with asyncio.timeout(30):
            status = await process.wait()

    assert status == 0, (tmp_path / "stderr.txt").read_text()
    assert UNKNOWN_TEXT in (await private_answer(vote)).content
    world.sandbox.gate = None
    await world.start()
    [entry] = await world.ledger()
    assert (entry.status, entry.reason) == (LedgerStatus.UNKNOWN, "cancelled")
    assert (
        "1 game calls did not settle within 0.5 s; they become unknown"
        in (tmp_path / "stderr.txt").read_text()
    )


@pytest.mark.sqlite_only
async def test_a_stop_ends_within_the_grace_and_5_s_while_another_program_holds_the_database(
    world: BotWorld, tmp_path: Path
) -> None:
    await world.add_link()
    member, _ = await connected_member(world)
    world.sandbox.gate = asyncio.Event()  # never opened: the call is still under way at the stop

    async with bot_process(world, tmp_path, SHUTDOWN_GRACE_SECONDS="1") as process:
        vote = await world.vote(member)
        await world.sandbox.wait_for_requests(1)
        other = sqlite3.connect(world.settings.database_path, isolation_level=None)
        try:
            other.execute("BEGIN EXCLUSIVE")
            loop = asyncio.get_running_loop()
            process.send_signal(signal.SIGTERM)
            signalled = loop.time()
            async with asyncio.timeout(30):
                await process.wait()
            took = loop.time() - signalled
        finally:
            other.execute("ROLLBACK")
            other.close()

    assert took < 1 + 5, took
    assert UNKNOWN_TEXT in (await private_answer(vote)).content


async def test_a_second_stop_signal_exits_at_once(world: BotWorld, tmp_path: Path) -> None:
    await world.add_link()
    member, _ = await connected_member(world)
    world.sandbox.gate = asyncio.Event()  # never opened: the first stop waits out its grace

    async with bot_process(world, tmp_path, SHUTDOWN_GRACE_SECONDS="60") as process:
        await world.vote(member)
        await world.sandbox.wait_for_requests(1)
        process.send_signal(signal.SIGTERM)
        await _restarting_answer(world)
        loop = asyncio.get_running_loop()
        process.send_signal(signal.SIGINT)
        signalled = loop.time()
        async with asyncio.timeout(30):
            status = await process.wait()
        took = loop.time() - signalled

    assert took < 1, took
    assert status != 0
    assert "second stop signal" in (tmp_path / "stderr.txt").read_text()


@pytest.mark.sqlite_only
async def test_a_stop_lets_commands_waiting_for_the_database_answer_before_it_closes(
    world: BotWorld, tmp_path: Path
) -> None:
    """Not only game calls: every interaction already received is answered before the session
    closes, and one that arrives during the stop is told the bot is restarting."""
    members = [new_member(f"waiting{i}") for i in range(5)]
    async with bot_process(world, tmp_path, SHUTDOWN_GRACE_SECONDS="8") as process:
        other = sqlite3.connect(world.settings.database_path, isolation_level=None)
        try:
            other.execute("BEGIN IMMEDIATE")
            waiting = [await world.command("remind", "on", member=m) for m in members]
            for exchange in waiting:
                await exchange.acknowledged()
            process.send_signal(signal.SIGTERM)
            await _logged(tmp_path / "stderr.txt", "received SIGTERM")
            refused = await _restarting_answer(world)
            answers = [await exchange.final(within=15) for exchange in waiting]
            async with asyncio.timeout(30):
                status = await process.wait()
        finally:
            other.execute("ROLLBACK")
            other.close()

    stderr = (tmp_path / "stderr.txt").read_text()
    assert status == 0, stderr
    assert refused.ephemeral
    for answer in answers:
        assert answer.ephemeral
        assert answer.content == STORAGE_UNAVAILABLE.text, answer.content
    assert "Session is closed" not in stderr
    assert "Traceback" not in stderr


async def test_every_interaction_delivered_until_the_gateway_closes_is_acknowledged(
    world: BotWorld, tmp_path: Path
) -> None:
    """Discord sends until it reads the bot's close frame. Members keep pressing through the
    stop, each as soon as the previous one was answered; every interaction written to the bot's
    socket is acknowledged, up to the last one before its close."""
    exchanges: list[Exchange] = []
    async with bot_process(world, tmp_path) as process:
        exited = asyncio.ensure_future(process.wait())
        process.send_signal(signal.SIGTERM)
        async with asyncio.timeout(30):
            while not exited.done():
                exchange = await world.command("account", "status", member=new_member("late"))
                if not exchange.written:
                    break
                exchanges.append(exchange)
                acknowledged = asyncio.ensure_future(exchange.acknowledged(within=10))
                await asyncio.wait({acknowledged, exited}, return_when=asyncio.FIRST_COMPLETED)
                acknowledged.cancel()
            status = await exited

    stderr = (tmp_path / "stderr.txt").read_text()
    assert status == 0, stderr
    assert exchanges
    unacknowledged = [exchange.id for exchange in exchanges if exchange.callback is None]
    assert unacknowledged == [], f"{len(unacknowledged)} of {len(exchanges)} never acknowledged"
    assert "Traceback" not in stderr
