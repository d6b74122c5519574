"""Faults a real deployment meets, end to end: the member is told the truth, nothing is lost.

Each fault is provoked for real (a stopped tracker, a gated answer past the read timeout, broken
answers from the sandbox) and checked from three sides: what the member saw, what the ledger
says, and whether the next command still works.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import subprocess
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from storage.models import LedgerStatus
from tests.bot_world import (
    ALICE,
    BOB,
    BOT_SCRIPT,
    GENERAL,
    GUILD_ID,
    MODERATOR,
    OWNER,
    VOTER_ROLE,
    BotWorld,
    bot_environment,
    public_result,
)
from tests.fake_discord import Member
from tests.helpers_faults import (
    UNCONFIRMED_TEXT,
    UNKNOWN_TEXT,
    bot_process,
    connected_member,
    disk_full,
    new_member,
    private_answer,
)
from tests.helpers_ledger import calls
from tracker.sandbox import Fault

DISCORD_LIMITED_TEXT = (
    "Discord kept refusing the bot's answer (too many requests at once). What you asked for may "
    "have been done: check before you try again."
)

Step = Callable[[BotWorld], Awaitable[None]]


async def _nothing(world: BotWorld) -> None:
    return None


def _queue(fault: Fault) -> Step:
    async def arrange(world: BotWorld) -> None:
        world.sandbox.queue_fault(fault)

    return arrange


async def _tracker_down(world: BotWorld) -> None:
    await world.sandbox.stop()


async def _tracker_back(world: BotWorld) -> None:
    port = int(world.sandbox.base_url.rsplit(":", 1)[1])
    await world.sandbox.start(port=port)


async def _slower_than_read_timeout(world: BotWorld) -> None:
    """A short read timeout and an answer that never comes: the bot gives up, not the test."""
    await world.stop()
    await world.start(tracker_read_timeout=0.3)
    world.sandbox.gate = asyncio.Event()


async def _answers_again(world: BotWorld) -> None:
    world.sandbox.gate = None  # the first request stays unanswered until the sandbox stops


async def _after_retry_after(world: BotWorld) -> None:
    """The bot holds every call back for the 429's Retry-After (test_e2e_throttle.py)."""
    world.sandbox.advance(timedelta(seconds=42))


@dataclass(frozen=True)
class FaultCase:
    arrange: Step
    says: str
    status: LedgerStatus
    reason: str
    played_on_tracker: bool
    recover: Step = _nothing


FAULTS = {
    "connection refused": FaultCase(
        _tracker_down,
        "could not be reached, so nothing was sent",
        LedgerStatus.REFUSED,
        "unreachable",
        played_on_tracker=False,
        recover=_tracker_back,
    ),
    "slower than the read timeout": FaultCase(
        _slower_than_read_timeout,
        UNKNOWN_TEXT,
        LedgerStatus.UNKNOWN,
        "no_response",
        played_on_tracker=False,
        recover=_answers_again,
    ),
    "HTML 500 after playing": FaultCase(
        _queue(Fault.html_500(apply_game=True)),
        UNKNOWN_TEXT,
        LedgerStatus.UNKNOWN,
        "server_error",
        played_on_tracker=True,
    ),
    "non-JSON 200 after playing": FaultCase(
        _queue(Fault.non_json_200(apply_game=True)),
        UNKNOWN_TEXT,
        LedgerStatus.UNKNOWN,
        "malformed_response",
        played_on_tracker=True,
    ),
    "dropped mid-response after playing": FaultCase(
        _queue(Fault.drop(apply_game=True)),
        UNKNOWN_TEXT,
        LedgerStatus.UNKNOWN,
        "no_response",
        played_on_tracker=True,
    ),
    "ok false with 200": FaultCase(
        _queue(Fault.not_ok_200()),
        "The tracker refused the request, so nothing changed.",  # its own text: the log
        LedgerStatus.REFUSED,
        "refused",
        played_on_tracker=False,
    ),
    "429 with Retry-After": FaultCase(
        _queue(Fault.rate_limited(retry_after=42)),
        "The tracker asked the bot to wait, so nothing was sent. Try again <t:",
        LedgerStatus.REFUSED,
        "rate_limited",
        played_on_tracker=False,
        recover=_after_retry_after,
    ),
}


