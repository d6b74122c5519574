"""Accounts: a member's encrypted tracker token and its state."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

import pytest

from storage.interface import Storage
from storage.models import Account, PlayedResult
from tests.helpers_storage import NOW, USER, vote


async def play(db: Storage, user_id: int, *, now: datetime) -> None:
    """A DICE game the member played with their token, recorded in the ledger."""
    entry_id = await db.begin_call(vote(None, user_id=user_id, game="dice"), now=now)
    await db.finish_played(entry_id, PlayedResult("ADD", 60, 1.0, False, None, 1), now=now)


async def test_save_and_get(db: Storage) -> None:
    saved = await db.save_account(USER, "api-token", 42, now=NOW)
    assert saved.api_token.get_secret_value() == "api-token"
    assert (saved.user_id, saved.default_session, saved.connected_at) == (USER, 42, NOW)
    assert (saved.last_used_at, saved.token_rejected) == (None, False)
    assert await db.get_account(USER) == saved
    assert "api-token" not in repr(saved)


async def test_unknown_user_has_no_account(db: Storage) -> None:
    assert await db.get_account(USER) is None


async def test_reconnecting_replaces_and_starts_clean(db: Storage) -> None:
    await db.save_account(USER, "old-token", 42, now=NOW)
    await play(db, USER, now=NOW + timedelta(minutes=1))
    await db.mark_token_rejected(USER)
    later = NOW + timedelta(hours=1)
    again = await db.save_account(USER, "new-token", None, now=later)
    assert again == Account(
        user_id=USER,
        api_token=again.api_token,
        default_session=None,
        connected_at=later,
        last_used_at=None,
        token_rejected=False,
    )
    assert again.api_token.get_secret_value() == "new-token"
    assert await db.get_account(USER) == again


async def test_rejection_and_use_are_recorded(db: Storage) -> None:
    await db.save_account(USER, "api-token", None, now=NOW)
    await db.mark_token_rejected(USER)
    await play(db, USER, now=NOW + timedelta(seconds=5))
    account = await db.get_account(USER)
    assert account is not None
    assert account.token_rejected
    assert account.last_used_at == NOW + timedelta(seconds=5)


async def test_updates_of_a_missing_account_do_nothing(db: Storage) -> None:
    await db.mark_token_rejected(USER)
    await play(db, USER, now=NOW)
    assert await db.get_account(USER) is None


async def test_forget(db: Storage) -> None:
    await db.save_account(USER, "api-token", None, now=NOW)
    await db.save_account(USER + 1, "other-token", None, now=NOW)
    assert await db.forget_account(USER)
    assert await db.get_account(USER) is None
    assert not await db.forget_account(USER)
    other = await db.get_account(USER + 1)
    assert other is not None
    assert other.api_token.get_secret_value() == "other-token"


async def test_times_come_back_in_utc(db: Storage) -> None:
    plus_two = datetime.fromisoformat("2026-02-10T14:00:00+02:00")
    account = await db.save_account(USER, "api-token", None, now=plus_two)
    assert account.connected_at == NOW
    assert account.connected_at.utcoffset() == timedelta(0)


async def test_naive_times_are_refused(db: Storage) -> None:
    with pytest.raises(ValueError, match="aware"):
        await db.save_account(USER, "api-token", None, now=NOW.replace(tzinfo=None))


async def test_many_members_connecting_at_once_are_all_saved(db: Storage) -> None:
    """Each connect clears the old ciphertext's row versions; those clean-ups must not crowd
    out the saves themselves (a soak's 50 members connecting at once met the deadline)."""
    members = range(USER, USER + 60)
    saved = await asyncio.gather(
        *(db.save_account(member, f"token-{member}", None, now=NOW) for member in members)
    )
    assert [account.user_id for account in saved] == list(members)
    assert all([await db.get_account(member) for member in members])
