"""The plumbing every SQLite store shares: one connection and one cipher."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any, TypeVar

import aiosqlite

from storage.deadlines import statement_seconds
from storage.errors import DATABASE_UNAVAILABLE, DEFAULT_TIMEOUT_SECONDS, StorageUnavailable
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

# How much longer than its deadline a statement's caller waits before it stops waiting: the
# statement itself gives up at the deadline (its busy timeout), this covers a disk that hangs.
_LATE_ANSWER_SECONDS = 1.0
ResultT = TypeVar("ResultT")


class _DeadlinePassed(Exception):
    """A statement waited in the queue past its deadline; it was not run."""


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
    """Runs statements on the one connection that all asyncio tasks share.

    Every statement commits by itself (the connection is in autocommit mode) and no transaction
    spans two statements, so statements need no lock around them: aiosqlite's single thread runs
    them one at a time, in the order they were sent, and several can wait in its queue. (A lock
    taken around each statement made every statement wait for the previous one's answer to come
    back through the event loop: under load the database thread idled between statements while
    the loop thread waited on the GIL it kept taking.) Work that needs several statements in one
    transaction must be sent as one job, such as a script, never as several awaits.
    """

    _timeout: float = DEFAULT_TIMEOUT_SECONDS  # each statement's deadline (DATABASE_TIMEOUT)

    def __init__(self, conn: aiosqlite.Connection, cipher: TokenCipher) -> None:
        self._conn = conn
        self._cipher = cipher
        self._busy_ms = round(self._timeout * 1000)  # the connection's busy timeout; its thread's

    async def _run(self, job: Callable[[sqlite3.Connection], ResultT]) -> ResultT:
        """Run `job` on the database thread within the deadline, or not at all.

        Statements wait in one queue: behind a lock held by another program each waits its busy
        timeout, so the queue grows. A job that reaches the thread after its deadline is skipped
        (so a write its caller gave up on never happens later), and one that starts late gets
        only what is left of the deadline to wait for a lock. Its caller hears back by then.
        """
        timeout = statement_seconds(self._timeout)
        deadline = time.monotonic() + timeout

        def bounded() -> ResultT:
            raw = self._conn._conn  # aiosqlite's own sqlite3 connection: this runs on its thread
            left_ms = round((deadline - time.monotonic()) * 1000)
            if left_ms <= 0:
                raise _DeadlinePassed
            wanted = min(left_ms, round(self._timeout * 1000))
            if abs(wanted - self._busy_ms) > 50:  # rarely: only after a wait in the queue
                raw.execute(f"PRAGMA busy_timeout = {wanted}")
                self._busy_ms = wanted
            return job(raw)

        try:
            async with asyncio.timeout(timeout + _LATE_ANSWER_SECONDS):
                # Queued like aiosqlite's own calls; its private _execute is unannotated.
                result: ResultT = await self._conn._execute(bounded)  # type: ignore[no-untyped-call]
                return result
        except (_DeadlinePassed, TimeoutError):
            raise StorageUnavailable(
                f"{DATABASE_UNAVAILABLE}: no answer within {max(timeout, 0):.3g} s"
            ) from None

    async def _fetch_one(self, sql: str, params: Params = ()) -> aiosqlite.Row | None:
        rows = await self._fetch_all(sql, params)
        return rows[0] if rows else None

    async def _fetch_all(self, sql: str, params: Params = ()) -> list[aiosqlite.Row]:
        with unavailable_as_storage_error(DATABASE_UNAVAILABLE):
            return await self._run(lambda raw: raw.execute(sql, params).fetchall())

    async def _write(self, sql: str, params: Params = ()) -> None:
        """Run one autocommitted statement; to count the rows it changed, add RETURNING and fetch.

        One trip to the database thread: a cursor (for its rowcount) would take a second one to
        close it.
        """
        await self._fetch_all(sql, params)

    async def _write_erasing(self, sql: str, params: Params = ()) -> list[aiosqlite.Row]:
        """Run a statement that drops secrets (with RETURNING), then push old bytes out of the WAL.

        secure_delete zeroes the freed space in the pages; the checkpoint copies those pages into
        the database file and truncates the -wal file that still held the earlier page images.
        Statements of other tasks that run in between are committed too, and checkpointed with it.
        """
        rows = await self._fetch_all(sql, params)
        if rows:
            await self._push_out_erased()
        return rows

    async def _push_out_erased(self) -> None:
        """Checkpoint after statements that erased data; they are committed whatever happens."""
        try:
            await self._checkpoint()
        except StorageUnavailable as error:
            log.warning("WAL checkpoint failed (%s); erased data stays in the -wal file", error)

    async def _checkpoint(self) -> None:
        with unavailable_as_storage_error(DATABASE_UNAVAILABLE):
            (row,) = await self._run(
                lambda raw: raw.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
            )
        if row[0]:
            log.warning("WAL checkpoint blocked; erased data stays in the -wal file until the next")
