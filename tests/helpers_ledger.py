"""The ledger as a reader of the database file sees it: what tests check was stored.

The bot asks the ledger only what it needs to decide; these broader reads are the tests' own.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from storage.ledger import to_entry
from storage.models import LedgerEntry, LedgerStatus


def _read(path: Path, where: str, params: tuple[object, ...]) -> list[LedgerEntry]:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    conn.row_factory = sqlite3.Row
    try:
        sql = f"SELECT * FROM ledger WHERE {where} ORDER BY created_at, id"  # noqa: S608
        return [to_entry(row) for row in conn.execute(sql, params)]
    finally:
        conn.close()


def calls(path: Path, status: LedgerStatus | None = None) -> list[LedgerEntry]:
    """Every game call, or those with `status`; oldest first."""
    if status is None:
        return _read(path, "1", ())
    return _read(path, "status = ?", (status.value,))


def recent_calls(path: Path, guild_id: int) -> list[LedgerEntry]:
    """A guild's game calls, newest first."""
    return _read(path, "guild_id = ?", (guild_id,))[::-1]


def ledger_entry(path: Path, entry_id: int) -> LedgerEntry | None:
    found = _read(path, "id = ?", (entry_id,))
    return found[0] if found else None
