"""Secrets and permissions under attack, end to end.

Secrets: no API token, link token, Discord token or token key in any log line at any level, in
any exception text or in any message. Permissions: crafted interactions (from a DM, from another
server, naming another server's channel or role, naming another member) are refused and change
nothing. Files: the key file and the database are readable by the bot's user alone.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
import stat
import traceback
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
from pydantic import SecretStr

import bot
from settings import Settings
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
    public_result,
)
from tests.fake_discord import (
    MEMBER_PERMISSIONS,
    MODERATOR_PERMISSIONS,
    Channel,
    Exchange,
    Member,
    Role,
    SentMessage,
    User,
    autocomplete,
    button_click,
    modal_submit,
    slash,
)
from tests.helpers_faults import (
    bot_process,
    connected_member,
    disk_full,
    new_member,
    private_answer,
)
from tracker.client import TrackerClient
from tracker.errors import TrackerError
from tracker.http import create_http_client
from tracker.models import VoteType
from tracker.sandbox import Fault, SandboxTracker

OTHER_GUILD_ID = 810_000_000_000_000_101
OTHER_CHANNEL = Channel(810_000_000_000_000_110, "elsewhere", OTHER_GUILD_ID)
OTHER_ROLE = Role(810_000_000_000_000_120, "their-voters")
# Manage Server in the other server only; a plain member of ours.
OTHER_MODERATOR = Member(
    820_000_000_000_000_101, "other-moderator", permissions=MODERATOR_PERMISSIONS
)
SAME_PERSON_HERE = replace(OTHER_MODERATOR, permissions=MEMBER_PERMISSIONS)
UNKNOWN_CHANNEL = Channel(810_000_000_000_000_210, "not-ours", 810_000_000_000_000_201)
WRONG_SERVER = "is not in this server"
ONLY_IN_A_SERVER = "works only in a server channel"
NOT_A_MANAGER = "Only members with the Manage Server permission"


def dm(member: Member) -> User:
    """The same person writing to the bot in a DM: no server, no permissions."""
    return member.user


@pytest.fixture
async def two_servers(world: BotWorld) -> BotWorld:
    """Our server with a bound link, plus another server the bot is also in."""
    await world.stop()
    world.fake.add_guild(OTHER_GUILD_ID, "Other server", [OTHER_CHANNEL], [OTHER_ROLE])
    await world.start()
    await world.add_link()
    return world


async def _unchanged(world: BotWorld) -> None:
    """Nothing a refused attempt could have changed did change."""
    [link] = await world.db.links_in_guild(GUILD_ID)
    assert (link.name, link.channel_id) == ("link", GENERAL.id)
    assert link.link_token.get_secret_value() == world.demo.link_token
    assert await world.db.links_in_guild(OTHER_GUILD_ID) == []
    for guild_id in (GUILD_ID, OTHER_GUILD_ID):
        settings = await world.db.guild_settings(guild_id)
        assert (settings.voter_role_id, settings.log_channel_id) == (None, None)
    assert len(await world.db.cards_of_link(link.id)) == 1
    assert world.fake.channel_messages(OTHER_CHANNEL.id) == []
    assert world.sandbox.requests == []


async def _refused(world: BotWorld, payload: dict[str, object], says: str) -> SentMessage:
    answer = await private_answer(await world.run(payload))
    assert says in answer.content, answer.content
    return answer


async def test_manage_server_in_another_server_gives_no_power_over_ours(
    two_servers: BotWorld,
) -> None:
    world = two_servers
    other = world.sandbox.add_session(world.sandbox.add_user()).link_token
    elsewhere = {"member": OTHER_MODERATOR, "channel": OTHER_CHANNEL}

    here = {"member": MODERATOR, "channel": GENERAL}
    plain_here = {"member": SAME_PERSON_HERE, "channel": GENERAL}
    attempts = [
        (("links", "add"), {"token": other, "channel": GENERAL}, elsewhere, WRONG_SERVER),
        (("links", "remove"), {"name": "link", "channel": GENERAL}, elsewhere, WRONG_SERVER),
        (("config", "voter-role"), {"role": VOTER_ROLE}, elsewhere, WRONG_SERVER),
        (("config", "log-channel"), {"channel": GENERAL}, elsewhere, WRONG_SERVER),
        (("links", "card"), {"name": "link", "channel": GENERAL}, elsewhere, WRONG_SERVER),
        # The same person in our server, where they are a plain member.
        (("links", "add"), {"token": other}, plain_here, NOT_A_MANAGER),
        (("links", "list"), {}, plain_here, NOT_A_MANAGER),
        # Our moderator, the other way round, and a channel of a server the bot is not in.
        (("links", "add"), {"token": other, "channel": OTHER_CHANNEL}, here, WRONG_SERVER),
        (("config", "voter-role"), {"role": OTHER_ROLE}, here, WRONG_SERVER),
        (("config", "log-channel"), {"channel": OTHER_CHANNEL}, here, WRONG_SERVER),
        (("links", "add"), {"token": other, "channel": UNKNOWN_CHANNEL}, here, WRONG_SERVER),
    ]
    for names, options, who, says in attempts:
        await _refused(world, slash(*names, options=options, **who), says)

    listing = await world.run(slash("links", "list", **elsewhere))
    assert "no links yet" in (await private_answer(listing)).content
    names = await world.run(
        autocomplete(
            "links", "remove", focused="name", options={"name": "", "channel": GENERAL}, **elsewhere
        )
    )
    assert await names.autocomplete_choices() == []
    await _unchanged(world)


async def test_server_commands_from_a_dm_are_refused_even_for_our_moderator(
    two_servers: BotWorld,
) -> None:
    world = two_servers
    other = world.sandbox.add_session(world.sandbox.add_user()).link_token
    user = dm(MODERATOR)

    for payload in [
        slash("links", "add", options={"token": other, "channel": GENERAL}, user=user),
        slash("links", "add", options={"token": other}, user=user),
        slash("links", "remove", options={"name": "link", "channel": GENERAL}, user=user),
        slash("links", "list", user=user),
        slash("config", "voter-role", options={"role": VOTER_ROLE}, user=user),
        slash("config", "voter-role", user=user),
        slash("config", "log-channel", options={"channel": GENERAL}, user=user),
        slash("links", "card", options={"name": "link", "channel": GENERAL}, user=user),
        slash("vote", "add", options={"link": "link"}, user=dm(ALICE)),
    ]:
        await _refused(world, payload, ONLY_IN_A_SERVER)
    names = await world.run(
        autocomplete("links", "remove", focused="name", options={"name": ""}, user=user)
    )
    assert await names.autocomplete_choices() == []
    await _unchanged(world)


async def test_account_commands_act_on_the_caller_only(world: BotWorld) -> None:
    """Naming another member (a crafted option, their open form, their session) reaches only
    the caller's own account: nothing of the other member's is read, changed or used."""
    await world.add_link()
    await world.connect(ALICE, world.demo.voter_token, "4242")
    await world.connect(OWNER, world.demo.owner_token, str(world.demo.session_id))
    bob_token = world.sandbox.add_user().api_token
    await world.connect(BOB, bob_token)
    alice_before = await world.db.get_account(ALICE.id)
    as_alice = {"user": ALICE}  # an option these commands do not have

    status = await world.run(
        slash("account", "status", options=as_alice, member=BOB, channel=GENERAL)
    )
    assert "No default session saved." in (await private_answer(status)).content
    in_dm = await world.run(slash("account", "status", options=as_alice, user=dm(BOB)))
    assert "4242" not in (await private_answer(in_dm)).content

    # BOB plays on the owner's session: with his own token, so the tracker refuses him.
    dice = await world.command("dice", member=BOB, session=world.demo.session_id)
    assert "this session is not yours" in (await private_answer(dice)).content
    # His vote is his own.
    assert f"<@{BOB.id}> voted on" in (await public_result(await world.vote(BOB))).content
    assert [r.bearer for r in world.sandbox.requests] == [bob_token, bob_token]

    # BOB submits the form ALICE opened: it connects BOB, with what BOB typed.
    alice_form = await (await world.command("account", "connect", member=ALICE)).modal()
    stolen = modal_submit(alice_form, {"api_token": "bobs-new-token"}, member=BOB, channel=GENERAL)
    assert "Connected" in (await (await world.run(stolen)).final()).content
    bob_now = await world.db.get_account(BOB.id)
    assert bob_now is not None
    assert bob_now.api_token.get_secret_value() == "bobs-new-token"

    gone = await world.run(
        slash("account", "disconnect", options=as_alice, member=BOB, channel=GENERAL)
    )
    assert "Your API token is erased" in (await private_answer(gone)).content
    assert await world.db.get_account(BOB.id) is None
    assert await world.db.get_account(ALICE.id) == alice_before
    assert await world.db.get_account(OWNER.id) is not None


@contextlib.contextmanager
def permissive_umask() -> Iterator[None]:
    """Files created meanwhile would be readable by everyone unless the bot chooses otherwise."""
    previous = os.umask(0)
    try:
        yield
    finally:
        os.umask(previous)


@pytest.mark.sqlite_only
async def test_the_key_file_and_the_database_are_readable_by_the_bot_alone(
    world: BotWorld, tmp_path: Path
) -> None:
    database = tmp_path / "fresh" / "bot.sqlite3"
    key_file = tmp_path / "config" / "ctvote" / "token.key"
    await world.stop()
    with permissive_umask():
        await world.start(database_path=database, token_key=None, token_key_file=key_file)
        await world.add_link()
        await world.connect(ALICE, world.demo.voter_token)
        assert "voted" in (await public_result(await world.vote(ALICE))).content

    files = [key_file, database, *database.parent.glob("bot.sqlite3-*")]
    assert {path.name for path in files} >= {"token.key", "bot.sqlite3", "bot.sqlite3-wal"}
    assert {path.name: stat.S_IMODE(path.stat().st_mode) for path in files} == {
        path.name: 0o600 for path in files
    }
    assert stat.S_IMODE(database.parent.stat().st_mode) == 0o700
    assert stat.S_IMODE(key_file.parent.stat().st_mode) == 0o700
    # A copy of the data folder holds no key: the key lives in the config folder.
    assert sorted(path.name for path in database.parent.iterdir() if "key" in path.name) == []


@pytest.fixture
def production_logging() -> Iterator[None]:
    """The bot's own logging set-up at LOG_LEVEL=DEBUG (libraries pinned), undone afterwards."""
    root = logging.getLogger()
    names = [*bot.CHATTY_LIBRARIES, "httpx"]
    saved = {name: logging.getLogger(name).level for name in names}
    handlers, level = list(root.handlers), root.level
    bot.configure_logging(Settings(_env_file=None, discord_token="unused", log_level="DEBUG"))  # type: ignore[call-arg]
    try:
        yield
    finally:
        for name, saved_level in saved.items():
            logging.getLogger(name).setLevel(saved_level)
        root.handlers[:] = handlers
        root.setLevel(level)


