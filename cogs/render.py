"""Public messages for played games: readable at a glance, exact, and tolerant of missing fields."""

from __future__ import annotations

from services.games import GameOutcome
from services.markup import arithmetic, duration, timestamp
from services.voting import VoteOutcome
from tracker.models import DiceResult, GameResult, Operation

MINUS = "−"
GAME_NAMES = {"dice": "DICE", "luck": "LUCK", "link": "LINK"}


def signed_duration(result: GameResult) -> str | None:
    """`+2h 15m` or `−45m`: the sign comes from the operation, the size from `seconds`."""
    if result.seconds is None:
        return None
    size = duration(result.seconds)
    if result.operation is Operation.ADD:
        return f"+{size}"
    if result.operation is Operation.SUB:
        return f"{MINUS}{size}"
    return size


def effect(result: GameResult) -> str:
    """The part every game shares: time changed, multiplier, new end."""
    parts = []
    change = signed_duration(result)
    if change is not None:
        parts.append(f"**{change}**")
    if result.multiplier is not None:
        parts.append(f"×{result.multiplier:g}")
    text = " ".join(parts) if parts else "played"
    if result.scheduled_end is not None:
        end = result.scheduled_end
        text += f" · new end {timestamp(end, 'F')} ({timestamp(end, 'R')})"
    return text


def dice_detail(result: DiceResult) -> str | None:
    """The dice as rolled, subtracted ones marked with a minus, and the tracker's calculation."""
    if not result.dices:
        return None
    operations = result.dicesops or []
    faces = []
    for index, face in enumerate(result.dices):
        subtracted = index < len(operations) and operations[index] == "s"
        faces.append(f"{MINUS}{face}" if subtracted else str(face))
    detail = "🎲 " + " ".join(faces)
    calculation = arithmetic(result.calc or "")
    if calculation:
        detail += f" (`{calculation}`"
        detail += f" = {result.sum})" if result.sum is not None else ")"
    return detail


def vote_message(outcome: VoteOutcome, voter_id: int) -> str:
    result = outcome.result
    link = f"`{outcome.link.name}`"
    if result.penalty:
        return (
            f"⚠️ **Penalty** on link {link}: <@{voter_id}> voted on their own link with their own "
            f"account, so the tracker applied a penalty: {effect(result)}."
        )
    how = " anonymously (the channel's shared vote)" if outcome.anonymous else ""
    return f"🗳️ <@{voter_id}> voted{how} on link {link}: {effect(result)}."


def game_message(outcome: GameOutcome, player_id: int) -> str:
    result = outcome.result
    role = " as dom" if outcome.as_dom else ""
    name = GAME_NAMES[outcome.game.value]
    lines = [
        f"<@{player_id}> played {name}{role} for session {outcome.session_id}: {effect(result)}."
    ]
    if isinstance(result, DiceResult) and (detail := dice_detail(result)):
        lines.append(detail)
    return "\n".join(lines)
