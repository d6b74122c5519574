"""`/dice`, `/luck` and `/dom dice|luck|link` through Discord, with the caller's own token."""

from __future__ import annotations

import re

import pytest

from storage.models import LedgerStatus
from tests.bot_world import (
    ALICE,
    DOM,
    OWNER,
    BotWorld,
    assert_announces_last_game,
    public_result,
    refusal,
)

MINUS = "\N{MINUS SIGN}"
DICE_LINE = re.compile(rf"^🎲 ((?:{MINUS}?\d ?)+) \(`([-+\d]+)` = (-?\d+)\)$", re.MULTILINE)


@pytest.mark.parametrize("game", ["dice", "luck"])
@pytest.mark.parametrize("named", [True, False], ids=["session-given", "default-session"])
async def test_owner_plays_on_the_named_or_saved_session(
    world: BotWorld, game: str, named: bool
) -> None:
    session = world.demo.session_id
    await world.connect(OWNER, world.demo.owner_token, "" if named else str(session))

    exchange = await world.command(game, member=OWNER, session=session if named else None)
    announced = await public_result(exchange)

    (sent,) = world.sandbox.requests
    assert sent.body == {"game": game, "dom": 0, "session": session}
    assert sent.bearer == world.demo.owner_token
    assert f"played {game.upper()} for session {session}" in announced.content
    assert_announces_last_game(world, announced, OWNER)
    assert (await exchange.final()).ephemeral
    (entry,) = await world.ledger()
    assert (entry.game, entry.dom, entry.status) == (game, False, LedgerStatus.PLAYED)


async def test_dice_message_shows_the_dice_and_their_calculation(world: BotWorld) -> None:
    await world.connect(OWNER, world.demo.owner_token, str(world.demo.session_id))

    announced = await public_result(await world.command("dice", member=OWNER))

    found = DICE_LINE.search(announced.content)
    assert found is not None, announced.content
    faces, calc, total = found.groups()
    shown = [int(face.replace(MINUS, "-")) for face in faces.split()]
    assert len(shown) == 3
    assert calc == "".join(f"{face:+d}" for face in shown)
    assert int(total) == sum(shown)
    played = world.sandbox.histories[-1]
    assert played.operation == ("SUB" if sum(shown) < 0 else "ADD")


@pytest.mark.parametrize(
    ("game", "options"),
    [("dice", {}), ("luck", {}), ("link", {"type": "sub"})],
)
async def test_dom_games_send_dom_1_with_the_doms_token(
    world: BotWorld, game: str, options: dict[str, str]
) -> None:
    session = world.demo.session_id
    await world.connect(DOM, world.demo.dom_token)

    exchange = await world.command("dom", game, member=DOM, session=session, **options)
    announced = await public_result(exchange)

    (sent,) = world.sandbox.requests
    assert sent.body == {"game": game, "dom": 1, "session": session, **options}
    assert sent.bearer == world.demo.dom_token
    assert f"played {game.upper()} as dom for session {session}" in announced.content
    assert_announces_last_game(world, announced, DOM)
    (entry,) = await world.ledger()
    assert (entry.game, entry.dom, entry.status) == (game, True, LedgerStatus.PLAYED)


async def test_a_member_who_is_not_the_dom_is_refused_by_the_tracker(world: BotWorld) -> None:
    await world.connect(ALICE, world.demo.voter_token)

    answer = await refusal(
        await world.command("dom", "luck", member=ALICE, session=world.demo.session_id)
    )

    assert (
        "this session is not yours, or your account is not registered as its dom" in answer.content
    )
    assert [r.status for r in world.sandbox.requests] == [403]
    (entry,) = await world.ledger()
    assert (entry.status, entry.reason) == (LedgerStatus.REFUSED, "forbidden")


async def test_an_unknown_session_is_reported_as_not_found(world: BotWorld) -> None:
    await world.connect(OWNER, world.demo.owner_token)

    answer = await refusal(await world.command("dice", member=OWNER, session=999_999))

    assert "does not know this link or session" in answer.content
    assert [r.status for r in world.sandbox.requests] == [404]


async def test_games_need_a_connected_account(world: BotWorld) -> None:
    answer = await refusal(await world.command("luck", member=ALICE, session=world.demo.session_id))

    assert "/account connect" in answer.content
    assert world.sandbox.requests == []
    assert await world.ledger() == []


async def test_without_session_or_saved_default_nothing_is_played(world: BotWorld) -> None:
    await world.connect(OWNER, world.demo.owner_token)

    answer = await refusal(await world.command("dice", member=OWNER))

    assert "default session" in answer.content
    assert world.sandbox.requests == []
