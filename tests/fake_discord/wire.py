"""HTTP and JSON details the fake shares between its REST routes and its records."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

DISCORD_EPOCH_MS = 1_420_070_400_000


class Snowflakes:
    """Hand out unique ids that encode their creation time, as discord.py reads them."""

    def __init__(self) -> None:
        self._last = 0

    def next(self) -> int:
        now = (int(time.time() * 1000) - DISCORD_EPOCH_MS) << 22
        self._last = max(now, self._last + 1)
        return self._last


def snowflake_time(snowflake: int) -> str:
    """The ISO timestamp Discord reports for an object created with this id."""
    seconds = ((snowflake >> 22) + DISCORD_EPOCH_MS) / 1000
    return datetime.fromtimestamp(seconds, UTC).isoformat()


def json_response(body: Any, status: int = 200) -> web.Response:
    """Answer JSON with exactly `application/json`: discord.py parses nothing else as JSON."""
    return web.Response(
        body=json.dumps(body).encode(), status=status, content_type="application/json"
    )


@dataclass(frozen=True, slots=True)
class SentFile:
    """A file the bot attached to a message, as uploaded."""

    filename: str
    data: bytes


class Refusal(Exception):
    """A Discord API error: raised by a route, answered as Discord's JSON error body."""

    def __init__(
        self, status: int, code: int, message: str, errors: dict[str, Any] | None = None
    ) -> None:
        super().__init__(f"{status} {code} {message}")
        self.status = status
        self.code = code
        self.message = message
        self.errors = errors

    def response(self) -> web.Response:
        body: dict[str, Any] = {"message": self.message, "code": self.code}
        if self.errors is not None:
            body["errors"] = self.errors
        return json_response(body, self.status)


def invalid_form(path: str, message: str) -> Refusal:
    """Discord's 50035 with the error nested under its dotted field path (`data.content`)."""
    errors: dict[str, Any] = {"_errors": [{"code": "BASE_TYPE_INVALID", "message": message}]}
    for key in reversed(path.split(".")):
        errors = {key: errors}
    return Refusal(400, 50035, "Invalid Form Body", errors)


async def read_message_body(request: web.Request, size_limit: int) -> tuple[Any, list[SentFile]]:
    """A message and its uploaded files; a file over `size_limit` is refused, as Discord does."""
    if not request.content_type.startswith("multipart/"):
        return await read_json(request), []
    form = await request.post()
    files = []
    for name, value in form.items():
        if name.startswith("files[") and isinstance(value, web.FileField):
            data = value.file.read()
            if len(data) > size_limit:
                raise Refusal(413, 40005, "Request entity too large")
            files.append(SentFile(value.filename, data))
    try:
        return json.loads(str(form.get("payload_json", "{}"))), files
    except ValueError:
        raise Refusal(400, 50109, "The request body contains invalid JSON.") from None


async def read_json(request: web.Request) -> Any:
    """The request's JSON body, also when discord.py sent files as multipart `payload_json`."""
    try:
        if request.content_type.startswith("multipart/"):
            form = await request.post()
            return json.loads(str(form.get("payload_json", "{}")))
        return await request.json()
    except ValueError:
        raise Refusal(400, 50109, "The request body contains invalid JSON.") from None
