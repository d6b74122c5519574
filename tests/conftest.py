"""Shared real parts: the tracker sandbox on a loopback port, a real database, the services.

A test that asks for `backend` (or for `db` or `world`, which do) runs once on SQLite and once on
a real PostgreSQL server, unless it is marked `sqlite_only` (it looks at the SQLite file itself).
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import AbstractAsyncContextManager
from datetime import datetime
from pathlib import Path

import httpx
import pytest
from cryptography.fernet import Fernet
from hypothesis import settings

from services.container import Services
from storage.interface import Storage
from storage.postgres.database import PostgresDatabase
from storage.sqlite.database import Database
from tests.bot_world import BotWorld, bot_world
from tests.helpers_ledger import Location
from tests.helpers_storage import file_bytes
from tests.postgres_server import PostgresServer, PostgresUnavailable
from tracker.client import TrackerClient
from tracker.sandbox import SandboxTracker

# Property tests: in CI the same examples on every run, so a red build is never a new random draw;
# locally new ones each run, and what fails is kept in .hypothesis/ and tried first next time (a
# falsifying example found that way becomes an `@example` in the test).
settings.register_profile("ci", max_examples=40, derandomize=True, database=None, print_blob=True)
settings.register_profile("local", max_examples=40)
settings.load_profile("ci" if os.environ.get("CI") else "local")


@pytest.fixture(autouse=True, scope="session")
def config_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Keep the token keys that bots started by tests generate out of the user's config folder."""
    folder = tmp_path_factory.mktemp("config")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("XDG_CONFIG_HOME", str(folder))
        yield folder


@pytest.fixture
async def sandbox() -> AsyncIterator[SandboxTracker]:
    tracker = SandboxTracker(seed=7)
    await tracker.start()
    try:
        yield tracker
    finally:
        await tracker.stop()


@pytest.fixture
def token_key() -> bytes:
    return Fernet.generate_key()


@pytest.fixture
def database_path(tmp_path: Path) -> Path:
    return tmp_path / "data" / "bot.sqlite3"


BACKENDS = ("sqlite", "postgres")
ONLY = {"sqlite_only": "postgres", "postgres_only": "sqlite"}  # marker: the backend it leaves out
OpenStorage = Callable[..., AbstractAsyncContextManager[Storage]]
StoredBytes = Callable[[], Awaitable[bytes]]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "backend" in metafunc.fixturenames:
        excluded = {
            ONLY[mark.name] for mark in metafunc.definition.iter_markers() if mark.name in ONLY
        }
        backends = [backend for backend in BACKENDS if backend not in excluded]
        metafunc.parametrize("backend", backends)


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """One server for the whole run; without it the run stops with one line, never skips."""
    try:
        server = PostgresServer()
        try:
            server.start()
        except BaseException:
            server.stop()
            raise
    except (PostgresUnavailable, OSError) as error:
        pytest.exit(f"PostgreSQL could not start for the tests: {error}", returncode=1)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
async def database_url(backend: str, request: pytest.FixtureRequest) -> str | None:
    """A fresh, migrated PostgreSQL database for this test; None on SQLite."""
    if backend == "sqlite":
        return None
    server: PostgresServer = request.getfixturevalue("postgres")
    return await server.new_database()


@pytest.fixture
def open_storage(database_url: str | None, database_path: Path, token_key: bytes) -> OpenStorage:
    """Opens this test's database (again): `async with open_storage(now=...) as db:`."""

    def connect(
        *, key: bytes = token_key, now: datetime | None = None
    ) -> AbstractAsyncContextManager[Storage]:
        if database_url is None:
            return Database.connect(database_path, key, now=now)
        return PostgresDatabase.connect(database_url, key, now=now)

    return connect


@pytest.fixture
def ledger_location(database_url: str | None, database_path: Path) -> Location:
    """Where this test's ledger can be read from outside the bot (`tests.helpers_ledger`)."""
    return database_path if database_url is None else database_url


@pytest.fixture
def stored_bytes(
    database_url: str | None, database_path: Path, request: pytest.FixtureRequest
) -> StoredBytes:
    """Everything this test's database keeps on disk, as someone holding a copy would read it."""
    server: PostgresServer | None = request.getfixturevalue("postgres") if database_url else None

    async def read() -> bytes:
        if server is None or database_url is None:
            return file_bytes(database_path)
        return await server.stored_bytes(database_url)

    return read


@pytest.fixture
async def db(open_storage: OpenStorage) -> AsyncIterator[Storage]:
    async with open_storage() as database:
        yield database


@pytest.fixture
async def tracker_client(sandbox: SandboxTracker) -> AsyncIterator[TrackerClient]:
    async with httpx.AsyncClient(timeout=5) as http:
        yield TrackerClient(http, sandbox.base_url)


@pytest.fixture
def services(db: Storage, tracker_client: TrackerClient, sandbox: SandboxTracker) -> Services:
    """The services on the sandbox's clock, so that moving its time moves the vote limits too."""
    return Services.build(db, tracker_client, sandbox.now)


@pytest.fixture
async def world(tmp_path: Path, database_url: str | None) -> AsyncIterator[BotWorld]:
    """The real bot, logged into the fake Discord, playing against the sandbox."""
    async with bot_world(tmp_path / "data", database_url=database_url) as running:
        yield running
