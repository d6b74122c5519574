"""Pytest fixtures for tests that run against the fake Discord.

Import a fixture with an explicit re-export, which pytest registers and ruff accepts:
`from tests.fake_discord.fixtures import fake_discord_fixture as fake_discord_fixture`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.fake_discord.server import FakeDiscord


@pytest.fixture(name="fake_discord")
async def fake_discord_fixture() -> AsyncIterator[FakeDiscord]:
    """A started FakeDiscord with no guilds yet, stopped after the test."""
    async with FakeDiscord() as fake:
        yield fake
