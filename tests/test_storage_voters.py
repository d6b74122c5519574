"""What a vote reads of its member in one round trip: account, the vote that limits, a penalty,
whether their name is hidden."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
from pydantic import SecretStr

from storage.interface import Storage
from storage.models import NewCall, NewLink, PlayedResult
from storage.sqlite import voters
from storage.sqlite.database import Database
from tests.helpers_storage import CHANNEL, GUILD, KEY, NOW, USER, db_path, raw_query, vote

PLAYED = PlayedResult(
    operation="ADD", seconds=60, multiplier=1.0, penalty=False, scheduled_end=None, session_id=7
)


@pytest.fixture
async def link_id(db: Storage) -> int:
    new = NewLink(
        guild_id=GUILD, channel_id=CHANNEL, name="alice", link_token=SecretStr("t"), added_by=USER
    )
    return (await db.add_link(new, now=NOW)).id


async def played(db: Storage, call: NewCall, *, minutes: int, penalty: bool = False) -> int:
    at = NOW + timedelta(minutes=minutes)
    entry_id = await db.begin_call(call, now=at)
    await db.finish_played(entry_id, replace(PLAYED, penalty=penalty), now=at)
    return entry_id


async def test_a_member_without_account_is_limited_by_the_shared_anonymous_vote(
    db: Storage, link_id: int
) -> None:
    nothing = await db.voter_on_link(USER, link_id)
    assert (nothing.account, nothing.last_vote, nothing.had_penalty) == (None, None, False)
    await played(db, vote(link_id), minutes=20)  # identified: not the shared vote's limit
    shared = await played(db, vote(link_id, anonymous=True, user_id=USER + 1), minutes=10)
    voter = await db.voter_on_link(USER, link_id)
    assert voter.account is None
    assert voter.last_vote is not None
    assert (voter.last_vote.id, voter.last_vote.anonymous) == (shared, True)


async def test_a_connected_member_gets_their_account_own_last_vote_and_penalty(
    db: Storage, link_id: int
) -> None:
    await db.save_account(USER, "secret-token", 55, now=NOW)
    await played(db, vote(link_id, anonymous=True), minutes=30)  # the shared vote: not theirs
    await played(db, vote(link_id, user_id=USER + 1), minutes=25)
    own = await played(db, vote(link_id), minutes=5)
    voter = await db.voter_on_link(USER, link_id)
    assert voter.account is not None
    assert (voter.account.user_id, voter.account.default_session) == (USER, 55)
    assert voter.account.api_token.get_secret_value() == "secret-token"
    assert voter.last_vote is not None
    assert (voter.last_vote.id, voter.last_vote.created_at) == (own, NOW + timedelta(minutes=5))
    assert voter.had_penalty is False

    penalised = await played(db, vote(link_id), minutes=40, penalty=True)
    voter = await db.voter_on_link(USER, link_id)
    assert voter.had_penalty is True
    assert voter.last_vote is not None
    assert voter.last_vote.id == penalised
    assert (await db.voter_on_link(USER, link_id + 1)).had_penalty is False
    other = await db.voter_on_link(USER + 1, link_id)
    assert (other.account, other.had_penalty) == (None, False)


async def test_it_says_whether_the_member_asked_not_to_be_named(db: Storage, link_id: int) -> None:
    assert not (await db.voter_on_link(USER, link_id)).name_hidden
    await db.set_name_hidden(USER, True)
    assert (await db.voter_on_link(USER, link_id)).name_hidden
    assert not (await db.voter_on_link(USER + 1, link_id)).name_hidden
    await db.set_name_hidden(USER, False)
    assert not (await db.voter_on_link(USER, link_id)).name_hidden


async def test_the_sqlite_statement_seeks_the_vote_indexes(tmp_path: Path) -> None:
    """Row counts grow without bound: each of its ledger questions must seek, never scan."""
    path = db_path(tmp_path)
    async with Database.connect(path, KEY):
        pass
    plan = [
        row[3]
        for row in raw_query(path, "EXPLAIN QUERY PLAN " + voters.VOTER_ON_LINK_SQL, (1,) * 6)
    ]
    for index in ("ledger_counted_identified", "ledger_counted_anonymous"):
        assert any(
            f"USING INDEX {index} (" in step or f"COVERING INDEX {index} (" in step for step in plan
        ), plan
    assert not any(step.startswith("SCAN ledger") for step in plan), plan
