"""The tracker client as the bot builds it, over real loopback sockets to the sandbox and to
small servers that misbehave on purpose."""

from __future__ import annotations

import asyncio
import email.utils
import gc
import json
import logging
import os
import socket
import traceback
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import aiohttp
import httpx
import pytest
from aiohttp import web
from pydantic import SecretStr

from settings import Settings
from tracker import errors
from tracker.client import TrackerClient
from tracker.http import create_http_client
from tracker.models import DiceResult, LinkResult, LuckResult, Operation, VoteType
from tracker.sandbox import (
    GAMES_PATH,
    Fault,
    RecordedRequest,
    SandboxSession,
    SandboxTracker,
    SandboxUser,
)
from tracker.transport import TrackerTransport

START = datetime(2026, 2, 1, 12, 0, tzinfo=UTC)
END = datetime(2026, 2, 8, 12, 0, tzinfo=UTC)
OWNER_TOKEN = "ownr-7Hq2LmZ9pX4vT1cK"
DOM_TOKEN = "domm-3Rt8WnB5yQ0sJ6eU"
VOTER_TOKEN = "votr-9Fa1ZcX7kD2mL8wP"
LINK_TOKEN = "link-Ab3dEf9gHi2KlMnO"
SECRETS = (OWNER_TOKEN, DOM_TOKEN, VOTER_TOKEN, LINK_TOKEN)
MAX_MULTIPLIER = 2.0
ENVELOPE_OK_DICE = {
    "ok": True,
    "data": {"game": "dice", "operation": "ADD", "seconds": 60},
    "meta": {"version": 2},
}
LIBRARY_LOGGERS = ("httpx", "httpcore", "aiohttp", "tracker", "asyncio")


def secret(value: str) -> SecretStr:
    return SecretStr(value)


# -- fixtures and helpers --------------------------------------------------------------------


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No .env, no settings and no proxies from the machine running the tests."""
    monkeypatch.chdir(tmp_path)
    names = {name.upper() for name in Settings.model_fields}
    names |= {"HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY"}
    for variable in list(os.environ):
        if variable.upper() in names:
            monkeypatch.delenv(variable)


@asynccontextmanager
async def bot_client(
    base_url: str,
    *,
    read_timeout: float = 5.0,
    connect_timeout: float = 5.0,
    on_request: Callable[[httpx.Request], Awaitable[None]] | None = None,
) -> AsyncIterator[TrackerClient]:
    """A TrackerClient built exactly as bot.assemble builds it, optionally with a request hook."""
    settings = Settings(
        discord_token="x",
        tracker_api_url=base_url,
        tracker_read_timeout=read_timeout,
        tracker_connect_timeout=connect_timeout,
    )
    async with create_http_client(settings) as http:
        if on_request is not None:
            http.event_hooks = {"request": [on_request], "response": []}
        yield TrackerClient(http, settings.tracker_base_url)


@dataclass
class Attempts:
    """Counts every request httpx starts, retries included."""

    requests: list[httpx.Request] = field(default_factory=list)

    async def __call__(self, request: httpx.Request) -> None:
        self.requests.append(request)


@dataclass
class World:
    sandbox: SandboxTracker
    client: TrackerClient
    owner: SandboxUser
    dom: SandboxUser
    voter: SandboxUser
    session: SandboxSession

    @property
    def last(self) -> RecordedRequest:
        return self.sandbox.requests[-1]

    def end(self) -> datetime:
        return self.sandbox.session(self.session.id).scheduledend


@pytest.fixture
async def world() -> AsyncIterator[World]:
    sandbox = SandboxTracker(seed=11, now=lambda: START)
    owner = sandbox.add_user(OWNER_TOKEN)
    dom = sandbox.add_user(DOM_TOKEN)
    voter = sandbox.add_user(VOTER_TOKEN)
    session = sandbox.add_session(
        owner,
        dom=dom,
        waitint=1,
        link_token=LINK_TOKEN,
        max_multiplier=MAX_MULTIPLIER,
        scheduledend=END,
    )
    base_url = await sandbox.start()
    try:
        async with bot_client(base_url) as client:
            yield World(sandbox, client, owner, dom, voter, session)
    finally:
        await sandbox.stop()


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, list[str]]
    body: bytes


@asynccontextmanager
async def small_server(
    answer: Callable[[web.Request], Awaitable[web.StreamResponse]],
) -> AsyncIterator[tuple[str, list[Seen]]]:
    """An aiohttp app on 127.0.0.1 that records every request and answers with `answer`."""
    seen: list[Seen] = []

    async def handle(request: web.Request) -> web.StreamResponse:
        headers: dict[str, list[str]] = {}
        for name, value in request.headers.items():
            headers.setdefault(name.lower(), []).append(value)
        seen.append(Seen(request.method, request.path, headers, await request.read()))
        return await answer(request)

    app = web.Application()
    app.router.add_route("*", "/{path:.*}", handle)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    host, port = runner.addresses[0][:2]
    try:
        yield f"http://{host}:{port}", seen
    finally:
        await runner.cleanup()


def answering(status: int, body: str | bytes, **headers: str) -> Callable[..., Any]:
    async def answer(_request: web.Request) -> web.Response:
        raw = body.encode() if isinstance(body, str) else body
        return web.Response(status=status, body=raw, headers=headers)

    return answer


@asynccontextmanager
async def raw_server(reply: bytes) -> AsyncIterator[str]:
    """A TCP server that reads one request head and answers with exactly `reply`."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await reader.readuntil(b"\r\n\r\n")
            writer.write(reply)
            await writer.drain()
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.close()
        await server.wait_closed()


