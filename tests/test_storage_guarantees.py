"""What the database itself promises about calls, whichever process asks: on both backends.

Two open databases on the same file or server stand for two bot processes.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import timedelta

import asyncpg
import pytest
from pydantic import SecretStr

from storage.errors import CallUnderWay, EntryNotPending, InteractionSeen, VoteAlreadyCounted
from storage.interface import Storage
from storage.models import LedgerStatus, NewLink, PlayedResult
from storage.postgres.database import PostgresDatabase
from tests.conftest import OpenStorage
from tests.helpers_ledger import Location, calls
from tests.helpers_storage import CHANNEL, GUILD, NOW, USER, vote

PLAYED = PlayedResult("ADD", 60, 1.0, False, None, None)
DAY_AGO = NOW - timedelta(hours=24)


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


async def test_an_interaction_is_recorded_once(
    db: Storage, link_id: int, ledger_location: Location
) -> None:
    first = await db.begin_call(replace(vote(link_id), interaction_id=77), now=NOW)
    await db.finish_played(first, PLAYED, now=NOW)
    again = replace(vote(None, game="dice", user_id=USER + 1), interaction_id=77)
    with pytest.raises(InteractionSeen):
        await db.begin_call(again, now=NOW)
    assert len(calls(ledger_location)) == 1
    assert await db.begin_call(replace(vote(link_id, user_id=USER + 2), interaction_id=78), now=NOW)


async def test_one_pending_vote_per_link_and_voter(
    db: Storage, link_id: int, ledger_location: Location
) -> None:
    first = await db.begin_call(vote(link_id), now=NOW)
    with pytest.raises(CallUnderWay):
        await db.begin_call(vote(link_id), now=NOW)
    await db.begin_call(vote(link_id, user_id=USER + 1), now=NOW)  # another member
    await db.begin_call(vote(link_id, anonymous=True), now=NOW)
    with pytest.raises(CallUnderWay):  # anonymous members share one vote
        await db.begin_call(vote(link_id, user_id=USER + 2, anonymous=True), now=NOW)
    await db.finish_refused(first, "cooldown", None, now=NOW)
    await db.begin_call(vote(link_id), now=NOW)  # the first is settled
    assert len(calls(ledger_location)) == 4


async def test_one_pending_game_per_member(
    db: Storage, link_id: int, ledger_location: Location
) -> None:
    dice = replace(vote(None, game="dice"), session_id=5)
    first = await db.begin_call(dice, now=NOW)
    for other in (dice, replace(dice, game="luck"), replace(dice, dom=True, session_id=6)):
        with pytest.raises(CallUnderWay):
            await db.begin_call(other, now=NOW)
    await db.begin_call(replace(dice, user_id=USER + 1), now=NOW)  # another member
    await db.begin_call(vote(link_id), now=NOW)  # a vote is not a game
    await db.finish_played(first, PLAYED, now=NOW)
    await db.begin_call(replace(dice, game="luck"), now=NOW)
    assert len(calls(ledger_location)) == 4


async def test_the_limit_is_checked_in_the_step_that_writes_the_row(
    db: Storage, link_id: int, ledger_location: Location
) -> None:
    voted = await db.begin_call(vote(link_id), now=NOW - timedelta(hours=1))
    await db.finish_played(voted, PLAYED, now=NOW)
    with pytest.raises(VoteAlreadyCounted):
        await db.begin_call(vote(link_id), now=NOW, limit_since=DAY_AGO)
    assert len(calls(ledger_location)) == 1
    # A day later the same vote no longer limits; other voters were never limited by it.
    assert await db.begin_call(vote(link_id), now=NOW, limit_since=NOW - timedelta(minutes=59))
    assert await db.begin_call(vote(link_id, user_id=USER + 1), now=NOW, limit_since=DAY_AGO)


async def test_a_refused_vote_does_not_limit_and_an_unknown_one_does(
    db: Storage, link_id: int
) -> None:
    refused = await db.begin_call(vote(link_id, anonymous=True), now=NOW)
    await db.finish_refused(refused, "cooldown", None, now=NOW)
    unknown = await db.begin_call(vote(link_id, anonymous=True), now=NOW, limit_since=DAY_AGO)
    await db.finish_unknown(unknown, "timeout", now=NOW)
    other_member = vote(link_id, user_id=USER + 5, anonymous=True)
    with pytest.raises(VoteAlreadyCounted):
        await db.begin_call(other_member, now=NOW, limit_since=DAY_AGO)


async def test_two_processes_racing_the_same_vote_write_one_row(
    db: Storage, open_storage: OpenStorage, link_id: int, ledger_location: Location
) -> None:
    """Each round, both "processes" try to begin the same member's vote at once."""
    async with open_storage() as other:
        for member in range(20):
            call = vote(link_id, user_id=USER + 100 + member)
            attempts = [
                store.begin_call(call, now=NOW, limit_since=DAY_AGO) for store in (db, other)
            ]
            results = await asyncio.gather(*attempts, return_exceptions=True)
            written = [result for result in results if isinstance(result, int)]
            refused = [result for result in results if not isinstance(result, int)]
            assert len(written) == 1, results
            assert all(isinstance(e, CallUnderWay | VoteAlreadyCounted) for e in refused), results
            await db.finish_played(written[0], PLAYED, now=NOW)
            with pytest.raises(VoteAlreadyCounted):
                await other.begin_call(call, now=NOW, limit_since=DAY_AGO)
    assert len(calls(ledger_location)) == 20
    assert len(calls(ledger_location, LedgerStatus.PLAYED)) == 20


