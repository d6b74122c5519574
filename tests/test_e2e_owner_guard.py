"""A member known to own the link's session confirms before a vote that would be a penalty."""

from __future__ import annotations

from datetime import timedelta

from storage.models import LedgerStatus
from tests.bot_world import GENERAL, OWNER, BotWorld
from tests.fake_discord import Exchange, SentMessage, button_click


async def learn_the_links_session(world: BotWorld) -> None:
    """The bot learns which session a link resolves to from its first played vote."""
    await world.add_link()
    await (await world.command("vote", "add", member=OWNER)).final()  # anonymous: no penalty
    assert world.sandbox.requests[-1].bearer is None


async def confirmation(exchange: Exchange) -> SentMessage:
    return await exchange.wait_for_message(lambda m: bool(m.components))


async def press(world: BotWorld, message: SentMessage, label: str) -> Exchange:
    custom_id = next(
        button["custom_id"]
        for row in message.components
        for button in row["components"]
        if button["label"].startswith(label)
    )
    return await world.run(
        button_click(custom_id, message_id=message.id, member=OWNER, channel=GENERAL)
    )


async def test_owner_with_the_links_session_as_default_is_asked_and_cancel_sends_nothing(
    world: BotWorld,
) -> None:
    await learn_the_links_session(world)
    world.sandbox.advance(timedelta(hours=25))
    await world.connect(OWNER, world.demo.owner_token, str(world.demo.session_id))
    sent_before = len(world.sandbox.requests)

    asked = await confirmation(await world.command("vote", "sub", member=OWNER))

    assert asked.ephemeral
    assert "penalty" in asked.content
    assert "maximum multiplier" in asked.content
    assert len(world.sandbox.requests) == sent_before
    cancelled = await press(world, asked, "Cancel")
    await cancelled.acknowledged()
    assert world.fake.message(asked.id).content == "Nothing was sent."
    assert world.fake.message(asked.id).components == []
    assert len(world.sandbox.requests) == sent_before


async def test_confirm_sends_the_vote_and_the_penalty_is_announced(world: BotWorld) -> None:
    await learn_the_links_session(world)
    world.sandbox.advance(timedelta(hours=25))
    await world.connect(OWNER, world.demo.owner_token, str(world.demo.session_id))
    asked = await confirmation(await world.command("vote", "sub", member=OWNER))

    confirmed = await press(world, asked, "Confirm")

    public = await confirmed.wait_for_message(lambda m: not m.ephemeral)
    assert public.content.startswith("⚠️ **Penalty** on link `link`")
    assert f"<@{OWNER.id}>" in public.content
    sent = world.sandbox.requests[-1]
    assert (sent.bearer, sent.body["type"]) == (world.demo.owner_token, "sub")
    latest = (await world.ledger())[0]
    assert (latest.status, latest.penalty) == (LedgerStatus.PLAYED, True)


async def test_an_earlier_penalty_makes_the_next_vote_ask_first(world: BotWorld) -> None:
    await world.add_link()
    await world.connect(OWNER, world.demo.owner_token)
    first = await world.command("vote", "add", member=OWNER)
    assert "Penalty" in (await first.wait_for_message(lambda m: not m.ephemeral)).content
    world.sandbox.advance(timedelta(hours=25))
    sent_before = len(world.sandbox.requests)

    asked = await confirmation(await world.command("vote", "add", member=OWNER))

    assert "your own session's link" in asked.content
    assert len(world.sandbox.requests) == sent_before


async def test_a_limited_owner_is_told_the_limit_not_asked_to_confirm(world: BotWorld) -> None:
    await world.add_link()
    await world.connect(OWNER, world.demo.owner_token)
    first = await world.command("vote", "add", member=OWNER)
    await first.wait_for_message(lambda m: not m.ephemeral)  # the penalty, within the window

    answer = await (await world.command("vote", "add", member=OWNER)).final()

    assert answer.components == []
    assert "You can vote again <t:" in answer.content
