"""Connecting a member's tracker account: the token is stored, never tested by playing a game."""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import SecretStr

from i18n.message import msg
from services.actor import Actor
from services.clock import Clock
from services.errors import BadInput, invalid_session, invalid_token
from services.limits import NextVote
from services.voting import is_uncertain, next_vote_at
from storage.interface import Storage
from storage.models import Account
from tracker.client import check_session, check_token
from tracker.errors import InvalidGameRequest


@dataclass(frozen=True)
class AccountStatus:
    account: Account | None
    votes_cast: int
    next_votes: list[NextVote]
    reminders_on: bool


def parse_default_session(text: str) -> int | None:
    """A modal field is free text: blank means no default, anything else must be a session id."""
    text = text.strip()
    if not text:
        return None
    if not text.isascii() or not text.isdigit():
        raise BadInput(msg("The default session must be a session id (a positive whole number)."))
    try:
        return check_session(int(text))
    except InvalidGameRequest as error:
        raise invalid_session(error) from None


class AccountService:
    def __init__(self, db: Storage, clock: Clock) -> None:
        self._db = db
        self._clock = clock

    async def connect(self, actor: Actor, api_token: str, default_session: str) -> Account:
        token = api_token.strip()
        try:
            check_token(SecretStr(token), "API token")
        except InvalidGameRequest as error:
            raise invalid_token(error, link=False) from None
        session = parse_default_session(default_session)
        return await self._db.save_account(actor.user_id, token, session, now=self._clock())

    async def disconnect(self, actor: Actor) -> bool:
        return await self._db.forget_account(actor.user_id)

    async def status(self, actor: Actor) -> AccountStatus:
        account = await self._db.get_account(actor.user_id)
        votes_cast = await self._db.vote_count(actor.user_id)
        now = self._clock()
        next_votes = []
        for entry in await self._db.latest_votes_of_user(actor.user_id):
            link = await self._db.get_link(entry.link_id) if entry.link_id is not None else None
            if link is None:
                continue
            at = next_vote_at(link.interval, entry)
            if at is None or at > now:
                next_votes.append(NextVote(link=link, at=at, uncertain=is_uncertain(entry)))
        return AccountStatus(
            account=account,
            votes_cast=votes_cast,
            next_votes=next_votes,
            reminders_on=await self._db.is_subscribed(actor.user_id),
        )