@pytest.mark.parametrize("case", FAULTS.values(), ids=FAULTS.keys())
async def test_a_tracker_fault_is_told_privately_recorded_honestly_and_passes(
    world: BotWorld, case: FaultCase
) -> None:
    await world.add_link()
    await world.connect(ALICE, world.demo.voter_token)
    await case.arrange(world)

    answer = await private_answer(await world.vote(ALICE))

    assert case.says in answer.content
    entry = (await world.ledger())[0]
    assert (entry.user_id, entry.status, entry.reason) == (ALICE.id, case.status, case.reason)
    assert len(world.sandbox.histories) == int(case.played_on_tracker)

    await case.recover(world)
    requests_before = len(world.sandbox.requests)
    if case.status is LedgerStatus.REFUSED:
        # Nothing counted, so the same member simply votes again.
        again = await world.vote(ALICE)
        assert "voted" in (await public_result(again)).content
        assert len(world.sandbox.requests) == requests_before + 1
    else:
        # It may have counted: the bot does not risk a second vote, and says why.
        refusal = await private_answer(await world.vote(ALICE))
        assert UNCONFIRMED_TEXT in refusal.content
        assert len(world.sandbox.requests) == requests_before
        status = await world.answer("account", "status", member=ALICE)
        assert (
            f"`link` in <#{GENERAL.id}>: the tracker never confirmed your last vote"
            in status.content
        )
        bob, _ = await connected_member(world, "bob")
        assert f"<@{bob.id}> voted" in (await public_result(await world.vote(bob))).content
    latest = (await world.ledger())[0]
    assert latest.status is LedgerStatus.PLAYED


async def test_a_stop_while_a_vote_is_in_flight_records_it_as_unknown_and_says_so(
    world: BotWorld, caplog: pytest.LogCaptureFixture
) -> None:
    """A graceful stop gives up on the tracker's answer: the call is settled, not left behind."""
    await world.add_link()
    await world.connect(ALICE, world.demo.voter_token)
    world.sandbox.gate = asyncio.Event()
    await world.vote(ALICE)
    await world.sandbox.wait_for_requests(1)

    with caplog.at_level(logging.WARNING):
        await world.stop()
    world.sandbox.gate = None
    await world.start()

    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []
    [entry] = await world.ledger()
    assert (entry.status, entry.reason) == (LedgerStatus.UNKNOWN, "cancelled")
    await _says_the_vote_is_unknown(world, ALICE)
    assert len(world.sandbox.requests) == 1


async def _says_the_vote_is_unknown(world: BotWorld, member: Member) -> None:
    status = await world.answer("account", "status", member=member)
    assert (
        f"`link` in <#{GENERAL.id}>: the tracker never confirmed your last vote" in status.content
    )
    refusal = await private_answer(await world.vote(member))
    assert UNCONFIRMED_TEXT in refusal.content
    assert "You can vote again <t:" in refusal.content


async def test_a_bot_killed_while_a_vote_is_in_flight_leaves_it_unknown_at_start(
    world: BotWorld, tmp_path: Path
) -> None:
    """No chance to settle anything: the pending row itself tells the next start what happened."""
    await world.add_link()
    await world.connect(ALICE, world.demo.voter_token)
    world.sandbox.gate = asyncio.Event()
    async with bot_process(world, tmp_path) as process:
        await world.vote(ALICE)
        await world.sandbox.wait_for_requests(1)
        process.kill()
        await process.wait()
    world.sandbox.gate = None

    await world.start()

    [entry] = await world.ledger()
    assert (entry.status, entry.reason) == (LedgerStatus.UNKNOWN, "interrupted")
    await _says_the_vote_is_unknown(world, ALICE)
    assert len(world.sandbox.requests) == 1


async def test_after_the_gateway_drops_the_bot_resumes_and_answers(world: BotWorld) -> None:
    """A vote in flight still gets its answer (over REST); a command sent while the socket is
    down is replayed on resume and answered."""
    await world.add_link()
    await world.connect(ALICE, world.demo.voter_token)
    identified = world.fake.gateway.identify_count
    world.sandbox.gate = gate = asyncio.Event()
    in_flight = await world.vote(ALICE)
    await world.sandbox.wait_for_requests(1)

    await world.fake.gateway.drop()
    during = await world.command("account", "status", member=BOB)
    gate.set()

    assert f"<@{ALICE.id}> voted" in (await public_result(in_flight)).content
    assert "No tracker account is connected" in (await private_answer(during)).content
    after = await world.vote(BOB)
    assert (
        f"<@{BOB.id}> voted with the channel's shared vote" in (await public_result(after)).content
    )
    assert world.fake.gateway.resume_count == 1
    assert world.fake.gateway.identify_count == identified
    assert during.ack_delay is not None
    assert world.fake.errors == []


