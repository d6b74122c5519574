"""A local, in-memory tracker that answers `POST /api/v2/games.php` like the real games API.

It exists so tests, benchmarks and people can exercise the bot without touching anyone's real
session. Run `python -m tracker.sandbox --port 8787 [--seed N]` to start one with a demo setup.

Rules the API page leaves open, as implemented here (all draws come from one seeded RNG):

- Multiplier (every game): uniform in [1.0, session max multiplier], rounded to 2 decimals.
  `seconds = round(time * multiplier)` is added to (ADD) or subtracted from (SUB) `scheduledend`.
- LINK: the unit is the largest of day/hour/minute/second not above the session's minimum link
  time; `int` is drawn from [min // unit, max // unit]; `time = int * unit`. `type` add/sub map to
  ADD/SUB, `rand` picks one at random.
- DICE: three six-sided dice; each die is subtracted (`"s"` in `dicesops`) with probability 1/3.
  `sum` is the signed total, `calc` spells it out ("+6-1+2"). A negative sum is SUB, otherwise ADD;
  `time = abs(sum)` hours (a zero sum adds nothing).
- LUCK: ADD or SUB with equal chance; `int` is 1 to 3 days; `time = int` days.
- Request fields are strict: `dom` must be the integer 0 or 1, `session` a positive integer,
  `token` a non-empty string and `game` / `type` lower-case names.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import random
import secrets
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from aiohttp import web

log = logging.getLogger(__name__)

GAMES_PATH = "/api/v2/games.php"
VOTE_INTERVAL = timedelta(hours=24)
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
_GAMES = ("dice", "luck", "link")
_TYPES = ("add", "sub", "rand")
_UNITS = (("day", 86400), ("hour", 3600), ("minute", 60), ("second", 1))
_DICE_COUNT = 3
_FIRST_USER_ID = 1
_FIRST_SESSION_ID = 1001  # distinct from user ids, so a mixed-up id fails loudly

JSON = dict[str, Any]


@dataclass(frozen=True)
class SandboxUser:
    """A tracker account that can authenticate with its API token."""

    id: int
    api_token: str = field(repr=False)


@dataclass(frozen=True)
class SandboxSession:
    """A snapshot of one session and its LINK configuration."""

    id: int
    owner_id: int
    dom_id: int | None
    link_enabled: bool
    link_token: str = field(repr=False)
    waitint: int
    link_min_seconds: int
    link_max_seconds: int
    max_multiplier: float
    scheduledend: datetime


@dataclass(frozen=True)
class RecordedRequest:
    """What reached the sandbox, so tests can check exactly what the bot sent.

    `bearer` is None without an Authorization header and "" when that header is not a Bearer
    token. `status` is None while the request is unanswered, or when it never got an answer.
    `at` is the event loop's time of arrival; `played` says whether the game was applied, also
    when a fault replaced the answer.
    """

    method: str
    path: str
    body: JSON | None = field(repr=False)
    raw: bytes = field(repr=False)
    bearer: str | None = field(repr=False)
    ip: str | None
    status: int | None
    at: float = field(default=0.0, compare=False)
    played: bool = False


@dataclass(frozen=True)
class HistoryRow:
    """One entry of a session's history, written by every played game."""

    session_id: int
    game: str
    dom: int
    operation: str
    seconds: int
    multiplier: float
    source: str
    user_id: int | None
    ip: str | None
    at: datetime


@dataclass(frozen=True)
class DemoSetup:
    """Credentials for a ready-made demo session, to point the bot at."""

    owner_token: str = field(repr=False)
    dom_token: str = field(repr=False)
    voter_token: str = field(repr=False)
    session_id: int
    link_token: str = field(repr=False)


