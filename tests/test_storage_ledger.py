"""The ledger: pending before the call, finished once after, and the questions asked of it."""

from __future__ import annotations

import sqlite3
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import asyncpg
import pytest
from pydantic import SecretStr

from storage.errors import EntryNotPending, LinkRemoved
from storage.interface import Storage
from storage.models import LedgerEntry, LedgerStatus, NewCall, NewLink, PlayedResult
from storage.sqlite import history, ledger
from storage.sqlite.database import Database
from tests.conftest import OpenStorage
from tests.helpers_ledger import Location, calls, ledger_entry
from tests.helpers_storage import CHANNEL, GUILD, KEY, NOW, USER, db_path, raw_query, vote

PLAYED = PlayedResult(
    operation="ADD",
    seconds=3600,
    multiplier=1.37,
    penalty=False,
    scheduled_end=NOW + timedelta(days=3),
    session_id=123,
)


@pytest.fixture
def path(ledger_location: Location) -> Location:
    """Where the test reads the ledger from outside the bot."""
    return ledger_location


@pytest.fixture
async def link_id(db: Storage) -> int:
    link = await db.add_link(
        NewLink(
            guild_id=GUILD,
            channel_id=CHANNEL,
            name="alice",
            link_token=SecretStr("t"),
            added_by=USER,
        ),
        now=NOW,
    )
    return link.id


def entry(path: Location, entry_id: int) -> LedgerEntry:
    found = ledger_entry(path, entry_id)
    assert found is not None
    return found


async def played(db: Storage, call: NewCall, *, minutes: int = 0) -> int:
    entry_id = await db.begin_call(call, now=NOW + timedelta(minutes=minutes))
    await db.finish_played(entry_id, PLAYED, now=NOW + timedelta(minutes=minutes))
    return entry_id


async def test_begin_records_a_pending_call(db: Storage, link_id: int, path: Location) -> None:
    call = replace(vote(link_id, anonymous=True), session_id=55, vote_type="rand")
    entry_id = await db.begin_call(call, now=NOW)
    assert entry(path, entry_id) == LedgerEntry(
        id=entry_id,
        created_at=NOW,
        finished_at=None,
        user_id=USER,
        guild_id=GUILD,
        channel_id=CHANNEL,
        link_id=link_id,
        session_id=55,
        game="link",
        dom=False,
        vote_type="rand",
        anonymous=True,
        status=LedgerStatus.PENDING,
        operation=None,
        seconds=None,
        multiplier=None,
        penalty=False,
        scheduled_end=None,
        reason=None,
        message=None,
    )


async def test_games_outside_a_guild(db: Storage, path: Location) -> None:
    call = NewCall(USER, None, None, None, 77, "dice", True, None, False)
    entry_id = await db.begin_call(call, now=NOW)
    found = entry(path, entry_id)
    assert (found.guild_id, found.channel_id, found.link_id, found.session_id) == (
        None,
        None,
        None,
        77,
    )
    assert (found.game, found.dom, found.vote_type) == ("dice", True, None)


async def test_a_call_to_a_removed_link_is_refused(
    db: Storage, link_id: int, path: Location
) -> None:
    await db.remove_link(GUILD, CHANNEL, "alice")
    with pytest.raises(LinkRemoved):
        await db.begin_call(vote(link_id), now=NOW)
    assert len(calls(path)) == 0


async def test_a_malformed_call_is_refused(db: Storage, path: Location) -> None:
    with pytest.raises((sqlite3.IntegrityError, asyncpg.CheckViolationError), match=r"(?i)check"):
        await db.begin_call(vote(None, game="poker"), now=NOW)
    assert len(calls(path)) == 0


async def test_finish_played(db: Storage, link_id: int, path: Location) -> None:
    entry_id = await db.begin_call(vote(link_id), now=NOW)
    done = NOW + timedelta(seconds=2)
    await db.finish_played(entry_id, replace(PLAYED, penalty=True), now=done)
    found = entry(path, entry_id)
    assert found.status is LedgerStatus.PLAYED
    assert found.finished_at == done
    assert (found.operation, found.seconds, found.multiplier) == ("ADD", 3600, 1.37)
    assert (found.penalty, found.scheduled_end, found.session_id) == (
        True,
        NOW + timedelta(days=3),
        123,
    )
    assert (found.reason, found.message) == (None, None)


