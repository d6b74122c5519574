"""Bad input from members and from the tracker, generated: nothing breaks, pings or slips through.

Every command option and modal field gets huge and negative ids, empty, blank, multi-kilobyte
and non-ASCII text, control characters, mentions and markdown. Whatever comes in, each
interaction gets one readable answer (Discord accepts every message: no 50006 or 50035), no
message may notify anyone but the member it is about, and every request the tracker receives is
one the API allows. Tracker answers with missing, extra, wrong-typed or absurd fields are shown
safely or refused clearly.

Each property test reuses one world across its examples: starting one costs more than an example.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from aiohttp import web
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from services.links import NAME_RULE
from storage.models import LedgerStatus
from tests.bot_world import (
    ALICE,
    BOB,
    DOM,
    GENERAL,
    GUILD_ID,
    MODERATOR,
    OWNER,
    VOTER_ROLE,
    VOTING,
    BotWorld,
)
from tests.fake_discord import Channel, Exchange, Role, autocomplete, modal_submit
from tests.helpers_faults import (
    SURPRISE_TEXT,
    is_valid_game_request,
    new_member,
    pings_at_most,
)
from tests.seed_examples import DOCUMENTED_RESULT_FIELDS

# The number of examples and whether they are drawn anew come from the profile (tests/conftest.py).
PROPERTY = settings(
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

NASTY = [
    "",
    " ",
    " \t\n ",
    "@everyone",
    "@here",
    f"<@{ALICE.id}>",
    f"<@!{ALICE.id}>",
    f"<@&{VOTER_ROLE.id}>",
    f"<#{GENERAL.id}>",
    "**bold** __under__ ~~gone~~",
    "`",
    "```py\nprint()\n```",
    "||spoiler||",
    "> quote\n# heading",
    "[link](https://example.invalid)",
    "\x00\x07\x1b[31m\r",
    "\u202eevil\u202c",
    "\u200b",
    "élan",
    "🗳️",
    "ｌｉｎｋ",
    "link",
    "LINK",
    " link ",
    "-1",
    "0",
    "1001",
    "9" * 30,
]
TEXT = st.one_of(
    st.sampled_from(NASTY),
    st.text(st.characters(exclude_categories=("Cs",)), max_size=80),
    st.lists(st.sampled_from(NASTY), min_size=1, max_size=5).map("".join),
    st.tuples(st.sampled_from(NASTY), st.integers(1000, 6000)).map(lambda t: t[0] + "x" * t[1]),
)
# Ours, one the bot has never seen in our server, or none.
CHANNEL = st.none() | st.sampled_from([GENERAL, VOTING, Channel(GENERAL.id + 999, "x", GUILD_ID)])
# What a crafted payload can put in an integer option: any JSON number, even a string.
SESSION = st.one_of(
    st.sampled_from([0, -1, 1, 1001, 2**53 - 1, 2**53, 2**63 - 1, 2**63, 2**64, -(2**63)]),
    st.integers(),
    st.integers(min_value=-(2**80), max_value=2**80),
    st.floats(allow_nan=False, allow_infinity=False),
    TEXT,
)


async def settled(world: BotWorld, exchange: Exchange, about: int | None = None) -> None:
    """The interaction got one answer Discord accepted (no 50006/50035 in `fake.errors`), not the
    apology for a surprise; no message pinged; the tracker saw only valid calls."""
    answer = await exchange.final()
    assert SURPRISE_TEXT not in answer.content, answer.content
    for message in exchange.messages:
        pings_at_most(message, None if message.ephemeral else about)
    for channel in (GENERAL, VOTING):  # link cards and the moderators' log
        for message in world.fake.channel_messages(channel.id):
            pings_at_most(message, None)
    assert world.fake.errors == []
    invalid = [r.raw[:300] for r in world.sandbox.requests if not is_valid_game_request(r)]
    assert invalid == []


def beside_echoes(answer: str, *typed: str | None) -> str:
    """The answer without the other options the member typed, as the bot may repeat them.

    A token must never be shown; a link name or a session may be any text, also the token's, and
    repeating those is right. So what must hold is: the token is nowhere else in the answer.
    """
    for text in typed:
        for echo in {text, text.strip(), text.strip().lower()} if text else ():
            if echo:
                answer = answer.replace(echo, "")
    return answer


@pytest.fixture
async def voting_world(world: BotWorld) -> BotWorld:
    """Two links in one channel, one connected member, one member who shares the anonymous vote."""
    await world.add_link()
    other = world.sandbox.add_session(world.sandbox.add_user()).link_token
    await world.add_link(other, name="second")
    await world.connect(ALICE, world.demo.voter_token)
    return world


@PROPERTY
@given(kind=st.sampled_from(["add", "sub", "rand"]), link=st.none() | TEXT, anonymous=st.booleans())
async def test_vote_link_option(
    voting_world: BotWorld, kind: str, link: str | None, anonymous: bool
) -> None:
    world = voting_world
    world.sandbox.advance(timedelta(days=2))  # every example may vote again
    member = new_member() if anonymous else ALICE
    exchange = await world.command("vote", kind, member=member, link=link)
    await settled(world, exchange, about=member.id)


@PROPERTY
@given(focused=TEXT, command=st.sampled_from(["vote", "links"]))
async def test_autocomplete_text(voting_world: BotWorld, focused: str, command: str) -> None:
    world = voting_world
    if command == "vote":
        payload = autocomplete(
            "vote", "add", focused="link", options={"link": focused}, member=ALICE, channel=GENERAL
        )
    else:
        payload = autocomplete(
            "links",
            "remove",
            focused="name",
            options={"name": focused},
            member=MODERATOR,
            channel=GENERAL,
        )
    choices = await (await world.run(payload)).autocomplete_choices()
    assert {choice["value"] for choice in choices} <= {"link", "second"}
    assert world.fake.errors == []


@pytest.fixture
async def players_world(world: BotWorld) -> BotWorld:
    await world.connect(OWNER, world.demo.owner_token, str(world.demo.session_id))
    await world.connect(DOM, world.demo.dom_token)
    return world


@PROPERTY
@given(
    command=st.sampled_from(
        [("dice",), ("luck",), ("dom", "dice"), ("dom", "luck"), ("dom", "link")]
    ),
    session=st.none() | SESSION,
    kind=st.sampled_from(["add", "sub", "rand"]) | TEXT,
)
async def test_session_options(
    players_world: BotWorld, command: tuple[str, ...], session: Any, kind: str
) -> None:
    world = players_world
    member = OWNER if len(command) == 1 else DOM
    options: dict[str, Any] = {"session": session}
    if command == ("dom", "link"):
        options["type"] = kind
    exchange = await world.command(*command, member=member, **options)
    await settled(world, exchange, about=member.id)


@PROPERTY
@given(api_token=TEXT, default_session=TEXT)
@example(api_token=" valid-token-123 ", default_session=" 1001 ")
async def test_connect_form(world: BotWorld, api_token: str, default_session: str) -> None:
    member = new_member()
    form = await (await world.command("account", "connect", member=member)).modal()
    fields = {"api_token": api_token, "default_session": default_session}
    exchange = await world.run(modal_submit(form, fields, member=member, channel=GENERAL))
    await settled(world, exchange)
    answer = await exchange.final()
    account = await world.db.get_account(member.id)
    if "Connected" in answer.content:
        assert account is not None
        assert account.api_token.get_secret_value() == api_token.strip()
    else:
        assert account is None
    if len(api_token.strip()) > 8:
        assert api_token.strip() not in beside_echoes(answer.content, default_session)


@PROPERTY
@given(
    token=TEXT,
    name=st.none() | TEXT,
    interval=st.none() | st.sampled_from(["daily", "once"]) | TEXT,
    anonymous=st.booleans(),
    channel=st.none()
    | st.sampled_from([GENERAL, VOTING, Channel(GENERAL.id + 999, "x", GUILD_ID)]),
    card=TEXT,
    remove=TEXT,
    role=st.none() | st.sampled_from([VOTER_ROLE, Role(VOTER_ROLE.id + 999, "@everyone")]),
    log_channel=CHANNEL,
)
# Found by a plain run: a link name equal to its token, so the answer names the link in the token's
# characters.
@example(
    token="9" * 30,
    name="9" * 30,
    interval=None,
    anonymous=False,
    channel=GENERAL,
    card="",
    remove="",
    role=None,
    log_channel=None,
)
async def test_moderator_options(
    world: BotWorld,
    token: str,
    name: str | None,
    interval: str | None,
    anonymous: bool,
    channel: Channel | None,
    card: str,
    remove: str,
    role: Role | None,
    log_channel: Channel | None,
) -> None:
    added = await world.command(
        "links",
        "add",
        member=MODERATOR,
        token=token,
        name=name,
        interval=interval,
        anonymous=anonymous,
        channel=channel,
    )
    await settled(world, added)
    if len(token.strip()) > 8:
        assert token.strip() not in beside_echoes((await added.final()).content, name)
    for link in await world.db.links_in_guild(GUILD_ID):
        assert NAME_RULE.fullmatch(link.name)
    for names, options in [
        (("links", "card"), {"name": card}),
        (("links", "remove"), {"name": remove}),
        (("links", "list"), {}),
        (("config", "voter-role"), {"role": role}),
        (("config", "log-channel"), {"channel": log_channel}),
    ]:
        await settled(world, await world.command(*names, member=MODERATOR, **options))
    assert world.sandbox.requests == []


# What a tracker might put in a played game's data: the documented fields with any JSON value,
# plausible and absurd ones, and fields nobody documented.
FIELDS = DOCUMENTED_RESULT_FIELDS
JSON_VALUE = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.sampled_from([-(2**64), 2**64, 10**30, -3600, 0])
    | st.floats()
    | TEXT
    | st.sampled_from(
        [
            "ADD",
            "SUB",
            "MUL",
            "9999-12-31 23:59:59",
            "0001-01-01 00:00:00",
            "2026-02-30 00:00:00",
            "2026-02-10T00:00:00Z",
        ]
    ),
    lambda children: st.lists(children, max_size=30) | st.dictionaries(TEXT, children, max_size=3),
    max_leaves=40,
)
RESULT_DATA = st.dictionaries(st.sampled_from(FIELDS) | TEXT, JSON_VALUE, max_size=12)


class ScriptedTracker:
    """A tracker that answers every game with `ok: true` and whatever data the test sets."""

    def __init__(self) -> None:
        self.data: Any = {}
        self.app = web.Application()
        self.app.router.add_post("/api/v2/games.php", self._handle)

    async def _handle(self, request: web.Request) -> web.Response:
        await request.read()
        body = json.dumps({"ok": True, "data": self.data, "meta": {"version": 2}})
        return web.Response(body=body.encode(), content_type="application/json")


@pytest.fixture
async def scripted(world: BotWorld) -> AsyncIterator[tuple[BotWorld, ScriptedTracker]]:
    tracker = ScriptedTracker()
    runner = web.AppRunner(tracker.app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    port = runner.addresses[0][1]
    try:
        await world.add_link()
        await world.connect(OWNER, world.demo.owner_token, str(world.demo.session_id))
        await world.stop()
        await world.start(tracker_api_url=f"http://127.0.0.1:{port}")
        yield world, tracker
    finally:
        await world.stop()
        await runner.cleanup()


@PROPERTY
@given(data=RESULT_DATA, command=st.sampled_from(["vote", "dice"]))
@example(
    data={"seconds": -3600, "operation": "ADD", "scheduledend_utc": "9999-12-31 23:59:59"},
    command="vote",
)
@example(data={"seconds": 10**30, "session": 2**64, "multiplier": float("nan")}, command="vote")
@example(data={"dices": [10**30] * 30, "calc": "@everyone " * 100, "sum": 2**64}, command="dice")
@example(data={"penalty": "yes", "multiplier": float("inf"), "time": -1}, command="vote")
async def test_tracker_results(
    scripted: tuple[BotWorld, ScriptedTracker], data: dict[str, Any], command: str
) -> None:
    world, tracker = scripted
    tracker.data = data
    world.sandbox.advance(timedelta(days=2))  # the anonymous vote reopens
    if command == "vote":  # anonymous, so no earlier penalty result makes the bot ask first
        voter, exchange = BOB, await world.command("vote", "add", member=BOB)
    else:
        voter, exchange = OWNER, await world.command("dice", member=OWNER)
    answer = await exchange.final()
    assert SURPRISE_TEXT not in answer.content, answer.content
    public = await exchange.wait_for_message(lambda message: not message.ephemeral)
    pings_at_most(public, voter.id)
    assert world.fake.errors == []
    entry = (await world.ledger())[0]
    assert entry.status is LedgerStatus.PLAYED


HOSTILE_DICE = {
    "operation": "ADD",
    "seconds": 3600,
    "dices": [10**4000] * 20,
    "dicesops": ["s" * 5000] * 20,
    "sum": 10**4000,
    "calc": "+1" * 5000,
    "multiplier": 1.5,
}


@pytest.mark.parametrize("command", [("dice",), ("luck",)])
async def test_an_absurd_dice_or_luck_result_is_still_announced(
    scripted: tuple[BotWorld, ScriptedTracker], command: tuple[str, ...]
) -> None:
    """Recorded as played, so its public message must be one Discord accepts."""
    world, tracker = scripted
    tracker.data = HOSTILE_DICE | {"int": 10**4000, "unit": "x" * 5000, "game": "y" * 5000}

    exchange = await world.command(*command, member=OWNER)
    public = await exchange.wait_for_message(lambda message: not message.ephemeral)

    assert f"<@{OWNER.id}> played" in public.content
    assert "**+1h**" in public.content
    assert len(public.content) <= 2000
    assert world.fake.errors == []
    entry = (await world.ledger())[0]
    assert entry.status is LedgerStatus.PLAYED
