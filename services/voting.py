"""Public LINK votes: which link, whose vote, whether the local vote limit allows it."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from pydantic import SecretStr

from i18n.message import Channel, Name, Names, Outside, msg
from services.actor import Actor
from services.calls import GameCaller, preparing_a_call
from services.clock import Clock
from services.commands import (
    ACCOUNT_CONNECT,
    ACCOUNT_DISCONNECT,
    HELP_ACCOUNT,
    LINKS_ADD,
    LINKS_LIST,
)
from services.errors import (
    AlreadyInProgress,
    LinkNotResolved,
    NotAllowed,
    NotConnected,
    VoteLimited,
)
from services.limits import NextVote
from services.links import typed_name
from storage.errors import LinkRemoved, StorageUnavailable, VoteAlreadyCounted
from storage.interface import Storage
from storage.models import (
    Account,
    ChannelLink,
    LedgerEntry,
    LedgerStatus,
    NewCall,
    VoteInterval,
    VoterOnLink,
)
from tracker import errors
from tracker.client import TrackerClient
from tracker.models import Game, LinkResult, VoteType

log = logging.getLogger(__name__)

DAILY_WINDOW = timedelta(hours=24)
NEVER = datetime.min.replace(tzinfo=UTC)
CONNECT_HINT = msg(
    "Connect your own account with {connect} to get a vote of your own; {help} explains how.",
    connect=ACCOUNT_CONNECT,
    help=HELP_ACCOUNT,
)
VOTING_IN_SERVERS = msg("Voting works only in a server channel.")


@dataclass(frozen=True)
class LinkByName:
    """A link as `/vote` names it: by name, or (None) the channel's only link."""

    name: str | None


@dataclass(frozen=True)
class LinkById:
    """The link behind a card's button or an owner's confirmation."""

    link_id: int


LinkRef = LinkByName | LinkById


@dataclass(frozen=True)
class VoteOutcome:
    link: ChannelLink
    result: LinkResult
    anonymous: bool
    name_hidden: bool = False  # the voter asked that public results not name them


@dataclass(frozen=True)
class NeedsConfirmation:
    """The vote would be a penalty on the member's own link: nothing was sent, ask first."""

    link: ChannelLink
    vote_type: VoteType


def is_uncertain(vote: LedgerEntry) -> bool:
    """A vote the tracker may have counted without saying so: it limits like a played one."""
    return vote.status is not LedgerStatus.PLAYED


def limit_since(interval: VoteInterval, now: datetime) -> datetime:
    """A vote after this moment stops the next one: ever on a once link, within a day else."""
    return NEVER if interval is VoteInterval.ONCE else now - DAILY_WINDOW


def next_vote_at(interval: VoteInterval, last: LedgerEntry | None) -> datetime | None:
    """When the tracker will accept the next vote after `last`; None when it never will."""
    if last is None:
        return None
    if interval is VoteInterval.ONCE:
        return None
    return last.created_at + DAILY_WINDOW


