"""`/vote add|sub|rand` through Discord: what the tracker received, what channel and voter saw."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from datetime import timedelta

import httpx
import pytest

from storage.models import LedgerStatus
from tests.bot_world import (
    ALICE,
    BOB,
    GENERAL,
    GUILD_ID,
    OWNER,
    VOTING,
    BotWorld,
    assert_announces_last_game,
    public_messages,
    public_result,
    refusal,
)
from tests.fake_discord import autocomplete, slash
from tracker.sandbox import GAMES_PATH, Fault

EPHEMERAL = 1 << 6
MINUS = "\N{MINUS SIGN}"
UNKNOWN = "may or may not have counted"


async def vote_directly(world: BotWorld, bearer: str | None = None) -> None:
    """Vote on the demo link without the bot, as the member could on the tracker's own page."""
    headers = {"Authorization": f"Bearer {bearer}"} if bearer else {}
    body = {"game": "link", "dom": 0, "token": world.demo.link_token, "type": "add"}
    async with httpx.AsyncClient() as client:
        response = await client.post(
            world.sandbox.base_url + GAMES_PATH, json=body, headers=headers
        )
    assert response.status_code == 200, response.text


# Played votes


async def test_connected_vote_sends_the_members_token_and_is_announced(world: BotWorld) -> None:
    await world.add_link()
    await world.connect(ALICE, world.demo.voter_token)

    exchange = await world.vote(ALICE, "add")
    announced = await public_result(exchange)

    (sent,) = world.sandbox.requests
    assert sent.body == {"game": "link", "dom": 0, "token": world.demo.link_token, "type": "add"}
    assert sent.bearer == world.demo.voter_token
    assert_announces_last_game(world, announced, ALICE)
    assert "shared vote" not in announced.content
    assert announced.channel_id == GENERAL.id
    confirmation = await exchange.final()
    assert confirmation.ephemeral
    assert "counted" in confirmation.content
    (entry,) = await world.ledger()
    assert (entry.status, entry.user_id, entry.anonymous) == (LedgerStatus.PLAYED, ALICE.id, False)


@pytest.mark.parametrize("kind", ["add", "sub", "rand"])
async def test_vote_without_account_is_anonymous_with_no_bearer(world: BotWorld, kind: str) -> None:
    await world.add_link()

    announced = await public_result(await world.vote(BOB, kind))

    (sent,) = world.sandbox.requests
    assert sent.body == {"game": "link", "dom": 0, "token": world.demo.link_token, "type": kind}
    assert sent.bearer is None
    assert_announces_last_game(world, announced, BOB)
    assert "with the channel's shared vote" in announced.content
    (entry,) = await world.ledger()
    assert (entry.anonymous, entry.vote_type) == (True, kind)


async def test_sub_shows_the_exact_signed_change_and_multiplier(world: BotWorld) -> None:
    """A session whose link always gives 45 minutes at ×1: the message must say −45m ×1."""
    token = world.new_link_token(link_min_seconds=2700, link_max_seconds=2700, max_multiplier=1.0)
    await world.add_link(token)

    announced = await public_result(await world.vote(ALICE, "sub"))

    assert f"**{MINUS}45m** ×1 " in announced.content


async def test_penalty_is_announced_with_whose_vote_caused_it(world: BotWorld) -> None:
    await world.add_link()
    await world.connect(OWNER, world.demo.owner_token, str(world.demo.session_id))

    exchange = await world.vote(OWNER, "sub")
    announced = await public_result(exchange)

    assert world.sandbox.requests[-1].bearer == world.demo.owner_token
    assert "**Penalty**" in announced.content
    assert f"<@{OWNER.id}> voted on their own link" in announced.content
    assert_announces_last_game(world, announced, OWNER)
    assert "penalty" in (await exchange.final()).content
    (entry,) = await world.ledger()
    assert entry.penalty is True
    assert entry.operation == "ADD"


# Which link


