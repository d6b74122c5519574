"""DICE, LUCK and LINK as the session's owner or their dom, always with the caller's own token."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import partial

from i18n.message import msg
from services.actor import Actor
from services.calls import GameCaller, preparing_a_call
from services.commands import ACCOUNT_CONNECT, HELP_ACCOUNT
from services.errors import BadInput, NotConnected, invalid_session
from storage.interface import Storage
from storage.models import Account, NewCall
from tracker.client import TrackerClient, check_session
from tracker.errors import InvalidGameRequest
from tracker.models import Game, GameResult, VoteType

BUSY = msg("Your previous game is still on its way to the tracker; wait for its answer.")


@dataclass(frozen=True)
class GameOutcome:
    game: Game
    as_dom: bool
    session_id: int
    result: GameResult
    name_hidden: bool = False  # the player asked that public results not name them


class GamesService:
    def __init__(self, db: Storage, tracker: TrackerClient, caller: GameCaller) -> None:
        self._db = db
        self._tracker = tracker
        self._caller = caller

    async def play(
        self, actor: Actor, game: Game, session_id: int | None, *, as_dom: bool
    ) -> GameOutcome:
        """DICE or LUCK; `session_id` None means the caller's saved default session."""
        with preparing_a_call():
            account = await self._account(actor)
            session = self._session(account, session_id)
            method = self._tracker.dice if game is Game.DICE else self._tracker.luck
            play = partial(method, account.api_token, session, as_dom=as_dom)
            return await self._run(actor, game, session, as_dom, None, play)

    async def dom_link(self, actor: Actor, session_id: int, vote_type: VoteType) -> GameOutcome:
        with preparing_a_call():
            account = await self._account(actor)
            session = self._session(account, session_id)
            play = partial(self._tracker.link_as_dom, account.api_token, session, vote_type)
            return await self._run(actor, Game.LINK, session, True, vote_type, play)

    async def _run(
        self,
        actor: Actor,
        game: Game,
        session_id: int,
        as_dom: bool,
        vote_type: VoteType | None,
        play: Callable[[], Awaitable[GameResult]],
    ) -> GameOutcome:
        # Read before the call: once it is sent, nothing may delay announcing its result.
        hidden = bool(await self._db.hidden_names([actor.user_id]))
        call = NewCall(
            user_id=actor.user_id,
            guild_id=actor.guild_id,
            channel_id=actor.channel_id,
            link_id=None,
            session_id=session_id,
            game=game.value,
            dom=as_dom,
            vote_type=vote_type.value if vote_type else None,
            anonymous=False,
            interaction_id=actor.interaction_id,
        )
        # One game per member at a time, whatever the session: naming another session is no way
        # around the guard (nor, across processes, around the database's unique pending game).
        with self._caller.exclusive(("game", actor.user_id), BUSY):
            result = await self._caller.call(call, play, busy=BUSY)
        return GameOutcome(game, as_dom, session_id, result, name_hidden=hidden)

    async def _account(self, actor: Actor) -> Account:
        account = await self._db.get_account(actor.user_id)
        if account is None:
            raise NotConnected(
                msg(
                    "Games are played with your own tracker account: connect it with "
                    "{connect}; {help} explains how.",
                    connect=ACCOUNT_CONNECT,
                    help=HELP_ACCOUNT,
                )
            )
        if account.token_rejected:
            raise NotConnected(
                msg(
                    "The tracker rejected your API token last time. Connect again with "
                    "{connect}; {help} explains where the token is found.",
                    connect=ACCOUNT_CONNECT,
                    help=HELP_ACCOUNT,
                )
            )
        return account

    @staticmethod
    def _session(account: Account, session_id: int | None) -> int:
        if session_id is None:
            if account.default_session is None:
                raise BadInput(
                    msg(
                        "Name a session, or save a default session with {connect}; {help} "
                        "explains how.",
                        connect=ACCOUNT_CONNECT,
                        help=HELP_ACCOUNT,
                    )
                )
            session_id = account.default_session
        try:
            return check_session(session_id)
        except InvalidGameRequest as error:
            raise invalid_session(error) from None
