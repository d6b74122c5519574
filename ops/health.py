"""`/healthz` and `/metrics` over HTTP, for a container's health check and for Prometheus."""

from __future__ import annotations

import asyncio
import logging
import math
from typing import TYPE_CHECKING

import discord
from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST

from ops.metrics import Metrics
from storage.errors import StorageError

if TYPE_CHECKING:
    from discord_layer.host import Host

log = logging.getLogger(__name__)

DATABASE_TIMEOUT = 2.0


def connected_shards(bot: Host) -> int:
    """Gateway connections (shards) that are open and past READY.

    Read from the sockets themselves: `is_ready()` alone stays true through a dropped connection.
    """
    if not bot.is_ready():
        return 0
    if isinstance(bot, discord.AutoShardedClient):
        return sum(not shard.is_closed() for shard in bot.shards.values())
    ws = bot.ws
    return int(ws is not None and ws.open)


def gateway_latency(bot: Host) -> float:
    latency = bot.latency
    return latency if math.isfinite(latency) else math.nan


async def health_problem(bot: Host) -> str | None:
    """Why the bot cannot serve members right now, or None when it can."""
    if bot.stopping:
        return "the bot is stopping"
    expected, up = bot.shard_count or 1, connected_shards(bot)
    if up < expected:
        return f"gateway: {up} of {expected} connections up"
    try:
        async with asyncio.timeout(DATABASE_TIMEOUT):
            await bot.db.get_meta("schema")  # any cheap read proves the database answers
    except TimeoutError:
        return f"database: no answer within {DATABASE_TIMEOUT:g} s"
    except StorageError as error:
        return f"database: {error}"
    return None


class OpsServer:
    """A small aiohttp server beside the bot: off unless HTTP_PORT is set."""

    def __init__(self, bot: Host, metrics: Metrics) -> None:
        self._bot = bot
        self._metrics = metrics
        self._runner: web.AppRunner | None = None
        self.url: str | None = None
        app = web.Application()
        app.router.add_get("/healthz", self._healthz)
        app.router.add_get("/metrics", self._metrics_page)
        self._app = app

    async def start(self, host: str, port: int) -> str:
        runner = web.AppRunner(self._app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, host, port).start()
        self._runner = runner
        bound_host, bound_port = runner.addresses[0][:2]
        self.url = f"http://{bound_host}:{bound_port}"
        log.info("health and metrics on %s (/healthz, /metrics)", self.url)
        return self.url

    async def stop(self) -> None:
        if self._runner is not None:
            runner, self._runner = self._runner, None
            await runner.cleanup()

    async def _healthz(self, request: web.Request) -> web.Response:
        problem = await health_problem(self._bot)
        if problem is None:
            return web.Response(text="ok\n")
        return web.Response(status=503, text=f"{problem}\n")

    async def _metrics_page(self, request: web.Request) -> web.Response:
        response = web.Response(body=self._metrics.exposition())
        response.headers["Content-Type"] = CONTENT_TYPE_LATEST
        return response
