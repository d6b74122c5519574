"""Turns to IDENTIFY: processes that connect together take 5-second slots one after another."""

from __future__ import annotations

from storage.postgres.sql import SqlStore

# The server's clock in microseconds since the epoch, as the statement started.
_NOW = "(extract(epoch FROM statement_timestamp()) * 1000000)::bigint"


class IdentifyStore(SqlStore):
    async def take_identify_slot(self, bucket: int, *, spacing: float) -> float:
        """Take the bucket's next free slot, `spacing` seconds after the one taken before it (or
        now), and return the seconds until it starts.

        Measured by one clock, the server's, so processes on machines whose clocks disagree
        still keep their turns apart. The upsert locks the bucket's row: two processes asking
        at once get two slots.
        """
        wait = await self._fetchval(
            f"""
            INSERT INTO identify_slots (bucket, starts_at) VALUES ($1, {_NOW})
            ON CONFLICT (bucket) DO UPDATE
                SET starts_at = greatest({_NOW}, identify_slots.starts_at + $2)
            RETURNING starts_at - {_NOW}
            """,  # noqa: S608 - the clock's expression, no input
            bucket,
            round(spacing * 1_000_000),
        )
        return max(0, int(wait)) / 1_000_000
