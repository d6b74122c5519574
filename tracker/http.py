"""The one HTTP client the bot uses for the tracker, built by the composition root."""

from __future__ import annotations

import httpx

from settings import Settings

USER_AGENT = "ctvote/0.1.0 (Discord bot for ChastityTracker games)"


def create_http_client(settings: Settings) -> httpx.AsyncClient:
    """Keep-alive and HTTP/2 as the tracker serves it; timeouts bound how long a member waits."""
    timeout = httpx.Timeout(
        connect=settings.tracker_connect_timeout,
        read=settings.tracker_read_timeout,
        write=settings.tracker_read_timeout,
        pool=settings.tracker_connect_timeout,
    )
    return httpx.AsyncClient(
        http2=True,
        timeout=timeout,
        headers={"User-Agent": USER_AGENT},
        follow_redirects=False,
        limits=httpx.Limits(max_connections=100, max_keepalive_connections=20),
    )
