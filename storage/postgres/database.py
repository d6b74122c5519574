"""The bot's memory on a PostgreSQL server, shared by every bot process that points at it:
opened, migrated, checked and recovered in one place."""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from importlib import resources
from typing import Self

import asyncpg

from storage.errors import DEFAULT_TIMEOUT_SECONDS, StorageError
from storage.migrate import Migration, check_not_newer, load_migrations
from storage.postgres.accounts import AccountStore
from storage.postgres.cards import CardStore
from storage.postgres.deadlines import (
    AnyConnection,
    close_connection,
    close_pool,
    connection_options,
)
from storage.postgres.guilds import GuildStore
from storage.postgres.history import HistoryStore
from storage.postgres.ledger import LedgerStore
from storage.postgres.links import LinkStore
from storage.postgres.outcomes import OutcomeStore
from storage.postgres.privacy import PrivacyStore
from storage.postgres.proposals import ProposalStore
from storage.postgres.reminders import ReminderStore
from storage.postgres.sql import BOOT_LOCKS, UNAVAILABLE, unavailable_as_storage_error
from storage.rows import SECRET_COLUMNS
from storage.timestamps import to_db
from storage.token_cipher import KEY_CANARY_META, TokenCipher, check_key

log = logging.getLogger(__name__)

POOL_SIZE = 10
MIGRATION_SECONDS = 3600.0


def postgres_migrations() -> list[Migration]:
    return load_migrations(resources.files("storage.postgres") / "migrations")


class PostgresDatabase(
    AccountStore,
    LinkStore,
    GuildStore,
    LedgerStore,
    OutcomeStore,
    HistoryStore,
    CardStore,
    ReminderStore,
    PrivacyStore,
    ProposalStore,
):
    """A pool of connections, and one more that holds this process life's lock until it ends.

    Each method is one statement or one transaction, so a process killed between two leaves whole
    rows only. Implements `storage.interface.Storage`.
    """

    recovered_at_open: int

    def __init__(
        self,
        url: str,
        pool: asyncpg.Pool,
        life: asyncpg.Connection,
        boot_id: int,
        cipher: TokenCipher,
        deadline_seconds: float = DEFAULT_TIMEOUT_SECONDS,
    ) -> None:
        self._deadline = deadline_seconds
        super().__init__(pool, cipher)
        self._url = url
        self._life = life
        self.boot_id = boot_id
        self._closing = False
        self._relocking: asyncio.Task[None] | None = None
        life.add_termination_listener(self._life_lost)

    @classmethod
    async def open(
        cls,
        url: str,
        key: bytes,
        *,
        now: datetime | None = None,
        deadline_seconds: float = DEFAULT_TIMEOUT_SECONDS,
    ) -> PostgresDatabase:
        """Migrate, prove the key fits, and settle calls that ended processes left pending.

        Connecting and every operation later get `deadline_seconds` seconds
        (DATABASE_TIMEOUT_SECONDS), on the server too; migrations are given longer.
        """
        cipher = TokenCipher(key)
        options = connection_options(deadline_seconds)
        with unavailable_as_storage_error("cannot connect to PostgreSQL"):
            life = await asyncpg.connect(url, **options)
        try:
            boot_id = await _hold_a_life_lock(life)
            with unavailable_as_storage_error("cannot connect to PostgreSQL"):
                pool = await asyncpg.create_pool(url, min_size=1, max_size=POOL_SIZE, **options)
        except BaseException:
            await close_connection(life, deadline_seconds)
            raise
        db = cls(url, pool, life, boot_id, cipher, deadline_seconds)
        try:
            applied = await db._migrate(postgres_migrations())
            await check_key(db, cipher)
            db.recovered_at_open = await db._recover_interrupted(now or datetime.now(UTC))
        except BaseException:
            await db.close()
            raise
        log.info(
            "opened PostgreSQL: %d migrations applied, %d interrupted calls now unknown",
            applied,
            db.recovered_at_open,
        )
        return db

    @classmethod
    @asynccontextmanager
    async def connect(
        cls,
        url: str,
        key: bytes,
        *,
        now: datetime | None = None,
        deadline_seconds: float = DEFAULT_TIMEOUT_SECONDS,
    ) -> AsyncIterator[PostgresDatabase]:
        db = await cls.open(url, key, now=now, deadline_seconds=deadline_seconds)
        try:
            yield db
        finally:
            await db.close()

    async def close(self) -> None:
        """Pending rows written by this life stay pending until a later start settles them."""
        self._closing = True
        if self._relocking is not None:
            self._relocking.cancel()
        await close_pool(self._pool, self._deadline)
        await close_connection(self._life, self._deadline)

    def _life_lost(self, conn: AnyConnection) -> None:
        """The connection holding this life's lock broke (a restart of the server, the network):
        until the lock is taken again, a process starting now would settle this one's calls."""
        if self._closing or conn is not self._life:
            return
        log.error("lost the connection holding this process's lock on PostgreSQL; retaking it")
        self._relocking = asyncio.ensure_future(self._retake_life())

    async def _retake_life(self) -> None:
        delay = 0.1
        while not self._closing:
            try:
                life = await asyncpg.connect(self._url, **connection_options(self._deadline))
                locked = await life.fetchval(
                    "SELECT pg_try_advisory_lock($1, $2)", BOOT_LOCKS, self.boot_id
                )
            except (*UNAVAILABLE, asyncpg.PostgresError) as error:
                log.warning("cannot retake the process lock yet: %s", type(error).__name__)
            else:
                if locked:
                    self._life = life
                    life.add_termination_listener(self._life_lost)
                    log.warning("the process lock on PostgreSQL is held again")
                    return
                await life.close()
            await asyncio.sleep(delay)
            delay = min(delay * 2, 5.0)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def _migrate(self, migrations: list[Migration]) -> int:
        with unavailable_as_storage_error():
            async with self._pool.acquire(timeout=self._deadline) as conn:
                return await apply_migrations(conn, migrations)

    async def schema_version(self) -> int:
        return int(await self._fetchval("SELECT max(version) FROM schema_migrations"))

    # Meta.

    async def get_meta(self, key: str) -> str | None:
        value: str | None = await self._fetchval("SELECT value FROM meta WHERE key = $1", key)
        return value

    async def set_meta(self, key: str, value: str) -> None:
        await self._execute(
            "INSERT INTO meta (key, value) VALUES ($1, $2)"
            " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            key,
            value,
        )

    async def rotate_token_key(self) -> int:
        """Re-encrypt every stored secret with the newest key, in one transaction; return how
        many. The old ciphertexts' row versions are vacuumed away (see `_vacuum` for the rest).
        """
        count = 0
        with unavailable_as_storage_error():
            async with self._pool.acquire(timeout=self._deadline) as conn, conn.transaction():
                for table, key_column, column in SECRET_COLUMNS:  # names, never input
                    select = f"SELECT {key_column}, {column} FROM {table} FOR UPDATE"  # noqa: S608
                    update = f"UPDATE {table} SET {column} = $1 WHERE {key_column} = $2"  # noqa: S608
                    for row_key, ciphertext in await conn.fetch(select):
                        await conn.execute(update, self._cipher.rotate(bytes(ciphertext)), row_key)
                        count += 1
                canary = await conn.fetchval(
                    "SELECT value FROM meta WHERE key = $1 FOR UPDATE", KEY_CANARY_META
                )
                if canary is not None:
                    await conn.execute(
                        "UPDATE meta SET value = $1 WHERE key = $2",
                        self._cipher.rotate(canary.encode()).decode(),
                        KEY_CANARY_META,
                    )
        for table, _, _ in SECRET_COLUMNS:
            await self._vacuum(table)
        return count


