"""What can go wrong with a game call, split by what it means for the played game.

A game call is not idempotent, so every caller asks one question: did it count?
`TrackerRefused` means the tracker answered and did not play; `OutcomeUnknown` means it may have.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from i18n.message import Message


class TrackerError(Exception):
    """Base class; `message` is the tracker's own text (or ours) for the log; `code` its kind.

    Members read our own sentence for the error's kind and code, in their language.
    """

    reason = "error"
    status: int | None = None
    # Our own advice for the member, set by the service that knows it: a catalogue message
    # shown after our explanation of the error, in the member's language.
    hint: Message | None = None
    # Our own line for the moderators' log, set by the service that knows what broke (which
    # link); without one the log gets the generic tracker error.
    logged: Message | None = None

    def __init__(self, message: str, *, status: int | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        if status is not None:
            self.status = status


class InvalidGameRequest(TrackerError, ValueError):
    """Our own validation refused the arguments; nothing was sent. `code` says which rule."""

    reason = "invalid"


class TrackerRefused(TrackerError):
    """The tracker answered and did not play the game."""


class RequestRejected(TrackerRefused):
    """400: a missing or invalid field, or a vote limit (cooldown)."""

    reason = "rejected"
    status = 400


class Unauthorized(TrackerRefused):
    """401: the API token is missing or was rejected."""

    reason = "unauthorized"
    status = 401


class Forbidden(TrackerRefused):
    """403: the token's user is not the session's owner or dom."""

    reason = "forbidden"
    status = 403


class NotFound(TrackerRefused):
    """404: the link token or session does not exist (or the LINK game is off)."""

    reason = "not_found"
    status = 404


class RateLimited(TrackerRefused):
    """429: the tracker asks us to slow down; `retry_after` is in seconds when it said."""

    reason = "rate_limited"
    status = 429

    def __init__(self, message: str, *, retry_after: float | None, code: str | None = None) -> None:
        super().__init__(message, code=code)
        self.retry_after = retry_after


class TrackerUnreachable(TrackerRefused):
    """The connection could not be opened, so the request never left."""

    reason = "unreachable"


class MethodNotAllowed(TrackerRefused):
    """405: the request was not accepted as a game call at all."""

    reason = "method_not_allowed"
    status = 405


class RefusedWithoutReason(TrackerRefused):
    """An `ok: false` envelope on a status that has no meaning of its own (e.g. 200 or 418)."""

    reason = "refused"


class OutcomeUnknown(TrackerError):
    """The request may have reached the tracker, but no usable answer came back."""


class ServerError(OutcomeUnknown):
    """5xx: the tracker failed while handling the call, possibly after playing it."""

    reason = "server_error"


class MalformedResponse(OutcomeUnknown):
    """A 200 whose body is not the documented envelope: the game probably played."""

    reason = "malformed_response"


class NoResponse(OutcomeUnknown):
    """A timeout or a lost connection after the request was sent."""

    reason = "no_response"