def _secrets(world: BotWorld, *more: str) -> dict[str, str]:
    settings = world.settings
    assert settings.token_key is not None
    return {
        "DISCORD_TOKEN": settings.discord_token.get_secret_value(),
        "TOKEN_KEY": settings.token_key.get_secret_value(),
        "owner API token": world.demo.owner_token,
        "dom API token": world.demo.dom_token,
        "voter API token": world.demo.voter_token,
        "link token": world.demo.link_token,
        **{f"API token {i}": token for i, token in enumerate(more)},
    }


def _leaks(texts: list[str], secrets: dict[str, str]) -> list[tuple[str, str]]:
    return [
        (name, text[:200]) for text in texts for name, secret in secrets.items() if secret in text
    ]


def _log_texts(records: list[logging.LogRecord]) -> list[str]:
    """Every log line as a handler would write it: message, traceback chain, stack."""
    formatter = logging.Formatter("%(name)s %(levelname)s %(message)s")
    return [formatter.format(record) for record in records]


async def test_no_secret_reaches_a_log_line_an_exception_or_a_message(
    world: BotWorld, caplog: pytest.LogCaptureFixture, production_logging: None
) -> None:
    caplog.set_level(logging.DEBUG)
    exchanges: list[Exchange] = []

    async def run(exchange: Exchange) -> Exchange:
        exchanges.append(exchange)
        await exchange.final()
        return exchange

    session = world.demo.session_id
    await run(await world.command("links", "add", member=MODERATOR, token=world.demo.link_token))
    await run(await world.command("links", "list", member=MODERATOR))
    await world.connect(ALICE, world.demo.voter_token)
    await world.connect(OWNER, world.demo.owner_token, str(session))
    await world.connect(DOM, world.demo.dom_token)
    rejected = new_member("rejected")
    await world.connect(rejected, "not-a-token-the-tracker-knows-0123456789")
    await public_result(await run(await world.vote(ALICE)))
    await public_result(await run(await world.vote(BOB)))
    await run(await world.vote(OWNER))  # the owner is asked to confirm the penalty
    await run(await world.command("dice", member=OWNER))
    await run(await world.command("luck", member=OWNER, session=session))
    await run(await world.command("dom", "dice", member=DOM, session=session))
    await run(await world.command("dom", "link", member=DOM, session=session, type="sub"))
    await run(await world.vote(rejected))  # 401: the token is marked rejected
    extra = []
    for fault in (Fault.html_500(), Fault.drop(), Fault.non_json_200(), Fault.rate_limited()):
        member, token = await connected_member(world)
        extra.append(token)
        world.sandbox.queue_fault(fault)
        await run(await world.vote(member))
    world.sandbox.advance(timedelta(seconds=30))  # the bot pauses for the 429's Retry-After
    await run(await world.command("account", "status", member=ALICE))
    with disk_full():
        member, token = (new_member(), "written-nowhere-0123456789")
        await run(await world.command("dice", member=OWNER))
        refused = await world.submit_connect(member, token)
    extra.append(token)
    world.sandbox.gate = asyncio.Event()
    await world.vote(DOM)
    await world.sandbox.wait_for_requests(len(world.sandbox.requests) + 1)
    await world.restart()  # cancels the waiting call
    world.sandbox.gate = None
    await run(await world.command("account", "disconnect", member=ALICE))

    secrets = _secrets(world, "not-a-token-the-tracker-knows-0123456789", *extra)
    messages = [m.content for e in exchanges for m in e.messages] + [refused.content]
    assert _leaks(messages, secrets) == []
    assert _leaks(_log_texts(caplog.records), secrets) == []
    assert logging.getLogger("services.calls").isEnabledFor(logging.DEBUG)
    assert not logging.getLogger("discord.gateway").isEnabledFor(logging.DEBUG)


