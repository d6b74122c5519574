"""What happened on a link or to a member: history, export and statistics, all seeking indexes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime

from storage.history_sizes import END_POINTS, EXPORT_BATCH, PENALTY_POINTS
from storage.models import LedgerEntry, LinkStats
from storage.rows import entry_from_row, stats_from_rows
from storage.sqlite.ledger import PLAYED_VOTE
from storage.sqlite.sql import SqlStore
from storage.timestamps import to_db, utc_day_number

CALLS_ON_LINK_SQL = """
    SELECT * FROM ledger WHERE link_id = ?
    ORDER BY created_at DESC, id DESC
    LIMIT ?
"""
CALLS_OF_USER_SQL = """
    SELECT * FROM ledger WHERE user_id = ?
    ORDER BY created_at DESC, id DESC
    LIMIT ?
"""
# Keyset pages, oldest first: each page is its own short statement, so an export never holds a
# read open across the writes of votes that happen meanwhile.
EXPORT_FIRST_SQL = """
    SELECT * FROM ledger WHERE link_id = ?
    ORDER BY created_at, id
    LIMIT ?
"""
EXPORT_NEXT_SQL = """
    SELECT * FROM ledger WHERE link_id = ? AND (created_at, id) > (?, ?)
    ORDER BY created_at, id
    LIMIT ?
"""
DAYS_SQL = "SELECT * FROM link_days WHERE link_id = ? AND day >= ? ORDER BY day"
TOP_VOTERS_SQL = f"""
    SELECT user_id, count(*) AS votes,
        coalesce(sum(CASE operation WHEN 'ADD' THEN seconds WHEN 'SUB' THEN -seconds END), 0)
            AS net_seconds
    FROM ledger
    WHERE link_id = ? AND created_at >= ? AND anonymous = 0 AND user_id <> 0 AND {PLAYED_VOTE}
    GROUP BY user_id
    ORDER BY votes DESC, net_seconds DESC, user_id
    LIMIT ?
"""
# The latest reported end in each slice of the period (SQLite takes the bare columns from the
# row where max() found its value).
ENDS_SQL = f"""
    SELECT max(created_at) AS at, scheduled_end, penalty
    FROM ledger
    WHERE link_id = ? AND created_at >= ? AND {PLAYED_VOTE} AND scheduled_end IS NOT NULL
    GROUP BY (created_at - ?) / ?
    ORDER BY at
"""
PENALTIES_SQL = f"""
    SELECT created_at AS at, scheduled_end, penalty
    FROM ledger
    WHERE link_id = ? AND created_at >= ? AND {PLAYED_VOTE} AND penalty = 1
        AND scheduled_end IS NOT NULL
    ORDER BY created_at DESC
    LIMIT ?
"""
LAST_PLAYED_SQL = """
    SELECT ledger.* FROM link_totals JOIN ledger ON ledger.id = link_totals.last_played_id
    WHERE link_totals.link_id = ?
"""


class HistoryStore(SqlStore):
    async def calls_on_link(self, link_id: int, limit: int) -> list[LedgerEntry]:
        """The link's latest calls, newest first, whatever their outcome."""
        rows = await self._fetch_all(CALLS_ON_LINK_SQL, (link_id, limit))
        return [entry_from_row(row) for row in rows]

    async def calls_of_user(self, user_id: int, limit: int) -> list[LedgerEntry]:
        """The member's latest calls on any link or game, newest first."""
        rows = await self._fetch_all(CALLS_OF_USER_SQL, (user_id, limit))
        return [entry_from_row(row) for row in rows]

    async def calls_on_link_in_order(
        self, link_id: int, batch: int = EXPORT_BATCH
    ) -> AsyncIterator[list[LedgerEntry]]:
        """Every call on the link, oldest first, a batch at a time."""
        rows = await self._fetch_all(EXPORT_FIRST_SQL, (link_id, batch))
        while rows:
            yield [entry_from_row(row) for row in rows]
            if len(rows) < batch:
                return
            last = rows[-1]
            rows = await self._fetch_all(
                EXPORT_NEXT_SQL, (link_id, last["created_at"], last["id"], batch)
            )

    async def link_stats(
        self, link_id: int, *, since: datetime, until: datetime, top: int = 5
    ) -> LinkStats:
        """A link's played votes from `since` (the start of a UTC day) on."""
        start = to_db(since)
        slice_length = max(1, (to_db(until) - start) // END_POINTS + 1)
        days = await self._fetch_all(DAYS_SQL, (link_id, utc_day_number(since)))
        voters = await self._fetch_all(TOP_VOTERS_SQL, (link_id, start, top))
        ends = await self._fetch_all(ENDS_SQL, (link_id, start, start, slice_length))
        penalties = await self._fetch_all(PENALTIES_SQL, (link_id, start, PENALTY_POINTS))
        last = await self._fetch_one(LAST_PLAYED_SQL, (link_id,))
        return stats_from_rows(days, voters, ends, penalties, last)
