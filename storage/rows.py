"""Rows of either backend turned into the models: one reading of each table, whoever stored it."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any, Protocol

from storage.models import (
    Account,
    ChannelLink,
    DayCount,
    DueReminder,
    EndPoint,
    GuildSettings,
    LedgerEntry,
    LedgerStatus,
    LinkCard,
    LinkProposal,
    LinkStats,
    LinkTally,
    MemberCall,
    MemberRecord,
    VoteInterval,
    VoterActivity,
    VoterOnLink,
)
from storage.timestamps import day_of_number, from_db, from_db_or_none
from storage.token_cipher import TokenCipher


class Row(Protocol):
    """A row read by column name, as sqlite3.Row and asyncpg.Record are (neither is a Mapping)."""

    def __getitem__(self, column: str, /) -> Any: ...


# The user_id of ledger rows whose voter was forgotten: no Discord user has it (migration 0011).
FORMER_MEMBER = 0
# The meta key holding when retention was last applied, by whichever process claimed the run.
RETENTION_RUN_META = "retention_applied_at"
# Every column that holds ciphertext: (table, its key column, the column).
SECRET_COLUMNS = (
    ("accounts", "user_id", "api_token"),
    ("channel_links", "id", "link_token"),
    ("link_proposals", "id", "link_token"),
)


def entry_from_row(row: Row) -> LedgerEntry:
    return LedgerEntry(
        id=row["id"],
        created_at=from_db(row["created_at"]),
        finished_at=from_db_or_none(row["finished_at"]),
        user_id=None if row["user_id"] == FORMER_MEMBER else row["user_id"],
        guild_id=row["guild_id"],
        channel_id=row["channel_id"],
        link_id=row["link_id"],
        session_id=row["session_id"],
        game=row["game"],
        dom=bool(row["dom"]),
        vote_type=row["vote_type"],
        anonymous=bool(row["anonymous"]),
        status=LedgerStatus(row["status"]),
        operation=row["operation"],
        seconds=row["seconds"],
        multiplier=row["multiplier"],
        penalty=bool(row["penalty"]),
        scheduled_end=from_db_or_none(row["scheduled_end"]),
        reason=row["reason"],
        message=row["message"],
        voter_name=row["voter_name"],
    )


def record_from_rows(
    user_id: int,
    account: Row | None,
    reminders: Row | None,
    name_hidden: bool,
    calls: Sequence[Row],
    cipher: TokenCipher,
) -> MemberRecord:
    """What `/account data` gives a member, from the rows of each backend's privacy module;
    each call row is a ledger row with its link's name (NULL once the link was removed)."""
    return MemberRecord(
        user_id=user_id,
        account=None if account is None else account_from_row(account, cipher),
        reminders_on=reminders is not None,
        locale=None if reminders is None else reminders["locale"],
        name_hidden=name_hidden,
        calls=[MemberCall(entry=entry_from_row(row), link_name=row["link_name"]) for row in calls],
    )


def link_from_row(row: Row, cipher: TokenCipher) -> ChannelLink:
    return ChannelLink(
        id=row["id"],
        guild_id=row["guild_id"],
        channel_id=row["channel_id"],
        name=row["name"],
        link_token=cipher.decrypt(bytes(row["link_token"])),
        interval=VoteInterval(row["vote_interval"]),
        anonymous_allowed=bool(row["anonymous_allowed"]),
        added_by=row["added_by"],
        added_at=from_db(row["added_at"]),
        session_id=row["session_id"],
        locale=row["locale"],
    )


def account_from_row(row: Row, cipher: TokenCipher) -> Account:
    return Account(
        user_id=row["user_id"],
        api_token=cipher.decrypt(bytes(row["api_token"])),
        default_session=row["default_session"],
        connected_at=from_db(row["connected_at"]),
        last_used_at=from_db_or_none(row["last_used_at"]),
        token_rejected=bool(row["token_rejected"]),
    )


ACCOUNT_COLUMNS = (
    "user_id",
    "api_token",
    "default_session",
    "connected_at",
    "last_used_at",
    "token_rejected",
)
"""The accounts table's columns, read as `account_<column>` beside a ledger row."""