async def test_played_without_session_keeps_the_called_one(db: Storage, path: Location) -> None:
    call = NewCall(USER, GUILD, CHANNEL, None, 77, "luck", False, None, False)
    entry_id = await db.begin_call(call, now=NOW)
    await db.finish_played(entry_id, replace(PLAYED, session_id=None), now=NOW)
    assert (entry(path, entry_id)).session_id == 77


async def test_finish_refused(db: Storage, link_id: int, path: Location) -> None:
    entry_id = await db.begin_call(vote(link_id), now=NOW)
    await db.finish_refused(entry_id, "cooldown", "Already voted today.", now=NOW)
    found = entry(path, entry_id)
    assert (found.status, found.reason, found.message, found.finished_at) == (
        LedgerStatus.REFUSED,
        "cooldown",
        "Already voted today.",
        NOW,
    )
    assert found.operation is None


async def test_finish_unknown(db: Storage, link_id: int, path: Location) -> None:
    entry_id = await db.begin_call(vote(link_id), now=NOW)
    await db.finish_unknown(entry_id, "timeout", now=NOW)
    found = entry(path, entry_id)
    assert (found.status, found.reason, found.message) == (LedgerStatus.UNKNOWN, "timeout", None)


async def test_a_played_call_marks_the_member_s_account_used(db: Storage, link_id: int) -> None:
    other = USER + 1
    for user_id in (USER, other):
        await db.save_account(user_id, f"token-{user_id}", None, now=NOW)
    done = NOW + timedelta(minutes=5)
    await db.finish_played(await db.begin_call(vote(link_id), now=NOW), PLAYED, now=done)
    anonymous = vote(link_id, user_id=other, anonymous=True)
    await db.finish_played(await db.begin_call(anonymous, now=NOW), PLAYED, now=done)
    refused = vote(link_id, user_id=other)
    await db.finish_refused(await db.begin_call(refused, now=NOW), "cooldown", None, now=done)
    unknown = vote(link_id, user_id=other)
    await db.finish_unknown(await db.begin_call(unknown, now=NOW), "timeout", now=done)

    assert (await db.get_account(USER)).last_used_at == done  # type: ignore[union-attr]
    # Anonymous, refused and unknown calls were not this account's use of its token.
    assert (await db.get_account(other)).last_used_at is None  # type: ignore[union-attr]


async def test_an_entry_is_finished_once(db: Storage, link_id: int, path: Location) -> None:
    entry_id = await db.begin_call(vote(link_id), now=NOW)
    await db.finish_unknown(entry_id, "timeout", now=NOW)
    with pytest.raises(EntryNotPending):
        await db.finish_played(entry_id, PLAYED, now=NOW)
    with pytest.raises(EntryNotPending):
        await db.finish_refused(entry_id + 1, "x", None, now=NOW)
    assert (entry(path, entry_id)).status is LedgerStatus.UNKNOWN


async def test_last_counted_vote_of_a_member(db: Storage, link_id: int) -> None:
    assert await db.last_counted_vote(link_id, user_id=USER) is None
    first = await played(db, vote(link_id), minutes=0)
    refused = await db.begin_call(vote(link_id), now=NOW + timedelta(minutes=5))
    await db.finish_refused(refused, "cooldown", None, now=NOW)
    await played(db, vote(link_id, anonymous=True), minutes=6)
    await played(db, vote(link_id, user_id=USER + 1), minutes=7)
    await played(db, vote(link_id, dom=True), minutes=8)
    await played(db, vote(None, game="dice"), minutes=9)
    last = await db.last_counted_vote(link_id, user_id=USER)
    assert last is not None
    assert last.id == first

    unknown = await db.begin_call(vote(link_id), now=NOW + timedelta(minutes=10))
    await db.finish_unknown(unknown, "timeout", now=NOW)
    last = await db.last_counted_vote(link_id, user_id=USER)
    assert last is not None
    assert last.id == unknown

    pending = await db.begin_call(vote(link_id), now=NOW + timedelta(minutes=11))
    last = await db.last_counted_vote(link_id, user_id=USER)
    assert last is not None
    assert last.id == pending


