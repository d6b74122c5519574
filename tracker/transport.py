"""httpx on aiohttp's connection pool, failures classified by whether the request may have left.

httpx's own pool slows down sharply under concurrency (README, "Performance"), so game calls ride
on aiohttp through `httpx-aiohttp`. That package maps every `aiohttp.ClientConnectionError`,
including a server that hung up after reading the request and a read timeout, to
`httpx.ConnectTimeout`: a client that safely retries connect failures would then play a game
twice. This transport maps them again from the original aiohttp error.
"""

from __future__ import annotations

import aiohttp
import httpx
from httpx_aiohttp import AiohttpTransport


def _classify(error: BaseException | None, message: str) -> httpx.TransportError:
    if isinstance(error, aiohttp.ClientConnectorError):
        return httpx.ConnectError(message)
    if isinstance(error, aiohttp.ConnectionTimeoutError):
        return httpx.ConnectTimeout(message)  # pool wait or TCP connect: nothing was sent
    if isinstance(error, TimeoutError):
        return httpx.ReadTimeout(message)
    return httpx.ReadError(message)


class TrackerTransport(AiohttpTransport):
    """Reads the whole (small) answer inside the transport, so every failure passes one mapping."""

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        try:
            response = await super().handle_async_request(request)
            await response.aread()
        except httpx.TransportError as error:
            raise _classify(error.__cause__, str(error)) from error.__cause__
        return response
