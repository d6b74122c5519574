"""Turns to IDENTIFY: processes that connect together take 5-second slots one after another."""

from __future__ import annotations

from storage.sqlite.sql import SqlStore

# The database's clock in microseconds since the epoch; one value within a statement.
_NOW = "CAST((julianday('now') - 2440587.5) * 86400000000 AS INTEGER)"


class IdentifyStore(SqlStore):
    async def take_identify_slot(self, bucket: int, *, spacing: float) -> float:
        """Take the bucket's next free slot, `spacing` seconds after the one taken before it (or
        now), and return the seconds until it starts, by the database's clock (as on
        PostgreSQL, where processes on several machines share the server's).
        """
        (row,) = await self._fetch_all(
            f"""
            INSERT INTO identify_slots (bucket, starts_at) VALUES (?1, {_NOW})
            ON CONFLICT (bucket) DO UPDATE
                SET starts_at = max({_NOW}, identify_slots.starts_at + ?2)
            RETURNING starts_at - {_NOW} AS wait
            """,  # noqa: S608 - the clock's expression, no input
            (bucket, round(spacing * 1_000_000)),
        )
        return max(0, int(row["wait"])) / 1_000_000
