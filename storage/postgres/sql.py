"""The plumbing every PostgreSQL store shares: one pool of connections and one cipher."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any

import asyncpg

from storage.errors import (
    DATABASE_UNAVAILABLE,
    DEFAULT_TIMEOUT_SECONDS,
    StorageError,
    StorageUnavailable,
)
from storage.postgres.deadlines import AnyConnection
from storage.token_cipher import TokenCipher

log = logging.getLogger(__name__)

# The first key of the two-key advisory locks this bot takes: (BOOT_LOCKS, boot id) is held by a
# running process for its whole life; (BOOT_LOCKS, 0) serialises migrations.
BOOT_LOCKS = 0x63_74_76  # "ctv"
# Errors that say the server cannot be used now, as opposed to a mistake in our SQL.
UNAVAILABLE = (
    OSError,
    TimeoutError,
    asyncpg.PostgresConnectionError,
    asyncpg.InsufficientResourcesError,
    asyncpg.OperatorInterventionError,
    asyncpg.InterfaceError,
    asyncpg.InternalClientError,  # what a connection the server dropped mid-use can raise
    asyncpg.QueryCanceledError,  # statement_timeout
    asyncpg.LockNotAvailableError,  # lock_timeout
)


@contextmanager
def unavailable_as_storage_error(what: str = DATABASE_UNAVAILABLE) -> Iterator[None]:
    try:
        yield
    except UNAVAILABLE as error:
        raise StorageUnavailable(f"{what}: {type(error).__name__}: {error}") from error


class SqlStore:
    """Runs statements on the pool; each method of a store is one statement or one transaction,
    so a process killed between two leaves whole rows only."""

    _deadline: float = DEFAULT_TIMEOUT_SECONDS  # each operation's (DATABASE_TIMEOUT_SECONDS)

    def __init__(self, pool: asyncpg.Pool, cipher: TokenCipher) -> None:
        self._pool = pool
        self._cipher = cipher
        self._releasing: set[asyncio.Future[None]] = set()
        self._vacuuming: set[str] = set()
        self._vacuum_again: set[str] = set()

    @asynccontextmanager
    async def _connection(self) -> AsyncIterator[AnyConnection]:
        """A pool connection for one operation: waiting for it, the statements and handing it
        back all within the deadline. After a query timed out, asyncpg hands the connection back
        only once the server confirmed the cancellation: that goes on in the background."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._deadline
        async with asyncio.timeout_at(deadline):
            conn = await self._pool.acquire()
        try:
            async with asyncio.timeout_at(deadline):
                yield conn
        finally:
            release = asyncio.ensure_future(self._pool.release(conn))
            self._releasing.add(release)
            release.add_done_callback(self._releasing.discard)
            await asyncio.wait({release}, timeout=max(0.0, deadline - loop.time()))

    async def _fetch(self, sql: str, *args: Any) -> list[asyncpg.Record]:
        with unavailable_as_storage_error():
            async with self._connection() as conn:
                return await conn.fetch(sql, *args)

    async def _fetchrow(self, sql: str, *args: Any) -> asyncpg.Record | None:
        with unavailable_as_storage_error():
            async with self._connection() as conn:
                return await conn.fetchrow(sql, *args)

    async def _fetchval(self, sql: str, *args: Any) -> Any:
        with unavailable_as_storage_error():
            async with self._connection() as conn:
                return await conn.fetchval(sql, *args)

    async def _execute(self, sql: str, *args: Any) -> None:
        with unavailable_as_storage_error():
            async with self._connection() as conn:
                await conn.execute(sql, *args)

    async def _vacuum(self, table: str) -> None:
        """Remove dead row versions that held ciphertext from the table's pages.

        What VACUUM cannot reach (WAL segments not yet recycled, backups, freed page space it does
        not overwrite) stays encrypted with TOKEN_KEY. A failure is logged: the row is gone.

        VACUUMs of one table wait for each other on the server, each holding a pool connection:
        fifty members connecting at once filled the pool with them and starved the saves. So one
        runs per table at a time, and a request that arrives meanwhile asks it for one more pass,
        which also covers the rows written since it began.
        """
        if table in self._vacuuming:
            self._vacuum_again.add(table)
            return
        self._vacuuming.add(table)
        try:
            while True:
                self._vacuum_again.discard(table)
                try:
                    await self._execute(f"VACUUM {table}")
                except (StorageError, asyncpg.PostgresError) as error:
                    log.warning(
                        "VACUUM %s failed (%s); dead row versions stay until autovacuum",
                        table,
                        error,
                    )
                if table not in self._vacuum_again:
                    return
        finally:
            self._vacuuming.discard(table)
