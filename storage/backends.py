"""Which database the bot uses: PostgreSQL when DATABASE_URL is set, else the SQLite file."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from pydantic import SecretStr

from storage.errors import StorageError
from storage.interface import Storage
from storage.postgres.database import PostgresDatabase
from storage.sqlite.database import Database
from storage.token_cipher import legacy_key_file, load_token_key

# The type checker holds each backend to the `Storage` Protocol here, every method's signature
# included: a backend that drifts from the interface fails `./scripts/test`.
SQLITE_BACKEND: type[Storage] = Database
POSTGRES_BACKEND: type[Storage] = PostgresDatabase
SHARED_KEY_NEEDED = (
    "TOKEN_KEY must be set when DATABASE_URL is: every process that shares the database must "
    "use the same key"
)


def token_key(
    configured: SecretStr | None,
    database_url: SecretStr | None,
    key_file: Path,
    database_path: Path,
) -> bytes:
    """One process may generate its key into a file; processes sharing a server cannot."""
    if database_url is not None and (
        configured is None or not configured.get_secret_value().strip()
    ):
        raise StorageError(SHARED_KEY_NEEDED)
    return load_token_key(configured, key_file, legacy_path=legacy_key_file(database_path))


@asynccontextmanager
async def connect_storage(
    database_url: SecretStr | None, database_path: Path, key: bytes, deadline_seconds: float
) -> AsyncIterator[Storage]:
    """Open, migrate and recover the configured database; closed however the block ends.

    Every operation later gets `deadline_seconds` seconds (DATABASE_TIMEOUT_SECONDS).
    """
    if database_url is not None:
        url = database_url.get_secret_value()
        async with PostgresDatabase.connect(url, key, deadline_seconds=deadline_seconds) as pg:
            yield pg
    else:
        async with Database.connect(
            database_path, key, deadline_seconds=deadline_seconds
        ) as sqlite:
            yield sqlite
