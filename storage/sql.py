"""The plumbing every store shares: one connection, one lock around it, one cipher."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import aiosqlite

from storage.errors import StorageUnavailable
from storage.token_cipher import TokenCipher

log = logging.getLogger(__name__)

Params = Sequence[Any] | Mapping[str, Any]
# SQLite result codes that say the file cannot be used now (a full disk, an I/O error, a lock held
# elsewhere, damage), as opposed to a mistake in our SQL. Extended codes share these prefixes.
_UNAVAILABLE = (
    "SQLITE_FULL",
    "SQLITE_IOERR",
    "SQLITE_READONLY",
    "SQLITE_CANTOPEN",
    "SQLITE_BUSY",
    "SQLITE_LOCKED",
    "SQLITE_CORRUPT",
    "SQLITE_NOTADB",
)

DATABASE_UNAVAILABLE = "the database cannot be used"


@contextmanager
def unavailable_as_storage_error(what: str) -> Iterator[None]:
    """Turn SQLite's "cannot use the file" errors into StorageUnavailable; let bugs through."""
    try:
        yield
    except sqlite3.DatabaseError as error:
        name = getattr(error, "sqlite_errorname", "")
        if isinstance(error, sqlite3.IntegrityError) or not name.startswith(_UNAVAILABLE):
            raise
        raise StorageUnavailable(f"{what}: {error} ({name})") from error


class SqlStore:
    """Runs statements one operation at a time on the connection that all asyncio tasks share.

    Every operation holds the lock, not only multi-statement ones: a lock that single statements
    skipped could not keep them out of another task's open transaction.
    """

    def __init__(self, conn: aiosqlite.Connection, cipher: TokenCipher) -> None:
        self._conn = conn
        self._cipher = cipher
        self._lock = asyncio.Lock()

    async def _fetch_one(self, sql: str, params: Params = ()) -> aiosqlite.Row | None:
        rows = await self._fetch_all(sql, params)
        return rows[0] if rows else None

    async def _fetch_all(self, sql: str, params: Params = ()) -> list[aiosqlite.Row]:
        async with self._lock:
            with unavailable_as_storage_error(DATABASE_UNAVAILABLE):
                return list(await self._conn.execute_fetchall(sql, params))

    async def _write(self, sql: str, params: Params = ()) -> int:
        """Run one autocommitted statement and return how many rows it changed."""
        with unavailable_as_storage_error(DATABASE_UNAVAILABLE):
            async with self._lock, self._conn.execute(sql, params) as cursor:
                return cursor.rowcount

    async def _write_erasing(self, sql: str, params: Params = ()) -> list[aiosqlite.Row]:
        """Run a statement that drops secrets (with RETURNING), then push old bytes out of the WAL.

        secure_delete zeroes the freed space in the pages; the checkpoint copies those pages into
        the database file and truncates the -wal file that still held the earlier page images.
        """
        async with self._lock:
            with unavailable_as_storage_error(DATABASE_UNAVAILABLE):
                rows = list(await self._conn.execute_fetchall(sql, params))
            if rows:
                try:
                    await self._checkpoint()
                except StorageUnavailable as error:  # the statement itself is committed
                    log.warning(
                        "WAL checkpoint failed (%s); erased data stays in the -wal file", error
                    )
            return rows

    async def _checkpoint(self) -> None:
        """Call with the lock held (or before anyone else can use the connection)."""
        with unavailable_as_storage_error(DATABASE_UNAVAILABLE):
            (row,) = await self._conn.execute_fetchall("PRAGMA wal_checkpoint(TRUNCATE)")
        if row[0]:
            log.warning("WAL checkpoint blocked; erased data stays in the -wal file until the next")
