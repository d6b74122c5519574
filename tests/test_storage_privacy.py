"""Forgetting a member, what is kept about them, names in public and retention, on both backends."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from datetime import timedelta
from pathlib import Path

import pytest
from pydantic import SecretStr

from storage.errors import CallUnderWay
from storage.interface import Storage
from storage.models import ChannelLink, NewLink, NewProposal, VoteInterval
from storage.spans import SPAN_IDS
from storage.timestamps import to_db
from tests.helpers_storage import CHANNEL, GUILD, NOW, USER, played, vote

OTHER = USER + 1


async def a_link(db: Storage, name: str = "alice", added_by: int = 9) -> ChannelLink:
    new = NewLink(
        guild_id=GUILD,
        channel_id=CHANNEL,
        name=name,
        link_token=SecretStr(f"t-{name}"),
        added_by=added_by,
    )
    return await db.add_link(new, now=NOW)


async def test_forgetting_clears_the_voter_and_keeps_every_figure(db: Storage) -> None:
    link = await a_link(db)
    await db.save_account(USER, "api-token", 42, now=NOW)
    await db.subscribe_reminders(USER, now=NOW, locale="de")
    await db.set_name_hidden(USER, True)
    await played(db, link, NOW)
    await played(db, link, NOW + timedelta(minutes=1), user_id=OTHER)
    day = NOW.replace(hour=0)
    tally_before = await db.link_tally(link.id, day_start=day)

    await db.forget_member(USER)

    assert await db.get_account(USER) is None
    assert not await db.is_subscribed(USER)
    assert await db.hidden_names([USER]) == set()
    calls = await db.calls_on_link(link.id, 10)
    assert [(call.user_id, call.voter_name) for call in calls] == [
        (OTHER, f"n{OTHER}"),
        (None, None),
    ]
    assert await db.calls_of_user(USER, 10) == []
    assert await db.vote_count(USER) == 0
    tally_after = await db.link_tally(link.id, day_start=day)
    assert (tally_after.identified, tally_after.seconds_added) == (
        tally_before.identified,
        tally_before.seconds_added,
    )
    stats = await db.link_stats(link.id, since=day, until=NOW + timedelta(hours=1))
    assert [voter.user_id for voter in stats.top_voters] == [OTHER]
    assert (await db.member_record(USER)).calls == []


async def test_forgetting_a_moderator_unnames_their_links_and_withdraws_their_proposals(
    db: Storage,
) -> None:
    mine = await a_link(db, "mine", added_by=USER)
    theirs = await a_link(db)
    proposed = await db.add_proposal(
        NewProposal(
            guild_id=GUILD,
            channel_id=CHANNEL,
            proposer_id=USER,
            name="proposed",
            link_token=SecretStr("proposed-token"),
            interval=VoteInterval.DAILY,
            anonymous_allowed=True,
            proposer_locale=None,
            guild_locale=None,
        ),
        now=NOW,
    )

    await db.forget_member(USER)

    kept = await db.get_link(mine.id)
    assert kept is not None
    assert (kept.name, kept.added_by) == ("mine", 0)  # the link stays; nobody set it up
    other = await db.get_link(theirs.id)
    assert other is not None
    assert other.added_by == 9
    assert await db.get_proposal(proposed.id) is None


async def test_forgetting_waits_for_a_call_under_way(db: Storage) -> None:
    link = await a_link(db)
    await db.save_account(USER, "api-token", None, now=NOW)
    await db.begin_call(vote(link.id), now=NOW)
    with pytest.raises(CallUnderWay):
        await db.forget_member(USER)
    assert await db.get_account(USER) is not None
    assert [call.user_id for call in await db.calls_on_link(link.id, 5)] == [USER]


async def test_member_record_holds_the_account_and_every_call(db: Storage) -> None:
    link = await a_link(db)
    gone = await a_link(db, "bob")
    await db.save_account(USER, "api-token", 42, now=NOW)
    await db.subscribe_reminders(USER, now=NOW, locale="fr")
    await played(db, link, NOW)
    await played(db, gone, NOW + timedelta(minutes=1))
    await db.remove_link(GUILD, CHANNEL, "bob")
    record = await db.member_record(USER)
    assert record.account is not None
    assert record.account.default_session == 42
    assert (record.reminders_on, record.locale, record.name_hidden) == (True, "fr", False)
    assert [(call.link_name, call.entry.link_id) for call in record.calls] == [
        ("alice", link.id),
        (None, None),
    ]


async def test_hidden_names_are_a_choice_that_can_be_undone(db: Storage) -> None:
    await db.set_name_hidden(USER, True)
    await db.set_name_hidden(OTHER, True)
    await db.set_name_hidden(OTHER, False)
    assert await db.hidden_names([USER, OTHER, 5]) == {USER}
    assert await db.hidden_names([]) == set()


async def test_retention_clears_old_votes_of_its_server_only(db: Storage) -> None:
    link = await a_link(db)
    old = await played(db, link, NOW - timedelta(days=31))
    await played(db, link, NOW - timedelta(days=29), user_id=OTHER)
    assert await db.retention_days(GUILD) is None
    assert await db.apply_retention(now=NOW) == 0  # no retention: votes keep their voter
    await db.set_retention(GUILD, 30)
    await db.set_retention(GUILD + 1, 1)
    assert await db.retention_days(GUILD) == 30
    assert await db.apply_retention(now=NOW, guild_id=GUILD + 1) == 0
    assert await db.apply_retention(now=NOW) == 1
    calls = {call.id: call for call in await db.calls_on_link(link.id, 5)}
    assert (calls[old].user_id, calls[old].voter_name) == (None, None)
    assert sum(call.user_id == OTHER for call in calls.values()) == 1
    await db.set_retention(GUILD, None)
    assert await db.retention_days(GUILD) is None


@pytest.mark.sqlite_only
async def test_retention_reaches_votes_spans_of_ids_apart(db: Storage, database_path: Path) -> None:
    """A run clears the ledger a span of ids at a time: votes far apart in ids are all reached,
    the span that holds none included."""
    link = await a_link(db)
    first = await played(db, link, NOW - timedelta(days=40))
    far = 2 * SPAN_IDS + 5
    with closing(sqlite3.connect(database_path, timeout=10, isolation_level=None)) as conn:
        conn.execute(
            "INSERT INTO ledger (id, created_at, user_id, guild_id, channel_id, link_id, game,"
            " dom, vote_type, anonymous, voter_name, status)"
            " VALUES (?, ?, ?, ?, ?, ?, 'link', 0, 'add', 0, 'far', 'played')",
            (far, to_db(NOW - timedelta(days=40)), OTHER, GUILD, CHANNEL, link.id),
        )
    after = await played(db, link, NOW - timedelta(days=40), user_id=OTHER + 1)
    recent = await played(db, link, NOW - timedelta(days=1), user_id=OTHER + 2)
    assert (first, after) == (1, far + 1)
    await db.set_retention(GUILD, 30)

    assert await db.apply_retention(now=NOW) == 3

    voters = {call.id: call.user_id for call in await db.calls_on_link(link.id, 10)}
    assert voters == {first: None, far: None, after: None, recent: OTHER + 2}


async def test_one_retention_run_per_period(db: Storage) -> None:
    assert await db.claim_retention_run(now=NOW, due=NOW - timedelta(days=1))
    assert not await db.claim_retention_run(
        now=NOW + timedelta(hours=1), due=NOW + timedelta(hours=1) - timedelta(days=1)
    )
    later = NOW + timedelta(days=1)
    assert await db.claim_retention_run(now=later, due=later - timedelta(days=1))
