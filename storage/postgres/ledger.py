"""The ledger of game calls: written before each call is sent, finished after it, never deleted.

PostgreSQL's one statement of what counts as a vote, and the ledger questions built on it.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import datetime
from typing import Any

import asyncpg

from storage.errors import (
    CallUnderWay,
    EntryNotPending,
    InteractionSeen,
    LinkRemoved,
    VoteAlreadyCounted,
)
from storage.models import LedgerEntry, LinkTally, NewCall, PlayedResult
from storage.postgres.deadlines import take_voter_lock, voter_lock_pauses
from storage.postgres.sql import BOOT_LOCKS, UNAVAILABLE, SqlStore, unavailable_as_storage_error
from storage.rows import entry_from_row, tally_from_rows
from storage.timestamps import to_db, to_db_or_none, utc_day_number


# A vote "counted" if the tracker may have recorded it: played, or sent without a known answer.
# The partial indexes of migration 0002 carry the same terms.
def counted_vote(row: str = "ledger") -> str:
    return (
        f"{row}.game = 'link' AND NOT {row}.dom"
        f" AND {row}.status IN ('played', 'unknown', 'pending')"
    )


COUNTED_VOTE = counted_vote()
PLAYED_VOTE = "game = 'link' AND NOT dom AND status = 'played'"


def same_voter(*, anonymous: bool, link: str, user: str) -> str:
    """Counted votes that limit the next: the member's own, or the link's one anonymous vote.

    Written out per kind of voter, so that each matches its partial index of migration 0002.
    """
    voter = "anonymous" if anonymous else f"NOT anonymous AND user_id = {user}"
    return f"link_id = {link} AND {voter} AND {COUNTED_VOTE}"


LAST_COUNTED_VOTE_SQL = {
    False: f"""
        SELECT * FROM ledger WHERE {same_voter(anonymous=False, link="$1", user="$2")}
        ORDER BY created_at DESC, id DESC LIMIT 1
    """,
    True: f"""
        SELECT * FROM ledger WHERE {same_voter(anonymous=True, link="$1", user="")}
        ORDER BY created_at DESC, id DESC LIMIT 1
    """,
}
LATEST_VOTES_OF_USER_SQL = f"""
    SELECT * FROM (
        SELECT DISTINCT ON (link_id) * FROM ledger
        WHERE user_id = $1 AND link_id IS NOT NULL AND NOT anonymous AND {COUNTED_VOTE}
        ORDER BY link_id, created_at DESC, id DESC
    ) AS latest
    ORDER BY created_at DESC, id DESC
"""
VOTE_COUNT_SQL = f"SELECT count(*) FROM ledger WHERE user_id = $1 AND {PLAYED_VOTE}"
PENALTY_OF_USER_ON_LINK_SQL = f"""
    SELECT 1 FROM ledger
    WHERE user_id = $1 AND link_id = $2 AND NOT anonymous AND {COUNTED_VOTE} AND penalty
    LIMIT 1
"""
# A link card's figures: kept up to date by the trigger of migration 0007 as votes are played.
TALLY_SQL = """
    SELECT totals.*,
        coalesce(today.identified, 0) AS identified_today,
        coalesce(today.anonymous, 0) AS anonymous_today
    FROM link_totals AS totals
    LEFT JOIN link_days AS today ON today.link_id = totals.link_id AND today.day = $2
    WHERE totals.link_id = $1
"""
# Written only if the voter has no counted vote after $13 (votes only; $13 NULL for games).
BEGIN_CALL_SQL = {
    anonymous: f"""
        INSERT INTO ledger (link_id, anonymous, user_id, created_at, guild_id, channel_id,
                            session_id, game, dom, vote_type, interaction_id, boot_id,
                            voter_name)
        SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $14
        WHERE $13::bigint IS NULL OR NOT EXISTS (
            SELECT 1 FROM ledger
            WHERE {same_voter(anonymous=anonymous, link="$1", user="$3")} AND created_at > $13
        )
        RETURNING id
    """
    for anonymous in (False, True)
}
_PENDING_CONSTRAINTS = ("ledger_one_pending_vote", "ledger_one_pending_game")
# Settles the pending rows of every process life whose lock is free: those lives ended.
_RECOVER_SQL = """
    UPDATE ledger SET status = 'unknown', finished_at = $1, reason = 'interrupted'
    WHERE status = 'pending' AND (boot_id IS NULL OR boot_id NOT IN (
        SELECT objid::bigint FROM pg_locks
        WHERE locktype = 'advisory' AND classid::bigint = $2 AND objsubid = 2 AND granted
            AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
    ))
    RETURNING id
