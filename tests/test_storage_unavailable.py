"""Which SQLite failures mean "the file cannot be used now" (a clean refusal), which are bugs."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from storage.errors import StorageUnavailable
from storage.sqlite.sql import unavailable_as_storage_error


@pytest.fixture
def full_database(tmp_path: Path) -> sqlite3.Connection:
    """A database that may not grow by a single page: SQLite's own "disk is full"."""
    conn = sqlite3.connect(tmp_path / "full.sqlite3", isolation_level=None)
    conn.execute("CREATE TABLE t (x BLOB)")
    conn.execute("CREATE TABLE u (x INTEGER CHECK (x > 0))")
    ((pages,),) = conn.execute("PRAGMA page_count").fetchall()
    conn.execute(f"PRAGMA max_page_count = {pages}")
    return conn


def test_a_full_database_is_unavailable_and_keeps_what_it_had(
    full_database: sqlite3.Connection,
) -> None:
    with (
        pytest.raises(StorageUnavailable, match=r"database or disk is full \(SQLITE_FULL\)"),
        unavailable_as_storage_error("the database cannot be used"),
    ):
        full_database.execute("INSERT INTO t VALUES (?)", (b"x" * 100_000,))
    assert full_database.execute("SELECT count(*) FROM t").fetchall() == [(0,)]
    assert full_database.execute("PRAGMA integrity_check").fetchall() == [("ok",)]


def test_a_mistake_in_our_sql_stays_a_bug(full_database: sqlite3.Connection) -> None:
    with (
        pytest.raises(sqlite3.OperationalError, match="no such table"),
        unavailable_as_storage_error("the database cannot be used"),
    ):
        full_database.execute("SELECT * FROM missing")


def test_a_broken_constraint_stays_an_integrity_error(full_database: sqlite3.Connection) -> None:
    with (
        pytest.raises(sqlite3.IntegrityError),
        unavailable_as_storage_error("the database cannot be used"),
    ):
        full_database.execute("INSERT INTO u VALUES (0)")
