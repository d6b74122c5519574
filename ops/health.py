"""`/healthz` and `/metrics` over HTTP, for a container's health check and for Prometheus."""

from __future__ import annotations

import asyncio
import logging
import math
from typing import TYPE_CHECKING, Any

import discord
from aiohttp import web
from aiohttp.web_protocol import RequestHandler
from prometheus_client import CONTENT_TYPE_LATEST

from ops.metrics import Metrics

if TYPE_CHECKING:
    from discord_layer.host import Host

log = logging.getLogger(__name__)

DATABASE_TIMEOUT = 2.0
# A client gets this long to send a whole request (a slow drip of headers is cut off), and a
# kept-alive connection this long between requests; at most MAX_CONNECTIONS at once.
REQUEST_SECONDS = 5.0
IDLE_SECONDS = 5.0
MAX_CONNECTIONS = 32
# /healthz says why in fixed sentences: an exception's text may name a host, a user or a path.
STOPPING = "the bot is stopping"
DATABASE_SILENT = f"database: no answer within {DATABASE_TIMEOUT:g} s"
DATABASE_FAILING = "database: cannot be used (see the bot's log)"


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
        return STOPPING
    expected, up = bot.shard_count or 1, connected_shards(bot)
    if up < expected:
        return f"gateway: {up} of {expected} connections up"
    try:
        async with asyncio.timeout(DATABASE_TIMEOUT):
            await bot.db.get_meta("schema")  # any cheap read proves the database answers
    except TimeoutError:
        return DATABASE_SILENT
    except Exception as error:  # whatever it is, its text stays in the log
        log.warning("health check: the database failed: %s: %s", type(error).__name__, error)
        return DATABASE_FAILING
    return None


class _GuardedServer(web.Server):
    """aiohttp's server with a cap on connections and a deadline for each request to arrive.

    aiohttp itself waits for request headers as long as a client trickles them (slowloris);
    each such connection costs a file descriptor, so without a cap enough of them would leave
    none for the health check.
    """

    def __init__(self, handler: Any, **kwargs: Any) -> None:
        super().__init__(handler, keepalive_timeout=IDLE_SECONDS, **kwargs)
        self._deadlines: dict[RequestHandler, asyncio.TimerHandle] = {}

    def connection_made(self, handler: RequestHandler, transport: asyncio.Transport) -> None:
        super().connection_made(handler, transport)
        if len(self.connections) > MAX_CONNECTIONS:
            # The connection silent for longest makes room: a probe gets in even while slow
            # clients hold every place.
            silent = next(iter(self._deadlines), handler)
            log.warning("health server: more than %d connections; closing one", MAX_CONNECTIONS)
            self.request_started(silent)
            if silent.transport is not None:
                silent.transport.close()
            if silent is handler:
                return
        self.awaiting_request(handler)

    def connection_lost(self, handler: RequestHandler, exc: BaseException | None = None) -> None:
        self.request_started(handler)
        super().connection_lost(handler, exc)

    def awaiting_request(self, handler: RequestHandler) -> None:
        """The next request must have arrived whole within REQUEST_SECONDS."""
        self.request_started(handler)
        transport = handler.transport
        if transport is not None:
            loop = asyncio.get_running_loop()
            self._deadlines[handler] = loop.call_later(REQUEST_SECONDS, transport.close)

    def request_started(self, handler: RequestHandler) -> None:
        deadline = self._deadlines.pop(handler, None)
        if deadline is not None:
            deadline.cancel()


class OpsServer:
    """A small aiohttp server beside the bot: off unless HTTP_PORT is set."""

    def __init__(self, bot: Host, metrics: Metrics) -> None:
        self._bot = bot
        self._metrics = metrics
        self._runner: web.ServerRunner | None = None
        self.url: str | None = None
        self._server = _GuardedServer(self._handle)
        self._pages = {"/healthz": self._healthz, "/metrics": self._metrics_page}

    async def start(self, host: str, port: int) -> str:
        runner = web.ServerRunner(self._server, access_log=None)
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

    async def _handle(self, request: web.BaseRequest) -> web.StreamResponse:
        protocol = request.protocol
        if isinstance(protocol, RequestHandler):
            self._server.request_started(protocol)
        try:
            page = self._pages.get(request.path)
            if page is None:
                return web.Response(status=404, text="not found\n")
            if request.method not in ("GET", "HEAD"):
                return web.Response(status=405, text="method not allowed\n")
            return await page()
        finally:
            if isinstance(protocol, RequestHandler):
                self._server.awaiting_request(protocol)

    async def _healthz(self) -> web.Response:
        problem = await health_problem(self._bot)
        if problem is None:
            return web.Response(text="ok\n")
        return web.Response(status=503, text=f"{problem}\n")

    async def _metrics_page(self) -> web.Response:
        response = web.Response(body=self._metrics.exposition())
        response.headers["Content-Type"] = CONTENT_TYPE_LATEST
        return response