async def test_no_secret_reaches_the_log_of_bot_py_at_debug(
    world: BotWorld, tmp_path: Path
) -> None:
    """The deployed bot at LOG_LEVEL=DEBUG, its real logging set-up, a scenario, then Ctrl-C."""
    rejected = "not-a-token-the-tracker-knows-0123456789"
    async with bot_process(world, tmp_path, LOG_LEVEL="DEBUG") as process:
        await world.add_link()
        await world.connect(ALICE, world.demo.voter_token)
        await world.connect(OWNER, world.demo.owner_token, str(world.demo.session_id))
        await world.connect(BOB, rejected)
        assert "voted" in (await public_result(await world.vote(ALICE))).content
        assert "DICE" in (await public_result(await world.command("dice", member=OWNER))).content
        await private_answer(await world.vote(BOB))
        world.sandbox.queue_fault(Fault.html_500())
        await private_answer(await world.command("dice", member=OWNER))
        process.send_signal(signal.SIGINT)
        assert await process.wait() == 0

    log = (tmp_path / "stderr.txt").read_text()
    assert "ledger 3 refused: unauthorized (HTTP 401)" in log
    assert _leaks(log.splitlines(), _secrets(world, rejected)) == []


def _exception_texts(error: BaseException) -> list[str]:
    """The traceback a log would print (causes and contexts included) and every repr in it."""
    texts = ["".join(traceback.format_exception(error))]
    seen: set[int] = set()
    current: BaseException | None = error
    pending = [error]
    while pending:
        current = pending.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        texts += [repr(current), *map(repr, current.args)]
        pending += [e for e in (current.__cause__, current.__context__) if e is not None]
    return texts