async def test_an_answer_discord_keeps_refusing_with_429_is_told_as_perhaps_done(
    world: BotWorld, caplog: pytest.LogCaptureFixture
) -> None:
    """discord.py gives up after five 429s in a row; the member is told that what they asked
    may have been done, not that something went wrong on our side."""
    world.fake.rate_limits.limit("POST", "/webhooks/", count=5, retry_after=0.01)
    with caplog.at_level(logging.WARNING):
        exchange = await world.command(
            "links", "add", member=MODERATOR, token=world.demo.link_token, name="alpha"
        )
        answer = await private_answer(exchange)

    assert world.fake.rate_limits.answered == 5
    assert answer.content == DISCORD_LIMITED_TEXT
    assert [link.name for link in await world.db.links_in_channel(GUILD_ID, GENERAL.id)] == [
        "alpha"
    ]
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []


STORAGE_TEXT = "cannot use its database right now"
DISCORD_SECRET = "MTIzNDU2Nzg5.faults-SECRET.token-value-xyz"


@pytest.mark.sqlite_only
async def test_a_full_disk_refuses_each_command_cleanly_and_sends_nothing(
    world: BotWorld,
) -> None:
    await world.add_link()
    await world.connect(ALICE, world.demo.voter_token)
    await world.connect(OWNER, world.demo.owner_token, str(world.demo.session_id))
    other_token = world.sandbox.add_session(world.sandbox.add_user()).link_token
    before = await world.db.links_in_guild(GUILD_ID)

    with disk_full():
        answers = {
            "identified vote": await world.vote(ALICE),
            "anonymous vote": await world.vote(BOB, "sub"),
            "dice": await world.command("dice", member=OWNER),
            "links add": await world.command(
                "links", "add", member=MODERATOR, token=other_token, name="second"
            ),
            "links remove": await world.command("links", "remove", member=MODERATOR, name="link"),
            "voter role": await world.command(
                "config", "voter-role", member=MODERATOR, role=VOTER_ROLE
            ),
            "disconnect": await world.command("account", "disconnect", member=ALICE),
        }
        texts = {name: (await private_answer(ex)).content for name, ex in answers.items()}
        connect = await world.submit_connect(BOB, world.sandbox.add_user().api_token)
        status = await world.answer("account", "status", member=ALICE)

    assert {name: STORAGE_TEXT in text for name, text in texts.items()} == dict.fromkeys(
        texts, True
    ), texts
    assert connect.ephemeral
    assert STORAGE_TEXT in connect.content
    assert "Connected since" in status.content  # reading still works
    assert world.sandbox.requests == []
    assert await world.db.integrity_check() == "ok"
    assert len(calls(world.ledger_location)) == 0
    assert await world.db.links_in_guild(GUILD_ID) == before
    assert await world.db.get_account(BOB.id) is None
    assert (await world.db.guild_settings(GUILD_ID)).voter_role_id is None
    assert (await world.db.get_account(ALICE.id)) is not None
    assert f"<@{ALICE.id}> voted" in (await public_result(await world.vote(ALICE))).content


