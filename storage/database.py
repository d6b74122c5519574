"""The bot's one database: opened, migrated, checked and recovered in one place."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Self

import aiosqlite

from storage.accounts import AccountStore
from storage.cards import CardStore
from storage.errors import StorageError
from storage.guilds import GuildStore
from storage.history import HistoryStore
from storage.ledger import LedgerStore
from storage.links import LinkStore
from storage.migrate import load_migrations, migrate
from storage.private_files import create_private_file, refuse_if_open_to_others
from storage.reminders import ReminderStore
from storage.sql import unavailable_as_storage_error
from storage.token_cipher import TokenCipher

log = logging.getLogger(__name__)

BUSY_TIMEOUT_MS = 5000
# Set on every connection and read back: a build that ignored one of them (secure_delete above all)
# would silently break a promise, so it stops start-up instead.
_PRAGMAS = (
    ("busy_timeout", str(BUSY_TIMEOUT_MS), BUSY_TIMEOUT_MS),
    ("journal_mode", "WAL", "wal"),
    ("synchronous", "NORMAL", 1),
    ("foreign_keys", "ON", 1),
    ("secure_delete", "ON", 1),
)
KEY_CANARY_META = "token_key_canary"
_KEY_CANARY = "ctvote token key check"


class Database(
    AccountStore, LinkStore, GuildStore, LedgerStore, HistoryStore, CardStore, ReminderStore
):
    """Owns the single aiosqlite connection; every query the bot makes is a method here."""

    recovered_at_open: int

    @classmethod
    async def open(cls, path: Path, key: bytes, *, now: datetime | None = None) -> Database:
        """Create or migrate the file, prove the key fits, and settle calls a crash left pending."""
        cipher = TokenCipher(key)
        create_private_file(path)
        for file in database_files(path):
            refuse_if_open_to_others(file)
        with unavailable_as_storage_error(f"cannot open the database {path}"):
            conn = await aiosqlite.connect(path, isolation_level=None)
        db = cls(conn, cipher)
        try:
            conn.row_factory = aiosqlite.Row
            with unavailable_as_storage_error(f"cannot open the database {path}"):
                await _configure(conn)
                applied = await migrate(conn, load_migrations())
            await db._check_key()
            db.recovered_at_open = await db._recover_interrupted(now or datetime.now(UTC))
            await db._checkpoint()
        except BaseException:
            await conn.close()
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
        cls, path: Path, key: bytes, *, now: datetime | None = None
    ) -> AsyncIterator[Database]:
        """`async with Database.connect(path, key) as db:` — closed however the block ends."""
        db = await cls.open(path, key, now=now)
        try:
            yield db
        finally:
            await db.close()

    async def close(self) -> None:
        await self._conn.close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()

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

    async def _check_key(self) -> None:
        """Fail at start-up, not at the first decrypt, when the key is not the database's."""
        canary = await self.get_meta(KEY_CANARY_META)
        if canary is None:
            await self.set_meta(KEY_CANARY_META, self._cipher.encrypt(_KEY_CANARY).decode())
        else:
            self._cipher.decrypt(canary.encode())


def database_files(path: Path) -> list[Path]:
    """The database and the files SQLite keeps beside it, each as secret as the database."""
    return [path, Path(f"{path}-wal"), Path(f"{path}-shm")]


async def _configure(conn: aiosqlite.Connection) -> None:
    for name, value, expected in _PRAGMAS:
        await conn.execute(f"PRAGMA {name} = {value}")
        (row,) = await conn.execute_fetchall(f"PRAGMA {name}")
        if row[0] != expected:
            raise StorageError(f"SQLite refused PRAGMA {name} = {value} (it reports {row[0]!r})")
