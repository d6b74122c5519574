"""Settling this process's calls whose outcome was never written."""

from __future__ import annotations

import json
from collections.abc import Collection
from datetime import datetime

from storage.sqlite.sql import SqlStore
from storage.timestamps import to_db

# The terms of the partial index ledger_pending come first.
SETTLE_STALE_SQL = """
    UPDATE ledger SET status = 'unknown', finished_at = ?, reason = 'unsettled'
    WHERE status = 'pending' AND boot_id = ? AND created_at < ?
        AND id NOT IN (SELECT value FROM json_each(?))
    RETURNING id
"""


class OutcomeStore(SqlStore):
    boot_id: int  # this process life's, written on its pending rows

    async def settle_stale_calls(
        self, *, before: datetime, now: datetime, keep: Collection[int]
    ) -> list[int]:
        """This life's rows pending since before `before`, except `keep`, become unknown."""
        rows = await self._fetch_all(
            SETTLE_STALE_SQL, (to_db(now), self.boot_id, to_db(before), json.dumps(sorted(keep)))
        )
        return [int(row[0]) for row in rows]
