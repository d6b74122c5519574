"""The ledger as a reader of the database sees it: what tests check was stored.

The bot asks the ledger only what it needs to decide; these broader reads are the tests' own.
A ledger is found at a SQLite file's path or a PostgreSQL database's URL.
"""

from __future__ import annotations

import asyncio
import sqlite3
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import asyncpg

from storage.models import LedgerEntry, LedgerStatus
from storage.rows import entry_from_row

Location = Path | str


def _read(where: Location, column: str | None, value: object = None) -> list[LedgerEntry]:
    """Rows whose `column` equals `value` (every row when None), oldest first."""
    if isinstance(where, Path):
        return _read_sqlite(where, column, value)
    # asyncpg only has an async API, and the caller may be inside a running loop: read from a
    # thread with a loop of its own, as another program would.
    with ThreadPoolExecutor(1) as reader:
        return reader.submit(asyncio.run, _read_postgres(where, column, value)).result()


def _read_sqlite(path: Path, column: str | None, value: object) -> list[LedgerEntry]:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    conn.row_factory = sqlite3.Row
    try:
        condition, params = (f"{column} = ?", (value,)) if column else ("1", ())
        sql = f"SELECT * FROM ledger WHERE {condition} ORDER BY created_at, id"  # noqa: S608
        return [entry_from_row(row) for row in conn.execute(sql, params)]
    finally:
        conn.close()


async def _read_postgres(url: str, column: str | None, value: object) -> list[LedgerEntry]:
    conn = await asyncpg.connect(url)
    try:
        condition, params = (f"{column} = $1", (value,)) if column else ("true", ())
        sql = f"SELECT * FROM ledger WHERE {condition} ORDER BY created_at, id"  # noqa: S608
        return [entry_from_row(row) for row in await conn.fetch(sql, *params)]
    finally:
        await conn.close()


def calls(where: Location, status: LedgerStatus | None = None) -> list[LedgerEntry]:
    """Every game call, or those with `status`; oldest first."""
    if status is None:
        return _read(where, None)
    return _read(where, "status", status.value)


def recent_calls(where: Location, guild_id: int) -> list[LedgerEntry]:
    """A guild's game calls, newest first."""
    return _read(where, "guild_id", guild_id)[::-1]


def ledger_entry(where: Location, entry_id: int) -> LedgerEntry | None:
    found = _read(where, "id", entry_id)
    return found[0] if found else None