async def test_background_work_is_claimed_by_one_process(
    db: Storage, open_storage: OpenStorage, link_id: int
) -> None:
    async with open_storage() as other:
        window = NOW + timedelta(seconds=2)
        claims = [db.claim_card_refresh(link_id, now=NOW, until=window) for _ in range(3)]
        claims += [other.claim_card_refresh(link_id, now=NOW, until=window) for _ in range(3)]
        assert sorted(await asyncio.gather(*claims)) == [False] * 5 + [True]
        assert not await other.claim_card_refresh(
            link_id, now=window - timedelta(microseconds=1), until=NOW
        )
        assert await other.claim_card_refresh(link_id, now=window, until=window)

        entry_id = await db.begin_call(vote(link_id), now=NOW)
        reminders = [store.claim_reminder(entry_id, now=NOW) for store in (db, other, db)]
        assert sorted(await asyncio.gather(*reminders)) == [False, False, True]
        await other.mark_reminded(entry_id, delivered=True, now=NOW)
        assert not await db.claim_reminder(entry_id, now=NOW)


async def test_cached_links_and_settings_follow_another_process_within_a_second(
    db: Storage, open_storage: OpenStorage, link_id: int
) -> None:
    assert [link.name for link in await db.links_in_channel(GUILD, CHANNEL)] == ["alice"]
    assert (await db.guild_settings(GUILD)).voter_role_id is None
    async with open_storage() as other:
        await other.add_link(
            NewLink(
                guild_id=GUILD,
                channel_id=CHANNEL,
                name="bob",
                link_token=SecretStr("t"),
                added_by=USER,
            ),
            now=NOW,
        )
        await other.set_voter_role(GUILD, 55)
    deadline = asyncio.get_running_loop().time() + 1.5
    while asyncio.get_running_loop().time() < deadline:
        names = [link.name for link in await db.links_in_channel(GUILD, CHANNEL)]
        role = (await db.guild_settings(GUILD)).voter_role_id
        if names == ["alice", "bob"] and role == 55:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"still {names} and role {role} after 1.5 s")


@pytest.mark.postgres_only
async def test_a_lost_lock_connection_is_replaced_before_another_start_settles_its_calls(
    db: PostgresDatabase, open_storage: OpenStorage, database_url: str, ledger_location: Location
) -> None:
    """The server drops the connection holding a running process's lock (as a restart does)."""
    under_way = await db.begin_call(replace(vote(None, game="dice"), session_id=5), now=NOW)
    admin = await asyncpg.connect(database_url)
    try:
        holder = "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND objid = $1 AND granted"
        lost = await admin.fetchval(holder, db.boot_id)
        await admin.execute("SELECT pg_terminate_backend($1)", lost)
        deadline = asyncio.get_running_loop().time() + 10
        while await admin.fetchval(holder, db.boot_id) in (None, lost):
            assert asyncio.get_running_loop().time() < deadline, "the lock was not taken again"
            await asyncio.sleep(0.02)
    finally:
        await admin.close()

    async with open_storage() as starting:
        assert starting.recovered_at_open == 0
    assert [entry.id for entry in calls(ledger_location, LedgerStatus.PENDING)] == [under_way]


@pytest.mark.postgres_only
async def test_the_tracker_answer_replaces_a_guess_made_while_the_lock_was_lost(
    db: PostgresDatabase, database_url: str, ledger_location: Location
) -> None:
    """A start that ran while this process's lock connection was down settled its calls under
    way as interrupted; the answer the tracker then gives this process is what the ledger keeps.
    Another life's interrupted rows stay as they are."""
    ours = await db.begin_call(replace(vote(None, game="dice"), session_id=5), now=NOW)
    other_member = replace(vote(None, game="luck", user_id=USER + 1), session_id=6)
    theirs = await db.begin_call(other_member, now=NOW)
    admin = await asyncpg.connect(database_url)
    try:
        await admin.execute("UPDATE ledger SET boot_id = boot_id + 1 WHERE id = $1", theirs)
        await admin.execute(  # what a start's recovery writes for a life whose lock is free
            "UPDATE ledger SET status = 'unknown', reason = 'interrupted' WHERE status = 'pending'"
        )
    finally:
        await admin.close()

    await db.finish_played(ours, PLAYED, now=NOW)
    with pytest.raises(EntryNotPending):
        await db.finish_played(theirs, PLAYED, now=NOW)
    assert [(entry.id, entry.reason) for entry in calls(ledger_location, LedgerStatus.PLAYED)] == [
        (ours, None)
    ]
    assert [entry.id for entry in calls(ledger_location, LedgerStatus.UNKNOWN)] == [theirs]
