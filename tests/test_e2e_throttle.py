"""One member, one wrong link or one busy moment must not get the bot blocked by the tracker.

Every game call goes out from the bot's one address: each test presses or types as members do,
then counts what reached the tracker, what the ledger holds and what the moderators' log got.
Waits are moved with the sandbox's clock (the bot's injected clock), never slept through.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from storage.models import LedgerStatus
from tests.bot_world import ALICE, BOB, DOM, GENERAL, MODERATOR, OWNER, VOTING, BotWorld
from tests.fake_discord import Member, SentMessage, button_click, slash
from tests.helpers_faults import connected_member, new_member, private_answer
from tests.helpers_ledger import calls
from tests.test_e2e_cards import buttons, posted_card
from tracker.sandbox import Fault

TRY_AGAIN = "Try again <t:"


async def log_to_voting(world: BotWorld) -> None:
    payload = slash(
        "config", "log-channel", options={"channel": VOTING}, member=MODERATOR, channel=GENERAL
    )
    await (await world.run(payload)).final()


async def tracker_error_posts(world: BotWorld) -> list[SentMessage]:
    """The log's tracker error posts, once every post made so far has arrived.

    Log posts follow the member's answer; a configuration change posted after them is the marker
    that the ones before it are in.
    """
    name = f"marker{len(world.fake.channel_messages(VOTING.id))}"
    token = world.new_link_token()
    await world.answer("links", "add", member=MODERATOR, token=token, name=name, channel=VOTING)
    await world.fake.wait_for_channel_message(VOTING.id, lambda m: f"`{name}`" in m.content)
    return [m for m in world.fake.channel_messages(VOTING.id) if "Tracker error" in m.content]


async def press(world: BotWorld, card: SentMessage, member: Member) -> SentMessage:
    custom_id = next(b["custom_id"] for b in buttons(card) if b["label"] == "Add time")
    exchange = await world.run(
        button_click(custom_id, message_id=card.id, member=member, channel=GENERAL)
    )
    return await exchange.final()


async def test_presses_on_a_card_whose_link_the_tracker_does_not_know_reach_it_once(
    world: BotWorld,
) -> None:
    """The first 404 flags the link to the moderators; further presses wait without a request."""
    await log_to_voting(world)
    await world.add_link("no-such-link-token-on-the-tracker")
    card = await posted_card(world)
    members = [new_member("presser") for _ in range(10)]

    answers = [await press(world, card, members[i % 10]) for i in range(50)]

    assert len(world.sandbox.requests) == 1
    assert "does not know this link" in answers[0].content
    for answer in answers[1:]:
        assert answer.ephemeral
        assert "does not know this link" in answer.content
        assert TRY_AGAIN in answer.content
    assert len(await world.ledger()) == 1
    assert await tracker_error_posts(world) == []  # not the generic tracker error…
    [posted] = [m for m in world.fake.channel_messages(VOTING.id) if "HTTP 404" in m.content]
    assert posted.content.startswith(  # …but which link, and what now happens to its votes
        f"⚠️ The tracker does not know link `link` in <#{GENERAL.id}> (HTTP 404)"
    )
    assert "Votes on it now wait" in posted.content

    world.sandbox.advance(timedelta(minutes=15))
    await press(world, card, members[0])
    assert len(world.sandbox.requests) == 2


async def test_a_member_refused_again_and_again_waits_before_the_bot_sends_more(
    world: BotWorld,
) -> None:
    """`/dom dice` looped over other people's sessions: a few refusals, then a growing wait."""
    await log_to_voting(world)
    await world.connect(DOM, world.demo.dom_token)
    others = [world.sandbox.add_session(world.sandbox.add_user()).id for _ in range(20)]

    answers = [
        await private_answer(await world.command("dom", "dice", member=DOM, session=session))
        for session in others
    ]

    assert len(world.sandbox.requests) == 3
    assert all(
        "this session is not yours, or your account is not registered as its dom" in a.content
        for a in answers[:3]
    )
    for answer in answers[3:]:
        assert "refused your last requests" in answer.content
        assert TRY_AGAIN in answer.content
    assert len(await world.ledger()) == 3
    assert len(await tracker_error_posts(world)) == 1

    # Others are not held up, and the wait ends on time, then grows with the next refusal.
    await world.connect(OWNER, world.demo.owner_token, str(world.demo.session_id))
    await private_answer(await world.command("dom", "luck", member=OWNER, session=others[0]))
    assert len(world.sandbox.requests) == 4
    world.sandbox.advance(timedelta(seconds=30))
    await private_answer(await world.command("dom", "dice", member=DOM, session=others[0]))
    assert len(world.sandbox.requests) == 5
    world.sandbox.advance(timedelta(seconds=30))  # half of the doubled wait
    later = await private_answer(await world.command("dom", "dice", member=DOM, session=others[1]))
    assert TRY_AGAIN in later.content
    assert len(world.sandbox.requests) == 5


