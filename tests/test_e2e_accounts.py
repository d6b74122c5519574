"""`/account connect|disconnect|status` through Discord: the modal, what is stored, what shows."""

from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import Callable, Iterator
from datetime import timedelta

import pytest
from pydantic import SecretStr

from bot import CHATTY_LIBRARIES, configure_logging
from cogs.accounts import ConnectModal
from storage.models import NewCall, NewLink, PlayedResult, VoteInterval
from tests.bot_world import ALICE, GUILD_ID, MODERATOR, VOTING, BotWorld, public_result
from tests.conftest import StoredBytes


@pytest.fixture
def debug_log(
    world: BotWorld, caplog: pytest.LogCaptureFixture
) -> Iterator[pytest.LogCaptureFixture]:
    """Everything logged with the bot's own logging set-up at LOG_LEVEL=DEBUG."""
    names = (*CHATTY_LIBRARIES, "httpx")
    saved = {name: logging.getLogger(name).level for name in names}
    configure_logging(world.settings.model_copy(update={"log_level": "DEBUG"}))
    caplog.set_level(logging.DEBUG)
    try:
        yield caplog
    finally:
        for name, level in saved.items():
            logging.getLogger(name).setLevel(level)


async def test_connect_opens_a_modal_for_the_token_and_an_optional_session(
    world: BotWorld,
) -> None:
    exchange = await world.command("account", "connect", member=ALICE)

    callback = await exchange.acknowledged()
    modal = await exchange.modal()

    assert callback.type == 9
    fields = modal.inputs()
    assert set(fields) == {"api_token", "default_session"}
    assert fields["api_token"].get("required", True) is True
    assert fields["default_session"]["required"] is False


async def test_connect_stores_the_token_encrypted_and_plays_nothing(
    world: BotWorld, debug_log: pytest.LogCaptureFixture, stored_bytes: StoredBytes
) -> None:
    token, session = world.demo.voter_token, world.demo.session_id

    answer = await world.submit_connect(ALICE, token, f" {session} ")

    assert answer.ephemeral
    assert "Connected" in answer.content
    assert f"Default session: {session}." in answer.content
    account = await world.db.get_account(ALICE.id)
    assert account is not None
    assert account.api_token.get_secret_value() == token
    assert account.default_session == session
    assert token.encode() not in await stored_bytes()
    assert token not in debug_log.text
    assert world.sandbox.requests == []


@pytest.mark.parametrize(
    ("token", "session", "complaint"),
    [
        ("valid-looking-token", "abc", "session id"),
        ("valid-looking-token", "0", "positive"),
        ("two words", "", "without spaces"),
    ],
)
async def test_bad_modal_fields_are_refused_and_nothing_is_stored(
    world: BotWorld, token: str, session: str, complaint: str
) -> None:
    answer = await world.submit_connect(ALICE, token, session)

    assert answer.ephemeral
    assert complaint in answer.content
    assert "Connected" not in answer.content
    assert await world.db.get_account(ALICE.id) is None
    assert world.sandbox.requests == []


async def test_disconnect_erases_the_token_and_votes_become_anonymous(
    world: BotWorld, stored_bytes: StoredBytes
) -> None:
    await world.add_link()
    token = world.demo.voter_token
    await world.connect(ALICE, token)

    answer = await world.answer("account", "disconnect", member=ALICE)

    assert answer.ephemeral
    assert "erased" in answer.content
    assert await world.db.get_account(ALICE.id) is None
    assert token.encode() not in await stored_bytes()
    await public_result(await world.vote(ALICE))
    assert world.sandbox.requests[-1].bearer is None


async def test_disconnect_without_account_says_so(world: BotWorld) -> None:
    answer = await world.answer("account", "disconnect", member=ALICE)

    assert answer.ephemeral
    assert "No tracker account was connected" in answer.content


async def test_status_without_account_explains_anonymous_voting(world: BotWorld) -> None:
    answer = await world.answer("account", "status", member=ALICE)

    assert answer.ephemeral
    assert "No tracker account is connected" in answer.content
    assert "/account connect" in answer.content
    assert "Votes cast through this bot: 0." in answer.content


