"""Schema versions: numbered SQL files applied in order; each backend applies its own folder."""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib.resources.abc import Traversable

from storage.errors import StorageError

_FILE_NAME = re.compile(r"^(\d{4})_\w+\.sql$")


@dataclass(frozen=True)
class Migration:
    """One schema step: `0003_something.sql` takes the database from version 2 to 3."""

    version: int
    name: str
    sql: str


def load_migrations(folder: Traversable) -> list[Migration]:
    """Read the scripts, numbered 1, 2, 3… with no gap: a missing or doubled file stops start-up."""
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


def check_not_newer(current: int, migrations: list[Migration]) -> None:
    """An older bot must not write into a schema it does not know."""
    if current > migrations[-1].version:
        raise StorageError(
            f"the database has schema version {current}, newer than this bot knows "
            f"({migrations[-1].version}); run a newer version of the bot"
        )
