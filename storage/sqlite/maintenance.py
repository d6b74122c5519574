"""Work on the database file from another process while the bot may be running: a check, a
backup, a key rotation. Plain sqlite3 with the same busy timeout as the bot, so each waits for
the bot's writes instead of failing, and none marks the bot's pending calls (only the bot may).
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path

from storage.errors import StorageError, StorageUnavailable, WrongTokenKey
from storage.models import DatabaseReport
from storage.private_files import describe_os_error, make_private_folder, private_draft
from storage.rows import SECRET_COLUMNS
from storage.sqlite.database import BUSY_TIMEOUT_MS, sqlite_migrations
from storage.token_cipher import KEY_CANARY_META, TokenCipher


@contextlib.contextmanager
def _connection(path: Path, *, read_only: bool = False) -> Iterator[sqlite3.Connection]:
    uri = f"{path.resolve().as_uri()}?mode={'ro' if read_only else 'rw'}"
    try:
        conn = sqlite3.connect(uri, uri=True, isolation_level=None)
    except sqlite3.Error as error:
        raise StorageUnavailable(f"cannot open the database {path}: {error}") from None
    try:
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        yield conn
    except sqlite3.DatabaseError as error:
        raise StorageUnavailable(f"the database {path} cannot be used: {error}") from None
    finally:
        conn.close()


def inspect_database(path: Path, cipher: TokenCipher) -> DatabaseReport:
    """Schema version, integrity and whether the key opens it, without changing a byte."""
    if not path.exists():
        return DatabaseReport(exists=False)
    with _connection(path, read_only=True) as conn:
        (version,) = conn.execute("PRAGMA user_version").fetchone()
        integrity = "\n".join(row[0] for row in conn.execute("PRAGMA quick_check"))
        key_fits = True
        if version > 0:
            row = conn.execute(
                "SELECT value FROM meta WHERE key = ?", (KEY_CANARY_META,)
            ).fetchone()
            if row is not None:
                try:
                    cipher.decrypt(row[0].encode())
                except WrongTokenKey:
                    key_fits = False
    return DatabaseReport(True, version, sqlite_migrations()[-1].version, integrity, key_fits)


def rotate_token_key(path: Path, cipher: TokenCipher) -> int:
    """Re-encrypt every stored secret with the cipher's newest key, in one transaction.

    Returns how many secrets were re-encrypted. Refuses (and changes nothing) when a secret
    does not open with any of the keys. The old ciphertext is overwritten (secure_delete) and
    pushed out of the -wal file.
    """
    with _connection(path) as conn:
        conn.execute("PRAGMA secure_delete = ON")
        conn.execute("BEGIN IMMEDIATE")
        try:
            count = 0
            for table, key_column, column in SECRET_COLUMNS:
                rows = conn.execute(f"SELECT {key_column}, {column} FROM {table}").fetchall()  # noqa: S608 - names from SECRET_COLUMNS
                for row_key, ciphertext in rows:
                    conn.execute(
                        f"UPDATE {table} SET {column} = ? WHERE {key_column} = ?",  # noqa: S608
                        (cipher.rotate(ciphertext), row_key),
                    )
                    count += 1
            canary = conn.execute(
                "SELECT value FROM meta WHERE key = ?", (KEY_CANARY_META,)
            ).fetchone()
            if canary is not None:
                conn.execute(
                    "UPDATE meta SET value = ? WHERE key = ?",
                    (cipher.rotate(canary[0].encode()).decode(), KEY_CANARY_META),
                )
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return count


def backup_database(path: Path, target: Path) -> None:
    """A consistent copy of the live database (SQLite's online backup), checked before it counts.

    The copy is written to a private draft (`private_draft`) and linked into place only after
    `integrity_check` passed; an existing file is never replaced.
    """
    if not path.is_file():
        raise StorageUnavailable(f"there is no database at {path}")
    if target.exists():
        raise StorageError(f"{target} exists already; choose a new name for the backup")
    make_private_folder(target.parent)
    with private_draft(target) as draft:
        with _connection(path, read_only=True) as source, _connection(draft) as copy:
            source.backup(copy)
            copy.execute("PRAGMA journal_mode = DELETE")  # one self-contained file
            verdict = "\n".join(row[0] for row in copy.execute("PRAGMA integrity_check"))
        if verdict != "ok":
            raise StorageError(f"the copy failed SQLite's integrity check: {verdict}")
        try:
            os.link(draft, target)
        except OSError as error:
            raise StorageUnavailable(
                f"cannot create {target}: {describe_os_error(error)}"
            ) from None
