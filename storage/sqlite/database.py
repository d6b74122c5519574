"""The bot's one database: opened, migrated, checked and recovered in one place."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from types import TracebackType
from typing import Self

import aiosqlite

from storage.errors import DATABASE_UNAVAILABLE, DEFAULT_TIMEOUT_SECONDS, StorageError
from storage.migrate import Migration, check_not_newer, load_migrations
from storage.private_files import create_private_file, refuse_if_open_to_others
from storage.sqlite.accounts import AccountStore
from storage.sqlite.cards import CardStore
from storage.sqlite.group_commit import GroupCommit
from storage.sqlite.guilds import GuildStore
from storage.sqlite.history import HistoryStore
from storage.sqlite.ledger import LedgerStore
from storage.sqlite.life_lock import LifeLock
from storage.sqlite.links import LinkStore
from storage.sqlite.outcomes import OutcomeStore
from storage.sqlite.privacy import PrivacyStore
from storage.sqlite.proposals import ProposalStore
from storage.sqlite.reminders import ReminderStore
from storage.sqlite.sql import unavailable_as_storage_error
from storage.token_cipher import TokenCipher, check_key

log = logging.getLogger(__name__)

BUSY_TIMEOUT_MS = round(DEFAULT_TIMEOUT_SECONDS * 1000)  # for other programs on the file
# Set on every connection and read back: a build that ignored one of them (secure_delete above all)
# would silently break a promise, so it stops start-up instead. The busy timeout comes first.
_PRAGMAS = (
    ("journal_mode", "WAL", "wal"),
    # NORMAL in WAL mode may lose the last commits on a power cut; a call's pending row is made
    # durable before the call is sent by a group commit (`_sync_wal`), not by syncing every write.
    ("synchronous", "NORMAL", 1),
    ("foreign_keys", "ON", 1),
    ("secure_delete", "ON", 1),
)


class Database(
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
    """Owns the single aiosqlite connection; every query the bot makes is a method here."""

    recovered_at_open: int

    @classmethod
    async def open(
        cls,
        path: Path,
        key: bytes,
        *,
        now: datetime | None = None,
        deadline_seconds: float = DEFAULT_TIMEOUT_SECONDS,
    ) -> Database:
        """Create or migrate the file, prove the key fits, and settle calls a crash left pending.

        Each statement later gets `deadline_seconds` seconds (DATABASE_TIMEOUT_SECONDS), its
        busy timeout included.
        """
        cipher = TokenCipher(key)
        create_private_file(path)
        for file in database_files(path):
            refuse_if_open_to_others(file)
        life = LifeLock(Path(f"{path}.lives"))
        try:
            with unavailable_as_storage_error(f"cannot open the database {path}"):
                conn = await aiosqlite.connect(path, isolation_level=None)
        except BaseException:
            life.release()
            raise
        db = cls(conn, cipher, life, deadline_seconds)
        try:
            conn.row_factory = aiosqlite.Row
            with unavailable_as_storage_error(f"cannot open the database {path}"):
                await _configure(conn, round(deadline_seconds * 1000))
                applied = await apply_migrations(conn, sqlite_migrations())
            await check_key(db, cipher)
            db.recovered_at_open = await db._recover_interrupted(
                now or datetime.now(UTC), life.ended
            )
            await db._checkpoint()
        except BaseException:
            await db.close()
            raise
        log.info(
            "opened %s: %d migrations applied, %d interrupted calls now unknown",
            path,
            applied,
            db.recovered_at_open,
        )
        return db

    @classmethod
    @asynccontextmanager
    async def connect(
        cls,
        path: Path,
        key: bytes,
        *,
        now: datetime | None = None,
        deadline_seconds: float = DEFAULT_TIMEOUT_SECONDS,
    ) -> AsyncIterator[Database]:
        """`async with Database.connect(path, key) as db:` — closed however the block ends."""
        db = await cls.open(path, key, now=now, deadline_seconds=deadline_seconds)
        try:
            yield db
        finally:
            await db.close()

    def __init__(
        self,
        conn: aiosqlite.Connection,
        cipher: TokenCipher,
        life: LifeLock,
        deadline_seconds: float = DEFAULT_TIMEOUT_SECONDS,
    ) -> None:
        self._timeout = deadline_seconds
        super().__init__(conn, cipher)
        self._life = life
        self.boot_id = life.boot_id
        self._group_commit = GroupCommit(self._sync_wal)

    async def _sync_wal(self) -> None:
        """Sync the write-ahead log: one write committed with synchronous=FULL flushes the log up
        to it, so every commit before it survives a power cut. One job, so no other statement
        runs between the two pragmas."""
        with unavailable_as_storage_error(DATABASE_UNAVAILABLE):
            await self._run(
                lambda raw: raw.executescript(
                    "PRAGMA synchronous = FULL;"
                    " INSERT INTO meta (key, value) VALUES ('wal_synced', '')"
                    " ON CONFLICT (key) DO UPDATE SET value = '';"
                    " PRAGMA synchronous = NORMAL;"
                )
            )

    async def close(self) -> None:
        """Pending rows written by this life stay pending until a later start settles them."""
        try:
            await self._conn.close()
        finally:
            self._life.release()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()

    def others_running(self) -> bool:
        """True while another process has this database open."""
        return self._life.others_alive()

    async def schema_version(self) -> int:
        return await schema_version(self._conn)

    async def get_meta(self, key: str) -> str | None:
        row = await self._fetch_one("SELECT value FROM meta WHERE key = ?", (key,))
        return None if row is None else str(row["value"])

    async def set_meta(self, key: str, value: str) -> None:
        await self._write(
            "INSERT INTO meta (key, value) VALUES (?, ?)"
            " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (key, value),
        )

    async def integrity_check(self) -> str:
        """SQLite's own verdict on the file: "ok", or what is damaged."""
        rows = await self._fetch_all("PRAGMA integrity_check")
        return "\n".join(str(row[0]) for row in rows)


