"""A member's personal data: what the bot keeps, given on request, forgotten on request; a
server's retention of its voters; whether public results name a member."""

from __future__ import annotations

import json
import logging
from datetime import datetime, timedelta
from typing import Any

from i18n.message import msg
from services.actor import Actor
from services.clock import Clock
from services.errors import AlreadyInProgress
from services.history import export_outcome, iso_utc
from storage.errors import CallUnderWay
from storage.interface import Storage
from storage.models import Account, MemberCall, MemberRecord

log = logging.getLogger(__name__)

RETENTION_MAX_DAYS = 3650
RETENTION_EVERY = timedelta(days=1)
# A start applies retention unless another process did within this: processes started together
# apply it once.
RETENTION_AT_START = timedelta(hours=1)
TOKEN_HINT = 4  # characters of the token's end a member sees of it, never more
CALL_UNDER_WAY = msg(
    "One of your votes or games is on its way to the tracker; ask again once it has its answer. "
    "Nothing was erased."
)


def data_filename(user_id: int) -> str:
    return f"ctvote-data-{user_id}.json"


def token_end(account: Account) -> str | None:
    """The last four characters, and only of a token long enough that they cannot be all of it."""
    token = account.api_token.get_secret_value()
    return token[-TOKEN_HINT:] if len(token) > 2 * TOKEN_HINT else None


def _call(call: MemberCall) -> dict[str, Any]:
    entry = call.entry
    return {
        "time_utc": iso_utc(entry.created_at),
        "server_id": None if entry.guild_id is None else str(entry.guild_id),
        "channel_id": None if entry.channel_id is None else str(entry.channel_id),
        "link_name": call.link_name,
        "session": entry.session_id,
        "game": entry.game,
        "as_dom": entry.dom,
        "type": entry.vote_type,
        "anonymous": entry.anonymous,
        "display_name": entry.voter_name,
        "outcome": export_outcome(entry.status),
        "reason": entry.reason,
        "tracker_message": entry.message,
        "operation": entry.operation,
        "seconds": entry.seconds,
        "multiplier": entry.multiplier,
        "penalty": entry.penalty,
        "scheduled_end_utc": iso_utc(entry.scheduled_end) or None,
    }


def member_data(record: MemberRecord, now: datetime) -> dict[str, Any]:
    """The record as plain JSON values: ids as strings (JavaScript cannot hold them as numbers)."""
    account = record.account
    return {
        "member_id": str(record.user_id),
        "generated_at_utc": iso_utc(now),
        "account": None
        if account is None
        else {
            "connected_since_utc": iso_utc(account.connected_at),
            "default_session": account.default_session,
            "token_last_four": token_end(account),
            "last_used_utc": iso_utc(account.last_used_at) or None,
            "token_rejected": account.token_rejected,
        },
        "language": record.locale,
        "reminders": record.reminders_on,
        "name_in_public_results": "hidden" if record.name_hidden else "shown",
        "calls": [_call(call) for call in record.calls],
    }


class PrivacyService:
    def __init__(self, db: Storage, clock: Clock) -> None:
        self._db = db
        self._clock = clock

    async def forget(self, actor: Actor) -> None:
        """Erase everything the bot keeps about the member; their votes stay counted, nameless."""
        try:
            await self._db.forget_member(actor.user_id)
        except CallUnderWay:
            raise AlreadyInProgress(CALL_UNDER_WAY) from None

    async def data(self, actor: Actor) -> bytes:
        """Everything kept about the member, as the JSON file they are given."""
        record = await self._db.member_record(actor.user_id)
        text = json.dumps(member_data(record, self._clock()), ensure_ascii=False, indent=2)
        return text.encode()

    async def set_name_hidden(self, actor: Actor, hidden: bool) -> None:
        await self._db.set_name_hidden(actor.user_id, hidden)

    async def hidden(self, user_ids: list[int]) -> set[int]:
        """Which of these members asked that public results and cards not name them."""
        return await self._db.hidden_names(user_ids)

    async def is_hidden(self, user_id: int) -> bool:
        return bool(await self._db.hidden_names([user_id]))

    async def set_retention(self, actor: Actor, days: int | None) -> int:
        """Moderators only; applied to the server's votes at once. Returns how many lost their
        voter now."""
        guild_id = actor.require_manager()
        await self._db.set_retention(guild_id, days)
        if days is None:
            return 0
        return await self._db.apply_retention(now=self._clock(), guild_id=guild_id)

    async def retention(self, guild_id: int) -> int | None:
        return await self._db.retention_days(guild_id)

    async def apply_retention(self, *, at_start: bool = False) -> int | None:
        """Every server's retention, by the one process that claims this run; None when another
        process ran it recently."""
        now = self._clock()
        since = RETENTION_AT_START if at_start else RETENTION_EVERY
        if not await self._db.claim_retention_run(now=now, due=now - since):
            return None
        cleared = await self._db.apply_retention(now=now)
        log.info("retention: %d votes lost their voter's id and name", cleared)
        return cleared
