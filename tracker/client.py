"""The tracker games API client: one chokepoint sends, classifies and parses every game call."""

from __future__ import annotations

import email.utils
import json
import logging
from datetime import UTC, datetime
from typing import Any, TypeVar
from urllib.parse import quote

import httpx
from pydantic import SecretStr, ValidationError

from tracker import errors
from tracker.models import DiceResult, Envelope, Game, GameResult, LinkResult, LuckResult, VoteType

log = logging.getLogger(__name__)

GAMES_PATH = "/api/v2/games.php"
MAX_TOKEN_LENGTH = 512
MAX_SESSION_ID = 2**63 - 1
MAX_SERVER_MESSAGE = 300
MAX_RETRY_AFTER = 86_400.0
REDACTED = "[token removed]"

ResultT = TypeVar("ResultT", bound=GameResult)

_REFUSALS: dict[int, type[errors.TrackerRefused]] = {
    400: errors.RequestRejected,
    401: errors.Unauthorized,
    403: errors.Forbidden,
    404: errors.NotFound,
    405: errors.MethodNotAllowed,
}
_DEFAULT_MESSAGES: dict[int, str] = {
    400: "The tracker refused the request.",
    401: "The tracker rejected the API token.",
    403: "The tracker says this account may not play this game for that session.",
    404: "The tracker does not know that link or session.",
    405: "The tracker did not accept the request.",
    429: "The tracker asks to slow down.",
}


def check_token(value: SecretStr, what: str) -> str:
    """Refuse tokens that cannot be real before they reach a header or a body."""
    token = value.get_secret_value()
    if not token or len(token) > MAX_TOKEN_LENGTH:
        raise errors.InvalidGameRequest(
            f"The {what} must be 1 to {MAX_TOKEN_LENGTH} characters.", code="token_length"
        )
    if not token.isascii() or not token.isprintable() or any(ch.isspace() for ch in token):
        raise errors.InvalidGameRequest(
            f"The {what} may contain only visible ASCII characters, without spaces.",
            code="token_characters",
        )
    return token


def check_vote_type(vote_type: VoteType | str) -> str:
    try:
        return VoteType(vote_type).value
    except ValueError:
        raise errors.InvalidGameRequest(
            "The vote type must be add, sub or rand.", code="vote_type"
        ) from None


def check_session(session_id: int) -> int:
    if isinstance(session_id, bool) or not isinstance(session_id, int):
        raise errors.InvalidGameRequest(
            "The session id must be a whole number.", code="session_type"
        )
    if not 0 < session_id <= MAX_SESSION_ID:
        raise errors.InvalidGameRequest(
            "The session id must be a positive number.", code="session_range"
        )
    return session_id


class TrackerClient:
    """Typed game calls; never retries a request that may have reached the tracker."""

    def __init__(self, http: httpx.AsyncClient, base_url: str) -> None:
        self._http = http
        self._url = base_url.rstrip("/") + GAMES_PATH
        self._target = httpx.URL(self._url)  # parsed once: httpx would parse a str on every call

    def __repr__(self) -> str:
        return f"<TrackerClient url={self._url!r}>"

    async def vote(
        self, link_token: SecretStr, vote_type: VoteType, *, bearer: SecretStr | None = None
    ) -> LinkResult:
        """A public LINK vote (dom=0); with a bearer the tracker counts it for that account."""
        body = {
            "game": Game.LINK.value,
            "dom": 0,
            "token": check_token(link_token, "link token"),
            "type": check_vote_type(vote_type),
        }
        return await self._play(body, bearer, LinkResult)

    async def link_as_dom(
        self, bearer: SecretStr, session_id: int, vote_type: VoteType
    ) -> LinkResult:
        body = {
            "game": Game.LINK.value,
            "dom": 1,
            "session": check_session(session_id),
            "type": check_vote_type(vote_type),
        }
        return await self._play(body, bearer, LinkResult)

    async def dice(self, bearer: SecretStr, session_id: int, *, as_dom: bool) -> DiceResult:
        return await self._play(
            self._session_game(Game.DICE, session_id, as_dom), bearer, DiceResult
        )

    async def luck(self, bearer: SecretStr, session_id: int, *, as_dom: bool) -> LuckResult:
        return await self._play(
            self._session_game(Game.LUCK, session_id, as_dom), bearer, LuckResult
        )

    @staticmethod
    def _session_game(game: Game, session_id: int, as_dom: bool) -> dict[str, Any]:
        return {"game": game.value, "dom": int(as_dom), "session": check_session(session_id)}

    async def _play(
        self, body: dict[str, Any], bearer: SecretStr | None, model: type[ResultT]
    ) -> ResultT:
        headers = {"Content-Type": "application/json"}
        sent_secrets = [body["token"]] if "token" in body else []
        if bearer is not None:
            sent_secrets.append(check_token(bearer, "API token"))
            headers["Authorization"] = f"Bearer {sent_secrets[-1]}"
        content = json.dumps(body, separators=(",", ":")).encode()
        response = await self._send(content, headers)
        data = _read_envelope(response, sent_secrets)
        try:
            return model.model_validate(data)
        except ValidationError as error:  # pragma: no cover - every field is lenient
            raise errors.MalformedResponse("The tracker's answer could not be read.") from error

    async def _send(self, content: bytes, headers: dict[str, str]) -> httpx.Response:
        """POST once; a second attempt only when the first certainly never left this machine."""
        for attempt in (1, 2):
            try:
                return await self._http.post(self._target, content=content, headers=headers)
            except (httpx.ConnectError, httpx.ConnectTimeout) as error:
                if attempt == 2:
                    raise errors.TrackerUnreachable("The tracker could not be reached.") from error
                log.info(
                    "tracker connection failed before sending (%s); trying once more",
                    type(error).__name__,
                )
            except httpx.PoolTimeout as error:
                raise errors.TrackerUnreachable("The tracker is busy; nothing was sent.") from error
            except httpx.TimeoutException as error:
                raise errors.NoResponse("The tracker did not answer in time.") from error
            except httpx.HTTPError as error:
                raise errors.NoResponse("The connection to the tracker was lost.") from error
        raise AssertionError("unreachable")  # pragma: no cover


