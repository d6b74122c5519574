"""The ledger of game calls: written before each call is sent, finished after it, never deleted."""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Callable
from datetime import datetime

from storage.errors import (
    CallUnderWay,
    EntryNotPending,
    InteractionSeen,
    LinkRemoved,
    StorageError,
    StorageUnavailable,
    VoteAlreadyCounted,
)
from storage.models import LedgerEntry, LinkTally, NewCall, PlayedResult
from storage.rows import entry_from_row, tally_from_rows
from storage.sqlite.group_commit import GroupCommit
from storage.sqlite.sql import Params, SqlStore
from storage.timestamps import to_db, to_db_or_none, utc_day_number

# What counts as a vote, said once. A public vote is a LINK game through a shared link (a dom's
# LINK game is not one). It limits the next vote when the tracker may have counted it: played,
# or sent without a known answer. Cards and counts show played votes only.
# The partial indexes of migration 0002 repeat these terms: SQLite uses a partial index only when
# the query holds each of its terms, which the query-plan test checks for every question below.
PUBLIC_VOTE = "game = 'link' AND dom = 0"
COUNTED_VOTE = f"{PUBLIC_VOTE} AND status IN ('played', 'unknown', 'pending')"
PLAYED_VOTE = f"{PUBLIC_VOTE} AND status = 'played'"

# The votes that limit a voter's next: a member's own, or the one anonymous vote of a link.
IDENTIFIED_VOTES = f"user_id = ? AND link_id = ? AND anonymous = 0 AND {COUNTED_VOTE}"
ANONYMOUS_VOTES = f"link_id = ? AND anonymous = 1 AND {COUNTED_VOTE}"
LAST_IDENTIFIED_VOTE_SQL = f"""
    SELECT * FROM ledger WHERE {IDENTIFIED_VOTES}
    ORDER BY created_at DESC, id DESC
    LIMIT 1
"""
# Named: ledger_by_link has the same columns, and SQLite's planner, not knowing that this one
# holds only the link's anonymous votes, would walk every vote on the link instead.
ANONYMOUS_VOTES_INDEX = "INDEXED BY ledger_counted_anonymous"
LAST_ANONYMOUS_VOTE_SQL = f"""
    SELECT * FROM ledger {ANONYMOUS_VOTES_INDEX} WHERE {ANONYMOUS_VOTES}
    ORDER BY created_at DESC, id DESC
    LIMIT 1
"""
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
"""
VOTE_COUNT_SQL = f"SELECT count(*) FROM ledger WHERE user_id = ? AND {PLAYED_VOTE}"
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
    SELECT 1 FROM ledger WHERE {IDENTIFIED_VOTES} AND penalty = 1 LIMIT 1
"""
_BEGIN_CALL = """
    INSERT INTO ledger (created_at, user_id, guild_id, channel_id, link_id, session_id, game, dom,
                        vote_type, anonymous, voter_name, interaction_id, boot_id)
    SELECT ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?
"""
# A game call is written as it comes; a vote only when its voter has no counted vote after the
# last parameter, in the same statement, so no other write can come between check and row.
BEGIN_GAME_SQL = f"{_BEGIN_CALL} RETURNING id"
BEGIN_VOTE_SQL = {
    anonymous: f"""{_BEGIN_CALL}
        WHERE NOT EXISTS (SELECT 1 FROM ledger {index} WHERE {votes} AND created_at > ?)
        RETURNING id
    """
    for anonymous, index, votes in (
        (False, "", IDENTIFIED_VOTES),
        (True, ANONYMOUS_VOTES_INDEX, ANONYMOUS_VOTES),
    )
}
# The terms of the partial index ledger_pending.
PENDING_LIVES_SQL = """
    SELECT DISTINCT boot_id FROM ledger WHERE status = 'pending' AND boot_id IS NOT NULL
"""
RECOVER_INTERRUPTED_SQL = """
    UPDATE ledger SET status = 'unknown', finished_at = ?, reason = 'interrupted'
    WHERE status = 'pending' AND (boot_id IS NULL OR boot_id IN ({lives}))
    RETURNING id
"""


