"""An interaction that reaches the bot twice is played once and answered once, on both backends.

During a rolling restart Discord may deliver one INTERACTION_CREATE to the old and the new
session; a game call is not idempotent.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace

import pytest

from services.actor import Actor
from services.container import Services
from storage.errors import InteractionSeen
from tests.bot_world import ALICE, BotWorld, public_messages, public_result
from tracker.models import Game
from tracker.sandbox import SandboxTracker

ALREADY_ACKNOWLEDGED = 40060


async def refused_as_acknowledged(world: BotWorld, exchange_errors: list) -> None:
    """Wait until the second delivery's acknowledgement was refused by Discord."""
    deadline = asyncio.get_running_loop().time() + 5
    while not any(error.code == ALREADY_ACKNOWLEDGED for error in exchange_errors):
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"no second acknowledgement: {exchange_errors}")
        await asyncio.sleep(0.01)


async def test_a_vote_delivered_twice_is_played_and_answered_once(world: BotWorld) -> None:
    await world.add_link()
    await world.connect(ALICE, world.demo.voter_token)
    world.sandbox.gate = gate = asyncio.Event()
    exchange = await world.vote(ALICE)
    await world.sandbox.wait_for_requests(1)

    await world.fake.redeliver(exchange)
    await refused_as_acknowledged(world, exchange.errors)
    gate.set()

    assert f"<@{ALICE.id}> voted" in (await public_result(exchange)).content
    assert len(world.sandbox.requests) == 1
    assert len(public_messages(exchange)) == 1
    assert [entry.status.value for entry in await world.ledger()] == ["played"]
    unexpected = [e for e in world.fake.errors if e.code != ALREADY_ACKNOWLEDGED]
    assert unexpected == []


async def test_the_ledger_refuses_a_second_call_for_one_interaction(
    services: Services, sandbox: SandboxTracker
) -> None:
    """Behind Discord's refusal, the database: one call per interaction id, whoever asks."""
    demo = sandbox.demo()
    owner = Actor(user_id=5, guild_id=10, channel_id=20, interaction_id=123)
    await services.accounts.connect(owner, demo.owner_token, str(demo.session_id))
    await services.games.play(owner, Game.DICE, None, as_dom=False)

    with pytest.raises(InteractionSeen):
        await services.games.play(owner, Game.DICE, None, as_dom=False)
    await services.games.play(replace(owner, interaction_id=124), Game.DICE, None, as_dom=False)
    assert len(sandbox.requests) == 2