async def test_link_autocomplete_offers_the_names_of_this_channels_links(world: BotWorld) -> None:
    await world.add_link(name="alpha")
    await world.add_link(world.new_link_token(), name="beta")
    await world.add_link(world.new_link_token(), name="elsewhere", channel=VOTING)

    def typing(text: str) -> dict[str, object]:
        return autocomplete(
            "vote", "add", focused="link", options={"link": text}, member=ALICE, channel=GENERAL
        )

    everything = await (await world.run(typing(""))).autocomplete_choices()
    assert [(c["name"], c["value"]) for c in everything] == [("alpha", "alpha"), ("beta", "beta")]
    narrowed = await (await world.run(typing("B"))).autocomplete_choices()
    assert [c["value"] for c in narrowed] == ["beta"]


async def test_a_channel_with_several_links_needs_the_link_option(world: BotWorld) -> None:
    await world.add_link(name="alpha")
    beta_token = world.new_link_token()
    await world.add_link(beta_token, name="beta")

    answer = await refusal(await world.vote(ALICE))
    assert "several links" in answer.content
    assert "`alpha`" in answer.content
    assert "`beta`" in answer.content
    assert world.sandbox.requests == []

    await public_result(await world.vote(ALICE, link="beta"))
    (sent,) = world.sandbox.requests
    assert sent.body is not None
    assert sent.body["token"] == beta_token


async def test_a_channel_without_link_refuses_and_sends_nothing(world: BotWorld) -> None:
    await world.add_link(channel=VOTING)

    answer = await refusal(await world.vote(ALICE, channel=GENERAL))

    assert "no link" in answer.content
    assert "/links add" in answer.content
    assert world.sandbox.requests == []
    assert await world.ledger() == []


async def test_a_vote_crafted_in_a_dm_is_refused(world: BotWorld) -> None:
    await world.add_link()

    answer = await refusal(await world.run(slash("vote", "add", user=ALICE.user)))

    assert "only in a server channel" in answer.content
    assert world.sandbox.requests == []


# A slow tracker and a double click


async def test_slow_tracker_is_acknowledged_within_three_seconds_then_answered(
    world: BotWorld,
) -> None:
    await world.add_link()
    world.sandbox.gate = asyncio.Event()

    exchange = await world.vote(ALICE)
    callback = await exchange.acknowledged()
    await world.sandbox.wait_for_requests(1)

    assert callback.type == 5  # deferred: "thinking…"
    assert callback.data.get("flags", 0) & EPHEMERAL
    assert exchange.ack_delay is not None
    assert exchange.ack_delay < 3
    assert world.sandbox.requests[0].status is None  # still waiting at the tracker
    assert public_messages(exchange) == []

    world.sandbox.gate.set()
    announced = await public_result(exchange)
    assert_announces_last_game(world, announced, ALICE)
    assert exchange.errors == []


async def test_double_click_sends_one_request(world: BotWorld) -> None:
    await world.add_link()
    await world.connect(ALICE, world.demo.voter_token)
    world.sandbox.gate = asyncio.Event()

    first = await world.vote(ALICE)
    await world.sandbox.wait_for_requests(1)
    second = await world.vote(ALICE)
    answer = await refusal(second)

    assert "already on its way" in answer.content
    world.sandbox.gate.set()
    await public_result(first)
    assert len(world.sandbox.requests) == 1
    (entry,) = await world.ledger()
    assert entry.status is LedgerStatus.PLAYED


async def test_anonymous_vote_on_its_way_is_the_channels_not_the_next_voters(
    world: BotWorld,
) -> None:
    await world.add_link()
    world.sandbox.gate = asyncio.Event()

    first = await world.vote(ALICE)
    await world.sandbox.wait_for_requests(1)
    answer = await refusal(await world.vote(BOB))

    assert "shared vote" in answer.content
    assert "Your vote" not in answer.content
    assert "/account connect" in answer.content
    world.sandbox.gate.set()
    await public_result(first)
    assert len(world.sandbox.requests) == 1


# Vote limits mirrored locally


async def test_daily_link_refuses_a_second_vote_until_24_hours_passed(world: BotWorld) -> None:
    await world.add_link()
    await world.connect(ALICE, world.demo.voter_token)
    await public_result(await world.vote(ALICE))
    (first,) = await world.ledger()

    answer = await refusal(await world.vote(ALICE, "sub"))
    reopens = int((first.created_at + timedelta(hours=24)).timestamp())
    assert f"<t:{reopens}:R>" in answer.content
    assert "24 hours" in answer.content
    assert len(world.sandbox.requests) == 1

    world.sandbox.advance(timedelta(hours=24, seconds=1))
    await public_result(await world.vote(ALICE, "sub"))
    assert len(world.sandbox.requests) == 2


