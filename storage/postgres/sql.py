"""The plumbing every PostgreSQL store shares: one pool of connections and one cipher."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import asyncpg

from storage.errors import DATABASE_UNAVAILABLE, StorageError, StorageUnavailable
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

    def __init__(self, pool: asyncpg.Pool, cipher: TokenCipher) -> None:
        self._pool = pool
        self._cipher = cipher

    async def _fetch(self, sql: str, *args: Any) -> list[asyncpg.Record]:
        with unavailable_as_storage_error():
            return await self._pool.fetch(sql, *args)

    async def _fetchrow(self, sql: str, *args: Any) -> asyncpg.Record | None:
        with unavailable_as_storage_error():
            return await self._pool.fetchrow(sql, *args)

    async def _fetchval(self, sql: str, *args: Any) -> Any:
        with unavailable_as_storage_error():
            return await self._pool.fetchval(sql, *args)

    async def _execute(self, sql: str, *args: Any) -> None:
        with unavailable_as_storage_error():
            await self._pool.execute(sql, *args)

    async def _vacuum(self, table: str) -> None:
        """Remove dead row versions that held ciphertext from the table's pages.

        What VACUUM cannot reach (WAL segments not yet recycled, backups, freed page space it does
        not overwrite) stays encrypted with TOKEN_KEY. A failure is logged: the row is gone.
        """
        try:
            await self._execute(f"VACUUM {table}")
        except (StorageError, asyncpg.PostgresError) as error:
            log.warning(
                "VACUUM %s failed (%s); dead row versions stay until autovacuum", table, error
            )
