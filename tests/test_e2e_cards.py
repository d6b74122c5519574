"""Link cards end to end: posted with the link, voted through, kept current, disabled on removal."""

from __future__ import annotations

import json
import re
import time

from storage.models import LedgerStatus
from tests.bot_world import ALICE, BOB, GENERAL, MODERATOR, VOTING, BotWorld
from tests.fake_discord import Member, SentMessage, button_click

BUTTON_ID = re.compile(r"ctvote:vote:(\d+):(add|sub|rand)")


def buttons(card: SentMessage) -> list[dict]:
    return [button for row in card.components for button in row["components"]]


def field(card: SentMessage, name: str) -> str:
    (embed,) = card.embeds
    return next(f["value"] for f in embed["fields"] if f["name"] == name)


async def posted_card(world: BotWorld, channel_id: int = GENERAL.id) -> SentMessage:
    return await world.fake.wait_for_channel_message(channel_id, lambda m: bool(m.components))


async def click(world: BotWorld, card: SentMessage, label: str, member: Member):
    custom_id = next(b["custom_id"] for b in buttons(card) if b["label"] == label)
    return await world.run(
        button_click(custom_id, message_id=card.id, member=member, channel=GENERAL)
    )


async def test_adding_a_link_posts_a_card_whose_buttons_carry_the_link_id_not_its_token(
    world: BotWorld,
) -> None:
    reply = await world.add_link(name="main")
    card = await posted_card(world)

    assert "card is posted" in reply.content
    assert not card.ephemeral
    assert [b["label"] for b in buttons(card)] == ["Add time", "Remove time", "Random", "Stats"]
    (link,) = await world.db.links_in_guild(GENERAL.guild_id)
    assert [BUTTON_ID.fullmatch(b["custom_id"]).groups() for b in buttons(card)[:3]] == [
        (str(link.id), "add"),
        (str(link.id), "sub"),
        (str(link.id), "rand"),
    ]
    assert buttons(card)[3]["custom_id"] == f"ctvote:stats:{link.id}"
    assert world.demo.link_token not in json.dumps([card.embeds, card.components])
    assert card.embeds[0]["title"] == "Vote on link “main”"
    assert field(card, "In total") == "0 votes (0 with an account, 0 shared)"
    assert field(card, "Scheduled end") == "Not known yet."


async def test_a_button_votes_like_the_command_and_the_card_shows_the_result(
    world: BotWorld,
) -> None:
    await world.add_link()
    card = await posted_card(world)
    await world.connect(ALICE, world.demo.voter_token)

    exchange = await click(world, card, "Add time", ALICE)

    assert (await exchange.final()).content == "Your vote was counted."
    public = await exchange.wait_for_message(lambda m: not m.ephemeral)
    assert public.content.startswith(f"🗳️ <@{ALICE.id}> voted on link `link`: **+")
    sent = world.sandbox.requests[-1]
    assert sent.body == {"game": "link", "dom": 0, "token": world.demo.link_token, "type": "add"}
    assert sent.bearer == world.demo.voter_token
    (entry,) = await world.ledger()
    assert (entry.status, entry.user_id, entry.anonymous) == (LedgerStatus.PLAYED, ALICE.id, False)

    updated = await world.fake.wait_for_channel_message(
        GENERAL.id, lambda m: m.id == card.id and "1 vote" in field(m, "In total")
    )
    assert field(updated, "Today") == "1 vote (1 with an account, 0 shared)"
    assert field(updated, "Time").startswith("+")
    assert "none removed" in field(updated, "Time")
    assert f"<@{ALICE.id}>" in field(updated, "Last result")
    assert re.fullmatch(r"<t:\d+:F> \(<t:\d+:R>\)", field(updated, "Scheduled end"))
    assert updated.embeds[0]["description"] == f"Session {world.demo.session_id}"


async def test_buttons_follow_the_same_rules_anonymous_votes_share_one(world: BotWorld) -> None:
    await world.add_link()
    card = await posted_card(world)
    await (await click(world, card, "Random", ALICE)).final()

    refused = await (await click(world, card, "Add time", BOB)).final()

    assert refused.ephemeral
    assert "share one vote on `link`" in refused.content
    assert "/account connect" in refused.content
    assert len(world.sandbox.requests) == 1


async def test_a_burst_of_votes_is_one_card_edit_per_window(world: BotWorld) -> None:
    """Votes that settle one after another within one refresh window share one edit.

    Each vote is answered before the next is cast, so without the window each would edit the card.
    """
    window = 3.0
    await world.stop()
    await world.start(card_refresh_seconds=window)
    await world.add_link()
    card = await posted_card(world)
    members = [Member(830_000_000_000_000_000 + n, f"voter{n}") for n in range(3)]
    for member in members:
        await world.connect(member, world.sandbox.add_user().api_token)

    started = time.monotonic()
    for member in members:
        exchange = await click(world, card, "Add time", member)
        await exchange.wait_for_message(lambda m: not m.ephemeral)
    voting_took = time.monotonic() - started

    updated = await world.fake.wait_for_channel_message(
        GENERAL.id, lambda m: m.id == card.id and "3 votes" in field(m, "In total")
    )
    assert voting_took < window, "the votes took longer than one window: a machine too slow"
    assert updated.edits == 1


async def test_cards_keep_working_after_a_restart(world: BotWorld) -> None:
    await world.add_link()
    card = await posted_card(world)
    await world.connect(ALICE, world.demo.voter_token)
    await world.restart()

    exchange = await click(world, card, "Remove time", ALICE)

    assert (await exchange.final()).content == "Your vote was counted."
    assert world.sandbox.requests[-1].body["type"] == "sub"


async def test_removing_a_link_disables_its_cards_and_old_clicks_are_refused(
    world: BotWorld,
) -> None:
    await world.add_link(channel=VOTING)  # the command is sent from #voting
    first = await posted_card(world, VOTING.id)
    again = await world.answer("links", "card", member=MODERATOR, name="link", channel=VOTING)
    assert "card is posted" in again.content
    second = await world.fake.wait_for_channel_message(
        VOTING.id, lambda m: m.components and m.id != first.id
    )

    removed = await world.answer("links", "remove", member=MODERATOR, name="link", channel=VOTING)

    assert removed.content == f"Link `link` removed from <#{VOTING.id}>."
    for card in (first, second):
        disabled = await world.fake.wait_for_channel_message(
            VOTING.id, lambda m, card_id=card.id: m.id == card_id and "removed" in str(m.embeds)
        )
        assert all(button["disabled"] for button in buttons(disabled))
    late = await world.run(
        button_click(
            buttons(first)[0]["custom_id"], message_id=first.id, member=ALICE, channel=VOTING
        )
    )
    answer = await late.final()
    assert answer.ephemeral
    assert "was removed" in answer.content
    assert world.sandbox.requests == []


async def test_a_card_click_for_a_link_of_another_server_is_refused(world: BotWorld) -> None:
    await world.add_link()
    card = await posted_card(world)
    stranger = button_click(
        buttons(card)[0]["custom_id"],
        message_id=card.id,
        member=ALICE,
        channel=GENERAL,
        guild_id=999_000_000_000_000_001,
    )
    answer = await (await world.run(stranger)).final()
    assert answer.ephemeral
    assert "another server" in answer.content
    assert world.sandbox.requests == []