async def test_once_link_refuses_a_second_vote_for_good(world: BotWorld) -> None:
    await world.add_link(interval="once")
    await world.connect(ALICE, world.demo.voter_token)
    await public_result(await world.vote(ALICE))
    world.sandbox.advance(timedelta(days=30))

    answer = await refusal(await world.vote(ALICE))

    assert "one vote per person" in answer.content
    assert "<t:" not in answer.content
    assert len(world.sandbox.requests) == 1


async def test_members_without_account_share_the_channels_anonymous_vote(
    world: BotWorld,
) -> None:
    await world.add_link()
    await public_result(await world.vote(ALICE))

    answer = await refusal(await world.vote(BOB))

    assert "Members without a connected account share one vote" in answer.content
    assert "has been used" in answer.content
    assert "/account connect" in answer.content
    assert len(world.sandbox.requests) == 1


async def test_link_for_connected_accounts_only_refuses_anonymous_voters(
    world: BotWorld,
) -> None:
    await world.add_link(anonymous=False)

    answer = await refusal(await world.vote(ALICE))

    assert "Only members with a connected account can vote" in answer.content
    assert "/account connect" in answer.content
    assert world.sandbox.requests == []
    await world.connect(ALICE, world.demo.voter_token)
    await public_result(await world.vote(ALICE))
    assert world.sandbox.requests[-1].bearer == world.demo.voter_token


# The tracker's refusals and failures, as the member sees them


async def test_tracker_cooldown_is_explained_in_our_words(world: BotWorld) -> None:
    """The member already voted on the tracker itself: the bot's ledger cannot know that.

    The member reads our sentence for the tracker's COOLDOWN code, in their language; the
    tracker's own English text is kept in the ledger (and the moderators' log).
    """
    await world.add_link()
    await world.connect(ALICE, world.demo.voter_token)
    await vote_directly(world, world.demo.voter_token)

    answer = await refusal(await world.vote(ALICE))

    assert "vote limit" in answer.content
    assert "again after" not in answer.content
    assert [r.status for r in world.sandbox.requests] == [200, 400]
    (entry,) = await world.ledger()
    assert (entry.status, entry.reason) == (LedgerStatus.REFUSED, "rejected")
    assert "You can vote on this link again after" in (entry.message or "")


async def test_anonymous_cooldown_says_how_to_get_a_vote_of_ones_own(world: BotWorld) -> None:
    await world.add_link()
    await vote_directly(world)  # from the bot's address, with no account: the shared vote

    answer = await refusal(await world.vote(BOB))

    assert "share one vote" in answer.content
    assert "/account connect" in answer.content


async def test_rejected_token_marks_the_account_and_stops_further_votes(world: BotWorld) -> None:
    await world.add_link()
    await world.connect(ALICE, "not-a-real-token")

    answer = await refusal(await world.vote(ALICE))
    assert "rejected your API token" in answer.content
    assert "/account connect" in answer.content
    account = await world.db.get_account(ALICE.id)
    assert account is not None
    assert account.token_rejected is True

    status = await world.answer("account", "status", member=ALICE)
    assert "rejected" in status.content
    again = await refusal(await world.vote(ALICE))
    assert "rejected" in again.content
    assert len(world.sandbox.requests) == 1


async def test_unknown_link_token_is_reported_as_not_found(world: BotWorld) -> None:
    await world.add_link("no-such-link-token")

    answer = await refusal(await world.vote(ALICE))

    assert "does not know this link" in answer.content
    (entry,) = await world.ledger()
    assert (entry.status, entry.reason) == (LedgerStatus.REFUSED, "not_found")