def _closed_port() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"


TRACKER_FAILURES = {
    "html 500": Fault.html_500(),
    "json 500": Fault.json_500(),
    "non-JSON 200": Fault.non_json_200(),
    "ok false 200": Fault.not_ok_200(),
    "429": Fault.rate_limited(),
    "dropped": Fault.drop(),
    "no answer in time": Fault.hang(),
    "connection refused": None,
    "unknown bearer": "unknown-bearer-0123456789abcdef",
    "unknown link": "unknown-link-0123456789abcdef",
}


@pytest.mark.parametrize("failure", TRACKER_FAILURES.values(), ids=TRACKER_FAILURES.keys())
async def test_no_secret_in_the_text_of_a_tracker_error(
    sandbox: SandboxTracker, failure: Fault | str | None
) -> None:
    """Errors of the real client on the real transport, whatever went wrong."""
    demo = sandbox.demo()
    bearer, link = SecretStr(demo.voter_token), SecretStr(demo.link_token)
    url = sandbox.base_url
    if isinstance(failure, Fault):
        sandbox.queue_fault(failure)
    elif failure is None:
        url = _closed_port()
    elif failure.startswith("unknown-bearer"):
        bearer = SecretStr(failure)
    else:
        link = SecretStr(failure)
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        discord_token="unused",
        tracker_api_url=url,
        tracker_read_timeout=0.3,
        tracker_connect_timeout=0.3,
    )
    async with create_http_client(settings) as http:
        with pytest.raises(TrackerError) as caught:
            await TrackerClient(http, settings.tracker_base_url).vote(
                link, VoteType.ADD, bearer=bearer
            )

    secrets = {"bearer": bearer.get_secret_value(), "link token": link.get_secret_value()}
    assert _leaks(_exception_texts(caught.value), secrets) == []