class FaultKind(StrEnum):
    """The ways a faulty answer can go wrong."""

    HTML_500 = "html_500"
    JSON_500 = "json_500"
    NON_JSON_200 = "non_json_200"
    NOT_OK_200 = "not_ok_200"
    RATE_LIMITED = "rate_limited"
    DROP = "drop"
    HANG = "hang"
    ECHO_400 = "echo_400"
    SLOW = "slow"


@dataclass(frozen=True)
class Fault:
    """A broken answer for the next request, to test how the bot copes with a failing tracker.

    With `apply_game` the request is first handled normally (the game is played, state and
    history change) and only the answer is replaced: "played, but the answer was lost".
    """

    kind: FaultKind
    apply_game: bool = False
    retry_after: int = 30
    seconds: float | None = None  # how long SLOW waits, or HANG hangs before dropping

    @classmethod
    def html_500(cls, *, apply_game: bool = False) -> Fault:
        return cls(FaultKind.HTML_500, apply_game)

    @classmethod
    def json_500(cls, *, apply_game: bool = False) -> Fault:
        return cls(FaultKind.JSON_500, apply_game)

    @classmethod
    def non_json_200(cls, *, apply_game: bool = False) -> Fault:
        return cls(FaultKind.NON_JSON_200, apply_game)

    @classmethod
    def not_ok_200(cls, *, apply_game: bool = False) -> Fault:
        return cls(FaultKind.NOT_OK_200, apply_game)

    @classmethod
    def rate_limited(cls, retry_after: int = 30, *, apply_game: bool = False) -> Fault:
        return cls(FaultKind.RATE_LIMITED, apply_game, retry_after)

    @classmethod
    def echo_400(cls) -> Fault:
        """Refuse with a message that quotes the request's link token and bearer back, as a
        careless server's error text might."""
        return cls(FaultKind.ECHO_400)

    @classmethod
    def drop(cls, *, apply_game: bool = False) -> Fault:
        """Close the connection without any response."""
        return cls(FaultKind.DROP, apply_game)

    @classmethod
    def hang(cls, *, apply_game: bool = False, seconds: float | None = None) -> Fault:
        """Never answer; the connection is dropped after `seconds`, or when the sandbox stops."""
        return cls(FaultKind.HANG, apply_game, seconds=seconds)

    @classmethod
    def slow(cls, seconds: float) -> Fault:
        """Answer normally, after `seconds`."""
        return cls(FaultKind.SLOW, seconds=seconds)


