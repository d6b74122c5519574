"""Connect a real discord.py client to the fake: where it points, how it starts and stops."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import discord
import yarl

from bot import point_discord_at
from tests.fake_discord.records import DEFAULT_TIMEOUT
from tests.fake_discord.server import FakeDiscord


def point_discord_py_at(api_base: str) -> None:
    """Send every discord.py connection to `api_base` instead of discord.com.

    A non-sharded Client never asks `/gateway/bot`: it opens `DEFAULT_GATEWAY` directly, so
    that moves too, to `/gateway` on the same host (where the fake serves it).
    """
    websocket = yarl.URL(api_base).with_scheme("ws").with_path("/gateway")
    point_discord_at(api_base, str(websocket))


@asynccontextmanager
async def running_bot(
    fake: FakeDiscord, bot: discord.Client, within: float = DEFAULT_TIMEOUT
) -> AsyncIterator[discord.Client]:
    """Log `bot` into `fake` (its setup_hook runs first) and keep it connected for the block."""
    discord_logger = logging.getLogger("discord")
    if discord_logger.getEffectiveLevel() < logging.INFO:
        discord_logger.setLevel(logging.INFO)  # its DEBUG logs carry raw payloads
    point_discord_py_at(fake.api_base)
    running = asyncio.create_task(bot.start(fake.token), name="discord.py client")
    try:
        await _connected(fake, running, within)
        yield bot
    finally:
        await bot.close()
        await asyncio.wait({running}, timeout=within)
    if not running.done():
        running.cancel()
        raise AssertionError(f"the bot did not stop within {within:g} s of close()")
    if (error := running.exception()) is not None:
        raise error


async def _connected(fake: FakeDiscord, running: asyncio.Task[None], within: float) -> None:
    ready = asyncio.create_task(fake.ready.wait())
    done, _ = await asyncio.wait(
        {running, ready}, timeout=within, return_when=asyncio.FIRST_COMPLETED
    )
    ready.cancel()
    if running in done:
        running.result()
        raise AssertionError("the bot stopped before it identified on the gateway")
    if ready not in done:
        raise AssertionError(f"the bot did not identify on the fake gateway within {within:g} s")
