"""Members propose a link for their server; a moderator approves it (binding it as `/links add`
would) or rejects it, and an open proposal expires after a week."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from i18n.message import msg
from services.actor import Actor
from services.clock import Clock
from services.commands import CONFIG_LOG_CHANNEL, LINKS_ADD
from services.errors import BadInput, NotAllowed
from services.links import ChannelChoice, LinkAdmin, LinkRequest
from storage.errors import ProposalOpen
from storage.interface import Storage
from storage.models import ChannelLink, LinkProposal, NewProposal

PROPOSAL_LIFETIME = timedelta(days=7)
NOT_OPEN = msg("This proposal is no longer open: a moderator decided on it, or it expired.")


@dataclass(frozen=True)
class Proposed:
    proposal: LinkProposal
    log_channel_id: int


@dataclass(frozen=True)
class Approved:
    proposal: LinkProposal
    link: ChannelLink


class ProposalService:
    def __init__(self, db: Storage, links: LinkAdmin, clock: Clock) -> None:
        self._db = db
        self._links = links
        self._clock = clock

    async def propose(self, actor: Actor, request: LinkRequest) -> Proposed:
        """Checked as `/links add` checks, stored only when the server has a moderators' log."""
        draft = await self._links.check(actor, request)
        log_channel_id = await self._links.log_channel(draft.guild_id)
        if log_channel_id is None:
            raise NotAllowed(
                msg(
                    "Proposals go to the moderators' log, and this server has none: ask a "
                    "moderator to set {log_channel}, or to add the link with {add}.",
                    log_channel=CONFIG_LOG_CHANNEL,
                    add=LINKS_ADD,
                )
            )
        proposal = NewProposal(
            guild_id=draft.guild_id,
            channel_id=draft.channel_id,
            proposer_id=actor.user_id,
            name=draft.name,
            link_token=draft.link_token,
            interval=draft.interval,
            anonymous_allowed=draft.anonymous_allowed,
            proposer_locale=actor.locale,
            guild_locale=actor.guild_locale,
        )
        try:
            stored = await self._db.add_proposal(proposal, now=self._clock())
        except ProposalOpen:
            raise BadInput(
                msg(
                    "You already have an open proposal in this server: wait for the moderators' "
                    "decision (a proposal expires after 7 days)."
                )
            ) from None
        return Proposed(stored, log_channel_id)

    async def posted(self, proposal: LinkProposal, channel_id: int, message_id: int) -> None:
        await self._db.set_proposal_message(proposal.id, channel_id, message_id)

    async def withdraw(self, proposal: LinkProposal) -> None:
        """The moderators could not be shown the proposal: it is not kept."""
        await self._db.take_proposal(proposal.id)

    async def open_proposal(self, actor: Actor, proposal_id: int) -> LinkProposal:
        """An open proposal of the moderator's own server."""
        guild_id = actor.require_manager()
        proposal = await self._db.get_proposal(proposal_id)
        if proposal is None:
            raise BadInput(NOT_OPEN)
        if proposal.guild_id != guild_id:  # a crafted button of another server
            raise NotAllowed(msg("That proposal is not for this server."))
        return proposal

    async def approve(
        self, actor: Actor, proposal: LinkProposal, channel: ChannelChoice
    ) -> Approved:
        """Bind the link as `/links add` would, in the proposed `channel` (with the moderator's
        and the bot's permissions there); a refusal leaves the proposal open."""
        request = LinkRequest(
            link_token=proposal.link_token.get_secret_value(),
            name=proposal.name,
            channel=channel,
            interval=proposal.interval,
            anonymous_allowed=proposal.anonymous_allowed,
        )
        link = await self._links.add(actor, request)
        if await self._db.take_proposal(proposal.id) is None:  # decided elsewhere meanwhile
            await self._db.remove_link(link.guild_id, link.channel_id, link.name)
            raise BadInput(NOT_OPEN)
        return Approved(proposal, link)

    async def reject(self, actor: Actor, proposal: LinkProposal) -> LinkProposal:
        actor.require_manager()
        taken = await self._db.take_proposal(proposal.id)
        if taken is None:
            raise BadInput(NOT_OPEN)
        return taken

    async def expire(self) -> list[LinkProposal]:
        """Close the proposals older than a week; each is returned to the one process that
        closed it."""
        due = await self._db.proposals_created_before(self._clock() - PROPOSAL_LIFETIME)
        return [taken for each in due if (taken := await self._db.take_proposal(each.id))]
