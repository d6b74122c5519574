"""Work on a PostgreSQL database from another process while bots may be running: a check.

Key rotation runs in a bot's own process on PostgreSQL (`PostgresDatabase.rotate_token_key`), as
any process may write to the server; SQLite's twin (`storage/sqlite/maintenance.py`) works on
the file.
"""

from __future__ import annotations

import asyncpg

from storage.errors import WrongTokenKey
from storage.models import DatabaseReport
from storage.postgres.database import postgres_migrations
from storage.postgres.sql import unavailable_as_storage_error
from storage.token_cipher import KEY_CANARY_META, TokenCipher


async def inspect_postgres(url: str, cipher: TokenCipher) -> DatabaseReport:
    """The same report for a PostgreSQL database, read without writing (no migration, no key
    check row, no recovery)."""
    with unavailable_as_storage_error("cannot connect to PostgreSQL"):
        conn = await asyncpg.connect(url)
        try:
            known = postgres_migrations()[-1].version
            if await conn.fetchval("SELECT to_regclass('schema_migrations')") is None:
                return DatabaseReport(False, known_version=known)
            version = await conn.fetchval("SELECT max(version) FROM schema_migrations") or 0
            canary = await conn.fetchval("SELECT value FROM meta WHERE key = $1", KEY_CANARY_META)
        finally:
            await conn.close()
    key_fits = True
    if canary is not None:
        try:
            cipher.decrypt(canary.encode())
        except WrongTokenKey:
            key_fits = False
    return DatabaseReport(True, version, known, "ok", key_fits)
