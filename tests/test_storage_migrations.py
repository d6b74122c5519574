"""Schema migrations: fresh files, re-opens, older files, and scripts that fail."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import aiosqlite
import pytest

from storage.errors import StorageError
from storage.migrate import load_migrations
from storage.models import LedgerStatus
from storage.private_files import create_private_file
from storage.sqlite.database import Database, apply_migrations, schema_version, sqlite_migrations
from storage.token_cipher import TokenCipher
from tests.helpers_storage import CHANNEL, GUILD, KEY, NOW, USER, db_path, raw_query

TABLES = {
    "meta",
    "accounts",
    "channel_links",
    "guild_settings",
    "ledger",
    "link_cards",
    "reminder_subscribers",
    "reminders_sent",
}
# 0001 tables, 0002 ledger indexes, 0003 cards and reminders, 0004 account use trigger,
# 0005 drops the ledger indexes only test queries used, 0006 locales, 0007 history and tallies,
# 0008 the guarantees several processes rely on
# 0009 the language a server chose for its public messages, 0010 link proposals,
# 0011 privacy (forgetting, names, retention), 0012 PostgreSQL's vote check in one function,
# 0013 turns to IDENTIFY on the gateway
LATEST = 14


def schema(path: Path) -> list[tuple[str, str]]:
    return raw_query(path, "SELECT name, sql FROM sqlite_master ORDER BY name")


def names(path: Path, kind: str) -> set[str]:
    rows = raw_query(path, "SELECT name FROM sqlite_master WHERE type = ?", (kind,))
    return {name for (name,) in rows}


def version(path: Path) -> int:
    ((found,),) = raw_query(path, "PRAGMA user_version")
    return int(found)


def write_scripts(folder: Path, scripts: dict[str, str]) -> Path:
    folder.mkdir()
    for name, sql in scripts.items():
        (folder / name).write_text(sql, encoding="utf-8")
    return folder


def test_shipped_scripts_are_numbered_from_one() -> None:
    versions = [m.version for m in sqlite_migrations()]
    assert versions == sorted(set(versions))
    assert versions[0] == 1
    migrations = sqlite_migrations()
    assert migrations[0].name == "0001_init.sql"


async def test_fresh_database_gets_every_version(tmp_path: Path) -> None:
    path = db_path(tmp_path)
    async with Database.connect(path, KEY):
        pass
    assert version(path) == sqlite_migrations()[-1].version == LATEST
    assert names(path, "table") >= TABLES
    assert "ledger_counted_identified" in names(path, "index")


async def test_reopening_changes_nothing(tmp_path: Path) -> None:
    path = db_path(tmp_path)
    async with Database.connect(path, KEY) as db:
        await db.set_meta("k", "v")
    before = schema(path)
    async with aiosqlite.connect(path, isolation_level=None) as conn:
        assert await apply_migrations(conn, sqlite_migrations()) == 0
    async with Database.connect(path, KEY) as db:
        assert await db.get_meta("k") == "v"
    assert schema(path) == before
    assert version(path) == LATEST


async def test_database_at_version_one_is_migrated_with_its_data(tmp_path: Path) -> None:
    path = db_path(tmp_path)
    path.parent.mkdir()
    create_private_file(path)  # as the bot made it: open to others, it would not start
    old = sqlite3.connect(path)
    old.executescript(sqlite_migrations()[0].sql)
    old.execute("PRAGMA user_version = 1")
    old.execute(
        "INSERT INTO channel_links (guild_id, channel_id, name, link_token, added_by, added_at)"
        " VALUES (?, ?, 'alice', ?, ?, 0)",
        (GUILD, CHANNEL, TokenCipher(KEY).encrypt("link-token"), USER),
    )
    old.execute(
        "INSERT INTO ledger (created_at, user_id, link_id, game, dom, vote_type, anonymous)"
        " VALUES (0, ?, 1, 'link', 0, 'add', 0)",
        (USER,),
    )
    old.commit()
    old.close()
    assert "ledger_counted_identified" not in names(path, "index")

    async with Database.connect(path, KEY, now=NOW) as db:
        link = await db.get_link(1)
        assert link is not None
        assert link.link_token.get_secret_value() == "link-token"
        assert db.recovered_at_open == 1
        last = await db.last_counted_vote(1, user_id=USER)
        assert last is not None
        assert (last.status, last.reason) == (LedgerStatus.UNKNOWN, "interrupted")
    assert version(path) == LATEST
    assert "ledger_counted_identified" in names(path, "index")


async def test_unrelated_file_content_is_kept(tmp_path: Path) -> None:
    path = db_path(tmp_path)
    path.parent.mkdir()
    create_private_file(path)  # as the bot made it: open to others, it would not start
    old = sqlite3.connect(path)
    old.execute("CREATE TABLE notes (body TEXT)")
    old.execute("INSERT INTO notes VALUES ('kept')")
    old.commit()
    old.close()
    async with Database.connect(path, KEY):
        pass
    assert raw_query(path, "SELECT body FROM notes") == [("kept",)]
    assert names(path, "table") >= TABLES


async def test_newer_database_is_refused(tmp_path: Path) -> None:
    path = db_path(tmp_path)
    async with Database.connect(path, KEY):
        pass
    newer = sqlite3.connect(path)
    newer.execute("PRAGMA user_version = 99")
    newer.close()
    with pytest.raises(StorageError, match="schema version 99, newer"):
        await Database.open(path, KEY)


async def test_failing_script_leaves_the_previous_version_whole(tmp_path: Path) -> None:
    scripts = write_scripts(
        tmp_path / "migrations",
        {
            "0001_a.sql": "CREATE TABLE a (x INTEGER);",
            "0002_b.sql": "CREATE TABLE b (x INTEGER);\nINSERT INTO a VALUES (1);\nBROKEN;",
        },
    )
    async with aiosqlite.connect(tmp_path / "m.sqlite3", isolation_level=None) as conn:
        with pytest.raises(sqlite3.OperationalError):
            await apply_migrations(conn, load_migrations(scripts))
        assert not conn.in_transaction
        assert await schema_version(conn) == 1
        tables = await conn.execute_fetchall("SELECT name FROM sqlite_master")
        assert [name for (name,) in tables] == ["a"]
        assert list(await conn.execute_fetchall("SELECT * FROM a")) == []

        (scripts / "0002_b.sql").write_text("CREATE TABLE b (x INTEGER);", encoding="utf-8")
        assert await apply_migrations(conn, load_migrations(scripts)) == 1
        assert await schema_version(conn) == 2


@pytest.mark.parametrize(
    "files",
    [
        ["0001_a.sql", "0003_c.sql"],
        ["0001_a.sql", "0001_again.sql"],
        ["0002_b.sql"],
    ],
)
def test_badly_numbered_scripts_stop_start_up(tmp_path: Path, files: list[str]) -> None:
    scripts = write_scripts(tmp_path / "migrations", dict.fromkeys(files, "SELECT 1;"))
    with pytest.raises(StorageError, match="not numbered"):
        load_migrations(scripts)


def test_other_files_in_the_folder_are_ignored(tmp_path: Path) -> None:
    scripts = write_scripts(
        tmp_path / "migrations", {"0001_a.sql": "SELECT 1;", "README.md": "", "1_b.sql": ""}
    )
    assert [m.name for m in load_migrations(scripts)] == ["0001_a.sql"]
