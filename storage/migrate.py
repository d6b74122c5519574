"""Schema versions: numbered SQL files applied in order, the version kept in PRAGMA user_version."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from importlib import resources
from importlib.resources.abc import Traversable

import aiosqlite

from storage.errors import StorageError

log = logging.getLogger(__name__)

_FILE_NAME = re.compile(r"^(\d{4})_\w+\.sql$")


@dataclass(frozen=True)
class Migration:
    """One schema step: `0003_something.sql` takes the database from version 2 to 3."""

    version: int
    name: str
    sql: str


def load_migrations(directory: Traversable | None = None) -> list[Migration]:
    """Read the scripts, numbered 1, 2, 3… with no gap: a missing or doubled file stops start-up."""
    folder = (
        directory if directory is not None else resources.files("storage.sqlite") / "migrations"
    )
    found = sorted(
        (
            Migration(int(match[1]), entry.name, entry.read_text(encoding="utf-8"))
            for entry in folder.iterdir()
            if (match := _FILE_NAME.match(entry.name))
        ),
        key=lambda migration: migration.version,
    )
    versions = [migration.version for migration in found]
    if versions != list(range(1, len(found) + 1)):
        raise StorageError(f"migration files are not numbered 1 to {len(found)}: {versions}")
    return found


async def schema_version(conn: aiosqlite.Connection) -> int:
    (row,) = await conn.execute_fetchall("PRAGMA user_version")
    return int(row[0])


async def migrate(conn: aiosqlite.Connection, migrations: list[Migration]) -> int:
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


def check_not_newer(current: int, migrations: list[Migration]) -> None:
    """An older bot must not write into a schema it does not know."""
    if current > migrations[-1].version:
        raise StorageError(
            f"the database has schema version {current}, newer than this bot knows "
            f"({migrations[-1].version}); run a newer version of the bot"
        )