async def test_last_counted_vote_goes_by_time_not_insertion(db: Storage, link_id: int) -> None:
    later = await played(db, vote(link_id), minutes=30)
    await played(db, vote(link_id), minutes=10)
    last = await db.last_counted_vote(link_id, user_id=USER)
    assert last is not None
    assert last.id == later


async def test_last_anonymous_vote_is_anyone_s(db: Storage, link_id: int) -> None:
    await played(db, vote(link_id), minutes=20)
    assert await db.last_counted_vote(link_id, user_id=None) is None
    await played(db, vote(link_id, anonymous=True), minutes=0)
    other = await played(db, vote(link_id, anonymous=True, user_id=USER + 1), minutes=10)
    last = await db.last_counted_vote(link_id, user_id=None)
    assert last is not None
    assert (last.id, last.user_id, last.anonymous) == (other, USER + 1, True)
    assert await db.last_counted_vote(link_id + 1, user_id=None) is None


async def test_latest_votes_of_user_one_per_link(db: Storage, link_id: int) -> None:
    other_link = (
        await db.add_link(
            NewLink(
                guild_id=GUILD,
                channel_id=CHANNEL,
                name="bob",
                link_token=SecretStr("t"),
                added_by=1,
            ),
            now=NOW,
        )
    ).id
    await played(db, vote(link_id), minutes=0)
    newest_on_first = await played(db, vote(link_id), minutes=5)
    on_other = await played(db, vote(other_link), minutes=7)
    refused = await db.begin_call(vote(other_link), now=NOW + timedelta(minutes=9))
    await db.finish_refused(refused, "cooldown", None, now=NOW)
    await played(db, vote(link_id, anonymous=True), minutes=10)
    await played(db, vote(link_id, user_id=USER + 1), minutes=10)
    latest = await db.latest_votes_of_user(USER)
    assert [found.id for found in latest] == [on_other, newest_on_first]
    assert await db.latest_votes_of_user(USER + 2) == []


async def test_vote_count(db: Storage, link_id: int) -> None:
    await played(db, vote(link_id))
    await played(db, vote(link_id, anonymous=True))
    await played(db, vote(link_id, dom=True))
    await played(db, vote(None, game="dice"))
    await played(db, vote(link_id, user_id=USER + 1))
    refused = await db.begin_call(vote(link_id), now=NOW)
    await db.finish_refused(refused, "cooldown", None, now=NOW)
    await db.begin_call(vote(link_id), now=NOW)
    assert await db.vote_count(USER) == 2
    assert await db.vote_count(USER + 2) == 0


async def test_pending_calls_become_unknown_at_open(
    open_storage: OpenStorage, path: Location
) -> None:
    async with open_storage() as db:
        left = await db.begin_call(vote(None, game="dice"), now=NOW)
        done = await played(db, vote(None, game="luck", user_id=USER + 1))
        assert db.recovered_at_open == 0
    reopened_at = NOW + timedelta(hours=1)
    async with open_storage(now=reopened_at) as db:
        assert db.recovered_at_open == 1
        recovered = entry(path, left)
        assert (recovered.status, recovered.reason, recovered.finished_at) == (
            LedgerStatus.UNKNOWN,
            "interrupted",
            reopened_at,
        )
        assert (entry(path, done)).status is LedgerStatus.PLAYED
    async with open_storage() as db:
        assert db.recovered_at_open == 0


async def test_a_start_leaves_the_calls_of_a_running_process_alone(
    open_storage: OpenStorage, path: Location
) -> None:
    """Two processes share the database: one starting must not settle the other's calls."""
    async with open_storage() as running:
        under_way = await running.begin_call(vote(None, game="dice"), now=NOW)
        async with open_storage() as starting:
            assert starting.recovered_at_open == 0
            assert entry(path, under_way).status is LedgerStatus.PENDING
        await running.finish_played(under_way, PLAYED, now=NOW)
        assert entry(path, under_way).status is LedgerStatus.PLAYED
        left = await running.begin_call(vote(None, game="luck"), now=NOW)
    async with open_storage() as restarted:  # the process that wrote `left` has ended
        assert restarted.recovered_at_open == 1
        assert entry(path, left).status is LedgerStatus.UNKNOWN


