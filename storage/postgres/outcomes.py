"""Settling this process's calls whose outcome was never written."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from storage.postgres.sql import SqlStore
from storage.timestamps import to_db

SETTLE_STALE_SQL = """
    UPDATE ledger SET status = 'unknown', finished_at = $1, reason = 'unsettled'
    WHERE status = 'pending' AND boot_id = $2 AND created_at < $3 AND NOT (id = ANY($4::bigint[]))
    RETURNING id
"""


class OutcomeStore(SqlStore):
    boot_id: int  # this process life's, written on its pending rows

    async def settle_stale_calls(
        self, *, before: datetime, now: datetime, keep: Collection[int]
    ) -> list[int]:
        """This life's rows pending since before `before`, except `keep`, become unknown."""
        rows = await self._fetch(
            SETTLE_STALE_SQL, to_db(now), self.boot_id, to_db(before), sorted(keep)
        )
        return [int(row["id"]) for row in rows]
