"""What happened on a link or to a member: history, export and statistics, all seeking indexes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime

from storage.history_sizes import END_POINTS, EXPORT_BATCH, PENALTY_POINTS
from storage.models import LedgerEntry, LinkStats
from storage.postgres.ledger import PLAYED_VOTE
from storage.postgres.sql import SqlStore
from storage.rows import entry_from_row, stats_from_rows
from storage.timestamps import to_db, utc_day_number

CALLS_ON_LINK_SQL = """
    SELECT * FROM ledger WHERE link_id = $1
    ORDER BY created_at DESC, id DESC
    LIMIT $2
"""
CALLS_OF_USER_SQL = """
    SELECT * FROM ledger WHERE user_id = $1
    ORDER BY created_at DESC, id DESC
    LIMIT $2
"""
# Keyset pages, oldest first: each page its own short statement.
EXPORT_FIRST_SQL = """
    SELECT * FROM ledger WHERE link_id = $1
    ORDER BY created_at, id
    LIMIT $2
"""
EXPORT_NEXT_SQL = """
    SELECT * FROM ledger WHERE link_id = $1 AND (created_at, id) > ($2, $3)
    ORDER BY created_at, id
    LIMIT $4
"""
DAYS_SQL = "SELECT * FROM link_days WHERE link_id = $1 AND day >= $2 ORDER BY day"
# sum() of bigint is numeric in PostgreSQL: cast back, so the row holds an int.
TOP_VOTERS_SQL = f"""
    SELECT user_id, count(*) AS votes,
        coalesce(
            sum(CASE operation WHEN 'ADD' THEN seconds WHEN 'SUB' THEN -seconds END), 0
        )::bigint AS net_seconds
    FROM ledger
    WHERE link_id = $1 AND created_at >= $2 AND NOT anonymous AND user_id <> 0
        AND {PLAYED_VOTE}
    GROUP BY user_id
    ORDER BY votes DESC, net_seconds DESC, user_id
    LIMIT $3
"""
# The latest reported end in each slice of the period.
ENDS_SQL = f"""
    SELECT at, scheduled_end, penalty FROM (
        SELECT DISTINCT ON ((created_at - $3) / $4)
            created_at AS at, scheduled_end, penalty
        FROM ledger
        WHERE link_id = $1 AND created_at >= $2 AND {PLAYED_VOTE} AND scheduled_end IS NOT NULL
        ORDER BY (created_at - $3) / $4, created_at DESC, id DESC
    ) AS slices
    ORDER BY at
"""
PENALTIES_SQL = f"""
    SELECT created_at AS at, scheduled_end, penalty
    FROM ledger
    WHERE link_id = $1 AND created_at >= $2 AND {PLAYED_VOTE} AND penalty
        AND scheduled_end IS NOT NULL
    ORDER BY created_at DESC
    LIMIT $3
"""
LAST_PLAYED_SQL = """
    SELECT ledger.* FROM link_totals JOIN ledger ON ledger.id = link_totals.last_played_id
    WHERE link_totals.link_id = $1
"""


class HistoryStore(SqlStore):
    async def calls_on_link(self, link_id: int, limit: int) -> list[LedgerEntry]:
        rows = await self._fetch(CALLS_ON_LINK_SQL, link_id, limit)
        return [entry_from_row(row) for row in rows]

    async def calls_of_user(self, user_id: int, limit: int) -> list[LedgerEntry]:
        rows = await self._fetch(CALLS_OF_USER_SQL, user_id, limit)
        return [entry_from_row(row) for row in rows]

    async def calls_on_link_in_order(
        self, link_id: int, batch: int = EXPORT_BATCH
    ) -> AsyncIterator[list[LedgerEntry]]:
        """Every call on the link, oldest first, a batch at a time (keyset pages)."""
        rows = await self._fetch(EXPORT_FIRST_SQL, link_id, batch)
        while rows:
            yield [entry_from_row(row) for row in rows]
            if len(rows) < batch:
                return
            last = rows[-1]
            rows = await self._fetch(
                EXPORT_NEXT_SQL, link_id, last["created_at"], last["id"], batch
            )

    async def link_stats(
        self, link_id: int, *, since: datetime, until: datetime, top: int = 5
    ) -> LinkStats:
        start = to_db(since)
        slice_length = max(1, (to_db(until) - start) // END_POINTS + 1)
        days = await self._fetch(DAYS_SQL, link_id, utc_day_number(since))
        voters = await self._fetch(TOP_VOTERS_SQL, link_id, start, top)
        ends = await self._fetch(ENDS_SQL, link_id, start, start, slice_length)
        penalties = await self._fetch(PENALTIES_SQL, link_id, start, PENALTY_POINTS)
        last = await self._fetchrow(LAST_PLAYED_SQL, link_id)
        return stats_from_rows(days, voters, ends, penalties, last)