async def test_a_429_pauses_every_members_calls_for_its_retry_after(world: BotWorld) -> None:
    await world.add_link()
    await world.connect(ALICE, world.demo.voter_token)
    await world.connect(OWNER, world.demo.owner_token, str(world.demo.session_id))
    world.sandbox.queue_fault(Fault.rate_limited(retry_after=30))

    limited = await private_answer(await world.vote(ALICE))
    assert (
        "The tracker asked the bot to wait, so nothing was sent. Try again <t:" in limited.content
    )
    paused = [
        await private_answer(await world.vote(BOB)),
        await private_answer(await world.command("dice", member=OWNER)),
    ]
    world.sandbox.advance(timedelta(seconds=20))
    paused.append(await private_answer(await world.vote(BOB)))

    assert len(world.sandbox.requests) == 1
    for answer in paused:
        assert "asked the bot to wait" in answer.content
        assert TRY_AGAIN in answer.content
    assert len(await world.ledger()) == 1

    world.sandbox.advance(timedelta(seconds=10))
    voted = await (await world.vote(BOB)).wait_for_message(lambda m: not m.ephemeral)
    assert f"<@{BOB.id}> voted" in voted.content
    assert len(world.sandbox.requests) == 2


async def test_repeated_tracker_errors_are_posted_once_then_counted(world: BotWorld) -> None:
    await log_to_voting(world)
    await world.add_link()
    for _ in range(3):
        world.sandbox.queue_fault(Fault.html_500())
        member, _ = await connected_member(world)
        await private_answer(await world.vote(member))

    [first] = await tracker_error_posts(world)
    assert "HTTP 500" in first.content

    world.sandbox.advance(timedelta(minutes=10))
    world.sandbox.queue_fault(Fault.html_500())
    member, _ = await connected_member(world)
    await private_answer(await world.vote(member))
    first_again, second = await tracker_error_posts(world)
    assert first_again.id == first.id
    assert "HTTP 500" in second.content
    assert "2 more like it" in second.content


async def test_a_call_that_waits_too_long_for_a_slot_is_told_the_bot_is_busy(
    world: BotWorld,
) -> None:
    await world.stop()
    await world.start(call_slot_wait_seconds=0.2)
    await world.add_link()
    voters = [new_member("voter") for _ in range(101)]
    for member in voters:
        token = world.sandbox.add_user().api_token
        await world.db.save_account(member.id, token, None, now=world.sandbox.now())
    world.sandbox.gate = gate = asyncio.Event()
    under_way = await asyncio.gather(*(world.vote(member) for member in voters[:100]))
    await world.sandbox.wait_for_requests(100)

    busy = await private_answer(await world.vote(voters[100]))

    assert "busy" in busy.content
    assert "Try again in a moment" in busy.content
    assert len(await world.ledger()) == 100
    gate.set()
    for exchange in under_way:
        await exchange.wait_for_message(lambda m: not m.ephemeral)
    again = await world.vote(voters[100])
    assert (
        f"<@{voters[100].id}> voted"
        in (await again.wait_for_message(lambda m: not m.ephemeral)).content
    )
    played = calls(world.ledger_location, LedgerStatus.PLAYED)
    assert len(played) == 101


async def test_a_member_plays_one_game_at_a_time_whatever_the_session(world: BotWorld) -> None:
    """A second session is no way around the double-click guard."""
    await world.connect(DOM, world.demo.dom_token)
    other = world.sandbox.add_session(world.sandbox.add_user(), dom=None).id
    world.sandbox.gate = gate = asyncio.Event()
    first = await world.command("dom", "dice", member=DOM, session=world.demo.session_id)
    await world.sandbox.wait_for_requests(1)

    second = await private_answer(await world.command("dom", "luck", member=DOM, session=other))

    assert "still on its way" in second.content
    gate.set()
    await first.wait_for_message(lambda m: not m.ephemeral)
    assert len(world.sandbox.requests) == 1
