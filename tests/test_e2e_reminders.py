"""Opt-in DMs when a daily link reopens: one per reopening, none after opting out."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest

from tests.bot_world import ALICE, BOB, BotWorld
from tests.fake_discord import Member, SentMessage


async def vote(world: BotWorld, member) -> None:
    await (await world.command("vote", "add", member=member)).final()


async def dm(world: BotWorld, member) -> SentMessage:
    return await world.fake.wait_for_channel_message(world.fake.dm_channel_id(member.id))


@pytest.fixture
async def two_voters(world: BotWorld) -> BotWorld:
    """ALICE votes first, BOB two hours later; both connected to their own tracker accounts."""
    await world.add_link()
    await world.connect(ALICE, world.demo.voter_token)
    await world.connect(BOB, world.sandbox.add_user().api_token)
    await vote(world, ALICE)
    world.sandbox.advance(timedelta(hours=2))
    await vote(world, BOB)
    return world


async def test_one_dm_per_reopening(two_voters: BotWorld) -> None:
    world = two_voters
    on = await world.answer("remind", "on", member=ALICE)
    await world.answer("remind", "on", member=BOB)
    assert on.ephemeral
    assert "Reminders are on" in on.content

    world.sandbox.advance(timedelta(hours=23))  # ALICE's vote is 25 h old, BOB's 23 h
    reminder = await dm(world, ALICE)
    world.sandbox.advance(timedelta(hours=2))  # now BOB's reopens too
    await dm(world, BOB)

    assert reminder.content.startswith("Link `link`")
    assert "reopened for you" in reminder.content
    assert reminder.allowed_mentions == {"parse": []}
    assert len(world.fake.dm_messages(ALICE.id)) == 1  # rounds after it sent nothing more


async def test_no_dm_after_opting_out(two_voters: BotWorld) -> None:
    world = two_voters
    await world.answer("remind", "on", member=ALICE)
    await world.answer("remind", "on", member=BOB)
    off = await world.answer("remind", "off", member=ALICE)
    assert off.content == "Reminders are off."

    world.sandbox.advance(timedelta(hours=30))  # both reopened; ALICE's first
    await dm(world, BOB)

    assert world.fake.dm_messages(ALICE.id) == []


async def test_reminders_survive_a_restart(two_voters: BotWorld) -> None:
    world = two_voters
    await world.answer("remind", "on", member=ALICE)
    await world.restart()

    world.sandbox.advance(timedelta(hours=23))

    assert "reopened for you" in (await dm(world, ALICE)).content


async def test_closed_dms_are_logged_once_and_not_retried(
    two_voters: BotWorld, caplog: pytest.LogCaptureFixture
) -> None:
    world = two_voters
    carol = Member(820_000_000_000_000_009, "carol")
    await world.connect(carol, world.sandbox.add_user().api_token)
    world.sandbox.advance(timedelta(hours=2))
    await vote(world, carol)  # ALICE voted at 0 h, BOB at 2 h, CAROL at 4 h
    world.fake.close_dms(ALICE.id)
    for member in (ALICE, BOB, carol):
        await world.answer("remind", "on", member=member)
    caplog.set_level(logging.INFO, logger="cogs.reminders")

    world.sandbox.advance(timedelta(hours=23))  # ALICE and BOB due, in that order
    await dm(world, BOB)
    world.sandbox.advance(timedelta(hours=2))  # CAROL due: a later round
    await dm(world, carol)

    refusals = [r for r in caplog.records if "not delivered" in r.getMessage()]
    assert len(refusals) == 1
    assert str(ALICE.id) in refusals[0].getMessage()


async def test_status_says_whether_reminders_are_on(world: BotWorld) -> None:
    await world.answer("remind", "on", member=ALICE)
    status = await world.answer("account", "status", member=ALICE)
    assert "Reminders when a link reopens: on" in status.content
