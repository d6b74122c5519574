"""Move a bot's SQLite database into an empty PostgreSQL database, row for row.

    python -m storage.move_up [--from data/bot.sqlite3] [--to postgresql://…]

The bot must be stopped. Both databases are first brought to the same schema version; every
table is copied in one PostgreSQL transaction, ciphertexts byte for byte (the same TOKEN_KEY
opens them afterwards); then row counts are compared and every stored token is decrypted. A
target that already holds data is refused, so nothing is ever overwritten or merged.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sqlite3
import sys
from dataclasses import dataclass
from pathlib import Path

import asyncpg
from pydantic import SecretStr

from storage.errors import StorageError
from storage.postgres.database import PostgresDatabase
from storage.postgres.sql import unavailable_as_storage_error
from storage.rows import SECRET_COLUMNS
from storage.sqlite.database import Database
from storage.token_cipher import TokenCipher, default_key_file, legacy_key_file, load_token_key

# Parents before children, so every foreign key finds its row.
TABLES = (
    "meta",
    "accounts",
    "channel_links",
    "guild_settings",
    "ledger",
    "link_days",
    "link_totals",
    "link_cards",
    "reminder_subscribers",
    "reminders_sent",
    "card_refresh_claims",
    "member_privacy",
    "guild_retention",
    "link_proposals",
)
IDENTITIES = ("channel_links", "ledger", "link_proposals")


class MoveRefused(StorageError):
    """The move would lose or overwrite something; nothing was written."""


@dataclass(frozen=True)
class MoveReport:
    rows: dict[str, int]
    tokens_checked: int


async def move_up(sqlite_path: Path, database_url: str, key: bytes) -> MoveReport:
    """Copy everything, check it, and report how many rows of each table moved."""
    if not await asyncio.to_thread(sqlite_path.is_file):  # connecting would create it
        raise MoveRefused(f"there is no SQLite database at {sqlite_path}")
    await _refuse_unless_empty(database_url)
    async with Database.connect(sqlite_path, key) as source:
        if source.others_running():
            raise MoveRefused("a bot still uses the SQLite database; stop it first")
        async with PostgresDatabase.connect(database_url, key) as target:
            if await target.schema_version() != await source.schema_version():
                raise MoveRefused("the two databases are at different schema versions")
    rows = _read_all(sqlite_path)
    with unavailable_as_storage_error("cannot write to PostgreSQL"):
        conn = await asyncpg.connect(database_url)
        try:
            async with conn.transaction():
                for table in TABLES:
                    await _copy(conn, table, rows[table])
                await _continue_identities(conn, rows["sqlite_sequence"])
            counts = {
                table: await conn.fetchval(f"SELECT count(*) FROM {table}") for table in TABLES
            }
            checked = await _decrypt_every_token(conn, TokenCipher(key))
        finally:
            await conn.close()
    moved = {table: len(rows[table]) for table in TABLES}
    if counts != moved:
        raise StorageError(f"row counts differ after the move: {moved} → {counts}")
    return MoveReport(rows=moved, tokens_checked=checked)


async def _refuse_unless_empty(database_url: str) -> None:
    with unavailable_as_storage_error("cannot connect to PostgreSQL"):
        conn = await asyncpg.connect(database_url)
        try:
            tables = {
                row["tablename"]
                for row in await conn.fetch(
                    "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()"
                )
            }
            holding = [
                table
                for table in sorted(tables)
                if await conn.fetchval(f'SELECT EXISTS (SELECT 1 FROM "{table}")')
                and table != "schema_migrations"
                and not (table == "meta" and await _only_the_key_check(conn))
            ]
        finally:
            await conn.close()
    if holding:
        raise MoveRefused(
            f"the PostgreSQL database already holds data (in {', '.join(holding)}); "
            "moving needs an empty database"
        )


async def _only_the_key_check(conn: asyncpg.Connection) -> bool:
    """A bot that only started against the database wrote nothing but its key check."""
    keys = await conn.fetch("SELECT key FROM meta")
    return [row["key"] for row in keys] == ["token_key_canary"]


def _read_all(path: Path) -> dict[str, list[sqlite3.Row]]:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    conn.row_factory = sqlite3.Row
    try:
        found = {table: conn.execute(f"SELECT * FROM {table}").fetchall() for table in TABLES}
        found["sqlite_sequence"] = conn.execute("SELECT name, seq FROM sqlite_sequence").fetchall()
    finally:
        conn.close()
    return found


async def _copy(conn: asyncpg.Connection, table: str, rows: list[sqlite3.Row]) -> None:
    if not rows:
        return
    columns = list(rows[0].keys())
    found = await conn.fetch(
        "SELECT column_name, data_type FROM information_schema.columns"
        " WHERE table_schema = current_schema() AND table_name = $1",
        table,
    )
    types: dict[str, str] = {row["column_name"]: row["data_type"] for row in found}
    convert = [bool if types[column] == "boolean" else None for column in columns]
    records = [
        tuple(
            value if kind is None or value is None else kind(value)
            for value, kind in zip(row, convert, strict=True)
        )
        for row in rows
    ]
    if table == "meta":  # the target wrote its own key check, the same key's
        await conn.executemany(
            "INSERT INTO meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING", records
        )
    else:
        await conn.copy_records_to_table(table, records=records, columns=columns)


async def _continue_identities(conn: asyncpg.Connection, sequences: list[sqlite3.Row]) -> None:
    """New ids continue after the highest ever given, also one whose row was deleted since."""
    given = {row["name"]: row["seq"] for row in sequences}
    for table in IDENTITIES:
        highest = max(
            given.get(table) or 0, await conn.fetchval(f"SELECT max(id) FROM {table}") or 0
        )
        if highest:
            await conn.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), $1)", highest
            )


async def _decrypt_every_token(conn: asyncpg.Connection, cipher: TokenCipher) -> int:
    """Prove the move kept every secret readable with the key."""
    checked = 0
    for table, _, column in SECRET_COLUMNS:
        for (ciphertext,) in await conn.fetch(f"SELECT {column} FROM {table}"):
            cipher.decrypt(ciphertext)
            checked += 1
    return checked


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--from",
        dest="source",
        type=Path,
        default=Path(os.environ.get("DATABASE_PATH") or "data/bot.sqlite3"),
        help="the SQLite database (default: DATABASE_PATH, else data/bot.sqlite3)",
    )
    parser.add_argument(
        "--to",
        dest="target",
        default=os.environ.get("DATABASE_URL"),
        help="the empty PostgreSQL database (default: DATABASE_URL)",
    )
    args = parser.parse_args(argv)
    if not args.target:
        parser.error("name the PostgreSQL database with --to or DATABASE_URL")
    key_file = Path(os.environ.get("TOKEN_KEY_FILE") or default_key_file())
    configured = os.environ.get("TOKEN_KEY") or None
    try:
        key = load_token_key(
            SecretStr(configured) if configured else None,
            key_file,
            legacy_path=legacy_key_file(args.source),
            create=False,
        )
        report = asyncio.run(move_up(args.source, args.target, key))
    except StorageError as error:
        sys.stderr.write(f"move_up: {error}\n")
        return 1
    moved = ", ".join(f"{table} {count}" for table, count in report.rows.items())
    sys.stdout.write(
        f"Moved: {moved}. Row counts match; {report.tokens_checked} tokens decrypt.\n"
        f"Run every bot process with DATABASE_URL set and TOKEN_KEY set to this key"
        f"{'' if configured else ' (the content of its key file)'}.\n"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