def closed_port() -> int:
    """A loopback port with nothing listening on it."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def canonical(value: Any) -> str:
    """JSON text that tells 0 from False, so a body check also checks the types."""
    return json.dumps(value, sort_keys=True)


def assert_sent(recorded: RecordedRequest, body: dict[str, Any], bearer: str | None) -> None:
    assert (recorded.method, recorded.path) == ("POST", GAMES_PATH)
    assert recorded.body is not None
    assert canonical(json.loads(recorded.raw)) == canonical(body)
    assert recorded.bearer == bearer


def assert_utc(moment: datetime | None, expected: datetime) -> None:
    assert moment is not None
    assert moment.tzinfo is not None
    assert moment.utcoffset() == timedelta(0)
    assert moment == expected


def chain(error: BaseException) -> Iterator[BaseException]:
    """The exception, its causes and contexts, each once."""
    pending, seen = [error], set()
    while pending:
        current = pending.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        pending.extend(e for e in (current.__cause__, current.__context__) if e is not None)


def error_text(error: BaseException) -> str:
    parts = ["".join(traceback.format_exception(error))]
    for link in chain(error):
        parts += [str(link), repr(link), repr(link.args)]
    return "\n".join(parts)


def log_text(records: list[logging.LogRecord]) -> str:
    parts = []
    for record in records:
        parts.append(record.getMessage())
        parts.append(repr(record.args))
        if record.exc_info and record.exc_info[1] is not None:
            parts.append(error_text(record.exc_info[1]))
    return "\n".join(parts)


def debug_everything(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    for name in LIBRARY_LOGGERS:
        caplog.set_level(logging.DEBUG, logger=name)


# -- every game and mode ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("vote_type", "operation"),
    [(VoteType.ADD, Operation.ADD), (VoteType.SUB, Operation.SUB), ("add", Operation.ADD)],
)
async def test_anonymous_public_vote(
    world: World, vote_type: VoteType | str, operation: Operation
) -> None:
    result = await world.client.vote(secret(LINK_TOKEN), vote_type)  # type: ignore[arg-type]

    expected_body = {"game": "link", "dom": 0, "token": LINK_TOKEN, "type": str(vote_type)}
    assert_sent(world.last, expected_body, bearer=None)
    assert len(world.sandbox.requests) == 1
    [row] = world.sandbox.histories
    assert (row.source, row.user_id, row.operation) == ("LINK", None, operation.value)
    assert isinstance(result, LinkResult)
    assert (result.game, result.dom, result.session) == ("link", 0, world.session.id)
    assert result.operation is operation
    assert result.penalty is False
    assert result.seconds == row.seconds
    assert result.multiplier == row.multiplier
    assert 1.0 <= result.multiplier <= MAX_MULTIPLIER
    assert result.unit == "hour"
    assert result.int_ is not None
    assert 1 <= result.int_ <= 6
    assert result.time == result.int_ * 3600
    assert result.seconds == round(result.time * result.multiplier)
    moved = timedelta(seconds=row.seconds)
    assert_utc(result.scheduled_end, END + moved if operation is Operation.ADD else END - moved)
    assert result.scheduled_end == world.end()


async def test_rand_public_vote_reports_what_the_tracker_drew(world: World) -> None:
    result = await world.client.vote(secret(LINK_TOKEN), VoteType.RAND)
    assert_sent(world.last, {"game": "link", "dom": 0, "token": LINK_TOKEN, "type": "rand"}, None)
    [row] = world.sandbox.histories
    assert result.operation is Operation(row.operation)
    assert_utc(result.scheduled_end, world.end())


async def test_public_vote_with_a_bearer_identifies_the_voter(world: World) -> None:
    result = await world.client.vote(secret(LINK_TOKEN), VoteType.SUB, bearer=secret(VOTER_TOKEN))

    assert_sent(
        world.last, {"game": "link", "dom": 0, "token": LINK_TOKEN, "type": "sub"}, VOTER_TOKEN
    )
    [row] = world.sandbox.histories
    assert (row.source, row.user_id) == ("LINK", world.voter.id)
    assert (result.operation, result.penalty, result.dom) == (Operation.SUB, False, 0)
    assert result.seconds == row.seconds
    assert_utc(result.scheduled_end, END - timedelta(seconds=row.seconds))


async def test_owner_voting_on_their_own_link_gets_the_penalty(world: World) -> None:
    result = await world.client.vote(secret(LINK_TOKEN), VoteType.SUB, bearer=secret(OWNER_TOKEN))

    assert_sent(
        world.last, {"game": "link", "dom": 0, "token": LINK_TOKEN, "type": "sub"}, OWNER_TOKEN
    )
    [row] = world.sandbox.histories
    assert (row.source, row.user_id, row.operation) == ("PENALTY", world.owner.id, "ADD")
    assert result.penalty is True
    assert result.operation is Operation.ADD
    assert result.multiplier == MAX_MULTIPLIER
    assert result.seconds == row.seconds
    assert result.seconds == round(result.time * MAX_MULTIPLIER)  # type: ignore[operator]
    assert_utc(result.scheduled_end, END + timedelta(seconds=row.seconds))


@pytest.mark.parametrize(
    ("vote_type", "operation"), [(VoteType.ADD, Operation.ADD), (VoteType.SUB, Operation.SUB)]
)
async def test_link_as_dom(world: World, vote_type: VoteType, operation: Operation) -> None:
    result = await world.client.link_as_dom(secret(DOM_TOKEN), world.session.id, vote_type)

    expected = {"game": "link", "dom": 1, "session": world.session.id, "type": vote_type.value}
    assert_sent(world.last, expected, DOM_TOKEN)
    [row] = world.sandbox.histories
    assert (row.source, row.user_id, row.dom) == ("LINK", world.dom.id, 1)
    assert isinstance(result, LinkResult)
    assert (result.game, result.dom, result.session) == ("link", 1, world.session.id)
    assert (result.operation, result.penalty) == (operation, False)
    assert (result.seconds, result.multiplier) == (row.seconds, row.multiplier)
    assert_utc(result.scheduled_end, world.end())


@pytest.mark.parametrize(("as_dom", "token"), [(False, OWNER_TOKEN), (True, DOM_TOKEN)])
async def test_dice(world: World, as_dom: bool, token: str) -> None:
    result = await world.client.dice(secret(token), world.session.id, as_dom=as_dom)

    assert_sent(
        world.last, {"game": "dice", "dom": int(as_dom), "session": world.session.id}, token
    )
    [row] = world.sandbox.histories
    assert (row.game, row.source, row.dom) == ("dice", "DICE", int(as_dom))
    assert isinstance(result, DiceResult)
    assert (result.game, result.dom, result.session) == ("dice", int(as_dom), world.session.id)
    assert result.dices is not None
    assert result.dicesops is not None
    assert len(result.dices) == len(result.dicesops) == 3
    assert all(1 <= die <= 6 for die in result.dices)
    assert set(result.dicesops) <= {"", "s"}
    signed = [-d if op == "s" else d for d, op in zip(result.dices, result.dicesops, strict=True)]
    assert result.sum == sum(signed)
    assert result.calc == "".join(f"{n:+d}" for n in signed)
    assert result.operation is (Operation.SUB if sum(signed) < 0 else Operation.ADD)
    assert result.operation.value == row.operation
    assert result.time == abs(sum(signed)) * 3600
    assert (result.seconds, result.multiplier) == (row.seconds, row.multiplier)
    moved = timedelta(seconds=row.seconds)
    assert_utc(result.scheduled_end, END - moved if sum(signed) < 0 else END + moved)
    assert result.scheduled_end == world.end()


@pytest.mark.parametrize(("as_dom", "token"), [(False, OWNER_TOKEN), (True, DOM_TOKEN)])
async def test_luck(world: World, as_dom: bool, token: str) -> None:
    result = await world.client.luck(secret(token), world.session.id, as_dom=as_dom)

    assert_sent(
        world.last, {"game": "luck", "dom": int(as_dom), "session": world.session.id}, token
    )
    [row] = world.sandbox.histories
    assert (row.game, row.source, row.dom) == ("luck", "LUCK", int(as_dom))
    assert isinstance(result, LuckResult)
    assert (result.game, result.dom, result.session) == ("luck", int(as_dom), world.session.id)
    assert result.int_ in (1, 2, 3)
    assert result.time == result.int_ * 86400
    assert result.operation is Operation(row.operation)
    assert (result.seconds, result.multiplier) == (row.seconds, row.multiplier)
    assert result.seconds == round(result.time * result.multiplier)  # type: ignore[operator]
    assert_utc(result.scheduled_end, world.end())


async def test_requests_are_json_with_the_bots_user_agent() -> None:
    async with (
        small_server(answering(200, json.dumps(ENVELOPE_OK_DICE))) as (url, seen),
        bot_client(url) as client,
    ):
        result = await client.dice(secret(OWNER_TOKEN), 1001, as_dom=False)
        await client.vote(secret(LINK_TOKEN), VoteType.ADD)

    assert (result.operation, result.seconds) == (Operation.ADD, 60)
    dice, vote = seen
    for request in seen:
        assert (request.method, request.path) == ("POST", GAMES_PATH)
        assert request.headers["content-type"] == ["application/json"]
        [agent] = request.headers["user-agent"]
        assert agent.startswith("ctvote/")
    assert dice.headers["authorization"] == [f"Bearer {OWNER_TOKEN}"]
    assert json.loads(dice.body) == {"game": "dice", "dom": 0, "session": 1001}
    assert "authorization" not in vote.headers
    assert json.loads(vote.body) == {"game": "link", "dom": 0, "token": LINK_TOKEN, "type": "add"}


async def test_a_cookie_set_by_the_tracker_is_never_sent_back() -> None:
    """One member's tracker session cookie must not ride along with another member's call."""
    cookie = "PHPSESSID=owner-session; Path=/"
    async with (
        small_server(answering(200, json.dumps(ENVELOPE_OK_DICE), **{"Set-Cookie": cookie})) as (
            url,
            seen,
        ),
        bot_client(url) as client,
    ):
        await client.dice(secret(OWNER_TOKEN), 1001, as_dom=False)
        await client.vote(secret(LINK_TOKEN), VoteType.ADD)

    assert [request.headers.get("cookie") for request in seen] == [None, None]


async def test_the_connection_pool_keeps_no_cookies_either() -> None:
    """aiohttp keeps no cookies of an IP address, so the test above cannot catch its jar."""
    session = TrackerTransport(limits=httpx.Limits(max_connections=3)).get_client()
    try:
        assert isinstance(session.cookie_jar, aiohttp.DummyCookieJar)
        assert session.connector is not None
        assert session.connector.limit == 3
    finally:
        await session.close()


# -- refusals: the tracker answered and did not play -----------------------------------------


async def test_cooldown_on_a_second_vote_is_rejected_with_the_servers_message(
    world: World,
) -> None:
    await world.client.vote(secret(LINK_TOKEN), VoteType.ADD, bearer=secret(VOTER_TOKEN))
    with pytest.raises(errors.RequestRejected) as caught:
        await world.client.vote(secret(LINK_TOKEN), VoteType.SUB, bearer=secret(VOTER_TOKEN))

    message = "You can vote on this link again after 2026-02-02 12:00:00 UTC."
    assert (caught.value.message, str(caught.value)) == (message, message)
    assert (caught.value.status, caught.value.code, caught.value.reason) == (
        400,
        "COOLDOWN",
        "rejected",
    )
    assert isinstance(caught.value, errors.TrackerRefused)
    assert len(world.sandbox.histories) == 1
    assert [r.status for r in world.sandbox.requests] == [200, 400]


async def test_validation_error_is_rejected_with_the_servers_message() -> None:
    message = "Field 'session' is required for this game."
    envelope = {"ok": False, "error": {"code": "VALIDATION", "message": message}, "meta": {}}
    async with (
        small_server(answering(400, json.dumps(envelope))) as (url, seen),
        bot_client(url) as client,
    ):
        with pytest.raises(errors.RequestRejected) as caught:
            await client.luck(secret(OWNER_TOKEN), 1001, as_dom=True)
    assert (caught.value.message, caught.value.code, caught.value.status) == (
        message,
        "VALIDATION",
        400,
    )
    assert len(seen) == 1


@pytest.mark.parametrize(
    ("status", "kind", "message"),
    [
        (400, errors.RequestRejected, "The tracker refused the request."),
        (401, errors.Unauthorized, "The tracker rejected the API token."),
        (
            403,
            errors.Forbidden,
            "The tracker says this account may not play this game for that session.",
        ),
        (404, errors.NotFound, "The tracker does not know that link or session."),
        (405, errors.MethodNotAllowed, "The tracker did not accept the request."),
    ],
)
async def test_refusals_without_an_envelope_get_our_own_words(
    status: int, kind: type[errors.TrackerRefused], message: str
) -> None:
    html = f"<html><body><h1>{status}</h1></body></html>"
    async with (
        small_server(answering(status, html, **{"Content-Type": "text/html"})) as (url, seen),
        bot_client(url) as client,
    ):
        with pytest.raises(kind) as caught:
            await client.dice(secret(OWNER_TOKEN), 1001, as_dom=False)
    assert type(caught.value) is kind
    assert (caught.value.message, caught.value.status, caught.value.code) == (message, status, None)
    assert [(s.method, s.path) for s in seen] == [("POST", GAMES_PATH)]


async def test_method_not_allowed_carries_the_servers_message() -> None:
    envelope = {"ok": False, "error": {"code": "METHOD_NOT_ALLOWED", "message": "Use POST."}}
    async with (
        small_server(answering(405, json.dumps(envelope), Allow="POST")) as (url, seen),
        bot_client(url) as client,
    ):
        with pytest.raises(errors.MethodNotAllowed) as caught:
            await client.vote(secret(LINK_TOKEN), VoteType.ADD)
    assert (caught.value.message, caught.value.code, caught.value.reason) == (
        "Use POST.",
        "METHOD_NOT_ALLOWED",
        "method_not_allowed",
    )
    assert [s.method for s in seen] == ["POST"]


async def test_a_long_server_message_is_cut_to_300_characters() -> None:
    envelope = {"ok": False, "error": {"code": "VALIDATION", "message": "x" * 5000}}
    async with (
        small_server(answering(400, json.dumps(envelope))) as (url, _seen),
        bot_client(url) as client,
    ):
        with pytest.raises(errors.RequestRejected) as caught:
            await client.dice(secret(OWNER_TOKEN), 1001, as_dom=False)
    assert caught.value.message == "x" * 299 + "…"


async def test_the_tokens_sent_are_cut_out_of_the_servers_text_before_it_is_shortened() -> None:
    """A token that straddles the 300-character cut would otherwise keep its first part."""
    quoted = f"{'x' * 250} bearer {OWNER_TOKEN}, link {quote(LINK_TOKEN, safe='')}"
    envelope = {"ok": False, "error": {"code": "VALIDATION", "message": quoted}}
    async with (
        small_server(answering(400, json.dumps(envelope))) as (url, _seen),
        bot_client(url) as client,
    ):
        with pytest.raises(errors.RequestRejected) as caught:
            await client.vote(secret(LINK_TOKEN), VoteType.ADD, bearer=secret(OWNER_TOKEN))
    assert caught.value.message == f"{'x' * 250} bearer [token removed], link [token removed]"


async def test_unknown_api_token_is_unauthorized(world: World) -> None:
    with pytest.raises(errors.Unauthorized) as caught:
        await world.client.dice(secret("not-a-known-token"), world.session.id, as_dom=False)
    assert (caught.value.message, caught.value.status, caught.value.code) == (
        "The API token is not valid.",
        401,
        "UNAUTHORIZED",
    )
    assert world.last.bearer == "not-a-known-token"
    assert world.sandbox.histories == []


async def test_unknown_bearer_on_a_public_vote_is_unauthorized(world: World) -> None:
    with pytest.raises(errors.Unauthorized, match=r"^The API token is not valid\.$"):
        await world.client.vote(secret(LINK_TOKEN), VoteType.ADD, bearer=secret("unknown-user"))
    assert world.sandbox.histories == []


@pytest.mark.parametrize(
    ("token", "as_dom", "message"),
    [
        (VOTER_TOKEN, False, "Only the session owner can play this game."),
        (DOM_TOKEN, False, "Only the session owner can play this game."),
        (OWNER_TOKEN, True, "Only the owner's dom can play this game."),
        (VOTER_TOKEN, True, "Only the owner's dom can play this game."),
    ],
)
async def test_wrong_player_is_forbidden(
    world: World, token: str, as_dom: bool, message: str
) -> None:
    with pytest.raises(errors.Forbidden) as caught:
        await world.client.luck(secret(token), world.session.id, as_dom=as_dom)
    assert (caught.value.message, caught.value.status, caught.value.code) == (
        message,
        403,
        "FORBIDDEN",
    )
    assert world.sandbox.histories == []


async def test_link_as_dom_by_the_owner_is_forbidden(world: World) -> None:
    with pytest.raises(errors.Forbidden, match=r"^Only the owner's dom can play this game\.$"):
        await world.client.link_as_dom(secret(OWNER_TOKEN), world.session.id, VoteType.ADD)


async def test_unknown_link_is_not_found(world: World) -> None:
    with pytest.raises(errors.NotFound) as caught:
        await world.client.vote(secret("link-does-not-exist"), VoteType.ADD)
    assert (caught.value.message, caught.value.status, caught.value.code) == (
        "Link not found.",
        404,
        "NOT_FOUND",
    )
    assert_sent(
        world.last,
        {"game": "link", "dom": 0, "token": "link-does-not-exist", "type": "add"},
        None,
    )


async def test_unknown_session_is_not_found(world: World) -> None:
    with pytest.raises(errors.NotFound, match=r"^Session not found\.$"):
        await world.client.dice(secret(OWNER_TOKEN), 999_999, as_dom=False)
    assert_sent(world.last, {"game": "dice", "dom": 0, "session": 999_999}, OWNER_TOKEN)


async def test_rate_limited_carries_retry_after(world: World) -> None:
    world.sandbox.queue_fault(Fault.rate_limited(17))
    with pytest.raises(errors.RateLimited) as caught:
        await world.client.dice(secret(OWNER_TOKEN), world.session.id, as_dom=False)
    assert caught.value.retry_after == 17.0
    assert (caught.value.message, caught.value.status, caught.value.code) == (
        "Too many requests; please try again later.",
        429,
        "RATE_LIMITED",
    )
    assert isinstance(caught.value, errors.TrackerRefused)
    assert world.sandbox.histories == []
    assert len(world.sandbox.requests) == 1


def _http_date(moment: datetime) -> str:
    return email.utils.format_datetime(moment, usegmt=True)


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ({"Retry-After": "120"}, 120.0),
        ({"Retry-After": " 5 "}, 5.0),
        ({"Retry-After": "0"}, 0.0),
        ({"Retry-After": "-30"}, None),
        ({"Retry-After": "soon"}, None),
        ({}, None),
        ({"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}, 0.0),
        ({"Retry-After": "inf"}, None),
        ({"Retry-After": "1e999"}, None),
    ],
)
async def test_retry_after_forms(header: dict[str, str], expected: float | None) -> None:
    envelope = {"ok": False, "error": {"code": "RATE_LIMITED", "message": "Slow down."}}
    async with (
        small_server(answering(429, json.dumps(envelope), **header)) as (url, _seen),
        bot_client(url) as client,
    ):
        with pytest.raises(errors.RateLimited) as caught:
            await client.vote(secret(LINK_TOKEN), VoteType.ADD)
    assert caught.value.message == "Slow down."
    assert caught.value.retry_after == expected


async def test_retry_after_as_a_future_http_date() -> None:
    when = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=100)
    async with (
        small_server(answering(429, "", **{"Retry-After": _http_date(when)})) as (url, _seen),
        bot_client(url) as client,
    ):
        with pytest.raises(errors.RateLimited) as caught:
            await client.vote(secret(LINK_TOKEN), VoteType.ADD)
    assert caught.value.message == "The tracker asks to slow down."
    assert caught.value.retry_after is not None
    assert 90.0 < caught.value.retry_after <= 100.0


async def test_ok_false_with_200_is_a_refusal(world: World) -> None:
    world.sandbox.queue_fault(Fault.not_ok_200())
    with pytest.raises(errors.RefusedWithoutReason) as caught:
        await world.client.dice(secret(OWNER_TOKEN), world.session.id, as_dom=False)
    assert isinstance(caught.value, errors.TrackerRefused)
    assert not isinstance(caught.value, errors.OutcomeUnknown)
    assert (caught.value.message, caught.value.status, caught.value.code) == (
        "The server could not complete the request.",
        200,
        "SERVER_ERROR",
    )


# -- outcome unknown: the game may have been played ------------------------------------------


@pytest.mark.parametrize(
    ("fault", "kind", "message", "status", "code"),
    [
        (
            Fault.json_500(apply_game=True),
            errors.ServerError,
            "The server could not complete the request.",
            500,
            "SERVER_ERROR",
        ),
        (
            Fault.html_500(apply_game=True),
            errors.ServerError,
            "The tracker had an internal error (HTTP 500).",
            500,
            None,
        ),
        (
            Fault.non_json_200(apply_game=True),
            errors.MalformedResponse,
            "The tracker's answer could not be read.",
            200,
            None,
        ),
        (
            Fault.drop(apply_game=True),
            errors.NoResponse,
            "The connection to the tracker was lost.",
            None,
            None,
        ),
    ],
    ids=["json_500", "html_500", "non_json_200", "drop"],
)
async def test_answers_that_leave_the_outcome_unknown(
    world: World,
    fault: Fault,
    kind: type[errors.OutcomeUnknown],
    message: str,
    status: int | None,
    code: str | None,
) -> None:
    world.sandbox.queue_fault(fault)
    with pytest.raises(kind) as caught:
        await world.client.vote(secret(LINK_TOKEN), VoteType.ADD, bearer=secret(VOTER_TOKEN))
    assert type(caught.value) is kind
    assert isinstance(caught.value, errors.OutcomeUnknown)
    assert not isinstance(caught.value, errors.TrackerRefused)
    assert (caught.value.message, caught.value.status, caught.value.code) == (
        message,
        status,
        code,
    )
    # The game was played and only the answer was lost; it must not be sent again.
    assert len(world.sandbox.histories) == 1
    assert len(world.sandbox.requests) == 1


async def test_read_timeout_on_a_hanging_tracker_is_no_response_and_not_retried(
    world: World,
) -> None:
    world.sandbox.queue_fault(Fault.hang(apply_game=True))
    attempts = Attempts()
    async with bot_client(world.sandbox.base_url, read_timeout=0.2, on_request=attempts) as client:
        with pytest.raises(errors.NoResponse) as caught:
            await client.dice(secret(DOM_TOKEN), world.session.id, as_dom=True)
    assert caught.value.message == "The tracker did not answer in time."
    assert isinstance(caught.value.__cause__, httpx.ReadTimeout)
    assert len(attempts.requests) == 1
    assert len(world.sandbox.requests) == 1
    assert world.sandbox.requests[0].status is None
    assert len(world.sandbox.histories) == 1


async def test_read_timeout_at_a_closed_gate_is_no_response_and_not_retried(
    world: World,
) -> None:
    world.sandbox.gate = asyncio.Event()
    attempts = Attempts()
    async with bot_client(world.sandbox.base_url, read_timeout=0.2, on_request=attempts) as client:
        with pytest.raises(errors.NoResponse, match=r"^The tracker did not answer in time\.$"):
            await client.vote(secret(LINK_TOKEN), VoteType.SUB)
    assert len(attempts.requests) == 1
    assert len(world.sandbox.requests) == 1
    assert world.sandbox.histories == []


async def test_body_cut_short_is_no_response() -> None:
    head = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 200\r\n\r\n"
    async with raw_server(head + b'{"ok":true,"da') as url, bot_client(url) as client:
        with pytest.raises(errors.NoResponse) as caught:
            await client.dice(secret(OWNER_TOKEN), 1001, as_dom=False)
    assert isinstance(caught.value, errors.OutcomeUnknown)


@pytest.mark.parametrize(
    "reply",
    [
        b"garbage\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
    ],
    ids=["bad_status_line", "bad_chunk"],
)
async def test_unparsable_http_answer_is_outcome_unknown(reply: bytes) -> None:
    async with raw_server(reply) as url, bot_client(url) as client:
        with pytest.raises(errors.OutcomeUnknown):
            await client.dice(secret(OWNER_TOKEN), 1001, as_dom=False)


async def test_unparsable_http_answer_does_not_expose_the_bearer() -> None:
    async with raw_server(b"garbage\r\n\r\n") as url, bot_client(url) as client:
        try:
            await client.dice(secret(OWNER_TOKEN), 1001, as_dom=False)
        except Exception as error:  # whatever it is, its text must not hold the token
            text = error_text(error)
        else:
            pytest.fail("a garbage answer was accepted")
    assert OWNER_TOKEN not in text


# -- nothing was sent ------------------------------------------------------------------------


async def test_connection_refused_is_unreachable_after_exactly_two_attempts(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="tracker")
    url = f"http://127.0.0.1:{closed_port()}"
    attempts = Attempts()
    async with bot_client(url, on_request=attempts) as client:
        with pytest.raises(errors.TrackerUnreachable) as caught:
            await client.dice(secret(OWNER_TOKEN), 1001, as_dom=False)
    assert caught.value.message == "The tracker could not be reached."
    assert isinstance(caught.value, errors.TrackerRefused)
    assert isinstance(caught.value.__cause__, httpx.ConnectError)
    assert [(r.method, str(r.url)) for r in attempts.requests] == [
        ("POST", f"{url}{GAMES_PATH}"),
        ("POST", f"{url}{GAMES_PATH}"),
    ]
    retries = [r for r in caplog.records if "trying once more" in r.getMessage()]
    assert len(retries) == 1


async def test_a_full_connection_pool_is_unreachable_and_nothing_is_sent(world: World) -> None:
    """100 calls hold every pooled connection at the gate; the 101st waits for the pool only."""
    # A full collection of what earlier tests left can stall the loop for longer than the 0.2 s
    # connect timeout while the 100 connections open: collect before, not during.
    gc.collect()
    world.sandbox.gate = asyncio.Event()
    attempts = Attempts()
    async with bot_client(
        world.sandbox.base_url, connect_timeout=0.2, on_request=attempts
    ) as client:
        held = [
            asyncio.create_task(client.dice(secret(OWNER_TOKEN), world.session.id, as_dom=False))
            for _ in range(100)
        ]
        async with asyncio.timeout(10):  # fails here, not hangs, if the pool is not 100 wide
            await world.sandbox.wait_for_requests(100)
        with pytest.raises(errors.TrackerUnreachable):
            await client.luck(secret(DOM_TOKEN), world.session.id, as_dom=True)
        assert len(world.sandbox.requests) == 100
        assert len(attempts.requests) == 102
        world.sandbox.gate.set()
        results = await asyncio.gather(*held)
    assert {r.game for r in results} == {"dice"}
    assert len(world.sandbox.histories) == 100
    assert {r.body["game"] for r in world.sandbox.requests if r.body} == {"dice"}


# -- our own validation: nothing reaches the tracker -----------------------------------------

BAD_TOKENS = [
    "",
    "has space",
    " leading",
    "tab\there",
    "new\nline",
    "nul\x00byte",
    "del\x7f",
    "t\u00f6ken",
    "\u200btoken",
    "x" * 513,
    "x" * 10_240,
]
BAD_TOKEN_IDS = [
    "empty",
    "space",
    "leading_space",
    "tab",
    "newline",
    "nul",
    "del",
    "non_ascii",
    "zero_width",
    "513_chars",
    "10_kB",
]


@pytest.mark.parametrize("token", BAD_TOKENS, ids=BAD_TOKEN_IDS)
async def test_bad_link_token_is_refused_before_sending(world: World, token: str) -> None:
    with pytest.raises(errors.InvalidGameRequest) as caught:
        await world.client.vote(secret(token), VoteType.ADD)
    assert caught.value.reason == "invalid"
    assert "link token" in caught.value.message
    assert world.sandbox.requests == []


@pytest.mark.parametrize("token", BAD_TOKENS, ids=BAD_TOKEN_IDS)
@pytest.mark.parametrize("game", ["vote", "link_as_dom", "dice", "luck"])
async def test_bad_api_token_is_refused_before_sending(world: World, token: str, game: str) -> None:
    bearer, session = secret(token), world.session.id
    calls: dict[str, Callable[[], Awaitable[Any]]] = {
        "vote": lambda: world.client.vote(secret(LINK_TOKEN), VoteType.ADD, bearer=bearer),
        "link_as_dom": lambda: world.client.link_as_dom(bearer, session, VoteType.ADD),
        "dice": lambda: world.client.dice(bearer, session, as_dom=False),
        "luck": lambda: world.client.luck(bearer, session, as_dom=True),
    }
    with pytest.raises(errors.InvalidGameRequest, match="API token"):
        await calls[game]()
    assert world.sandbox.requests == []


async def test_longest_allowed_token_is_sent(world: World) -> None:
    token = "L" * 512
    with pytest.raises(errors.NotFound):
        await world.client.vote(secret(token), VoteType.ADD)
    assert_sent(world.last, {"game": "link", "dom": 0, "token": token, "type": "add"}, None)


@pytest.mark.parametrize("session", [0, -1, -1001, True, False, 1.0, "1001", None, 2**63], ids=repr)
@pytest.mark.parametrize("game", ["link_as_dom", "dice", "luck"])
async def test_bad_session_id_is_refused_before_sending(
    world: World, session: Any, game: str
) -> None:
    calls: dict[str, Callable[[], Awaitable[Any]]] = {
        "link_as_dom": lambda: world.client.link_as_dom(secret(DOM_TOKEN), session, VoteType.SUB),
        "dice": lambda: world.client.dice(secret(OWNER_TOKEN), session, as_dom=False),
        "luck": lambda: world.client.luck(secret(DOM_TOKEN), session, as_dom=True),
    }
    with pytest.raises(errors.InvalidGameRequest, match="session id"):
        await calls[game]()
    assert world.sandbox.requests == []


@pytest.mark.parametrize("vote_type", ["up", "ADD", "", None])
@pytest.mark.parametrize("game", ["vote", "link_as_dom"])
async def test_bad_vote_type_is_refused_before_sending(
    world: World, vote_type: Any, game: str
) -> None:
    calls: dict[str, Callable[[], Awaitable[Any]]] = {
        "vote": lambda: world.client.vote(secret(LINK_TOKEN), vote_type),
        "link_as_dom": lambda: world.client.link_as_dom(
            secret(DOM_TOKEN), world.session.id, vote_type
        ),
    }
    try:
        with pytest.raises(errors.InvalidGameRequest):
            await calls[game]()
    finally:
        assert world.sandbox.requests == []


# -- secrets ---------------------------------------------------------------------------------


async def _unauthorized(w: World) -> None:
    await w.client.dice(secret(OWNER_TOKEN + "x"), w.session.id, as_dom=False)


async def _forbidden(w: World) -> None:
    await w.client.luck(secret(VOTER_TOKEN), w.session.id, as_dom=True)


async def _not_found(w: World) -> None:
    await w.client.vote(secret(LINK_TOKEN + "x"), VoteType.ADD, bearer=secret(VOTER_TOKEN))


async def _cooldown(w: World) -> None:
    await w.client.vote(secret(LINK_TOKEN), VoteType.ADD, bearer=secret(VOTER_TOKEN))
    await w.client.vote(secret(LINK_TOKEN), VoteType.ADD, bearer=secret(VOTER_TOKEN))


def _faulty(fault: Fault) -> Callable[[World], Awaitable[None]]:
    async def call(w: World) -> None:
        w.sandbox.queue_fault(fault)
        await w.client.vote(secret(LINK_TOKEN), VoteType.RAND, bearer=secret(DOM_TOKEN))

    return call


async def _timeout(w: World) -> None:
    w.sandbox.queue_fault(Fault.hang())
    async with bot_client(w.sandbox.base_url, read_timeout=0.2) as client:
        await client.link_as_dom(secret(DOM_TOKEN), w.session.id, VoteType.ADD)


async def _unreachable(_w: World) -> None:
    async with bot_client(f"http://127.0.0.1:{closed_port()}") as client:
        await client.vote(secret(LINK_TOKEN), VoteType.ADD, bearer=secret(OWNER_TOKEN))


async def _invalid_link_token(w: World) -> None:
    await w.client.vote(secret(LINK_TOKEN + " " + LINK_TOKEN), VoteType.ADD)


async def _invalid_api_token(w: World) -> None:
    await w.client.dice(secret(OWNER_TOKEN + "\n" + DOM_TOKEN * 40), w.session.id, as_dom=False)


SECRET_SCENARIOS: dict[str, tuple[Callable[[World], Awaitable[None]], type[Exception]]] = {
    "unauthorized": (_unauthorized, errors.Unauthorized),
    "forbidden": (_forbidden, errors.Forbidden),
    "not_found": (_not_found, errors.NotFound),
    "cooldown": (_cooldown, errors.RequestRejected),
    "rate_limited": (_faulty(Fault.rate_limited(3)), errors.RateLimited),
    "json_500": (_faulty(Fault.json_500()), errors.ServerError),
    "html_500": (_faulty(Fault.html_500()), errors.ServerError),
    "non_json_200": (_faulty(Fault.non_json_200()), errors.MalformedResponse),
    "not_ok_200": (_faulty(Fault.not_ok_200()), errors.RefusedWithoutReason),
    "drop": (_faulty(Fault.drop()), errors.NoResponse),
    "timeout": (_timeout, errors.NoResponse),
    "unreachable": (_unreachable, errors.TrackerUnreachable),
    "invalid_link_token": (_invalid_link_token, errors.InvalidGameRequest),
    "invalid_api_token": (_invalid_api_token, errors.InvalidGameRequest),
}


@pytest.mark.parametrize("scenario", list(SECRET_SCENARIOS))
async def test_tokens_stay_out_of_errors_and_logs(
    world: World, caplog: pytest.LogCaptureFixture, scenario: str
) -> None:
    debug_everything(caplog)
    call, kind = SECRET_SCENARIOS[scenario]
    with pytest.raises(kind) as caught:
        await call(world)
    text = error_text(caught.value)
    logs = log_text(caplog.records)
    for token in SECRETS:
        assert token not in text
        assert token not in logs


async def test_tokens_stay_out_of_logs_when_games_are_played(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    debug_everything(caplog)
    await world.client.vote(secret(LINK_TOKEN), VoteType.ADD)
    await world.client.vote(secret(LINK_TOKEN), VoteType.ADD, bearer=secret(OWNER_TOKEN))
    await world.client.link_as_dom(secret(DOM_TOKEN), world.session.id, VoteType.SUB)
    await world.client.dice(secret(OWNER_TOKEN), world.session.id, as_dom=False)
    await world.client.luck(secret(DOM_TOKEN), world.session.id, as_dom=True)
    assert len(world.sandbox.histories) == 5
    http_lines = [r for r in caplog.records if r.name == "httpx"]
    assert len(http_lines) == 5
    logs = log_text(caplog.records)
    for token in SECRETS:
        assert token not in logs


async def test_repr_of_the_client_shows_only_the_url(world: World) -> None:
    await world.client.vote(secret(LINK_TOKEN), VoteType.ADD, bearer=secret(VOTER_TOKEN))
    text = repr(world.client)
    assert text == f"<TrackerClient url='{world.sandbox.base_url}{GAMES_PATH}'>"
    for token in SECRETS:
        assert token not in text