@pytest.mark.sqlite_only
async def test_a_database_locked_by_another_program_refuses_cleanly(world: BotWorld) -> None:
    """SQLite gives up after its busy timeout (5 s): the member is told, nothing is sent."""
    await world.add_link()
    other = sqlite3.connect(world.settings.database_path, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")  # as a sqlite3 shell or a careless backup tool can
        answer = await private_answer(await world.vote(ALICE))
    finally:
        other.execute("ROLLBACK")
        other.close()

    assert STORAGE_TEXT in answer.content
    assert world.sandbox.requests == []
    assert f"<@{ALICE.id}> voted" in (await public_result(await world.vote(ALICE))).content


@pytest.mark.sqlite_only
async def test_a_disk_that_fills_while_the_tracker_plays_does_not_hide_the_result(
    world: BotWorld,
) -> None:
    """The vote counted: the member and the channel learn it even if the ledger cannot say so
    yet; the outcome is written once the disk takes writes again."""
    await world.add_link()
    await world.connect(ALICE, world.demo.voter_token)
    world.sandbox.gate = gate = asyncio.Event()
    in_flight = await world.vote(ALICE)
    await world.sandbox.wait_for_requests(1)

    with disk_full():
        gate.set()
        result = await public_result(in_flight)
        note = await in_flight.final()
        [entry] = await world.ledger()

    assert f"<@{ALICE.id}> voted" in result.content
    assert note.content == "Your vote was counted."
    assert entry.status is LedgerStatus.PENDING
    async with asyncio.timeout(30):
        while entry.status is LedgerStatus.PENDING:
            await asyncio.sleep(0.1)
            [entry] = await world.ledger()
    assert entry.status is LedgerStatus.PLAYED
    assert UNCONFIRMED_TEXT not in (await private_answer(await world.vote(ALICE))).content
    assert await world.db.integrity_check() == "ok"
    assert len(world.sandbox.requests) == 1


# Started instead of `python bot.py`: the same bot, on a disk where no file can grow.
FULL_DISK_PRELUDE = """
import resource, runpy, signal, sys
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
resource.setrlimit(resource.RLIMIT_FSIZE, (0, resource.getrlimit(resource.RLIMIT_FSIZE)[1]))
sys.argv = sys.argv[1:]
runpy.run_path(sys.argv[0], run_name="__main__")
"""


def _start_bot(cwd: Path, database: Path, *, full_disk: bool = False) -> str:
    """Run `python bot.py` until it exits; return its stderr after checking the exit."""
    prelude = ["-c", FULL_DISK_PRELUDE] if full_disk else []
    done = subprocess.run(  # noqa: S603 - our own interpreter running the repository's bot.py
        [sys.executable, *prelude, str(BOT_SCRIPT)],
        cwd=cwd,
        env=bot_environment(
            DISCORD_TOKEN=DISCORD_SECRET,
            DATABASE_PATH=str(database),
            TOKEN_KEY=Fernet.generate_key().decode(),
            DISCORD_API_URL="http://127.0.0.1:9/api/v10",  # never reached: the disk fails first
            DISCORD_GATEWAY_URL="ws://127.0.0.1:9/gateway",
        ),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr
    assert DISCORD_SECRET not in done.stderr + done.stdout
    return done.stderr


def test_a_database_folder_that_is_a_file_stops_the_start_with_one_line(tmp_path: Path) -> None:
    (tmp_path / "data").write_text("not a folder")
    stderr = _start_bot(tmp_path, tmp_path / "data" / "bot.sqlite3")
    assert stderr.splitlines() == [
        f"ctvote: cannot create the folder {tmp_path / 'data'}: a file of that name is in the way"
    ]


def test_a_database_path_that_is_a_folder_stops_the_start_with_one_line(tmp_path: Path) -> None:
    (tmp_path / "bot.sqlite3").mkdir()
    stderr = _start_bot(tmp_path, tmp_path / "bot.sqlite3")
    assert stderr.splitlines() == [
        f"ctvote: cannot use {tmp_path / 'bot.sqlite3'}: it is not a file"
    ]


def test_a_full_disk_at_start_stops_it_with_one_line_and_no_database(tmp_path: Path) -> None:
    database = tmp_path / "data" / "bot.sqlite3"
    stderr = _start_bot(tmp_path, database, full_disk=True)
    [line] = stderr.splitlines()
    assert line.startswith(f"ctvote: cannot open the database {database}: disk I/O error"), line
    assert database.stat().st_size == 0  # created empty, nothing half-written


async def test_200_concurrent_votes_on_a_slow_tracker_are_all_acknowledged_and_counted_once(
    world: BotWorld,
) -> None:
    await world.add_link()
    voters = [(new_member("voter"), world.sandbox.add_user().api_token) for _ in range(200)]
    for member, token in voters:  # stored directly: this test is about votes, not the modal
        await world.db.save_account(member.id, token, None, now=world.sandbox.now())
    world.sandbox.gate = gate = asyncio.Event()

    exchanges = await asyncio.gather(*(world.vote(member) for member, _ in voters))
    await asyncio.gather(*(exchange.acknowledged() for exchange in exchanges))
    slowest = max(exchange.ack_delay or 0.0 for exchange in exchanges)
    gate.set()
    results = await asyncio.gather(*(public_result(exchange) for exchange in exchanges))

    assert slowest < world.fake.ack_deadline
    assert world.fake.errors == []
    for (member, _), result in zip(voters, results, strict=True):
        assert result.content.startswith(f"🗳️ <@{member.id}> voted on link `link`:"), result
    assert sorted(r.bearer or "" for r in world.sandbox.requests) == sorted(t for _, t in voters)
    assert len(world.sandbox.histories) == 200
    played = calls(world.ledger_location, LedgerStatus.PLAYED)
    assert {entry.user_id for entry in played} == {member.id for member, _ in voters}
    assert len(calls(world.ledger_location)) == 200
