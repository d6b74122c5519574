"""Ledger rows as lines people read: `/links history` and `/account history`."""

from __future__ import annotations

from discord_layer.render import GAME_NAMES, SHARED_VOTE, amount
from i18n.message import Duration, Member, Message, Moment, Name, Param, Term, msg
from services.history import LinkHistory, OwnCall
from storage.models import LedgerEntry, LedgerStatus
from tracker.models import Operation

# Our own sentence for each kind of refusal the ledger records: the tracker's text is English
# and meant for the bot's log.
REFUSED = msg("refused by the tracker")
REFUSALS = {
    "rejected": msg("refused: vote limit reached or request invalid"),
    "unauthorized": msg("refused: the API token was rejected"),
    "forbidden": msg("refused: this account may not play for that session"),
    "not_found": msg("refused: the tracker does not know this link or session"),
    "rate_limited": msg("refused: the tracker asked the bot to wait"),
    "unreachable": msg("not sent: the tracker could not be reached"),
    "invalid": msg("not sent: an option was invalid"),
}


def outcome(entry: LedgerEntry) -> Message | Duration:
    """`+2h 15m ×1.37`, `penalty +3h ×2.50`, `refused: <our reason>`, `unknown`."""
    if entry.status is LedgerStatus.PLAYED:
        operation = Operation(entry.operation) if entry.operation in ("ADD", "SUB") else None
        change = amount(operation, entry.seconds, entry.multiplier, bold=False)
        if entry.penalty:
            # TRANSLATORS: a played vote that the tracker turned into a penalty, then its effect.
            return msg("penalty {amount}", amount=change)
        return change
    if entry.status is LedgerStatus.REFUSED:
        return REFUSALS.get(entry.reason or "", REFUSED)
    if entry.status is LedgerStatus.UNKNOWN:
        # TRANSLATORS: a call whose outcome is not known (the tracker did not answer clearly).
        return msg("unknown")
    # TRANSLATORS: a call sent to the tracker whose answer has not arrived yet.
    return msg("under way")


def voter(user_id: int | None) -> Member | Message:
    """Moderators see who voted, until the member is forgotten."""
    if user_id is None:
        # TRANSLATORS: who made a call on a link, when that member asked the bot to forget them
        # (or the server's retention cleared their name).
        return msg("former member")
    return Member(user_id)


def link_history_lines(history: LinkHistory) -> list[Message]:
    """A title, then one line per call: when, who, what, outcome."""
    link = Name(history.link.name)
    if not history.calls:
        return [msg("Link {link} has no votes yet.", link=link)]
    lines = [msg("Latest votes on link {link}, newest first:", link=link)]
    for entry in history.calls:
        who = SHARED_VOTE if entry.anonymous else voter(entry.user_id)
        lines.append(
            # TRANSLATORS: layout of one history line: when · who · add/sub/rand · outcome.
            msg(
                "{when} · {who} · {what} · {outcome}",
                when=Moment(entry.created_at, "short"),
                who=who,
                what=Name(entry.vote_type or entry.game),
                outcome=outcome(entry),
            )
        )
    return lines


def _what(call: OwnCall) -> Message:
    entry = call.entry
    if entry.game == "link" and not entry.dom:
        kind = Name(entry.vote_type or "")
        if call.link_name is None:
            return msg("vote {kind} on a removed link", kind=kind)
        return msg("vote {kind} on link {link}", kind=kind, link=Name(call.link_name))
    facts: dict[str, Param] = {
        "game": Term(GAME_NAMES.get(entry.game, entry.game)),
        "session": entry.session_id or 0,
    }
    if entry.dom and entry.vote_type:
        return msg("{game} {kind} as dom, session {session}", kind=Name(entry.vote_type), **facts)
    if entry.dom:
        return msg("{game} as dom, session {session}", **facts)
    return msg("{game}, session {session}", **facts)


def own_history_lines(calls: list[OwnCall]) -> list[Message]:
    if not calls:
        return [msg("You have not voted or played through this bot yet.")]
    lines = [msg("Your latest votes and games, newest first:")]
    for call in calls:
        lines.append(
            # TRANSLATORS: layout of one line of /account history: when · what · outcome.
            msg(
                "{when} · {what} · {outcome}",
                when=Moment(call.entry.created_at, "short"),
                what=_what(call),
                outcome=outcome(call.entry),
            )
        )
    return lines
