"""The one HTTP client the bot uses for the tracker, built by the composition root."""

from __future__ import annotations

import httpx

from settings import Settings
from tracker.transport import TrackerTransport

USER_AGENT = "ctvote/0.1.0 (Discord bot for ChastityTracker games)"
MAX_CONNECTIONS = 100
"""Connections to the tracker at once; services.calls.GameCaller sends no more calls at once."""


class _NoCookies(httpx.Cookies):
    """A jar that stays empty whatever the tracker sets."""

    def extract_cookies(self, response: httpx.Response) -> None:
        return None


class TrackerHttpClient(httpx.AsyncClient):
    """An httpx client that neither keeps nor sends cookies.

    The games API is stateless: each call carries its own bearer, or none. One jar shared by every
    member's calls would send a session cookie that the tracker set for one member's call along
    with the next member's call, anonymous votes included. Not parsing them saves CPU, too.
    """

    _no_cookies = _NoCookies()

    @property
    def cookies(self) -> httpx.Cookies:
        return self._no_cookies

    @cookies.setter
    def cookies(self, cookies: object) -> None:
        raise TypeError("the tracker client keeps no cookies")


def create_http_client(settings: Settings) -> httpx.AsyncClient:
    """Keep-alive connections on aiohttp's pool; timeouts bound how long a member waits.

    HTTP/1.1 on aiohttp's pool: at 200 calls at a time on a 2-core machine, httpx's own pool
    managed about 230 calls/s (its HTTP/2 pool about 210), this client about 2,600
    (docs/performance.md).
    """
    timeout = httpx.Timeout(
        connect=settings.tracker_connect_timeout,
        read=settings.tracker_read_timeout,
        write=settings.tracker_read_timeout,
        pool=settings.tracker_connect_timeout,
    )
    limits = httpx.Limits(
        max_connections=MAX_CONNECTIONS, max_keepalive_connections=MAX_CONNECTIONS
    )
    return TrackerHttpClient(
        transport=TrackerTransport(limits=limits),
        timeout=timeout,
        headers={"User-Agent": USER_AGENT},
        follow_redirects=False,
    )
