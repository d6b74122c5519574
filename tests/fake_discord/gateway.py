"""Discord's gateway protocol towards one bot: sessions, sequence numbers, heartbeats, resumes.

A sharded bot opens one session per shard (IDENTIFY carries `shard: [id, count]`), maybe from
several processes; each guild's events go to the session of shard `(guild_id >> 22) % count`,
events without a guild to shard 0, as Discord routes them. Like Discord, it starts one session
per bucket (shard id % max_concurrency) in any 5 seconds (`identify_window`) and answers an
IDENTIFY beyond that with an invalid session.
"""

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
IDENTIFY_WINDOW = 5.0


Shard = tuple[int, int]  # (shard id, shard count)


def shard_of(guild_id: int | None, shard_count: int) -> int:
    return 0 if guild_id is None else (guild_id >> 22) % shard_count


@dataclass
class _Session:
    id: str
    socket: web.WebSocketResponse | None
    shard: Shard = (0, 1)
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
        ready: Callable[[str, Shard], JSON],
        guild_creates: Callable[[Shard], list[JSON]],
    ) -> None:
        self._token = token
        self._ready_payload = ready
        self._guild_creates = guild_creates
        self._sessions: dict[int, _Session] = {}  # by shard id
        self._sockets: set[web.WebSocketResponse] = set()
        self.ready = asyncio.Event()
        # Cleared by a test to keep the bot from reconnecting (an outage); set again to end it.
        self.accepting = asyncio.Event()
        self.accepting.set()
        self.max_concurrency = 1
        """Buckets of IDENTIFY (GET /gateway/bot reports it); set before the bot connects."""
        self.identify_window = IDENTIFY_WINDOW
        """Seconds in which each bucket starts one session."""
        self.identify_count = 0
        self.refused_identifies: list[Shard] = []
        """The shards whose IDENTIFY came too soon after their bucket's last, in order."""
        self._identified_at: dict[int, float] = {}  # by bucket: the loop's time
        self.resume_count = 0
        self.intents: int | None = None

    @property
    def _session(self) -> _Session | None:
        """The session of shard 0 (the only one of a bot that is not sharded)."""
        return self._sessions.get(0)

    @property
    def connected(self) -> bool:
        return self._session is not None and self._session.socket is not None

    def is_connected(self, shard: int) -> bool:
        """Whether the shard's session has a socket now (events are buffered otherwise)."""
        session = self._sessions.get(shard)
        return session is not None and session.socket is not None

    def session_id(self, shard: int) -> str | None:
        """The id of the shard's current session: a new one after each IDENTIFY."""
        session = self._sessions.get(shard)
        return None if session is None else session.id

    @property
    def shards(self) -> set[Shard]:
        """The shards identified so far."""
        return {session.shard for session in self._sessions.values()}

    async def handle(self, request: web.Request) -> web.WebSocketResponse:
        """The websocket route: HELLO, then answer the client's opcodes until it goes."""
        await self.accepting.wait()
        ws = web.WebSocketResponse(compress=False)
        try:
            await ws.prepare(request)
        except ConnectionResetError:  # the client went during the handshake: a killed bot
            return ws
        self._sockets.add(ws)
        try:
            hello = {"heartbeat_interval": HEARTBEAT_INTERVAL_MS, "_trace": ["fake-gateway"]}
            await ws.send_str(_frame(10, hello))
            async for message in ws:
                if message.type is aiohttp.WSMsgType.TEXT:
                    await self._receive(ws, json.loads(message.data))
        finally:
            self._sockets.discard(ws)
            for session in self._sessions.values():
                if session.socket is ws:
                    session.socket = None
        return ws

    async def dispatch(
        self, event: str, data: JSON, *, shard: int | None = None
    ) -> tuple[int, bool]:
        """Send an event to the session of its guild's shard (or of `shard`, as a session that
        overlaps another can receive it); buffered for RESUME if its socket is down. Returns the
        shard id and whether the event was written to an open socket."""
        if shard is None:
            guild_id = data.get("guild_id")
            count = max((session.shard[1] for session in self._sessions.values()), default=1)
            shard = shard_of(int(guild_id) if guild_id is not None else None, count)
        session = self._sessions.get(shard)
        if session is None:
            raise AssertionError(f"no discord.py client has identified shard {shard}")
        return shard, await self._dispatch(session, event, data)

    async def dispatch_to_every_session(self, event: str, data: JSON) -> None:
        """Send one event to every shard's session, as an overlap of two sessions can."""
        for session in list(self._sessions.values()):
            await self._dispatch(session, event, data)

    async def drop(self, code: int = RESUMABLE_CLOSE, *, shard: int = 0) -> None:
        """Close the bot's connection from the server side, as Discord does when it hiccups."""
        session = self._sessions.get(shard)
        if session is None or session.socket is None:
            raise AssertionError("no gateway connection to drop")
        socket, session.socket = session.socket, None
        await socket.close(code=code, message=b"dropped by the test")

    async def lose_sessions(self) -> None:
        """Forget every session and drop the bot's connection: its RESUME is refused with an
        invalid session and it must IDENTIFY again, as after Discord lost its sessions."""
        self._sessions.clear()
        for socket in list(self._sockets):
            await socket.close(code=RESUMABLE_CLOSE, message=b"sessions lost in the test")

    def abort(self, *, shard: int = 0) -> None:
        """Cut the shard's connection without a close frame: the client sees 1006, abnormal."""
        session = self._sessions.get(shard)
        if session is None or session.socket is None:
            raise AssertionError("no gateway connection to abort")
        socket, session.socket = session.socket, None
        transport = socket._req.transport if socket._req is not None else None
        if transport is not None:
            transport.abort()

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
        shard_id, shard_count = data.get("shard") or (0, 1)
        shard = (int(shard_id), int(shard_count))
        bucket, now = shard[0] % self.max_concurrency, asyncio.get_running_loop().time()
        last = self._identified_at.get(bucket)
        if last is not None and now - last < self.identify_window:
            self.refused_identifies.append(shard)
            await ws.send_str(_frame(9, False))  # INVALID_SESSION: identify again later
            return
        self._identified_at[bucket] = now
        self.identify_count += 1
        self.intents = data.get("intents")
        session = _Session(id=secrets.token_hex(16), socket=ws, shard=shard)
        self._sessions[shard[0]] = session
        await self._dispatch(session, "READY", self._ready_payload(session.id, shard))
        for guild in self._guild_creates(shard):
            await self._dispatch(session, "GUILD_CREATE", guild)
        self.ready.set()

    async def _resume(self, ws: web.WebSocketResponse, data: JSON) -> None:
        seq = data.get("seq")
        session = next((s for s in self._sessions.values() if s.id == data.get("session_id")), None)
        if (
            session is None
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

    async def _dispatch(self, session: _Session, event: str, data: JSON) -> bool:
        """Whether the frame was written to an open socket: once the client's close frame has
        been read, nothing more is (the client reads everything written before)."""
        session.seq += 1
        frame = json.dumps({"op": 0, "t": event, "s": session.seq, "d": data})
        session.sent.append((session.seq, frame))
        if session.socket is None:
            return False
        try:
            await session.socket.send_str(frame)
        except ConnectionError:
            session.socket = None
            return False
        return True


def _frame(op: int, data: Any) -> str:
    return json.dumps({"op": op, "d": data, "s": None, "t": None})
