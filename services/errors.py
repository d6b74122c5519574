"""Refusals a member or moderator may read: each carries its own sentence as a catalogue message."""

from __future__ import annotations

from datetime import datetime

from i18n.message import Message, msg
from services.limits import NextVote
from tracker.client import MAX_TOKEN_LENGTH
from tracker.errors import InvalidGameRequest


class UserError(Exception):
    """A refusal with a message that is safe and useful to show the person who asked."""

    def __init__(self, message: Message) -> None:
        super().__init__(message.text)
        self.message = message


class NotAllowed(UserError):
    """The person lacks a permission or role our rules require."""


class BadInput(UserError):
    """An option or field failed validation; nothing was changed."""


class LinkNotResolved(UserError):
    """The channel has no link, several links and none was named, or an unknown name."""


class NotConnected(UserError):
    """The command needs the member's own tracker account."""


class VoteLimited(Exception):
    """A local mirror of the tracker's vote limit refused the vote; nothing was sent.

    It carries the facts, not a sentence: the Discord layer words a vote limit in one place, for
    this refusal and for `/account status` alike.
    """

    def __init__(self, limit: NextVote) -> None:
        super().__init__(f"vote limit on link {limit.link.id}")
        self.limit = limit


class AlreadyInProgress(UserError):
    """The same call is already on its way to the tracker (a double click)."""


class CallHeldBack(UserError):
    """The bot holds a call back for a while, not to ask the tracker in vain; nothing was sent."""

    def __init__(self, message: Message, *, until: datetime) -> None:
        super().__init__(message)
        self.until = until


class StorageFull(UserError):
    """The bot's disk had no room for a file it writes for a member; nothing was sent."""


class BotBusy(UserError):
    """Every call slot stayed taken for longer than a member should wait; nothing was sent."""


class Restarting(UserError):
    """The bot is stopping: it sends no new game call, so the member should try again soon."""


def invalid_token(error: InvalidGameRequest, *, link: bool) -> BadInput:
    """Our sentence for a token the client's own check refused."""
    if error.code == "token_length":
        text = (
            msg("The link token must be 1 to {max} characters.", max=MAX_TOKEN_LENGTH)
            if link
            else msg("The API token must be 1 to {max} characters.", max=MAX_TOKEN_LENGTH)
        )
    else:
        text = (
            msg("The link token may contain only visible ASCII characters, without spaces.")
            if link
            else msg("The API token may contain only visible ASCII characters, without spaces.")
        )
    return BadInput(text)


def invalid_session(error: InvalidGameRequest) -> BadInput:
    """Our sentence for a session id the client's own check refused."""
    if error.code == "session_type":
        return BadInput(msg("The session id must be a whole number."))
    return BadInput(msg("The session id must be a positive number."))