def _read_envelope(response: httpx.Response, sent_secrets: list[str]) -> dict[str, Any]:
    """Map the status and envelope to a result dict or the matching exception.

    `sent_secrets`: the tokens this request carried, cut out of the tracker's error text.
    """
    status = response.status_code
    envelope = _parse_envelope(response)
    if envelope is not None and envelope.ok and 200 <= status < 300:
        if envelope.data is None:
            raise errors.MalformedResponse("The tracker played the game but sent no result.")
        return envelope.data
    message, code = _server_message(envelope, status, sent_secrets)
    if status == 429:
        raise errors.RateLimited(message, retry_after=_retry_after(response), code=code)
    if status in _REFUSALS:
        raise _REFUSALS[status](message, code=code)
    if status >= 500:
        raise errors.ServerError(message, status=status, code=code)
    if envelope is None:
        if 200 <= status < 300:
            raise errors.MalformedResponse("The tracker's answer could not be read.", status=status)
        raise errors.RefusedWithoutReason(message, status=status)
    raise errors.RefusedWithoutReason(message, status=status, code=code)


def _parse_envelope(response: httpx.Response) -> Envelope | None:
    try:
        return Envelope.model_validate_json(response.content)
    except ValidationError:
        return None


def _server_message(
    envelope: Envelope | None, status: int, sent_secrets: list[str]
) -> tuple[str, str | None]:
    """The tracker's own text, for the ledger, the log and the moderators' log.

    A server may quote the request back ("token 'abc…' not accepted"): the tokens it carried
    are cut out first, whole and percent-encoded, before the text is shortened (which could
    otherwise keep a token's first part).
    """
    error = envelope.error if envelope is not None else None
    text = (error.message or "").strip() if error is not None else ""
    for secret in sent_secrets:
        for form in {secret, quote(secret, safe="")}:
            text = text.replace(form, REDACTED)
    if not text:
        if status >= 500:
            text = f"The tracker had an internal error (HTTP {status})."
        else:
            text = _DEFAULT_MESSAGES.get(
                status, f"The tracker refused the request (HTTP {status})."
            )
    if len(text) > MAX_SERVER_MESSAGE:
        text = text[: MAX_SERVER_MESSAGE - 1] + "…"
    return text, error.code if error is not None else None


def _retry_after(response: httpx.Response) -> float | None:
    """Retry-After is either whole seconds or an HTTP date; anything else is ignored."""
    value = response.headers.get("Retry-After", "").strip()
    if not value:
        return None
    if value.isdigit():
        return min(float(value), MAX_RETRY_AFTER)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return min(max(0.0, (when - datetime.now(UTC)).total_seconds()), MAX_RETRY_AFTER)