async def test_no_secret_in_the_repr_of_what_the_bot_holds(world: BotWorld) -> None:
    await world.add_link()
    await world.connect(ALICE, world.demo.voter_token)
    held = [
        world.settings,
        await world.db.get_account(ALICE.id),
        *(await world.db.links_in_guild(GUILD_ID)),
        world.bot.services,
    ]
    assert _leaks([repr(value) for value in held] + [str(v) for v in held], _secrets(world)) == []


async def test_card_buttons_clicked_from_a_dm_or_by_another_servers_moderator_vote_nowhere(
    two_servers: BotWorld,
) -> None:
    """Discord only delivers clicks on buttons the message has, but not only from its channel."""
    world = two_servers
    [link] = await world.db.links_in_guild(GUILD_ID)
    [card] = await world.db.cards_of_link(link.id)
    ours = f"ctvote:vote:{link.id}:add"
    in_a_dm = button_click(ours, message_id=card.message_id, user=dm(ALICE))
    elsewhere = button_click(
        ours, message_id=card.message_id, member=OTHER_MODERATOR, channel=OTHER_CHANNEL
    )
    await _refused(world, in_a_dm, ONLY_IN_A_SERVER)
    await _refused(world, elsewhere, "belongs to another server")
    await _unchanged(world)


async def test_a_tracker_error_that_echoes_the_tokens_reaches_nobody_with_them(
    world: BotWorld, caplog: pytest.LogCaptureFixture, production_logging: None
) -> None:
    caplog.set_level(logging.DEBUG)
    log_here = slash(
        "config", "log-channel", options={"channel": VOTING}, member=MODERATOR, channel=GENERAL
    )
    await (await world.run(log_here)).final()
    await world.add_link()
    await world.connect(ALICE, world.demo.voter_token)
    world.sandbox.queue_fault(Fault.echo_400())
    secrets = {"API token": world.demo.voter_token, "link token": world.demo.link_token}

    answer = await private_answer(await world.vote(ALICE))

    [request] = [r for r in world.sandbox.requests if r.bearer]
    assert request.status == 400  # the tracker's text did quote both
    logged = await world.fake.wait_for_channel_message(
        VOTING.id, lambda m: "Tracker error on /vote add" in m.content
    )
    assert "Invalid request: token" in logged.content  # the rest of its text stays
    [entry] = await world.ledger()
    assert entry.message is not None
    assert "Invalid request: token" in entry.message
    history = await world.answer("links", "history", member=MODERATOR, name="link")
    assert "refused: vote limit reached or request invalid" in history.content
    export = await world.answer("links", "export", member=MODERATOR, name="link")
    [file] = export.files
    texts = [answer.content, logged.content, entry.message, history.content]
    assert _leaks([*texts, *_log_texts(caplog.records)], secrets) == []
    assert _leaks([file.data.decode()], secrets) == []
