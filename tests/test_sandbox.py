"""The sandbox must follow the games API page, or tests of the bot against it prove little."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from tracker.sandbox import (
    GAMES_PATH,
    Fault,
    HistoryRow,
    RecordedRequest,
    SandboxSession,
    SandboxTracker,
    SandboxUser,
)

ROOT = Path(__file__).resolve().parents[1]
START = datetime(2026, 2, 1, 12, 0, tzinfo=UTC)
END = datetime(2026, 2, 8, 12, 0, tzinfo=UTC)
LINK_KEYS = [
    "game",
    "operation",
    "multiplier",
    "time",
    "unit",
    "int",
    "seconds",
    "dom",
    "scheduledend_utc",
    "session",
    "penalty",
]
DICE_KEYS = [
    "game",
    "operation",
    "time",
    "sum",
    "dices",
    "dicesops",
    "calc",
    "multiplier",
    "seconds",
    "dom",
    "scheduledend_utc",
    "session",
]
LUCK_KEYS = [
    "game",
    "operation",
    "time",
    "int",
    "multiplier",
    "seconds",
    "dom",
    "scheduledend_utc",
    "session",
]


@dataclass(frozen=True)
class World:
    """A running sandbox with an owner, their dom, a voter and one session."""

    tracker: SandboxTracker
    client: httpx.AsyncClient
    owner: SandboxUser
    dom: SandboxUser
    voter: SandboxUser
    session: SandboxSession

    async def post(
        self, body: dict[str, Any], user: SandboxUser | None = None, **kwargs: Any
    ) -> httpx.Response:
        headers = {"Authorization": f"Bearer {user.api_token}"} if user is not None else {}
        return await self.client.post(GAMES_PATH, json=body, headers=headers, **kwargs)

    def vote(self, kind: str = "add", **extra: Any) -> dict[str, Any]:
        return {"game": "link", "dom": 0, "token": self.session.link_token, "type": kind, **extra}

    def game(self, game: str, dom: int, **extra: Any) -> dict[str, Any]:
        return {"game": game, "dom": dom, "session": self.session.id, **extra}


async def make_world(seed: int = 7, *, waitint: int = 1) -> World:
    tracker = SandboxTracker(seed=seed, now=lambda: START)
    owner, dom, voter = tracker.add_user("owner-token"), tracker.add_user(), tracker.add_user()
    session = tracker.add_session(owner, dom=dom, waitint=waitint, scheduledend=END)
    client = httpx.AsyncClient(base_url=await tracker.start())
    return World(tracker, client, owner, dom, voter, session)


@pytest.fixture
async def world() -> AsyncIterator[World]:
    w = await make_world()
    yield w
    await w.client.aclose()
    await w.tracker.stop()


@pytest.fixture
async def once() -> AsyncIterator[World]:
    """A world whose LINK allows one vote ever (waitint=0)."""
    w = await make_world(waitint=0)
    yield w
    await w.client.aclose()
    await w.tracker.stop()


def ok_data(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["ok"] is True
    assert body["meta"] == {"version": 2}
    assert set(body) == {"ok", "data", "meta"}
    return body["data"]


def error_of(response: httpx.Response, status: int) -> tuple[str, str]:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["ok"] is False
    assert body["meta"] == {"version": 2}
    assert set(body) == {"ok", "error", "meta"}
    assert set(body["error"]) == {"code", "message"}
    return body["error"]["code"], body["error"]["message"]


def utc(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)


def applied(before: datetime, data: dict[str, Any]) -> datetime:
    delta = timedelta(seconds=data["seconds"])
    return before + delta if data["operation"] == "ADD" else before - delta


def local_client(base_url: str, ip: str) -> httpx.AsyncClient:
    """A client whose requests come from another loopback address."""
    transport = httpx.AsyncHTTPTransport(local_address=ip)
    return httpx.AsyncClient(base_url=base_url, transport=transport)


# -- games -----------------------------------------------------------------------------------


@pytest.mark.parametrize("dom", [0, 1])
async def test_dice_is_played_by_owner_and_dom(world: World, dom: int) -> None:
    player = world.owner if dom == 0 else world.dom
    data = ok_data(await world.post(world.game("dice", dom), player))
    assert list(data) == DICE_KEYS
    assert data["game"] == "dice"
    assert data["dom"] == dom
    assert data["session"] == world.session.id
    assert len(data["dices"]) == 3
    assert all(1 <= d <= 6 for d in data["dices"])
    signed = [-d if op == "s" else d for d, op in zip(data["dices"], data["dicesops"], strict=True)]
    assert set(data["dicesops"]) <= {"", "s"}
    assert data["calc"] == "".join(f"{n:+d}" for n in signed)
    assert data["sum"] == sum(signed)
    assert data["operation"] == ("SUB" if data["sum"] < 0 else "ADD")
    assert data["time"] == abs(data["sum"]) * 3600
    assert 1.0 <= data["multiplier"] <= 2.0
    assert data["multiplier"] == round(data["multiplier"], 2)
    assert data["seconds"] == round(data["time"] * data["multiplier"])
    end = applied(END, data)
    assert utc(data["scheduledend_utc"]) == end.replace(microsecond=0)
    assert world.tracker.session(world.session.id).scheduledend == end
    assert world.tracker.histories == [
        HistoryRow(
            session_id=world.session.id,
            game="dice",
            dom=dom,
            operation=data["operation"],
            seconds=data["seconds"],
            multiplier=data["multiplier"],
            source="DICE",
            user_id=player.id,
            ip="127.0.0.1",
            at=START,
        )
    ]


@pytest.mark.parametrize("dom", [0, 1])
async def test_luck_is_played_by_owner_and_dom(world: World, dom: int) -> None:
    player = world.owner if dom == 0 else world.dom
    data = ok_data(await world.post(world.game("luck", dom), player))
    assert list(data) == LUCK_KEYS
    assert (data["game"], data["dom"], data["session"]) == ("luck", dom, world.session.id)
    assert data["operation"] in {"ADD", "SUB"}
    assert data["int"] in {1, 2, 3}
    assert data["time"] == data["int"] * 86400
    assert data["seconds"] == round(data["time"] * data["multiplier"])
    assert utc(data["scheduledend_utc"]) == applied(END, data)
    [row] = world.tracker.histories
    assert (row.game, row.source, row.user_id, row.dom) == ("luck", "LUCK", player.id, dom)


async def test_link_by_dom_follows_the_type(world: World) -> None:
    add = ok_data(await world.post(world.game("link", 1, type="add"), world.dom))
    sub = ok_data(await world.post(world.game("link", 1, type="sub"), world.dom))
    for data in (add, sub):
        assert list(data) == LINK_KEYS
        assert data["dom"] == 1
        assert data["penalty"] is None
        assert data["unit"] == "hour"
        assert 1 <= data["int"] <= 6
        assert data["time"] == data["int"] * 3600
        assert data["seconds"] == round(data["time"] * data["multiplier"])
    assert (add["operation"], sub["operation"]) == ("ADD", "SUB")
    expected = END + timedelta(seconds=add["seconds"] - sub["seconds"])
    assert world.tracker.session(world.session.id).scheduledend == expected
    assert utc(sub["scheduledend_utc"]) == expected
    assert [(r.source, r.user_id, r.dom) for r in world.tracker.histories] == [
        ("LINK", world.dom.id, 1),
        ("LINK", world.dom.id, 1),
    ]


async def test_public_vote_anonymous_resolves_session_from_token(world: World) -> None:
    data = ok_data(await world.post(world.vote("sub")))
    assert list(data) == LINK_KEYS
    assert (data["operation"], data["dom"], data["session"]) == ("SUB", 0, world.session.id)
    assert data["penalty"] is None
    assert utc(data["scheduledend_utc"]) == END - timedelta(seconds=data["seconds"])
    [row] = world.tracker.histories
    assert (row.source, row.user_id, row.ip, row.game) == ("LINK", None, "127.0.0.1", "link")


async def test_public_vote_identified_by_bearer(world: World) -> None:
    data = ok_data(await world.post(world.vote("add", session=world.session.id), world.voter))
    assert (data["operation"], data["penalty"]) == ("ADD", None)
    assert world.tracker.histories[0].user_id == world.voter.id


async def test_rand_picks_both_operations(world: World) -> None:
    body = world.game("link", 1, type="rand")
    results = [ok_data(await world.post(body, world.dom))["operation"] for _ in range(30)]
    assert set(results) == {"ADD", "SUB"}


async def test_owner_vote_is_a_penalty_at_maximum_multiplier() -> None:
    tracker = SandboxTracker(seed=3, now=lambda: START)
    owner = tracker.add_user()
    session = tracker.add_session(owner, waitint=0, max_multiplier=1.75, scheduledend=END)
    async with httpx.AsyncClient(base_url=await tracker.start()) as client:
        headers = {"Authorization": f"Bearer {owner.api_token}"}
        body = {"game": "link", "dom": 0, "token": session.link_token, "type": "sub"}
        first = ok_data(await client.post(GAMES_PATH, json=body, headers=headers))
        # A penalty is never held back by the vote limit, even with waitint=0.
        second = ok_data(await client.post(GAMES_PATH, json=body, headers=headers))
    await tracker.stop()
    for data in (first, second):
        assert (data["penalty"], data["operation"], data["multiplier"]) == (1, "ADD", 1.75)
        assert data["seconds"] == round(data["time"] * 1.75)
    total = first["seconds"] + second["seconds"]
    assert tracker.session(session.id).scheduledend == END + timedelta(seconds=total)
    assert [(r.source, r.operation, r.multiplier, r.user_id) for r in tracker.histories] == [
        ("PENALTY", "ADD", 1.75, owner.id),
        ("PENALTY", "ADD", 1.75, owner.id),
    ]


async def test_same_seed_gives_same_results() -> None:
    async def play(seed: int) -> list[dict[str, Any]]:
        w = await make_world(seed)
        results = [
            ok_data(await w.post(w.game("dice", 0), w.owner)),
            ok_data(await w.post(w.game("luck", 1), w.dom)),
            ok_data(await w.post(w.vote("rand"))),
            ok_data(await w.post(w.vote("rand"), w.voter)),
            ok_data(await w.post(w.game("link", 1, type="rand"), w.dom)),
        ]
        await w.client.aclose()
        await w.tracker.stop()
        return results

    first, again, other = await play(11), await play(11), await play(12)
    assert first == again
    assert first != other


# -- validation and permissions --------------------------------------------------------------


BAD_GAME = "Field 'game' must be one of: dice, luck, link."
BAD_DOM = "Field 'dom' must be 0 or 1."
NEED_SESSION = "Field 'session' is required for this game."
BAD_SESSION = "Field 'session' must be a positive integer."
BAD_TOKEN = "Field 'token' must be a non-empty string."
NEED_TYPE = "Field 'type' is required for the link game."


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"dom": 0, "session": 1001}, "Field 'game' is required."),
        ({"game": "poker", "dom": 0, "session": 1001}, BAD_GAME),
        ({"game": "DICE", "dom": 0, "session": 1001}, BAD_GAME),
        ({"game": ["dice"], "dom": 0, "session": 1001}, BAD_GAME),
        ({"game": "dice", "session": 1001}, "Field 'dom' is required."),
        ({"game": "dice", "dom": 2, "session": 1001}, BAD_DOM),
        ({"game": "dice", "dom": "0", "session": 1001}, BAD_DOM),
        ({"game": "dice", "dom": True, "session": 1001}, BAD_DOM),
        ({"game": "dice", "dom": 0}, NEED_SESSION),
        ({"game": "luck", "dom": 1}, NEED_SESSION),
        ({"game": "link", "dom": 1, "type": "add"}, NEED_SESSION),
        ({"game": "dice", "dom": 0, "session": "1001"}, BAD_SESSION),
        ({"game": "dice", "dom": 0, "session": 0}, BAD_SESSION),
        ({"game": "dice", "dom": 0, "session": -4}, BAD_SESSION),
        ({"game": "dice", "dom": 0, "session": 1.5}, BAD_SESSION),
        (
            {"game": "link", "dom": 0, "type": "add"},
            "Field 'token' is required for a public link vote.",
        ),
        ({"game": "link", "dom": 0, "token": "", "type": "add"}, BAD_TOKEN),
        ({"game": "link", "dom": 0, "token": 5, "type": "add"}, BAD_TOKEN),
        ({"game": "link", "dom": 0, "token": "t"}, NEED_TYPE),
        ({"game": "link", "dom": 1, "session": 1001}, NEED_TYPE),
        (
            {"game": "link", "dom": 0, "token": "t", "type": "double"},
            "Field 'type' must be one of: add, sub, rand.",
        ),
    ],
)
async def test_validation_errors(world: World, body: dict[str, Any], message: str) -> None:
    response = await world.post(body, world.owner)
    assert error_of(response, 400) == ("VALIDATION", message)
    assert world.tracker.histories == []


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"{not json", "The request body is not valid JSON."),
        (b"", "The request body is not valid JSON."),
        (b"[1, 2]", "The request body must be a JSON object."),
    ],
)
async def test_unparsable_bodies(world: World, raw: bytes, message: str) -> None:
    response = await world.client.post(GAMES_PATH, content=raw)
    assert error_of(response, 400) == ("VALIDATION", message)


async def test_bearer_rules(world: World) -> None:
    stranger = world.tracker.add_user()
    lonely = world.tracker.add_session(stranger)
    bad = SandboxUser(99, "not-a-token")
    dice0, dice1 = world.game("dice", 0), world.game("dice", 1)
    link1 = world.game("link", 1, type="add")
    required = ("UNAUTHORIZED", "An API token is required for this action.")
    invalid = ("UNAUTHORIZED", "The API token is not valid.")
    not_owner = ("FORBIDDEN", "Only the session owner can play this game.")
    not_dom = ("FORBIDDEN", "Only the owner's dom can play this game.")
    cases: list[tuple[dict[str, Any], SandboxUser | None, int, tuple[str, str]]] = [
        (dice0, None, 401, required),
        (dice0, bad, 401, invalid),
        (dice0, world.dom, 403, not_owner),
        (dice0, world.voter, 403, not_owner),
        (world.game("luck", 0), world.voter, 403, not_owner),
        (dice1, None, 401, required),
        (dice1, world.owner, 403, not_dom),
        (dice1, world.voter, 403, not_dom),
        (world.game("luck", 1), world.owner, 403, not_dom),
        ({"game": "dice", "dom": 1, "session": lonely.id}, stranger, 403, not_dom),
        (link1, None, 401, required),
        (link1, bad, 401, invalid),
        (link1, world.owner, 403, not_dom),
        (link1, world.voter, 403, not_dom),
        (world.vote("add"), bad, 401, invalid),
    ]
    for body, user, status, error in cases:
        assert error_of(await world.post(body, user), status) == error, (body, user)
    assert world.tracker.histories == []


async def test_non_bearer_authorization_is_invalid(world: World) -> None:
    response = await world.client.post(
        GAMES_PATH, json=world.vote("add"), headers={"Authorization": "Basic b3duZXI="}
    )
    assert error_of(response, 401) == ("UNAUTHORIZED", "The API token is not valid.")
    assert world.tracker.requests[0].bearer == ""


async def test_not_found(world: World) -> None:
    owner = world.tracker.add_user()
    closed = world.tracker.add_session(owner, link_enabled=False)
    session_missing = ("NOT_FOUND", "Session not found.")
    link_missing = ("NOT_FOUND", "Link not found.")
    mismatch = ("NOT_FOUND", "The session does not match this link.")
    cases: list[tuple[dict[str, Any], SandboxUser | None, tuple[str, str]]] = [
        ({"game": "dice", "dom": 0, "session": 4242}, world.owner, session_missing),
        ({"game": "luck", "dom": 1, "session": 4242}, world.dom, session_missing),
        ({"game": "link", "dom": 1, "session": 4242, "type": "add"}, world.dom, session_missing),
        ({"game": "link", "dom": 0, "token": "nope", "type": "add"}, None, link_missing),
        ({"game": "link", "dom": 0, "token": closed.link_token, "type": "add"}, None, link_missing),
        (world.vote("add", session=closed.id), None, mismatch),
    ]
    for body, user, error in cases:
        assert error_of(await world.post(body, user), 404) == error, body
    response = await world.client.post("/api/v2/other.php", json=world.game("dice", 0))
    assert error_of(response, 404) == ("NOT_FOUND", "There is no endpoint at this path.")
    assert world.tracker.histories == []


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE", "PATCH"])
async def test_other_methods_are_405(world: World, method: str) -> None:
    response = await world.client.request(method, GAMES_PATH)
    expected = ("METHOD_NOT_ALLOWED", "Only POST is allowed on this endpoint.")
    assert error_of(response, 405) == expected
    assert response.headers["Allow"] == "POST"
    assert world.tracker.requests[0].method == method
    assert world.tracker.requests[0].status == 405


# -- vote limits -----------------------------------------------------------------------------


async def test_waitint_1_allows_a_vote_again_after_24_hours(world: World) -> None:
    ok_data(await world.post(world.vote("add")))
    expected = ("COOLDOWN", "You can vote on this link again after 2026-02-02 12:00:00 UTC.")
    assert error_of(await world.post(world.vote("sub")), 400) == expected
    world.tracker.advance(timedelta(hours=24) - timedelta(seconds=1))
    assert error_of(await world.post(world.vote("sub")), 400) == expected
    world.tracker.advance(timedelta(seconds=1))
    ok_data(await world.post(world.vote("sub")))
    assert [r.at for r in world.tracker.histories] == [START, START + timedelta(hours=24)]


async def test_waitint_0_allows_one_vote_ever(once: World) -> None:
    ok_data(await once.post(once.vote("add"), once.voter))
    expected = ("COOLDOWN", "You have already voted on this link; it allows one vote.")
    assert error_of(await once.post(once.vote("add"), once.voter), 400) == expected
    once.tracker.advance(timedelta(days=365))
    assert error_of(await once.post(once.vote("add"), once.voter), 400) == expected
    assert len(once.tracker.histories) == 1


async def test_voters_are_counted_separately(once: World) -> None:
    ok_data(await once.post(once.vote("add")))
    ok_data(await once.post(once.vote("add"), once.voter))
    ok_data(await once.post(once.vote("add"), once.dom))
    assert error_of(await once.post(once.vote("add")), 400)[0] == "COOLDOWN"
    assert error_of(await once.post(once.vote("add"), once.voter), 400)[0] == "COOLDOWN"
    assert [r.user_id for r in once.tracker.histories] == [None, once.voter.id, once.dom.id]


async def test_anonymous_votes_are_keyed_by_ip(once: World) -> None:
    ok_data(await once.post(once.vote("add")))
    async with local_client(once.tracker.base_url, "127.0.0.2") as other:
        response = await other.post(GAMES_PATH, json=once.vote("add"))
    assert ok_data(response)["session"] == once.session.id
    async with httpx.AsyncClient(base_url=once.tracker.base_url) as same_ip:
        response = await same_ip.post(GAMES_PATH, json=once.vote("add"))
    assert error_of(response, 400)[0] == "COOLDOWN"
    assert [r.ip for r in once.tracker.histories] == ["127.0.0.1", "127.0.0.2"]


async def test_identified_votes_ignore_the_ip(once: World) -> None:
    ok_data(await once.post(once.vote("add"), once.voter))
    headers = {"Authorization": f"Bearer {once.voter.api_token}"}
    async with local_client(once.tracker.base_url, "127.0.0.3") as other:
        response = await other.post(GAMES_PATH, json=once.vote("add"), headers=headers)
    assert error_of(response, 400)[0] == "COOLDOWN"


async def test_limits_are_per_link_and_only_for_public_votes(once: World) -> None:
    other = once.tracker.add_session(once.tracker.add_user(), waitint=0)
    ok_data(await once.post(once.vote("add")))
    ok_data(await once.post({"game": "link", "dom": 0, "token": other.link_token, "type": "add"}))
    for _ in range(2):
        ok_data(await once.post(once.game("link", 1, type="add"), once.dom))
    assert len(once.tracker.histories) == 4


# -- recording, faults and the gate ----------------------------------------------------------


async def test_requests_are_recorded(world: World) -> None:
    body = world.game("dice", 0)
    sent = (await world.post(body, world.owner)).request.content
    await world.client.post(GAMES_PATH, content=b"oops")
    assert json.loads(sent) == body
    assert world.tracker.requests == [
        RecordedRequest(
            "POST", GAMES_PATH, body, sent, "owner-token", "127.0.0.1", 200, played=True
        ),
        RecordedRequest("POST", GAMES_PATH, None, b"oops", None, "127.0.0.1", 400),
    ]


async def test_reprs_hide_tokens(world: World) -> None:
    await world.post(world.vote("add"), world.owner)
    demo = world.tracker.demo()
    texts = [repr(world.owner), repr(world.session), repr(world.tracker.requests[0]), repr(demo)]
    secrets = ["owner-token", world.session.link_token, demo.owner_token, demo.link_token]
    assert not [s for s in secrets if any(s in text for text in texts)]


@pytest.mark.parametrize("apply_game", [False, True])
@pytest.mark.parametrize(
    ("fault", "status", "content_type"),
    [
        (Fault.html_500, 500, "text/html"),
        (Fault.json_500, 500, "application/json"),
        (Fault.non_json_200, 200, "text/html"),
        (Fault.not_ok_200, 200, "application/json"),
        (Fault.rate_limited, 429, "application/json"),
    ],
)
async def test_faults_with_an_answer(
    world: World, fault: Any, status: int, content_type: str, apply_game: bool
) -> None:
    world.tracker.queue_fault(fault(apply_game=apply_game))
    response = await world.post(world.game("dice", 0), world.owner)
    assert response.status_code == status
    assert response.headers["Content-Type"].startswith(content_type)
    if content_type == "text/html":
        with pytest.raises(json.JSONDecodeError):
            response.json()
    else:
        body = response.json()
        assert body["ok"] is False
        assert body["meta"] == {"version": 2}
    assert len(world.tracker.histories) == int(apply_game)
    moved = world.tracker.session(world.session.id).scheduledend != END
    assert moved is apply_game
    assert world.tracker.requests[0].status == status
    # The fault was used once: the next request is answered normally.
    ok_data(await world.post(world.game("dice", 0), world.owner))


async def test_rate_limit_fault_sends_retry_after(world: World) -> None:
    world.tracker.queue_fault(Fault.rate_limited(17))
    response = await world.post(world.game("dice", 0), world.owner)
    assert error_of(response, 429) == ("RATE_LIMITED", "Too many requests; please try again later.")
    assert response.headers["Retry-After"] == "17"


async def test_faults_are_used_in_order(world: World) -> None:
    world.tracker.queue_fault(Fault.json_500())
    world.tracker.queue_fault(Fault.rate_limited())
    statuses = [(await world.client.get(GAMES_PATH)).status_code for _ in range(3)]
    assert statuses == [500, 429, 405]


@pytest.mark.parametrize("apply_game", [False, True])
async def test_drop_fault_closes_without_answer(world: World, apply_game: bool) -> None:
    world.tracker.queue_fault(Fault.drop(apply_game=apply_game))
    with pytest.raises(httpx.RemoteProtocolError):
        await world.post(world.game("dice", 0), world.owner)
    assert len(world.tracker.histories) == int(apply_game)
    assert [(r.path, r.status) for r in world.tracker.requests] == [(GAMES_PATH, None)]


@pytest.mark.parametrize("apply_game", [False, True])
async def test_hang_fault_never_answers_until_stop(world: World, apply_game: bool) -> None:
    world.tracker.queue_fault(Fault.hang(apply_game=apply_game))
    pending = asyncio.create_task(world.post(world.game("luck", 0), world.owner))
    await world.tracker.wait_for_requests(1)
    assert not pending.done()
    assert len(world.tracker.histories) == int(apply_game)
    await world.tracker.stop()
    with pytest.raises(httpx.RemoteProtocolError):
        await pending
    assert world.tracker.requests[0].status is None


async def test_gate_holds_answers_until_set(world: World) -> None:
    world.tracker.gate = asyncio.Event()
    first = asyncio.create_task(world.post(world.game("dice", 0), world.owner))
    second = asyncio.create_task(world.post(world.vote("add")))
    await world.tracker.wait_for_requests(2)
    assert not first.done()
    assert not second.done()
    assert world.tracker.histories == []
    assert [r.status for r in world.tracker.requests] == [None, None]
    world.tracker.gate.set()
    assert ok_data(await first)["game"] == "dice"
    assert ok_data(await second)["game"] == "link"
    assert [r.status for r in world.tracker.requests] == [200, 200]


@pytest.mark.parametrize("apply_game", [False, True])
async def test_a_hang_of_given_length_drops_then_and_says_whether_it_played(
    world: World, apply_game: bool
) -> None:
    world.tracker.queue_fault(Fault.hang(apply_game=apply_game, seconds=0.2))
    with pytest.raises(httpx.RemoteProtocolError):
        await world.post(world.game("luck", 0), world.owner)
    assert [r.played for r in world.tracker.requests] == [apply_game]


async def test_a_slow_fault_answers_normally_after_its_delay(world: World) -> None:
    world.tracker.queue_fault(Fault.slow(0.3))
    started = asyncio.get_running_loop().time()
    ok_data(await world.post(world.game("dice", 0), world.owner))
    assert asyncio.get_running_loop().time() - started >= 0.3
    assert [(r.status, r.played) for r in world.tracker.requests] == [(200, True)]


async def test_refused_connections_then_accepted_again(world: World) -> None:
    ok_data(await world.post(world.game("dice", 0), world.owner))  # a pooled connection
    await world.tracker.refuse_connections()
    async with httpx.AsyncClient(base_url=world.tracker.base_url) as fresh:
        with pytest.raises(httpx.ConnectError):
            await fresh.post(GAMES_PATH, json=world.game("dice", 0))
    await world.tracker.accept_connections()
    ok_data(await world.post(world.game("dice", 0), world.owner))
    assert len(world.tracker.requests) == 2


async def test_stop_drops_gated_requests(world: World) -> None:
    world.tracker.gate = asyncio.Event()
    pending = asyncio.create_task(world.post(world.game("dice", 0), world.owner))
    await world.tracker.wait_for_requests(1)
    await world.tracker.stop()
    with pytest.raises(httpx.RemoteProtocolError):
        await pending
    assert world.tracker.histories == []


async def test_wait_for_requests_returns_at_once_when_enough(world: World) -> None:
    await world.tracker.wait_for_requests(0)
    await world.client.get(GAMES_PATH)
    await world.tracker.wait_for_requests(1)
    assert len(world.tracker.requests) == 1


# -- setup and command line ------------------------------------------------------------------


def test_add_session_rejects_bad_configuration() -> None:
    tracker = SandboxTracker()
    owner = tracker.add_user()
    with pytest.raises(ValueError, match="waitint"):
        tracker.add_session(owner, waitint=2)
    with pytest.raises(ValueError, match="own dom"):
        tracker.add_session(owner, dom=owner)
    with pytest.raises(ValueError, match="already in use"):
        tracker.add_user(owner.api_token)


def test_demo_setup_is_consistent() -> None:
    tracker = SandboxTracker()
    demo = tracker.demo()
    session = tracker.session(demo.session_id)
    assert (session.link_enabled, session.waitint) == (True, 1)
    assert session.link_token == demo.link_token
    tokens = {demo.owner_token, demo.dom_token, demo.voter_token}
    assert len(tokens) == 3


async def test_command_line_prints_a_working_demo() -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tracker.sandbox",
        "--port",
        "0",
        "--seed",
        "5",
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    assert process.stdout is not None
    lines: dict[str, str] = {}
    try:
        while "public link token" not in lines:
            line = (await process.stdout.readline()).decode()
            assert line, f"sandbox exited early: {lines}"
            key, sep, value = line.strip().partition(": ")
            if sep:
                lines[key] = value
            elif key.startswith("TRACKER_API_URL="):
                lines["url"] = key.removeprefix("TRACKER_API_URL=")
        assert lines["url"].startswith("http://127.0.0.1:")
        assert lines["session id"] == "1001"
        body = {"game": "link", "dom": 0, "token": lines["public link token"], "type": "add"}
        headers = {"Authorization": f"Bearer {lines['voter API token']}"}
        async with httpx.AsyncClient(base_url=lines["url"]) as client:
            data = ok_data(await client.post(GAMES_PATH, json=body, headers=headers))
            dice = {"game": "dice", "dom": 1, "session": 1001}
            headers = {"Authorization": f"Bearer {lines['dom API token']}"}
            ok_data(await client.post(GAMES_PATH, json=dice, headers=headers))
        assert (data["session"], data["penalty"]) == (1001, None)
    finally:
        process.terminate()
        await process.wait()