async def test_status_shows_connection_session_votes_and_when_each_link_reopens(
    world: BotWorld,
) -> None:
    await world.add_link(name="daily")
    once_token = world.new_link_token(waitint=0)
    await world.add_link(once_token, name="once", channel=VOTING, interval="once")
    await world.connect(ALICE, world.demo.voter_token, str(world.demo.session_id))
    await public_result(await world.vote(ALICE))
    await public_result(await world.vote(ALICE, channel=VOTING))
    account = await world.db.get_account(ALICE.id)
    assert account is not None
    daily_vote = next(e for e in await world.ledger() if e.channel_id != VOTING.id)

    answer = await world.answer("account", "status", member=ALICE)

    assert answer.ephemeral
    assert f"Connected since <t:{int(account.connected_at.timestamp())}:F>" in answer.content
    assert f"Default session: {world.demo.session_id}." in answer.content
    assert "rejected" not in answer.content
    assert "Votes cast through this bot: 2." in answer.content
    reopens = int((daily_vote.created_at + timedelta(hours=24)).timestamp())
    assert f"`daily` in <#{daily_vote.channel_id}>" in answer.content
    assert f"you can vote again <t:{reopens}:R>" in answer.content
    assert f"`once` in <#{VOTING.id}>: you cannot vote again" in answer.content

    world.sandbox.advance(timedelta(hours=24, seconds=1))
    later = await world.answer("account", "status", member=ALICE)
    assert "`daily`" not in later.content
    assert "`once`" in later.content


def live_connect_forms() -> list[object]:
    """Connect forms the process still holds (each with the text a member typed into it).

    Matched by name: loading the extension gives the bot its own copy of the class.
    """
    gc.collect()
    return [form for form in gc.get_objects() if type(form).__name__ == ConnectModal.__name__]


async def until(condition: Callable[[], bool], within: float = 5) -> None:
    """Poll `condition` until it holds; fail after `within` seconds."""
    deadline = asyncio.get_running_loop().time() + within
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "the condition never held"
        await asyncio.sleep(0.01)


async def test_a_connect_form_that_failed_is_dropped_and_an_open_one_expires(
    world: BotWorld,
) -> None:
    """A rejected token's text must not stay in memory for the life of the process."""
    opened = await world.command("account", "connect", member=ALICE)
    await opened.modal()
    await until(lambda: len(live_connect_forms()) == 1)  # kept once Discord took it
    [waiting] = live_connect_forms()
    assert waiting.timeout is not None
    assert waiting.timeout <= 15 * 60  # an interaction's token lives 15 minutes

    rejected = await world.submit_connect(ALICE, "not a token because of its spaces")

    assert rejected.ephemeral
    assert "without spaces" in rejected.content
    await until(lambda: live_connect_forms() == [waiting])  # still open, until it expires


async def test_status_with_many_links_is_paged_into_messages_discord_accepts(
    world: BotWorld,
) -> None:
    """Each once-link a member voted on is one line; 40 of them need several messages."""
    await world.connect(ALICE, world.demo.voter_token)
    now = world.sandbox.now()
    names = [f"once-link-with-a-long-name-{i:04d}" for i in range(40)]
    for name in names:
        link = await world.db.add_link(
            NewLink(
                guild_id=GUILD_ID,
                channel_id=VOTING.id,
                name=name,
                link_token=SecretStr(world.new_link_token(waitint=0)),
                interval=VoteInterval.ONCE,
                added_by=MODERATOR.id,
            ),
            now=now,
        )
        call = NewCall(
            user_id=ALICE.id,
            guild_id=GUILD_ID,
            channel_id=VOTING.id,
            link_id=link.id,
            session_id=None,
            game="link",
            dom=False,
            vote_type="add",
            anonymous=False,
        )
        entry_id = await world.db.begin_call(call, now=now)
        played = PlayedResult(
            operation="ADD",
            seconds=60,
            multiplier=1.0,
            penalty=False,
            scheduled_end=None,
            session_id=None,
        )
        await world.db.finish_played(entry_id, played, now=now)

    exchange = await world.command("account", "status", member=ALICE)
    first = await exchange.final()
    shown = await exchange.wait_for_message(lambda m: f"`{names[0]}`" in m.content)  # the oldest

    pages = [m for m in exchange.messages if m.content]
    assert len(pages) > 1
    assert all(page.ephemeral for page in pages)
    assert all(len(page.content) <= 2000 for page in pages)
    assert first.content.startswith("Connected since")
    assert shown.ephemeral
    text = "\n".join(page.content for page in pages)
    assert all(f"`{name}` in <#{VOTING.id}>: you cannot vote again" in text for name in names)
    assert world.fake.errors == []
