"""The plumbing every store shares: one connection, one cipher, and a cache for hot reads."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Hashable, Sequence
from typing import Any, Generic, TypeVar

import aiosqlite

from storage.token_cipher import TokenCipher

log = logging.getLogger(__name__)

Params = Sequence[Any]
K = TypeVar("K", bound=Hashable)
V = TypeVar("V")
T = TypeVar("T")


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

    def __init__(self, conn: aiosqlite.Connection, cipher: TokenCipher) -> None:
        self._conn = conn
        self._cipher = cipher

    async def _fetch_one(self, sql: str, params: Params = ()) -> aiosqlite.Row | None:
        rows = await self._fetch_all(sql, params)
        return rows[0] if rows else None

    async def _fetch_all(self, sql: str, params: Params = ()) -> list[aiosqlite.Row]:
        return list(await self._conn.execute_fetchall(sql, params))

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
        rows = list(await self._conn.execute_fetchall(sql, params))
        if rows:
            await self._checkpoint()
        return rows

    async def _checkpoint(self) -> None:
        (row,) = await self._conn.execute_fetchall("PRAGMA wal_checkpoint(TRUNCATE)")
        if row[0]:
            log.warning("WAL checkpoint blocked; erased data stays in the -wal file until the next")


class ReadCache(Generic[K, V]):
    """Answers of small, hot reads (a channel's links, a guild's settings), kept between writes.

    Only this process writes the database, and every write that changes what a cache holds clears
    it. A read that started before a write may finish after it with the old answer: `put` refuses
    an answer read under an older generation, so it cannot outlive the clear. Bounded: the oldest
    entry goes when full.
    """

    def __init__(self, limit: int = 1024) -> None:
        self._limit = limit
        self._values: dict[K, V] = {}
        self.generation = 0

    def get(self, key: K) -> V | None:
        return self._values.get(key)

    def put(self, key: K, value: V, generation: int) -> None:
        """Keep `value`, read when `self.generation` was `generation`, unless a write came since."""
        if generation != self.generation:
            return
        if key not in self._values and len(self._values) >= self._limit:
            del self._values[next(iter(self._values))]
        self._values[key] = value

    def clear(self) -> None:
        self._values.clear()
        self.generation += 1

    async def changed_by(self, write: Awaitable[T]) -> T:
        """Await a write that changes what this cache holds; clear the cache once it has run.

        Shielded: a caller cancelled while the statement waits in aiosqlite's queue does not stop
        the statement, so the clear waits for the statement, not for the caller.
        """
        task = asyncio.ensure_future(write)
        task.add_done_callback(self._written)
        return await asyncio.shield(task)

    def _written(self, task: asyncio.Future[Any]) -> None:
        self.clear()
        if not task.cancelled():
            task.exception()  # retrieved: the caller sees it, or was cancelled and cannot

    def __len__(self) -> int:
        return len(self._values)