"""


class LedgerStore(SqlStore):
    """Each method is one statement or one transaction, so a crash leaves whole rows only."""

    boot_id: int  # this process life's, written on its pending rows

    async def begin_call(
        self, call: NewCall, *, now: datetime, limit_since: datetime | None = None
    ) -> int:
        """Commit a pending row before the call is sent, in one step with its checks.

        A game is one statement. A vote is a transaction that takes the voter's lock first, so of
        two processes checking the same member's vote on the same link, the second waits and its
        statement sees the first one's row; BEGIN and the lock go in one round trip.
        """
        args = (
            call.link_id,
            call.anonymous,
            call.user_id,
            to_db(now),
            call.guild_id,
            call.channel_id,
            call.session_id,
            call.game,
            call.dom,
            call.vote_type,
            call.interaction_id,
            self.boot_id,
            to_db_or_none(limit_since),
            None if call.anonymous else call.voter_name,
        )
        try:
            with unavailable_as_storage_error():
                if limit_since is None:
                    async with self._connection() as conn:
                        entry_id = await conn.fetchval(BEGIN_CALL_SQL[False], *args)
                else:
                    entry_id = await self._begin_vote(call, args)
        except asyncpg.ForeignKeyViolationError:
            raise LinkRemoved("That link has just been removed from this channel.") from None
        except asyncpg.UniqueViolationError as error:
            if error.constraint_name in _PENDING_CONSTRAINTS:
                raise CallUnderWay("a call of this voter is under way") from None
            raise InteractionSeen(f"interaction {call.interaction_id} has a call") from None
        if entry_id is None:
            raise VoteAlreadyCounted("the voter has a counted vote within the limit")
        return int(entry_id)

    async def _begin_vote(self, call: NewCall, args: tuple[Any, ...]) -> int | None:
        """Write the vote's row holding its voter's lock, so the check sees every earlier row.

        A lock held elsewhere is tried again without holding a pool connection meanwhile, so
        votes waiting for one voter cannot crowd out every other command; after the deadline the
        vote is refused as under way.
        """
        lock = _voter_lock(call)  # an int: nothing from outside is interpolated
        pauses = voter_lock_pauses(self._deadline)
        while True:
            async with self._connection() as conn:
                if await take_voter_lock(conn, lock):
                    try:
                        entry_id: int = await conn.fetchval(BEGIN_CALL_SQL[call.anonymous], *args)
                    except BaseException:
                        with contextlib.suppress(*UNAVAILABLE, asyncpg.PostgresError):
                            await conn.execute("ROLLBACK")  # else the pool's reset does
                        raise
                    await conn.execute("COMMIT")
                    return entry_id
            pause = next(pauses, None)
            if pause is None:
                raise CallUnderWay("another session holds this voter's lock")
            await asyncio.sleep(pause)

    async def finish_played(self, entry_id: int, result: PlayedResult, *, now: datetime) -> None:
        await self._finish(
            entry_id,
            """
            UPDATE ledger SET status = 'played', finished_at = $2, operation = $3, seconds = $4,
                multiplier = $5, penalty = $6, scheduled_end = $7,
                session_id = coalesce($8, session_id)
            WHERE id = $1 AND status = 'pending'
            RETURNING id
            """,
            to_db(now),
            result.operation,
            result.seconds,
            result.multiplier,
            result.penalty,
            to_db_or_none(result.scheduled_end),
            result.session_id,
        )

    async def finish_refused(
        self, entry_id: int, reason: str, message: str | None, *, now: datetime
    ) -> None:
        await self._finish(
            entry_id,
            """
            UPDATE ledger SET status = 'refused', finished_at = $2, reason = $3, message = $4
            WHERE id = $1 AND status = 'pending'
            RETURNING id
            """,
            to_db(now),
            reason,
            message,
        )

    async def finish_unknown(self, entry_id: int, reason: str, *, now: datetime) -> None:
        await self._finish(
            entry_id,
            """
            UPDATE ledger SET status = 'unknown', finished_at = $2, reason = $3
            WHERE id = $1 AND status = 'pending'
            RETURNING id
            """,
            to_db(now),
            reason,
        )

    async def _finish(self, entry_id: int, sql: str, *args: Any) -> None:
        if await self._fetchval(sql, entry_id, *args) is None:
            raise EntryNotPending(f"Ledger entry {entry_id} does not exist or is already finished.")

    async def last_counted_vote(self, link_id: int, *, user_id: int | None) -> LedgerEntry | None:
        if user_id is None:
            row = await self._fetchrow(LAST_COUNTED_VOTE_SQL[True], link_id)
        else:
            row = await self._fetchrow(LAST_COUNTED_VOTE_SQL[False], link_id, user_id)
        return None if row is None else entry_from_row(row)

    async def latest_votes_of_user(self, user_id: int) -> list[LedgerEntry]:
        return self._entries(await self._fetch(LATEST_VOTES_OF_USER_SQL, user_id))

    async def vote_count(self, user_id: int) -> int:
        return int(await self._fetchval(VOTE_COUNT_SQL, user_id))

    async def link_tally(self, link_id: int, *, day_start: datetime) -> LinkTally:
        """Two lookups by key, however many votes the link has."""
        row = await self._fetchrow(TALLY_SQL, link_id, utc_day_number(day_start))
        if row is None:
            return LinkTally(0, 0, 0, 0, 0, 0, last_vote=None)
        last = await self._fetchrow("SELECT * FROM ledger WHERE id = $1", row["last_played_id"])
        return tally_from_rows(row, last)

    async def had_penalty_on_link(self, user_id: int, link_id: int) -> bool:
        return await self._fetchrow(PENALTY_OF_USER_ON_LINK_SQL, user_id, link_id) is not None

    async def _recover_interrupted(self, now: datetime) -> int:
        """Rows pending of a life that ended (its lock is free) have an unknown outcome.

        A process that is still running holds its lock, so its calls under way are left alone.
        """
        return len(await self._fetch(_RECOVER_SQL, to_db(now), BOOT_LOCKS))

    @staticmethod
    def _entries(rows: list[asyncpg.Record]) -> list[LedgerEntry]:
        return [entry_from_row(row) for row in rows]


def _voter_lock(call: NewCall) -> int:
    """The advisory lock of a link's voter (one for all its anonymous votes); a collision only
    makes two voters take turns."""
    voter = 0 if call.anonymous else call.user_id
    return ((call.link_id or 0) << 32 ^ voter) & 0x7FFF_FFFF_FFFF_FFFF
