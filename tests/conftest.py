"""Shared real parts: the tracker sandbox on a loopback port, a real database file, the services."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from cryptography.fernet import Fernet

from services.container import Services
from storage.database import Database
from tests.bot_world import BotWorld, bot_world
from tracker.client import TrackerClient
from tracker.sandbox import SandboxTracker


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


@pytest.fixture
async def db(database_path: Path, token_key: bytes) -> AsyncIterator[Database]:
    async with Database.connect(database_path, token_key) as database:
        yield database


@pytest.fixture
async def tracker_client(sandbox: SandboxTracker) -> AsyncIterator[TrackerClient]:
    async with httpx.AsyncClient(timeout=5) as http:
        yield TrackerClient(http, sandbox.base_url)


@pytest.fixture
def services(db: Database, tracker_client: TrackerClient, sandbox: SandboxTracker) -> Services:
    """The services on the sandbox's clock, so that moving its time moves the vote limits too."""
    return Services.build(db, tracker_client, sandbox.now)


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[BotWorld]:
    """The real bot, logged into the fake Discord, playing against the sandbox."""
    async with bot_world(tmp_path / "data") as running:
        yield running
