"""httpx on aiohttp's connection pool, failures classified by whether the request may have left.

httpx's own pool slows down sharply under concurrency (docs/performance.md), so game calls ride
on aiohttp through `httpx-aiohttp`. That package maps every `aiohttp.ClientConnectionError`,
including a server that hung up after reading the request and a read timeout, to
`httpx.ConnectTimeout`: a client that safely retries connect failures would then play a game
twice. This transport maps them again from the original aiohttp error.
"""

from __future__ import annotations

import asyncio

import aiohttp
import httpx
from httpx_aiohttp import AiohttpTransport


def _classify(error: Exception) -> httpx.TransportError:
    """Judge by the aiohttp error itself, which httpx-aiohttp keeps as the cause of its mapping."""
    original = error.__cause__ if isinstance(error, httpx.TransportError) else error
    name = type(original or error).__name__
    if isinstance(original, aiohttp.ClientConnectorError):
        return httpx.ConnectError(name)
    if isinstance(original, aiohttp.ConnectionTimeoutError):
        return httpx.ConnectTimeout(name)  # a pool wait or the TCP connect: nothing was sent
    if isinstance(original, TimeoutError):
        return httpx.ReadTimeout(name)
    if isinstance(original, aiohttp.ClientResponseError):
        return httpx.RemoteProtocolError(name)  # an answer that is not HTTP: it may have played
    return httpx.ReadError(name)


class TrackerTransport(AiohttpTransport):
    """Reads the whole (small) answer inside the transport, so every failure passes one mapping.

    Keeps no cookies (see tracker.http.TrackerHttpClient for why).
    """

    def get_client(self) -> aiohttp.ClientSession:
        """httpx-aiohttp's own session, but with a cookie jar that stores nothing."""
        connector = aiohttp.TCPConnector(
            limit=self.limits.max_connections or 0,
            keepalive_timeout=self.limits.keepalive_expiry,
            ssl=self.ssl_context,
        )
        return aiohttp.ClientSession(connector=connector, cookie_jar=aiohttp.DummyCookieJar())

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        # aiohttp restarts its read timeout at every chunk; a trickling answer meets this deadline.
        deadline = sum(value for value in request.extensions.get("timeout", {}).values() if value)
        try:
            async with asyncio.timeout(deadline or None):
                response = await super().handle_async_request(request)
                await response.aread()
        except (httpx.TransportError, aiohttp.ClientError, TimeoutError) as error:
            failure = _classify(error)
        else:
            return response
        # Raised outside the handler so the original is neither cause nor context: some aiohttp
        # errors carry the request, its Authorization header included.
        raise failure