@pytest.mark.parametrize(
    ("sql", "params", "index"),
    [
        (ledger.LAST_IDENTIFIED_VOTE_SQL, (1, 1), "ledger_counted_identified"),
        (ledger.LAST_ANONYMOUS_VOTE_SQL, (1,), "ledger_counted_anonymous"),
        (ledger.LATEST_VOTES_OF_USER_SQL, (1,), "ledger_counted_identified"),
        (ledger.PENALTY_OF_USER_ON_LINK_SQL, (1, 1), "ledger_counted_identified"),
        (ledger.VOTE_COUNT_SQL, (1,), "ledger_played_votes"),
        (ledger.PENDING_LIVES_SQL, (), "ledger_pending"),
        (ledger.RECOVER_INTERRUPTED_SQL.format(lives="?"), ("", 1), "ledger_pending"),
        (ledger.BEGIN_VOTE_SQL[False], (0,) * 13 + (1, 1, 0), "ledger_counted_identified"),
        (ledger.BEGIN_VOTE_SQL[True], (0,) * 13 + (1, 0), "ledger_counted_anonymous"),
        (history.CALLS_ON_LINK_SQL, (1, 10), "ledger_by_link"),
        (history.CALLS_OF_USER_SQL, (1, 10), "ledger_by_user"),
        (history.EXPORT_FIRST_SQL, (1, 10), "ledger_by_link"),
        (history.EXPORT_NEXT_SQL, (1, 0, 0, 10), "ledger_by_link"),
        (history.TOP_VOTERS_SQL, (1, 0, 5), "ledger_by_link"),
        (history.ENDS_SQL, (1, 0, 0, 1), "ledger_by_link"),
        (history.PENALTIES_SQL, (1, 0, 10), "ledger_by_link"),
    ],
)
async def test_queries_search_an_index(
    tmp_path: Path, sql: str, params: tuple[object, ...], index: str
) -> None:
    """Row counts grow without bound; each question must seek, never scan the ledger.

    The vote questions are built from one definition of what counts as a vote; this proves their
    terms still match the partial indexes word for word.
    """
    path = db_path(tmp_path)
    async with Database.connect(path, KEY):
        pass
    plan = [row[3] for row in raw_query(path, "EXPLAIN QUERY PLAN " + sql, params)]
    searches = (
        f"SEARCH ledger USING INDEX {index} (",
        f"SEARCH ledger USING COVERING INDEX {index} (",
    )
    assert any(step.startswith(searches) for step in plan), plan
    assert not any(step.startswith("SCAN ledger") for step in plan), plan


@pytest.mark.parametrize(
    ("sql", "params"),
    [
        (ledger.TALLY_SQL, (0, 1)),
        (history.DAYS_SQL, (1, 0)),
        (history.LAST_PLAYED_SQL, (1,)),
    ],
)
async def test_card_and_stats_figures_read_rows_by_key(
    tmp_path: Path, sql: str, params: tuple[object, ...]
) -> None:
    """A card refresh and the figures of /stats cost the same for 10 votes or 100,000."""
    path = db_path(tmp_path)
    async with Database.connect(path, KEY):
        pass
    plan = [row[3] for row in raw_query(path, "EXPLAIN QUERY PLAN " + sql, params)]
    assert all(step.startswith("SEARCH") for step in plan), plan


async def test_only_indexes_the_bot_uses_remain(tmp_path: Path) -> None:
    """Each index costs every vote two writes: the ones only test queries used are dropped."""
    path = db_path(tmp_path)
    async with Database.connect(path, KEY):
        pass
    rows = raw_query(
        path, "SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL"
    )
    assert {name for (name,) in rows if name.startswith("ledger_")} == {
        "ledger_counted_identified",
        "ledger_counted_anonymous",
        "ledger_played_votes",
        "ledger_pending",
        "ledger_by_link",
        "ledger_by_user",
        "ledger_one_call_per_interaction",
        "ledger_one_pending_vote",
        "ledger_one_pending_game",
    }