def sqlite_migrations() -> list[Migration]:
    return load_migrations(resources.files("storage.sqlite") / "migrations")


async def schema_version(conn: aiosqlite.Connection) -> int:
    (row,) = await conn.execute_fetchall("PRAGMA user_version")
    return int(row[0])


async def apply_migrations(conn: aiosqlite.Connection, migrations: list[Migration]) -> int:
    """Apply the missing migrations, each in one transaction with its version bump; return how many.

    The transaction is opened inside the script because sqlite3's executescript commits any
    transaction that is open when it starts.
    """
    current = await schema_version(conn)
    check_not_newer(current, migrations)
    missing = [migration for migration in migrations if migration.version > current]
    for migration in missing:
        log.info("applying migration %s", migration.name)
        try:
            await conn.executescript(
                f"BEGIN IMMEDIATE;\n{migration.sql}\n;\n"
                f"PRAGMA user_version = {migration.version};\nCOMMIT;"
            )
        except BaseException:
            if conn.in_transaction:
                await conn.execute("ROLLBACK")
            raise
    return len(missing)


def database_files(path: Path) -> list[Path]:
    """The database and the files SQLite keeps beside it, each as secret as the database."""
    return [path, Path(f"{path}-wal"), Path(f"{path}-shm")]


async def _configure(conn: aiosqlite.Connection, busy_timeout_ms: int) -> None:
    busy = ("busy_timeout", str(busy_timeout_ms), busy_timeout_ms)
    for name, value, expected in (busy, *_PRAGMAS):
        await conn.execute(f"PRAGMA {name} = {value}")
        (row,) = await conn.execute_fetchall(f"PRAGMA {name}")
        if row[0] != expected:
            raise StorageError(f"SQLite refused PRAGMA {name} = {value} (it reports {row[0]!r})")