class _ApiError(Exception):
    """An error answer of the API, raised from deep inside request handling."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def _validation(message: str) -> _ApiError:
    return _ApiError(400, "VALIDATION", message)


def _error_envelope(code: str, message: str) -> JSON:
    return {"ok": False, "error": {"code": code, "message": message}, "meta": {"version": 2}}


@dataclass(frozen=True)
class _Play:
    """A validated game request."""

    game: str
    dom: int
    session_id: int | None
    token: str | None
    type: str | None


@dataclass(frozen=True)
class _Outcome:
    """What a game drew, before it is applied to the session."""

    operation: str
    seconds: int
    multiplier: float
    fields: JSON


def _parse_play(raw: bytes) -> _Play:
    try:
        body = json.loads(raw)
    except ValueError:
        raise _validation("The request body is not valid JSON.") from None
    if not isinstance(body, dict):
        raise _validation("The request body must be a JSON object.")
    game = body.get("game")
    if game is None:
        raise _validation("Field 'game' is required.")
    if game not in _GAMES:
        raise _validation("Field 'game' must be one of: dice, luck, link.")
    dom = body.get("dom")
    if dom is None:
        raise _validation("Field 'dom' is required.")
    if type(dom) is not int or dom not in (0, 1):
        raise _validation("Field 'dom' must be 0 or 1.")
    session = body.get("session")
    if session is not None and (type(session) is not int or session <= 0):
        raise _validation("Field 'session' must be a positive integer.")
    public_vote = game == "link" and dom == 0
    if session is None and not public_vote:
        raise _validation("Field 'session' is required for this game.")
    token = body.get("token")
    if token is not None and (not isinstance(token, str) or not token):
        raise _validation("Field 'token' must be a non-empty string.")
    if token is None and public_vote:
        raise _validation("Field 'token' is required for a public link vote.")
    kind = body.get("type")
    if game == "link":
        if kind is None:
            raise _validation("Field 'type' is required for the link game.")
        if kind not in _TYPES:
            raise _validation("Field 'type' must be one of: add, sub, rand.")
    return _Play(game, dom, session, token, kind if game == "link" else None)


def _bearer(request: web.Request) -> str | None:
    header = request.headers.get("Authorization")
    if header is None:
        return None
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


def _format_utc(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime(TIME_FORMAT)


class SandboxTracker:
    """The in-memory tracker: users, sessions, history and vote limits behind a real HTTP port.

    Requests are handled one at a time without awaiting in between, so state changes are atomic.
    A sandbox lives on one event loop.
    """

    def __init__(self, *, seed: int = 0, now: Callable[[], datetime] | None = None) -> None:
        self._rng = random.Random(seed)  # noqa: S311 - reproducible game draws, not secrets
        self._clock = now or (lambda: datetime.now(UTC))
        self._offset = timedelta()
        self._users: dict[int, SandboxUser] = {}
        self._users_by_token: dict[str, SandboxUser] = {}
        self._sessions: dict[int, SandboxSession] = {}
        self._last_votes: dict[tuple[str, int, int | None, str | None], datetime] = {}
        self._faults: deque[Fault] = deque()
        self._arrived = asyncio.Condition()
        self._stopping = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self._site: web.TCPSite | None = None
        self._base_url: str | None = None
        self.requests: list[RecordedRequest] = []
        self.histories: list[HistoryRow] = []
        self.gate: asyncio.Event | None = None
        self.app = web.Application()
        self.app.router.add_route("*", "/{path:.*}", self._handle)

    # -- lifecycle -----------------------------------------------------------------------------

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Listen on host:port (0 = a free port) and return the base URL."""
        if self._runner is not None:
            raise RuntimeError("The sandbox is already running.")
        self._stopping = asyncio.Event()
        runner = web.AppRunner(self.app)
        await runner.setup()
        self._site = web.TCPSite(runner, host, port)
        await self._site.start()
        self._runner = runner
        bound_host, bound_port = runner.addresses[0][:2]
        self._base_url = f"http://{bound_host}:{bound_port}"
        log.info("Sandbox tracker listening on %s", self._base_url)
        return self._base_url

    async def stop(self) -> None:
        """Drop hanging and gated requests, then close the server; safe to call twice."""
        self._stopping.set()
        if self._runner is not None:
            runner, self._runner = self._runner, None
            await runner.cleanup()

    async def refuse_connections(self) -> None:
        """Stop listening and cut every open connection: requests meet "connection refused" (one
        under way when this is called loses its connection, as when a server goes down)."""
        if self._runner is None or self._site is None:
            raise RuntimeError("The sandbox is not listening.")
        site, self._site = self._site, None
        await site.stop()
        server = self._runner.server
        for connection in list(server.connections if server is not None else ()):
            connection.force_close()

    async def accept_connections(self) -> None:
        """Listen again on the same address, after `refuse_connections`."""
        if self._runner is None or self._site is not None:
            raise RuntimeError("The sandbox is not refusing connections.")
        host, port = self.base_url.removeprefix("http://").rsplit(":", 1)
        self._site = web.TCPSite(self._runner, host, int(port), reuse_address=True)
        await self._site.start()

    def clear_faults(self) -> None:
        """Forget the faults queued for requests that have not arrived."""
        self._faults.clear()

    @property
    def base_url(self) -> str:
        if self._base_url is None:
            raise RuntimeError("The sandbox has not been started.")
        return self._base_url

    # -- state ---------------------------------------------------------------------------------

    def now(self) -> datetime:
        """The sandbox's current time: the clock plus everything `advance` added."""
        moment = self._clock()
        if moment.tzinfo is None:
            raise ValueError("The clock must return timezone-aware datetimes.")
        return (moment + self._offset).astimezone(UTC)

    def advance(self, delta: timedelta) -> None:
        """Move the sandbox's time forward, e.g. past a vote limit."""
        self._offset += delta

    def add_user(self, api_token: str | None = None) -> SandboxUser:
        token = api_token if api_token is not None else secrets.token_urlsafe(24)
        if token in self._users_by_token:
            raise ValueError("That API token is already in use.")
        user = SandboxUser(_FIRST_USER_ID + len(self._users), token)
        self._users[user.id] = user
        self._users_by_token[token] = user
        return user

    def add_session(
        self,
        owner: SandboxUser,
        *,
        dom: SandboxUser | None = None,
        waitint: int = 1,
        link_enabled: bool = True,
        link_token: str | None = None,
        max_multiplier: float = 2.0,
        link_min_seconds: int = 3600,
        link_max_seconds: int = 6 * 3600,
        scheduledend: datetime | None = None,
    ) -> SandboxSession:
        """Create a session; `scheduledend` defaults to a week from now."""
        for user in (owner, dom):
            if user is not None and self._users.get(user.id) != user:
                raise ValueError("Users must be created with add_user first.")
        if dom == owner:
            raise ValueError("An owner cannot be their own dom.")
        if waitint not in (0, 1):
            raise ValueError("waitint must be 0 or 1.")
        if max_multiplier < 1.0:
            raise ValueError("max_multiplier must be at least 1.0.")
        if not 0 < link_min_seconds <= link_max_seconds:
            raise ValueError("The link time range must satisfy 0 < min <= max.")
        if scheduledend is not None and scheduledend.tzinfo is None:
            raise ValueError("scheduledend must be timezone-aware.")
        token = link_token if link_token is not None else secrets.token_urlsafe(16)
        if any(s.link_token == token for s in self._sessions.values()):
            raise ValueError("That link token is already in use.")
        session = SandboxSession(
            id=_FIRST_SESSION_ID + len(self._sessions),
            owner_id=owner.id,
            dom_id=dom.id if dom is not None else None,
            link_enabled=link_enabled,
            link_token=token,
            waitint=waitint,
            link_min_seconds=link_min_seconds,
            link_max_seconds=link_max_seconds,
            max_multiplier=max_multiplier,
            scheduledend=scheduledend
            if scheduledend is not None
            else self.now() + timedelta(days=7),
        )
        self._sessions[session.id] = session
        return session

    def session(self, session_id: int) -> SandboxSession:
        """The current state of a session."""
        return self._sessions[session_id]

    def demo(self) -> DemoSetup:
        """An owner with a dom, a separate voter and a session whose LINK game is enabled."""
        owner, dom, voter = self.add_user(), self.add_user(), self.add_user()
        session = self.add_session(owner, dom=dom, waitint=1, link_enabled=True)
        return DemoSetup(
            owner_token=owner.api_token,
            dom_token=dom.api_token,
            voter_token=voter.api_token,
            session_id=session.id,
            link_token=session.link_token,
        )

    def queue_fault(self, fault: Fault) -> None:
        """Answer the next request not yet received with `fault` (first in, first out)."""
        self._faults.append(fault)

    async def wait_for_requests(self, count: int) -> None:
        """Return once at least `count` requests have arrived (answered or not)."""
        async with self._arrived:
            await self._arrived.wait_for(lambda: len(self.requests) >= count)

    # -- HTTP ----------------------------------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        raw = await request.read()
        bearer = _bearer(request)
        fault = self._faults.popleft() if self._faults else None
        index = await self._record(request, raw, bearer)
        gate = self.gate
        if gate is not None and not await self._released(gate):
            return _drop(request)
        if fault is not None and fault.kind is FaultKind.SLOW:
            await self._until_stopping(fault.seconds)
            fault = None
        if fault is None:
            status, payload = self._answer(
                request.method, request.path, raw, bearer, request.remote
            )
            self._played(index, status)
            response: web.StreamResponse = web.json_response(payload, status=status)
            if status == 405:
                response.headers["Allow"] = "POST"
        else:
            if fault.apply_game:
                status, _ = self._answer(request.method, request.path, raw, bearer, request.remote)
                self._played(index, status)
            if fault.kind is FaultKind.HANG:
                await self._until_stopping(fault.seconds)
            if fault.kind in (FaultKind.HANG, FaultKind.DROP):
                return _drop(request)
            response = _fault_response(fault, self.requests[index])
        self.requests[index] = replace(self.requests[index], status=response.status)
        return response

    def _played(self, index: int, status: int) -> None:
        if status == 200:
            self.requests[index] = replace(self.requests[index], played=True)

    async def _until_stopping(self, seconds: float | None) -> None:
        """Wait `seconds` (None: for ever), or until the sandbox stops."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await self._stopping.wait()

    async def _record(self, request: web.Request, raw: bytes, bearer: str | None) -> int:
        try:
            parsed = json.loads(raw)
        except ValueError:
            parsed = None
        body = parsed if isinstance(parsed, dict) else None
        recorded = RecordedRequest(
            request.method,
            request.path,
            body,
            raw,
            bearer,
            request.remote,
            None,
            at=asyncio.get_running_loop().time(),
        )
        async with self._arrived:
            self.requests.append(recorded)
            self._arrived.notify_all()
        return len(self.requests) - 1

    async def _released(self, gate: asyncio.Event) -> bool:
        """Wait for the gate; False when the sandbox stops first."""
        waiters = {asyncio.ensure_future(gate.wait()), asyncio.ensure_future(self._stopping.wait())}
        _, pending = await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
        for waiter in pending:
            waiter.cancel()
        return gate.is_set()

    def _answer(
        self, method: str, path: str, raw: bytes, bearer: str | None, ip: str | None
    ) -> tuple[int, JSON]:
        """Handle one request normally; returns the status and the envelope."""
        try:
            if path != GAMES_PATH:
                raise _ApiError(404, "NOT_FOUND", "There is no endpoint at this path.")
            if method != "POST":
                raise _ApiError(405, "METHOD_NOT_ALLOWED", "Only POST is allowed on this endpoint.")
            data = self._play(_parse_play(raw), bearer, ip)
        except _ApiError as error:
            return error.status, _error_envelope(error.code, error.message)
        return 200, {"ok": True, "data": data, "meta": {"version": 2}}

    # -- games ---------------------------------------------------------------------------------

    def _play(self, play: _Play, bearer: str | None, ip: str | None) -> JSON:
        user = self._identify(bearer)
        if play.game == "link" and play.dom == 0:
            return self._public_vote(play, user, ip)
        if user is None:
            raise _ApiError(401, "UNAUTHORIZED", "An API token is required for this action.")
        session = self._sessions.get(play.session_id or 0)  # _parse_play required it here
        if session is None:
            raise _ApiError(404, "NOT_FOUND", "Session not found.")
        if play.dom == 0 and user.id != session.owner_id:
            raise _ApiError(403, "FORBIDDEN", "Only the session owner can play this game.")
        if play.dom == 1 and (session.dom_id is None or user.id != session.dom_id):
            raise _ApiError(403, "FORBIDDEN", "Only the owner's dom can play this game.")
        if play.game == "dice":
            outcome = self._dice(session)
        elif play.game == "luck":
            outcome = self._luck(session)
        else:
            outcome = self._link(session, self._operation(play.type), penalty=False)
        return self._apply(session, play, outcome, play.game.upper(), user, ip)

    def _public_vote(self, play: _Play, voter: SandboxUser | None, ip: str | None) -> JSON:
        """A LINK vote through the shared token, subject to the penalty and the vote limits.

        A vote carrying the owner's own token is a penalty: it is applied at once, never blocked
        by the vote limit, and recorded as the owner's vote like any identified vote.
        """
        session = next(
            (s for s in self._sessions.values() if s.link_enabled and s.link_token == play.token),
            None,
        )
        if session is None:
            raise _ApiError(404, "NOT_FOUND", "Link not found.")
        if play.session_id is not None and play.session_id != session.id:
            raise _ApiError(404, "NOT_FOUND", "The session does not match this link.")
        voter_id = voter.id if voter is not None else None
        key = (session.link_token, session.id, voter_id, None if voter is not None else ip)
        penalty = voter_id == session.owner_id
        if not penalty:
            self._check_vote_limit(session, self._last_votes.get(key))
        self._last_votes[key] = self.now()
        operation = "ADD" if penalty else self._operation(play.type)
        outcome = self._link(session, operation, penalty=penalty)
        source = "PENALTY" if penalty else "LINK"
        return self._apply(session, play, outcome, source, voter, ip)

    def _check_vote_limit(self, session: SandboxSession, last_vote: datetime | None) -> None:
        if last_vote is None:
            return
        if session.waitint == 0:
            raise _ApiError(
                400, "COOLDOWN", "You have already voted on this link; it allows one vote."
            )
        next_vote = last_vote + VOTE_INTERVAL
        if self.now() < next_vote:
            raise _ApiError(
                400,
                "COOLDOWN",
                f"You can vote on this link again after {_format_utc(next_vote)} UTC.",
            )

    def _identify(self, bearer: str | None) -> SandboxUser | None:
        if bearer is None:
            return None
        user = self._users_by_token.get(bearer)
        if user is None:
            raise _ApiError(401, "UNAUTHORIZED", "The API token is not valid.")
        return user

    def _operation(self, kind: str | None) -> str:
        if kind == "rand":
            return self._rng.choice(("ADD", "SUB"))
        return "ADD" if kind == "add" else "SUB"

    def _multiplier(self, session: SandboxSession) -> float:
        return round(self._rng.uniform(1.0, session.max_multiplier), 2)

    def _link(self, session: SandboxSession, operation: str, *, penalty: bool) -> _Outcome:
        unit, unit_seconds = next(u for u in _UNITS if u[1] <= session.link_min_seconds)
        count = self._rng.randint(
            session.link_min_seconds // unit_seconds, session.link_max_seconds // unit_seconds
        )
        time = count * unit_seconds
        multiplier = round(session.max_multiplier, 2) if penalty else self._multiplier(session)
        fields = {"multiplier": multiplier, "time": time, "unit": unit, "int": count}
        return _Outcome(operation, round(time * multiplier), multiplier, fields)

    def _dice(self, session: SandboxSession) -> _Outcome:
        dices = [self._rng.randint(1, 6) for _ in range(_DICE_COUNT)]
        ops = ["s" if self._rng.random() < 1 / 3 else "" for _ in dices]
        signed = [-d if op else d for d, op in zip(dices, ops, strict=True)]
        total = sum(signed)
        time = abs(total) * 3600
        multiplier = self._multiplier(session)
        fields = {
            "time": time,
            "sum": total,
            "dices": dices,
            "dicesops": ops,
            "calc": "".join(f"{n:+d}" for n in signed),
            "multiplier": multiplier,
        }
        return _Outcome("SUB" if total < 0 else "ADD", round(time * multiplier), multiplier, fields)

    def _luck(self, session: SandboxSession) -> _Outcome:
        operation = self._rng.choice(("ADD", "SUB"))
        days = self._rng.randint(1, 3)
        time = days * 86400
        multiplier = self._multiplier(session)
        fields = {"time": time, "int": days, "multiplier": multiplier}
        return _Outcome(operation, round(time * multiplier), multiplier, fields)

    def _apply(
        self,
        session: SandboxSession,
        play: _Play,
        outcome: _Outcome,
        source: str,
        user: SandboxUser | None,
        ip: str | None,
    ) -> JSON:
        """Move the scheduled end, write the history row and build the response data."""
        delta = timedelta(seconds=outcome.seconds)
        end = session.scheduledend + (delta if outcome.operation == "ADD" else -delta)
        self._sessions[session.id] = replace(session, scheduledend=end)
        self.histories.append(
            HistoryRow(
                session_id=session.id,
                game=play.game,
                dom=play.dom,
                operation=outcome.operation,
                seconds=outcome.seconds,
                multiplier=outcome.multiplier,
                source=source,
                user_id=user.id if user is not None else None,
                ip=ip,
                at=self.now(),
            )
        )
        data = {
            "game": play.game,
            "operation": outcome.operation,
            **outcome.fields,
            "seconds": outcome.seconds,
            "dom": play.dom,
            "scheduledend_utc": _format_utc(end),
            "session": session.id,
        }
        if play.game == "link":
            data["penalty"] = 1 if source == "PENALTY" else None
        return data


def _drop(request: web.Request) -> web.StreamResponse:
    """Close the connection so the client gets no response at all."""
    if request.transport is not None:
        request.transport.close()
    return web.Response()


def _fault_response(fault: Fault, request: RecordedRequest) -> web.Response:
    match fault.kind:
        case FaultKind.ECHO_400:
            token = (request.body or {}).get("token")
            message = f"Invalid request: token {token!r} not accepted for Bearer {request.bearer}"
            return web.json_response(_error_envelope("VALIDATION", message), status=400)
        case FaultKind.HTML_500:
            html = "<!DOCTYPE html><html><body><h1>500 Internal Server Error</h1></body></html>"
            return web.Response(status=500, text=html, content_type="text/html")
        case FaultKind.JSON_500:
            message = "The server could not complete the request."
            return web.json_response(_error_envelope("SERVER_ERROR", message), status=500)
        case FaultKind.NON_JSON_200:
            html = "<!DOCTYPE html><html><body>Down for maintenance.</body></html>"
            return web.Response(status=200, text=html, content_type="text/html")
        case FaultKind.NOT_OK_200:
            message = "The server could not complete the request."
            return web.json_response(_error_envelope("SERVER_ERROR", message), status=200)
        case FaultKind.RATE_LIMITED:
            message = "Too many requests; please try again later."
            return web.json_response(
                _error_envelope("RATE_LIMITED", message),
                status=429,
                headers={"Retry-After": str(fault.retry_after)},
            )
    raise ValueError(f"{fault.kind} has no response.")


async def _serve(host: str, port: int, seed: int) -> None:
    sandbox = SandboxTracker(seed=seed)
    demo = sandbox.demo()
    url = await sandbox.start(host, port)
    lines = (
        f"Sandbox tracker running at {url}",
        f"TRACKER_API_URL={url}",
        f"owner API token: {demo.owner_token}",
        f"dom API token: {demo.dom_token}",
        f"voter API token: {demo.voter_token}",
        f"session id: {demo.session_id}",
        f"public link token: {demo.link_token}",
        "Press Ctrl-C to stop.",
    )
    print("\n".join(lines), flush=True)  # noqa: T201 - the demo setup is this command's output
    try:
        await asyncio.Event().wait()
    finally:
        await sandbox.stop()


def main(argv: list[str] | None = None) -> None:
    """Run a sandbox tracker with a demo setup until Ctrl-C."""
    parser = argparse.ArgumentParser(description="Run a local games API to try the bot against.")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default loopback)")
    parser.add_argument("--port", type=int, default=8787, help="port (0 = any free port)")
    parser.add_argument("--seed", type=int, default=0, help="seed for the game draws")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(args.host, args.port, args.seed))


if __name__ == "__main__":
    main()
