"""The ledger of game calls: written before each call is sent, finished after it, never deleted."""

from __future__ import annotations

import sqlite3
from datetime import datetime

import aiosqlite

from storage.errors import EntryNotPending, LinkRemoved
from storage.models import LedgerEntry, LedgerStatus, LinkTally, NewCall, PlayedResult
from storage.sql import Params, SqlStore
from storage.timestamps import from_db, from_db_or_none, to_db, to_db_or_none, utc_day_number

# What counts as a vote, said once. A public vote is a LINK game through a shared link (a dom's
# LINK game is not one). It limits the next vote when the tracker may have counted it: played,
# or sent without a known answer. Cards and counts show played votes only.
# The partial indexes of migration 0002 repeat these terms: SQLite uses a partial index only when
# the query holds each of its terms, which the query-plan test checks for every question below.
PUBLIC_VOTE = "game = 'link' AND dom = 0"
COUNTED_VOTE = f"{PUBLIC_VOTE} AND status IN ('played', 'unknown', 'pending')"
PLAYED_VOTE = f"{PUBLIC_VOTE} AND status = 'played'"

LAST_IDENTIFIED_VOTE_SQL = f"""
    SELECT * FROM ledger
    WHERE user_id = ? AND link_id = ? AND anonymous = 0 AND {COUNTED_VOTE}
    ORDER BY created_at DESC, id DESC
    LIMIT 1
"""  # noqa: S608
# Named: ledger_by_link has the same columns, and SQLite's planner, not knowing that this one
# holds only the link's anonymous votes, would walk every vote on the link instead.
LAST_ANONYMOUS_VOTE_SQL = f"""
    SELECT * FROM ledger INDEXED BY ledger_counted_anonymous
    WHERE link_id = ? AND anonymous = 1 AND {COUNTED_VOTE}
    ORDER BY created_at DESC, id DESC
    LIMIT 1
"""  # noqa: S608
LATEST_VOTES_OF_USER_SQL = f"""
    SELECT * FROM (
        SELECT *, row_number() OVER (
            PARTITION BY link_id ORDER BY created_at DESC, id DESC
        ) AS newness
        FROM ledger
        WHERE user_id = ? AND link_id IS NOT NULL AND anonymous = 0 AND {COUNTED_VOTE}
    )
    WHERE newness = 1
    ORDER BY created_at DESC, id DESC
"""  # noqa: S608
VOTE_COUNT_SQL = f"SELECT count(*) FROM ledger WHERE user_id = ? AND {PLAYED_VOTE}"  # noqa: S608
# A link card's figures: kept up to date by the trigger of migration 0007 as votes are played.
TALLY_SQL = """
    SELECT totals.*,
        coalesce(today.identified, 0) AS identified_today,
        coalesce(today.anonymous, 0) AS anonymous_today
    FROM link_totals AS totals
    LEFT JOIN link_days AS today ON today.link_id = totals.link_id AND today.day = ?
    WHERE totals.link_id = ?
"""
# A penalty is a played, identified vote, so the terms of ledger_counted_identified change
# nothing here; without them SQLite read every vote on the link, for every identified vote.
PENALTY_OF_USER_ON_LINK_SQL = f"""
    SELECT 1 FROM ledger
    WHERE user_id = ? AND link_id = ? AND anonymous = 0 AND {COUNTED_VOTE} AND penalty = 1
    LIMIT 1
"""  # noqa: S608
# The terms of the partial index ledger_pending.
RECOVER_INTERRUPTED_SQL = """
    UPDATE ledger SET status = 'unknown', finished_at = ?, reason = 'interrupted'
    WHERE status = 'pending'
    RETURNING id
"""


