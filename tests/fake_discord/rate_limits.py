"""429 answers a test asks for on chosen routes, shaped as Discord sends them."""

from __future__ import annotations

from dataclasses import dataclass

from aiohttp import web

from tests.fake_discord.wire import json_response


@dataclass
class _Limit:
    method: str
    path_part: str
    left: int
    retry_after: float


class RateLimits:
    """Answer the next `count` requests of a route with 429 and `retry_after`.

    Discord's 429s come through its proxy with a `Via` header; discord.py takes a 429 without it
    for a Cloudflare ban and gives up, so the header is what makes it wait and try again.
    """

    def __init__(self) -> None:
        self._limits: list[_Limit] = []
        self.answered = 0
        """How many 429s went out."""

    def limit(self, method: str, path_part: str, *, count: int, retry_after: float) -> None:
        """Limit requests with this method whose path contains `path_part`."""
        self._limits.append(_Limit(method.upper(), path_part, count, retry_after))

    def answer(self, request: web.Request) -> web.Response | None:
        """The 429 for this request, or None when it is not limited."""
        for limit in self._limits:
            if limit.method == request.method and limit.path_part in request.path:
                limit.left -= 1
                if limit.left <= 0:
                    self._limits.remove(limit)
                self.answered += 1
                return _too_many(limit.retry_after)
        return None


def _too_many(retry_after: float) -> web.Response:
    body = {"message": "You are being rate limited.", "retry_after": retry_after, "global": False}
    headers = {
        "Via": "1.1 google",
        "Retry-After": str(max(1, round(retry_after))),
        "X-RateLimit-Limit": "5",
        "X-RateLimit-Remaining": "0",
        "X-RateLimit-Reset-After": f"{retry_after:.3f}",
        "X-RateLimit-Bucket": "fake-limited",
        "X-RateLimit-Scope": "user",
    }
    response = json_response(body, status=429)
    response.headers.update(headers)
    return response
