"""Public messages for played games: readable at a glance, exact, and tolerant of missing fields."""

from __future__ import annotations

from discord_layer.markup import arithmetic
from i18n.formats import MINUS
from i18n.message import Duration, Member, Message, Moment, Name, Number, Param, Term, msg
from services.games import GameOutcome
from services.voting import VoteOutcome
from tracker.models import DiceResult, GameResult, Operation

GAME_NAMES = {"dice": "DICE", "luck": "LUCK", "link": "LINK"}
# TRANSLATORS: who voted, in lists and on cards, when it was the channel's shared vote.
SHARED_VOTE = msg("shared vote")
# TRANSLATORS: layout only (a sentence, then the dice on their own line); keep it as it is.
TWO_LINES = "{first}\n{second}"


def signed_duration(operation: Operation | None, seconds: int | None) -> Duration | None:
    """`+2h 15m` or `−45m`: the sign comes from the operation, the size from `seconds`."""
    if seconds is None:
        return None
    if operation is Operation.ADD:
        return Duration(seconds, "+")
    if operation is Operation.SUB:
        return Duration(seconds, "-")
    return Duration(seconds)


def amount(
    operation: Operation | None, seconds: int | None, multiplier: float | None, *, bold: bool
) -> Message | Duration:
    """Time changed and multiplier, as far as the tracker reported them."""
    change = signed_duration(operation, seconds)
    factor = Number(multiplier) if multiplier is not None else None
    if change is not None and factor is not None:
        if bold:
            return msg("**{change}** ×{multiplier}", change=change, multiplier=factor)
        return msg("{change} ×{multiplier}", change=change, multiplier=factor)
    if change is not None:
        return msg("**{change}**", change=change) if bold else change
    if factor is not None:
        return msg("×{multiplier}", multiplier=factor)
    # TRANSLATORS: a game's result when the tracker reported neither time nor multiplier.
    return msg("no details reported")


def effect(result: GameResult) -> Message:
    """The part every game shares: time changed, multiplier, new end."""
    changed = amount(result.operation, result.seconds, result.multiplier, bold=True)
    end = result.scheduled_end
    if end is None:
        return changed if isinstance(changed, Message) else msg("**{change}**", change=changed)
    return msg(
        "{amount} · new end {end} ({relative})",
        amount=changed,
        end=Moment(end),
        relative=Moment(end, "relative"),
    )


def dice_detail(result: DiceResult) -> str | None:
    """The dice as rolled, subtracted ones marked with a minus, and the tracker's calculation.

    Only digits and signs: the same in every language.
    """
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


# TRANSLATORS: stands for a member who chose not to be named in public results, at the start of
# a sentence ("A member voted on link …").
A_MEMBER = msg("A member")
# TRANSLATORS: the same within a sentence ("Penalty on link x: a member voted on their own link").
A_MEMBER_WITHIN = msg("a member")


def public_name(user_id: int, hidden: bool, *, within: bool = False) -> Member | Message:
    """The member's mention, or "a member" for one who asked not to be named in public."""
    if not hidden:
        return Member(user_id)
    return A_MEMBER_WITHIN if within else A_MEMBER


def vote_message(outcome: VoteOutcome, voter_id: int) -> Message:
    result = outcome.result
    link, member = Name(outcome.link.name), public_name(voter_id, outcome.name_hidden)
    if result.penalty:
        return msg(
            "⚠️ **Penalty** on link {link}: {member} voted on their own link with their own "
            "account, so the tracker applied a penalty: {effect}.",
            link=link,
            member=public_name(voter_id, outcome.name_hidden, within=True),
            effect=effect(result),
        )
    if outcome.anonymous:
        return msg(
            "🗳️ {member} voted with the channel's shared vote on link {link}: {effect}.",
            member=member,
            link=link,
            effect=effect(result),
        )
    return msg(
        "🗳️ {member} voted on link {link}: {effect}.",
        member=member,
        link=link,
        effect=effect(result),
    )


def game_message(outcome: GameOutcome, player_id: int) -> Message:
    result = outcome.result
    facts: dict[str, Param] = {
        "member": public_name(player_id, outcome.name_hidden),
        "game": Term(GAME_NAMES[outcome.game.value]),
        "session": outcome.session_id,
        "effect": effect(result),
    }
    played = (
        msg("{member} played {game} as dom for session {session}: {effect}.", **facts)
        if outcome.as_dom
        else msg("{member} played {game} for session {session}: {effect}.", **facts)
    )
    if isinstance(result, DiceResult) and (detail := dice_detail(result)):
        return Message(TWO_LINES, {"first": played, "second": Term(detail)})
    return played
