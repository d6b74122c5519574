"""The two backends keep one schema: the same migration numbers, tables and columns.

A SQLite migration without its PostgreSQL twin (or the other way round) fails here, before the
move from SQLite to PostgreSQL could meet a column it does not know.
"""

from __future__ import annotations

import importlib
import inspect
from pathlib import Path

import asyncpg
import pytest

from storage.interface import Storage
from storage.postgres.database import PostgresDatabase, postgres_migrations
from storage.sqlite.database import Database, sqlite_migrations
from tests.helpers_storage import KEY, db_path, raw_query
from tests.postgres_server import PostgresServer


def test_every_migration_has_its_twin() -> None:
    sqlite = [migration.version for migration in sqlite_migrations()]
    postgres = [migration.version for migration in postgres_migrations()]
    assert sqlite == postgres


async def test_both_backends_have_the_same_tables_and_columns(
    tmp_path: Path, postgres: PostgresServer
) -> None:
    path = db_path(tmp_path)
    async with Database.connect(path, KEY):
        pass
    tables = [
        name
        for (name,) in raw_query(path, "SELECT name FROM sqlite_master WHERE type = 'table'")
        if name != "sqlite_sequence"
    ]
    sqlite = {
        table: [row[1] for row in raw_query(path, f"PRAGMA table_info({table})")]
        for table in tables
    }

    conn = await asyncpg.connect(await postgres.new_database())
    try:
        rows = await conn.fetch(
            "SELECT table_name, column_name FROM information_schema.columns"
            " WHERE table_schema = current_schema() ORDER BY table_name, ordinal_position"
        )
    finally:
        await conn.close()
    found: dict[str, list[str]] = {}
    for row in rows:
        found.setdefault(row["table_name"], []).append(row["column_name"])
    found.pop("schema_migrations")  # PostgreSQL's record of versions, PRAGMA user_version's twin
    assert {table: sorted(columns) for table, columns in found.items()} == {
        table: sorted(columns) for table, columns in sqlite.items()
    }


@pytest.mark.parametrize("backend_class", [Database, PostgresDatabase])
def test_each_backend_offers_every_method_of_the_interface(backend_class: type) -> None:
    """Services are typed against `Storage`; a method one backend lacks would fail at run time."""
    wanted = {
        name: inspect.signature(member)
        for name, member in vars(Storage).items()
        if callable(member) and not name.startswith("_")
    }
    for name, signature in wanted.items():
        offered = getattr(backend_class, name, None)
        assert offered is not None, name
        assert list(inspect.signature(offered).parameters) == list(signature.parameters), name


CONCERNS = (
    "accounts",
    "cards",
    "guilds",
    "history",
    "ledger",
    "links",
    "outcomes",
    "privacy",
    "proposals",
    "reminders",
)


def _methods_by_concern(backend: str) -> dict[str, set[str]]:
    """The public methods each of a backend's concern modules defines in its store classes."""
    found: dict[str, set[str]] = {}
    for concern in CONCERNS:
        module = importlib.import_module(f"storage.{backend}.{concern}")
        found[concern] = {
            name
            for store in vars(module).values()
            if inspect.isclass(store) and store.__module__ == module.__name__
            for name, member in vars(store).items()
            if callable(member) and not name.startswith("_")
        }
    return found


def test_each_method_and_its_twin_sit_in_files_of_one_name() -> None:
    """A change to one backend's method is found in the other at once: same file, same name."""
    sqlite, postgres = _methods_by_concern("sqlite"), _methods_by_concern("postgres")
    assert sqlite == postgres
    offered = set().union(*sqlite.values())
    interface = {
        name
        for name, member in vars(Storage).items()
        if callable(member) and not name.startswith("_")
    }
    assert interface - {"close", "get_meta", "set_meta"} <= offered