def voter_on_link_from_row(row: Row, cipher: TokenCipher) -> VoterOnLink:
    """A row of the account's columns (prefixed), `had_penalty`, `name_hidden`, and the last
    vote's columns."""
    account = None
    if row["account_user_id"] is not None:
        account = account_from_row({c: row[f"account_{c}"] for c in ACCOUNT_COLUMNS}, cipher)
    return VoterOnLink(
        account=account,
        last_vote=None if row["id"] is None else entry_from_row(row),
        had_penalty=bool(row["had_penalty"]),
        name_hidden=bool(row["name_hidden"]),
    )


def card_from_row(row: Row) -> LinkCard:
    return LinkCard(
        message_id=row["message_id"],
        link_id=row["link_id"],
        channel_id=row["channel_id"],
        posted_at=from_db(row["posted_at"]),
    )


def tally_from_rows(row: Row, last: Row | None) -> LinkTally:
    """A card's figures (the link's totals and today's row) and the link's last played vote."""
    return LinkTally(
        identified=row["identified"],
        anonymous=row["anonymous"],
        identified_today=row["identified_today"],
        anonymous_today=row["anonymous_today"],
        seconds_added=row["seconds_added"],
        seconds_removed=row["seconds_removed"],
        last_vote=None if last is None else entry_from_row(last),
    )


def reminder_from_row(row: Row, window: timedelta) -> DueReminder:
    """A due reminder: the vote it is about reopened `window` after it was cast."""
    return DueReminder(
        ledger_id=row["ledger_id"],
        user_id=row["user_id"],
        link_id=row["link_id"],
        link_name=row["name"],
        guild_id=row["guild_id"],
        channel_id=row["channel_id"],
        reopened_at=from_db(row["created_at"]) + window,
        locale=row["locale"],
    )


def settings_from_row(guild_id: int, row: Row | None) -> GuildSettings:
    """A guild that never changed a setting has no row, and the defaults."""
    if row is None:
        return GuildSettings(guild_id=guild_id, voter_role_id=None, log_channel_id=None)
    return GuildSettings(
        guild_id=guild_id,
        voter_role_id=row["voter_role_id"],
        log_channel_id=row["log_channel_id"],
        language=row["language"],
    )


def day_count_from_row(row: Row) -> DayCount:
    return DayCount(
        day=day_of_number(row["day"]),
        identified=row["identified"],
        anonymous=row["anonymous"],
        adds=row["adds"],
        subs=row["subs"],
        seconds_added=row["seconds_added"],
        seconds_removed=row["seconds_removed"],
    )


def end_point_from_row(row: Row) -> EndPoint:
    return EndPoint(
        at=from_db(row["at"]),
        scheduled_end=from_db(row["scheduled_end"]),
        penalty=bool(row["penalty"]),
    )


def stats_from_rows(
    days: Sequence[Row],
    voters: Sequence[Row],
    ends: Sequence[Row],
    penalties_newest_first: Sequence[Row],
    last: Row | None,
) -> LinkStats:
    """A link's statistics from the rows of its questions (each backend's history module)."""
    return LinkStats(
        days=[day_count_from_row(row) for row in days],
        top_voters=[
            VoterActivity(row["user_id"], row["votes"], row["net_seconds"]) for row in voters
        ],
        ends=[end_point_from_row(row) for row in ends],
        penalties=[end_point_from_row(row) for row in reversed(penalties_newest_first)],
        last_vote=None if last is None else entry_from_row(last),
    )


def proposal_from_row(row: Row, cipher: TokenCipher) -> LinkProposal:
    return LinkProposal(
        id=row["id"],
        guild_id=row["guild_id"],
        channel_id=row["channel_id"],
        proposer_id=row["proposer_id"],
        name=row["name"],
        link_token=cipher.decrypt(bytes(row["link_token"])),
        interval=VoteInterval(row["vote_interval"]),
        anonymous_allowed=bool(row["anonymous_allowed"]),
        proposer_locale=row["proposer_locale"],
        guild_locale=row["guild_locale"],
        created_at=from_db(row["created_at"]),
        log_channel_id=row["log_channel_id"],
        message_id=row["message_id"],
    )