class LedgerStore(SqlStore):
    """Each method is one statement, so a crash between two calls leaves whole rows only."""

    boot_id: int  # this process life's, written on its pending rows
    _group_commit: GroupCommit  # syncs the log before a call leaves

    async def begin_call(
        self, call: NewCall, *, now: datetime, limit_since: datetime | None = None
    ) -> int:
        """Commit a pending row before the call is sent: a crash cannot hide a call that ran.

        With `limit_since` (a vote), the row is written only if the voter has no counted vote
        since then; the database allows one pending vote per link and voter, and one call per
        Discord interaction.
        """
        params: list[object] = [
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
            call.interaction_id,
            self.boot_id,
        ]
        if limit_since is None:
            sql = BEGIN_GAME_SQL
        else:
            sql = BEGIN_VOTE_SQL[call.anonymous]
            voter = [] if call.anonymous else [call.user_id]
            params += [*voter, call.link_id, to_db(limit_since)]
        try:
            rows = await self._fetch_all(sql, params)
        except sqlite3.IntegrityError as error:
            refused = _call_refused(error, call)
            if refused is None:
                raise
            raise refused from None
        if not rows:
            raise VoteAlreadyCounted("the voter has a counted vote within the limit")
        entry_id = int(rows[0][0])
        try:
            await self._group_commit.durable()  # on disk before the call is sent, power cut or not
        except StorageUnavailable:
            # Not sent, so it must not count as a vote; if even this fails, start-up settles it.
            with contextlib.suppress(StorageError):
                await self.finish_refused(entry_id, "not_sent", None, now=now)
            raise
        return entry_id

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
        return None if row is None else entry_from_row(row)

    async def latest_votes_of_user(self, user_id: int) -> list[LedgerEntry]:
        """Per link still present, the member's latest counted identified vote; newest first."""
        return await self._entries(LATEST_VOTES_OF_USER_SQL, (user_id,))

    async def vote_count(self, user_id: int) -> int:
        """Played public votes the member made, connected or anonymous."""
        ((count,),) = await self._fetch_all(VOTE_COUNT_SQL, (user_id,))
        return int(count)

    async def _recover_interrupted(self, now: datetime, ended: Callable[[int], bool]) -> int:
        """Rows pending of a process life that `ended` belong to a call cut off: unknown outcome.

        A process that still runs keeps its rows; rows older than process lives count as ended.
        """
        lives = await self._fetch_all(PENDING_LIVES_SQL)
        over = [life for (life,) in lives if ended(life)]
        sql = RECOVER_INTERRUPTED_SQL.format(lives=", ".join("?" * len(over)))
        return len(await self._fetch_all(sql, (to_db(now), *over)))

    async def _finish(self, entry_id: int, sql: str, params: Params) -> None:
        """Run an UPDATE … RETURNING id that finishes the pending entry."""
        if not await self._fetch_all(sql, params):
            raise EntryNotPending(f"Ledger entry {entry_id} does not exist or is already finished.")

    async def _entries(self, sql: str, params: Params) -> list[LedgerEntry]:
        return [entry_from_row(row) for row in await self._fetch_all(sql, params)]

    async def link_tally(self, link_id: int, *, day_start: datetime) -> LinkTally:
        """What a link card shows: votes today and in total, time added and removed, last result.

        Two lookups by key, however many votes the link has.
        """
        row = await self._fetch_one(TALLY_SQL, (utc_day_number(day_start), link_id))
        if row is None:
            return LinkTally(0, 0, 0, 0, 0, 0, last_vote=None)
        last = await self._fetch_one("SELECT * FROM ledger WHERE id = ?", (row["last_played_id"],))
        return tally_from_rows(row, last)


def _call_refused(error: sqlite3.IntegrityError, call: NewCall) -> StorageError | None:
    """The storage error for a constraint the pending row broke; None for a malformed call."""
    if error.sqlite_errorname == "SQLITE_CONSTRAINT_FOREIGNKEY":
        return LinkRemoved("That link has just been removed from this channel.")
    if error.sqlite_errorname != "SQLITE_CONSTRAINT_UNIQUE":
        return None
    if "interaction_id" in str(error):
        return InteractionSeen(f"interaction {call.interaction_id} has a call")
    return CallUnderWay("a call of this voter is under way")