class LedgerStore(SqlStore):
    """Each method is one statement, so a crash between two calls leaves whole rows only."""

    async def begin_call(self, call: NewCall, *, now: datetime) -> int:
        """Commit a pending row before the call is sent: a crash cannot hide a call that ran."""
        try:
            ((entry_id,),) = await self._fetch_all(
                """
                INSERT INTO ledger (created_at, user_id, guild_id, channel_id, link_id, session_id,
                                    game, dom, vote_type, anonymous, voter_name)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                RETURNING id
                """,
                (
                    to_db(now),
                    call.user_id,
                    call.guild_id,
                    call.channel_id,
                    call.link_id,
                    call.session_id,
                    call.game,
                    call.dom,
                    call.vote_type,
                    call.anonymous,
                    None if call.anonymous else call.voter_name,
                ),
            )
        except sqlite3.IntegrityError as error:
            if error.sqlite_errorname != "SQLITE_CONSTRAINT_FOREIGNKEY":
                raise
            raise LinkRemoved("That link has just been removed from this channel.") from None
        return int(entry_id)

    async def finish_played(self, entry_id: int, result: PlayedResult, *, now: datetime) -> None:
        """Record the outcome; a result without a session id keeps the one the call was made for.

        A connected member's account is marked as used at `now` by the same statement (a trigger).
        """
        await self._finish(
            entry_id,
            """
            UPDATE ledger SET status = 'played', finished_at = ?, operation = ?, seconds = ?,
                multiplier = ?, penalty = ?, scheduled_end = ?,
                session_id = coalesce(?, session_id)
            WHERE id = ? AND status = 'pending'
            RETURNING id
            """,
            (
                to_db(now),
                result.operation,
                result.seconds,
                result.multiplier,
                result.penalty,
                to_db_or_none(result.scheduled_end),
                result.session_id,
                entry_id,
            ),
        )

    async def finish_refused(
        self, entry_id: int, reason: str, message: str | None, *, now: datetime
    ) -> None:
        await self._finish(
            entry_id,
            """
            UPDATE ledger SET status = 'refused', finished_at = ?, reason = ?, message = ?
            WHERE id = ? AND status = 'pending'
            RETURNING id
            """,
            (to_db(now), reason, message, entry_id),
        )

    async def finish_unknown(self, entry_id: int, reason: str, *, now: datetime) -> None:
        """Record a call that may or may not have reached the tracker; it still counts as a vote."""
        await self._finish(
            entry_id,
            """
            UPDATE ledger SET status = 'unknown', finished_at = ?, reason = ?
            WHERE id = ? AND status = 'pending'
            RETURNING id
            """,
            (to_db(now), reason, entry_id),
        )

    async def last_counted_vote(self, link_id: int, *, user_id: int | None) -> LedgerEntry | None:
        """The vote limiting the next: the member's own, or (user_id None) the shared anonymous."""
        if user_id is None:
            row = await self._fetch_one(LAST_ANONYMOUS_VOTE_SQL, (link_id,))
        else:
            row = await self._fetch_one(LAST_IDENTIFIED_VOTE_SQL, (user_id, link_id))
        return None if row is None else to_entry(row)

    async def latest_votes_of_user(self, user_id: int) -> list[LedgerEntry]:
        """Per link still present, the member's latest counted identified vote; newest first."""
        return await self._entries(LATEST_VOTES_OF_USER_SQL, (user_id,))

    async def vote_count(self, user_id: int) -> int:
        """Played public votes the member made, connected or anonymous."""
        ((count,),) = await self._fetch_all(VOTE_COUNT_SQL, (user_id,))
        return int(count)

    async def _recover_interrupted(self, now: datetime) -> int:
        """Rows pending at open belong to a process that died mid-call: their outcome is unknown."""
        rows = await self._fetch_all(RECOVER_INTERRUPTED_SQL, (to_db(now),))
        return len(rows)

    async def _finish(self, entry_id: int, sql: str, params: Params) -> None:
        """Run an UPDATE … RETURNING id that finishes the pending entry."""
        if not await self._fetch_all(sql, params):
            raise EntryNotPending(f"Ledger entry {entry_id} does not exist or is already finished.")

    async def _entries(self, sql: str, params: Params) -> list[LedgerEntry]:
        return [to_entry(row) for row in await self._fetch_all(sql, params)]

    async def link_tally(self, link_id: int, *, day_start: datetime) -> LinkTally:
        """What a link card shows: votes today and in total, time added and removed, last result.

        Two lookups by key, however many votes the link has.
        """
        row = await self._fetch_one(TALLY_SQL, (utc_day_number(day_start), link_id))
        if row is None:
            return LinkTally(0, 0, 0, 0, 0, 0, last_vote=None)
        last = await self._fetch_one("SELECT * FROM ledger WHERE id = ?", (row["last_played_id"],))
        return LinkTally(
            identified=row["identified"],
            anonymous=row["anonymous"],
            identified_today=row["identified_today"],
            anonymous_today=row["anonymous_today"],
            seconds_added=row["seconds_added"],
            seconds_removed=row["seconds_removed"],
            last_vote=None if last is None else to_entry(last),
        )

    async def had_penalty_on_link(self, user_id: int, link_id: int) -> bool:
        """An earlier penalty proves the member owns the link's session."""
        return await self._fetch_one(PENALTY_OF_USER_ON_LINK_SQL, (user_id, link_id)) is not None


def to_entry(row: aiosqlite.Row) -> LedgerEntry:
    return LedgerEntry(
        id=row["id"],
        created_at=from_db(row["created_at"]),
        finished_at=from_db_or_none(row["finished_at"]),
        user_id=row["user_id"],
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