async def apply_migrations(conn: AnyConnection, migrations: list[Migration]) -> int:
    """Apply what is missing, each file in one transaction; concurrent starts take turns.

    A migration may take long on a big ledger: it is not held to the bot's statement deadline.
    """
    async with conn.transaction():
        await conn.execute("SET LOCAL statement_timeout = 0; SET LOCAL lock_timeout = 0")
        await conn.execute(
            "SELECT pg_advisory_xact_lock($1, 0)", BOOT_LOCKS, timeout=MIGRATION_SECONDS
        )
        await conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " version integer PRIMARY KEY, name text NOT NULL, applied_at bigint NOT NULL)"
        )
        current = await conn.fetchval("SELECT coalesce(max(version), 0) FROM schema_migrations")
        check_not_newer(current, migrations)
        missing = [m for m in migrations if m.version > current]
        for migration in missing:
            log.info("applying migration %s", migration.name)
            async with conn.transaction():
                await conn.execute(migration.sql, timeout=MIGRATION_SECONDS)
                await conn.execute(
                    "INSERT INTO schema_migrations VALUES ($1, $2, $3)",
                    migration.version,
                    migration.name,
                    to_db(datetime.now(UTC)),
                )
    return len(missing)


async def _hold_a_life_lock(conn: asyncpg.Connection) -> int:
    """Take a fresh (BOOT_LOCKS, id) lock on `conn` for this process's life; return the id."""
    with unavailable_as_storage_error():
        for _ in range(8):
            boot_id = secrets.randbelow(2**31 - 1) + 1
            if await conn.fetchval("SELECT pg_try_advisory_lock($1, $2)", BOOT_LOCKS, boot_id):
                return boot_id
    raise StorageError("could not take a process lock on PostgreSQL")
