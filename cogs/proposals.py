"""`/propose`: a member proposes a link for their channel; moderators approve or reject it with
the buttons of its message in the moderators' log, and it expires after a week.

The buttons are dynamic items: their custom id carries the proposal's number (never its token),
so they work after a restart.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Literal

import discord
from discord import app_commands
from discord.app_commands import locale_str
from discord.ext import commands, tasks

from cogs.links import (
    INTERVAL_CHOICES,
    LINK_OPTIONS,
    LinkName,
    LinkToken,
    cached_channel,
    chosen_interval,
    describe_link,
    link_settings,
    post_card,
    this_channel,
)
from discord_layer.host import host_of
from discord_layer.installs import server_only
from discord_layer.markup import mask
from discord_layer.render import TWO_LINES
from discord_layer.replies import NO_PINGS, actor_from, reply_privately
from discord_layer.texts import Texts
from discord_layer.tree import acknowledge_privately, report_error
from i18n.message import Channel, Member, Message, Moment, Name, Param, Term, msg
from services.commands import LINKS_ADD
from services.links import LinkRequest
from services.proposals import PROPOSAL_LIFETIME, ProposalService
from storage.models import LinkProposal

if TYPE_CHECKING:
    from discord_layer.host import Host

log = logging.getLogger(__name__)

Decision = Literal["approve", "reject"]
Render = Callable[[Message], str]
# TRANSLATORS: the buttons under a link proposal in the moderators' log.
LABELS: dict[Decision, Message] = {"approve": msg("Approve"), "reject": msg("Reject")}
STYLES = {"approve": discord.ButtonStyle.success, "reject": discord.ButtonStyle.danger}


class ProposalButton(
    discord.ui.DynamicItem[discord.ui.Button],
    template=r"ctvote:proposal:(?P<proposal_id>[0-9]{1,19}):(?P<decision>approve|reject)",
):
    def __init__(
        self, proposal_id: int, decision: Decision, label: str = "", *, disabled: bool = False
    ) -> None:
        super().__init__(
            discord.ui.Button(
                label=label or decision,
                style=STYLES[decision],
                custom_id=f"ctvote:proposal:{proposal_id}:{decision}",
                disabled=disabled,
            )
        )
        self.proposal_id = proposal_id
        self.decision: Decision = decision

    @classmethod
    # A DynamicItem[Button] is handed its Button; discord.py types the argument as any Item.
    async def from_custom_id(  # type: ignore[override]
        cls, interaction: discord.Interaction, item: discord.ui.Button, match: re.Match[str], /
    ) -> ProposalButton:
        decision: Decision = "approve" if match["decision"] == "approve" else "reject"
        return cls(int(match["proposal_id"]), decision, item.label or "")

    async def callback(self, interaction: discord.Interaction) -> None:
        cog = host_of(interaction).get_cog(Proposals.__cog_name__)
        if isinstance(cog, Proposals):
            await cog.decide(interaction, self.proposal_id, self.decision)


def proposal_view(proposal_id: int, render: Render, *, disabled: bool = False) -> discord.ui.View:
    view = discord.ui.View(timeout=None)
    for decision, label in LABELS.items():
        view.add_item(ProposalButton(proposal_id, decision, render(label), disabled=disabled))
    return view


def proposal_text(proposal: LinkProposal) -> Message:
    """The proposal as moderators read it: who, where, the settings; the token masked."""
    interval, voters = link_settings(proposal.interval, proposal.anonymous_allowed)
    facts: dict[str, Param] = {
        "member": Member(proposal.proposer_id),
        "channel": Channel(proposal.channel_id),
        "token": Term(mask(proposal.link_token.get_secret_value())),
        "interval": interval,
        "voters": voters,
        "expires": Moment(proposal.created_at + PROPOSAL_LIFETIME, "relative"),
    }
    if proposal.name is None:
        return msg(
            "📨 {member} proposes a link for {channel}: token {token}, {interval}, {voters}. "
            "Approving sets it up there and posts its card; it expires {expires}.",
            **facts,
        )
    return msg(
        "📨 {member} proposes link {link} for {channel}: token {token}, {interval}, {voters}. "
        "Approving sets it up there and posts its card; it expires {expires}.",
        link=Name(proposal.name),
        **facts,
    )


class Proposals(commands.Cog):
    def __init__(
        self, bot: Host, proposals: ProposalService, texts: Texts, every_seconds: float
    ) -> None:
        self.bot = bot
        self.proposals = proposals
        self.texts = texts
        self.expire.change_interval(seconds=every_seconds)

    async def cog_load(self) -> None:
        self.bot.add_dynamic_items(ProposalButton)
        self.expire.start()

    async def cog_unload(self) -> None:
        self.expire.cancel()
        self.bot.remove_dynamic_items(ProposalButton)

    @app_commands.command(
        name="propose",
        description=locale_str(
            "Propose a session's public vote link for this channel; a moderator approves it."
        ),
    )
    @server_only
    @app_commands.guild_only()
    @app_commands.describe(**LINK_OPTIONS)
    @app_commands.choices(interval=INTERVAL_CHOICES)
    async def propose(
        self,
        interaction: discord.Interaction,
        token: LinkToken,
        name: LinkName | None = None,
        interval: app_commands.Choice[str] | None = None,
        anonymous: bool = True,
    ) -> None:
        request = LinkRequest(
            token, name, this_channel(interaction), chosen_interval(interval), anonymous
        )
        proposed = await self.proposals.propose(actor_from(interaction), request)
        proposal = proposed.proposal
        render = self._renderer(proposal)
        log_channel = self.bot.get_partial_messageable(
            proposed.log_channel_id, guild_id=proposal.guild_id
        )
        try:
            message = await log_channel.send(
                render(proposal_text(proposal)),
                view=proposal_view(proposal.id, render),
                allowed_mentions=NO_PINGS,
            )
        except discord.HTTPException as error:
            await self.proposals.withdraw(proposal)
            await reply_privately(
                interaction,
                msg(
                    "Your proposal could not be posted in the moderators' log (HTTP {status}), "
                    "so it was not kept: ask a moderator to check the bot's permissions there, "
                    "or to add the link with {add}.",
                    status=error.status,
                    add=LINKS_ADD,
                ),
            )
            return
        await self.proposals.posted(proposal, proposed.log_channel_id, message.id)
        await reply_privately(
            interaction,
            msg(
                "Your proposal is with the moderators. You get a direct message when they "
                "decide, if your direct messages are open; without a decision it expires in 7 "
                "days."
            ),
        )

    async def decide(
        self, interaction: discord.Interaction, proposal_id: int, decision: Decision
    ) -> None:
        """A moderator's press of Approve or Reject; anyone else is refused privately."""
        try:
            await acknowledge_privately(interaction)
            actor = actor_from(interaction)
            proposal = await self.proposals.open_proposal(actor, proposal_id)
            moderator = Member(interaction.user.id)
            if decision == "approve":
                channel = cached_channel(interaction, proposal.channel_id)
                approved = await self.proposals.approve(actor, proposal, channel)
                link = approved.link
                card = await post_card(self.bot, link)
                await reply_privately(
                    interaction,
                    msg("Link added: {link}. {card}", link=describe_link(link), card=card),
                )
                outcome = msg(
                    "✅ Approved by {member}: link {link} is set up in {channel}.",
                    member=moderator,
                    link=Name(link.name),
                    channel=Channel(link.channel_id),
                )
                told = msg(
                    "Your proposed link {link} is approved: members can vote on it in {channel}.",
                    link=Name(link.name),
                    channel=Channel(link.channel_id),
                )
            else:
                proposal = await self.proposals.reject(actor, proposal)
                await reply_privately(
                    interaction,
                    msg("Rejected. The proposer is told if their direct messages are open."),
                )
                outcome = msg("❌ Rejected by {member}.", member=moderator)
                told = msg(
                    "Your proposed link for {channel} was rejected by the moderators.",
                    channel=Channel(proposal.channel_id),
                )
        except Exception as error:  # a button has no error handler of its own
            await report_error(interaction, error)
            return
        await self._close(proposal, outcome)
        await self._tell_proposer(proposal, told)

    @tasks.loop(seconds=300)
    async def expire(self) -> None:
        try:
            for proposal in await self.proposals.expire():  # each closed by this process only
                await self._close(proposal, msg("⌛ Expired: no moderator decided within 7 days."))
                await self._tell_proposer(
                    proposal,
                    msg(
                        "Your proposed link for {channel} expired: no moderator decided within "
                        "7 days. You may propose it again.",
                        channel=Channel(proposal.channel_id),
                    ),
                )
        except Exception:  # the next round tries again; a stopped loop would expire nothing
            log.exception("proposal expiry round failed")

    @expire.before_loop
    async def _ready(self) -> None:
        await self.bot.wait_until_ready()

    def _renderer(self, proposal: LinkProposal) -> Render:
        """The proposal's message speaks the server's language, as it was when proposed."""
        return lambda message: self.texts.render(message, proposal.guild_locale)

    async def _close(self, proposal: LinkProposal, outcome: Message) -> None:
        """The proposal's message says how it ended; its buttons are disabled."""
        if proposal.log_channel_id is None or proposal.message_id is None:
            return
        render = self._renderer(proposal)
        text = render(Message(TWO_LINES, {"first": proposal_text(proposal), "second": outcome}))
        channel = self.bot.get_partial_messageable(proposal.log_channel_id)
        try:
            await channel.get_partial_message(proposal.message_id).edit(
                content=text,
                view=proposal_view(proposal.id, render, disabled=True),
                allowed_mentions=NO_PINGS,
            )
        except discord.HTTPException as error:
            log.warning(
                "could not edit proposal message %d: HTTP %s", proposal.message_id, error.status
            )

    async def _tell_proposer(self, proposal: LinkProposal, text: Message) -> None:
        """One attempt, in the proposer's language; closed DMs are logged, not retried."""
        try:
            channel = await self.bot.create_dm(discord.Object(id=proposal.proposer_id))
            await channel.send(
                self.texts.render(text, proposal.proposer_locale), allowed_mentions=NO_PINGS
            )
        except discord.HTTPException as error:
            log.info(
                "proposal %d: proposer %d not told (HTTP %s, code %s)",
                proposal.id,
                proposal.proposer_id,
                error.status,
                error.code,
            )


async def setup(bot: Host) -> None:
    await bot.add_cog(Proposals(bot, bot.services.proposals, bot.texts, bot.proposal_check_seconds))
