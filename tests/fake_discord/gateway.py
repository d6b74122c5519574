"""Discord's gateway protocol towards one bot: sessions, sequence numbers, heartbeats, resumes."""

from __future__ import annotations

import asyncio
import json
import secrets
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web

JSON = dict[str, Any]

HEARTBEAT_INTERVAL_MS = 41_250
REPLAY_LIMIT = 20_000
# Close codes after which Discord lets a client RESUME (4000 "unknown error" is the usual one).
RESUMABLE_CLOSE = 4000
AUTHENTICATION_FAILED = 4004


@dataclass
class _Session:
    id: str
    socket: web.WebSocketResponse | None
    seq: int = 0
    sent: deque[tuple[int, str]] = field(default_factory=lambda: deque(maxlen=REPLAY_LIMIT))


class Gateway:
    """Serve the websocket a discord.py client connects to, and dispatch events to it.

    Every dispatched event is kept (up to REPLAY_LIMIT) so a RESUME replays what the client
    missed while its connection was down, as Discord does.
    """

    def __init__(
        self,
        *,
        token: str,
        ready: Callable[[str], JSON],
        guild_creates: Callable[[], list[JSON]],
    ) -> None:
        self._token = token
        self._ready_payload = ready
        self._guild_creates = guild_creates
        self._session: _Session | None = None
        self._sockets: set[web.WebSocketResponse] = set()
        self.ready = asyncio.Event()
        # Cleared by a test to keep the bot from reconnecting (an outage); set again to end it.
        self.accepting = asyncio.Event()
        self.accepting.set()
        self.identify_count = 0
        self.resume_count = 0
        self.intents: int | None = None

    @property
    def connected(self) -> bool:
        return self._session is not None and self._session.socket is not None

    async def handle(self, request: web.Request) -> web.WebSocketResponse:
        """The websocket route: HELLO, then answer the client's opcodes until it goes."""
        await self.accepting.wait()
        ws = web.WebSocketResponse(compress=False)
        await ws.prepare(request)
        self._sockets.add(ws)
        try:
            hello = {"heartbeat_interval": HEARTBEAT_INTERVAL_MS, "_trace": ["fake-gateway"]}
            await ws.send_str(_frame(10, hello))
            async for message in ws:
                if message.type is aiohttp.WSMsgType.TEXT:
                    await self._receive(ws, json.loads(message.data))
        finally:
            self._sockets.discard(ws)
            if self._session is not None and self._session.socket is ws:
                self._session.socket = None
        return ws

    async def dispatch(self, event: str, data: JSON) -> None:
        """Send an event to the bot's session; buffered for RESUME if its socket is down."""
        if self._session is None:
            raise AssertionError("no discord.py client has identified on the fake gateway")
        await self._dispatch(self._session, event, data)

    async def drop(self, code: int = RESUMABLE_CLOSE) -> None:
        """Close the bot's connection from the server side, as Discord does when it hiccups."""
        session = self._session
        if session is None or session.socket is None:
            raise AssertionError("no gateway connection to drop")
        socket, session.socket = session.socket, None
        await socket.close(code=code, message=b"dropped by the test")

    async def close(self) -> None:
        """Close every connection, as Discord going away does."""
        for socket in list(self._sockets):
            await socket.close(code=aiohttp.WSCloseCode.GOING_AWAY)

    async def _receive(self, ws: web.WebSocketResponse, message: JSON) -> None:
        op, data = message.get("op"), message.get("d")
        if op == 1:
            await ws.send_str(_frame(11, None))
        elif op == 2:
            await self._identify(ws, data)
        elif op == 6:
            await self._resume(ws, data)

    async def _identify(self, ws: web.WebSocketResponse, data: JSON) -> None:
        if data.get("token") != self._token:
            await ws.close(code=AUTHENTICATION_FAILED, message=b"Authentication failed.")
            return
        self.identify_count += 1
        self.intents = data.get("intents")
        session = self._session = _Session(id=secrets.token_hex(16), socket=ws)
        await self._dispatch(session, "READY", self._ready_payload(session.id))
        for guild in self._guild_creates():
            await self._dispatch(session, "GUILD_CREATE", guild)
        self.ready.set()

    async def _resume(self, ws: web.WebSocketResponse, data: JSON) -> None:
        session, seq = self._session, data.get("seq")
        if (
            session is None
            or data.get("session_id") != session.id
            or data.get("token") != self._token
            or seq is None
            or (session.sent and session.sent[0][0] > seq + 1)  # missed events already dropped
        ):
            await ws.send_str(_frame(9, False))  # INVALID_SESSION, not resumable: identify again
            return
        self.resume_count += 1
        # Replay until caught up; only then attach, so new events cannot overtake old ones.
        session.socket, last = None, seq
        while missed := [(s, frame) for s, frame in session.sent if s > last]:
            for _, frame in missed:
                await ws.send_str(frame)
            last = missed[-1][0]
        session.socket = ws
        await self._dispatch(session, "RESUMED", {"_trace": ["fake-gateway"]})

    async def _dispatch(self, session: _Session, event: str, data: JSON) -> None:
        session.seq += 1
        frame = json.dumps({"op": 0, "t": event, "s": session.seq, "d": data})
        session.sent.append((session.seq, frame))
        if session.socket is None:
            return
        try:
            await session.socket.send_str(frame)
        except ConnectionError:
            session.socket = None


def _frame(op: int, data: Any) -> str:
    return json.dumps({"op": op, "d": data, "s": None, "t": None})