class VotingService:
    def __init__(
        self, db: Storage, tracker: TrackerClient, caller: GameCaller, clock: Clock
    ) -> None:
        self._db = db
        self._tracker = tracker
        self._caller = caller
        self._clock = clock

    async def link_names(self, actor: Actor, typed: str) -> list[str]:
        """Names for autocomplete: the channel's links that start with what was typed."""
        if actor.guild_id is None or actor.channel_id is None:
            return []
        links = await self._db.links_in_channel(actor.guild_id, actor.channel_id)
        return [link.name for link in links if link.name.startswith(typed_name(typed))][:25]

    async def vote(
        self, actor: Actor, ref: LinkRef, vote_type: VoteType, *, confirmed: bool = False
    ) -> VoteOutcome | NeedsConfirmation:
        """Every vote, from a command, a card or a confirmation: the same checks, one call."""
        with preparing_a_call():
            return await self._vote(actor, ref, vote_type, confirmed=confirmed)

    async def _vote(
        self, actor: Actor, ref: LinkRef, vote_type: VoteType, *, confirmed: bool
    ) -> VoteOutcome | NeedsConfirmation:
        link = await self.votable_link(actor, ref)
        voter = await self._db.voter_on_link(actor.user_id, link.id)  # one trip, not four
        account = self._usable_account(voter.account, link)
        anonymous = account is None
        bearer: SecretStr | None = None if account is None else account.api_token
        key = (link.id, None if anonymous else actor.user_id)
        busy = (
            msg(
                "The channel's shared vote on {link} is already on its way to the tracker. {hint}",
                link=Name(link.name),
                hint=CONNECT_HINT,
            )
            if anonymous
            else msg("Your vote on this link is already on its way; wait for its answer.")
        )
        with self._caller.exclusive(key, busy):
            # Read before the guard; begin_call checks the limit again in the database.
            refuse_if_limited(link, voter.last_vote, anonymous=anonymous, now=self._clock())
            # Asked only when the vote could go out, so a limited owner learns the limit.
            if account is not None and not confirmed and owns(account, link, voter):
                return NeedsConfirmation(link=link, vote_type=vote_type)
            call = NewCall(
                user_id=actor.user_id,
                guild_id=link.guild_id,
                channel_id=actor.channel_id,
                link_id=link.id,
                session_id=link.session_id,
                game=Game.LINK.value,
                dom=False,
                vote_type=vote_type.value,
                anonymous=anonymous,
                interaction_id=actor.interaction_id,
                voter_name=actor.display_name,
            )
            try:
                result = await self._caller.call(
                    call,
                    lambda: self._tracker.vote(link.link_token, vote_type, bearer=bearer),
                    busy=busy,
                    limit_since=limit_since(link.interval, self._clock()),
                )
            except VoteAlreadyCounted:  # another process's vote came between check and row
                await self._check_limit(actor, link, anonymous=anonymous)
                raise AlreadyInProgress(busy) from None  # …and was refused since
            except LinkRemoved:
                raise LinkNotResolved(
                    msg(
                        "Link {link} has just been removed from this channel; nothing was sent.",
                        link=Name(link.name),
                    )
                ) from None
            except errors.RequestRejected as error:
                if anonymous:
                    error.hint = msg(
                        "Members without a connected account share one vote. {hint}",
                        hint=CONNECT_HINT,
                    )
                raise
            except errors.NotFound as error:
                error.logged = msg(
                    "⚠️ The tracker does not know link {link} in {channel} (HTTP 404): its token "
                    "may be wrong, or its LINK game turned off. Votes on it now wait, and the bot "
                    "asks the tracker again later; check the link with {list}.",
                    link=Name(link.name),
                    channel=Channel(link.channel_id),
                    list=LINKS_LIST,
                )
                raise
        if result.session is not None and result.session != link.session_id:
            try:
                await self._db.set_link_session(link.id, result.session)
            except StorageUnavailable as error:  # a detail; the vote itself is settled
                log.warning("link %d: session id not recorded: %s", link.id, error)
        return VoteOutcome(
            link=link, result=result, anonymous=anonymous, name_hidden=voter.name_hidden
        )

    async def votable_link(self, actor: Actor, ref: LinkRef) -> ChannelLink:
        """The link the member means, if they may vote on it: in this server, with its role."""
        actor.require_channel(VOTING_IN_SERVERS)
        link = await self._find(actor, ref)
        actor.require_voter_role(await self._db.guild_settings(link.guild_id))
        return link

    async def _find(self, actor: Actor, ref: LinkRef) -> ChannelLink:
        if isinstance(ref, LinkById):
            return await self._by_id(actor, ref.link_id)
        return await self._by_name(actor, ref.name)

    async def _by_name(self, actor: Actor, name: str | None) -> ChannelLink:
        guild_id, channel_id = actor.require_channel(VOTING_IN_SERVERS)
        links = await self._db.links_in_channel(guild_id, channel_id)
        if not links:
            raise LinkNotResolved(
                msg(
                    "This channel has no link to vote on. A moderator can add one with {add}.",
                    add=LINKS_ADD,
                )
            )
        names = Names(tuple(link.name for link in links))
        if name:
            wanted = typed_name(name)
            for link in links:
                if link.name == wanted:
                    return link
            raise LinkNotResolved(
                msg(
                    "This channel has no link named “{name}”. Its links: {names}.",
                    name=Outside(name, limit=40),
                    names=names,
                )
            )
        if len(links) > 1:
            raise LinkNotResolved(
                msg("This channel has several links; choose one with `link`: {names}.", names=names)
            )
        return links[0]

    async def _by_id(self, actor: Actor, link_id: int) -> ChannelLink:
        """A card's or a confirmation's link: it must still exist and belong to this server."""
        link = await self._db.get_link(link_id)
        if link is None:
            raise LinkNotResolved(msg("This link was removed; its card no longer takes votes."))
        if link.guild_id != actor.guild_id:
            raise NotAllowed(msg("That link belongs to another server."))
        return link

    def _usable_account(self, account: Account | None, link: ChannelLink) -> Account | None:
        if account is not None and account.token_rejected:
            raise NotConnected(
                msg(
                    "The tracker rejected your API token last time. Connect again with "
                    "{connect} (or {disconnect} to use the shared vote); {help} explains where the "
                    "token is found.",
                    connect=ACCOUNT_CONNECT,
                    disconnect=ACCOUNT_DISCONNECT,
                    help=HELP_ACCOUNT,
                )
            )
        if account is None and not link.anonymous_allowed:
            raise NotConnected(
                msg(
                    "Only members with a connected account can vote on {link}. {hint}",
                    link=Name(link.name),
                    hint=CONNECT_HINT,
                )
            )
        return account

    async def _check_limit(self, actor: Actor, link: ChannelLink, *, anonymous: bool) -> None:
        """After another process's vote came between the check and the row: read it again."""
        last = await self._db.last_counted_vote(
            link.id, user_id=None if anonymous else actor.user_id
        )
        refuse_if_limited(link, last, anonymous=anonymous, now=self._clock())


def owns(account: Account, link: ChannelLink, voter: VoterOnLink) -> bool:
    """Whether the vote would be a penalty on the member's own link, as far as we know."""
    return (
        link.session_id is not None and account.default_session == link.session_id
    ) or voter.had_penalty


def refuse_if_limited(
    link: ChannelLink, last: LedgerEntry | None, *, anonymous: bool, now: datetime
) -> None:
    """Refuse locally what the tracker would refuse: no wasted or double-counted request."""
    if last is None:
        return
    reopens = next_vote_at(link.interval, last)
    if reopens is not None and reopens <= now:
        return
    raise VoteLimited(
        NextVote(link=link, at=reopens, uncertain=is_uncertain(last), anonymous=anonymous)
    )