@pytest.mark.parametrize(
    "fault",
    [
        Fault.json_500(),
        Fault.html_500(apply_game=True),
        Fault.non_json_200(apply_game=True),
        Fault.drop(),
        Fault.drop(apply_game=True),
    ],
    ids=["json-500", "html-500", "non-json-200", "dropped", "dropped-after-playing"],
)
async def test_no_usable_answer_says_the_vote_may_or_may_not_have_counted(
    world: BotWorld, fault: Fault
) -> None:
    await world.add_link()
    await world.connect(ALICE, world.demo.voter_token)
    world.sandbox.queue_fault(fault)

    answer = await refusal(await world.vote(ALICE))

    assert UNKNOWN in answer.content
    assert "before trying again" in answer.content
    assert len(world.sandbox.requests) == 1  # never retried
    (entry,) = await world.ledger()
    assert entry.status is LedgerStatus.UNKNOWN


async def test_rate_limited_vote_asks_to_try_again_later(world: BotWorld) -> None:
    await world.add_link()
    world.sandbox.queue_fault(Fault.rate_limited(30))

    answer = await refusal(await world.vote(ALICE))

    assert "asked the bot to wait" in answer.content
    assert "nothing was sent" in answer.content
    assert "Try again <t:" in answer.content
    (entry,) = await world.ledger()
    assert (entry.status, entry.reason) == (LedgerStatus.REFUSED, "rate_limited")
    assert entry.guild_id == GUILD_ID


# A vote racing the link's removal


@pytest.mark.sqlite_only  # another program edits the file; on PostgreSQL see test_storage_ledger
async def test_a_vote_racing_the_links_removal_is_told_so_and_logs_no_error(
    world: BotWorld, caplog: pytest.LogCaptureFixture
) -> None:
    """The link goes after the vote found it and before its ledger row: a removal, not a bug."""
    await world.add_link()
    choices = await world.run(
        autocomplete(
            "vote", "add", focused="link", options={"link": ""}, member=ALICE, channel=GENERAL
        )
    )
    assert [c["value"] for c in await choices.autocomplete_choices()] == ["link"]
    # The removal lands between the vote's reading of the channel's links and its ledger row.
    with sqlite3.connect(world.settings.database_path) as conn:
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute("DELETE FROM channel_links WHERE guild_id = ?", (GUILD_ID,))
    conn.close()

    with caplog.at_level(logging.WARNING):
        answer = await refusal(await world.vote(ALICE))

    assert "just been removed" in answer.content
    assert "went wrong" not in answer.content
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []
    assert world.sandbox.requests == []


# Link names as typed


async def test_a_link_name_is_found_however_it_is_typed_in_vote_and_autocomplete(
    world: BotWorld,
) -> None:
    await world.add_link(name="My Link")
    await world.add_link(world.new_link_token(), name="other")

    choices = await world.run(
        autocomplete(
            "vote", "add", focused="link", options={"link": "My L"}, member=ALICE, channel=GENERAL
        )
    )
    assert [c["value"] for c in await choices.autocomplete_choices()] == ["my-link"]
    announced = await public_result(await world.vote(ALICE, link="  My   LINK "))
    assert "on link `my-link`" in announced.content


async def test_an_unknown_link_name_is_quoted_plainly_with_the_channels_names(
    world: BotWorld,
) -> None:
    await world.add_link(name="alpha")
    await world.add_link(world.new_link_token(), name="beta")

    answer = await refusal(await world.vote(ALICE, link="no_such *link*"))

    assert "“no\\_such \\*link\\*”" in answer.content  # escaped, so outside a code span
    assert "`alpha`" in answer.content  # listed the language's way: "`alpha` and `beta`"
    assert "`beta`" in answer.content


# Our own words keep their formatting


async def test_a_tracker_refusal_keeps_the_formatting_of_our_hint(world: BotWorld) -> None:
    await world.add_link()
    await vote_directly(world)  # the bot's address has used the shared anonymous vote

    answer = await refusal(await world.vote(BOB))

    assert "vote limit" in answer.content  # our sentence for the tracker's COOLDOWN
    assert "\\" not in answer.content, answer.content
    connect, help_account = world.mention("account connect"), world.mention("help", "account")
    assert answer.content.endswith(
        f"Connect your own account with {connect} to get a vote of your own; {help_account} "
        "explains how."
    ), answer.content
