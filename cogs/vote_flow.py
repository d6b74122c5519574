"""One vote, however it was asked for: `/vote`, a card's button, or the owner's confirmation."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import partial
from typing import TYPE_CHECKING

import discord

from cogs.render import vote_message
from cogs.replies import actor_from, private_text, publish
from cogs.tree import acknowledge_privately, report_error
from i18n.message import Channel, Member, Message, Name, msg
from services.actor import Actor
from services.errors import OwnLinkVote
from services.voting import VotingService
from storage.models import ChannelLink
from tracker.models import VoteType

if TYPE_CHECKING:
    from bot import CtVoteBot

FindLink = Callable[[VotingService, Actor], Awaitable[ChannelLink]]


async def cast_vote(
    interaction: discord.Interaction[CtVoteBot],
    vote_type: VoteType,
    find_link: FindLink,
    *,
    confirmed: bool = False,
) -> None:
    """Defer privately, vote, then announce publicly; refusals surface through the error handler."""
    if not interaction.response.is_done():  # a card's button: commands are acknowledged already
        await acknowledge_privately(interaction)
    bot = interaction.client
    voting = bot.services.voting
    actor = actor_from(interaction)
    link = await find_link(voting, actor)
    try:
        outcome = await voting.vote_on(actor, link, vote_type, confirmed=confirmed)
    except OwnLinkVote as question:
        render = partial(private_text, interaction)
        view = OwnVoteConfirmation(question.link_id, question.vote_type, actor.user_id, render)
        await interaction.followup.send(render(question.message), view=view, ephemeral=True)
        return
    penalty = outcome.result.penalty
    private = (
        msg("The tracker applied a penalty: this is your own link.")
        if penalty
        else msg("Your vote was counted.")
    )
    await publish(interaction, vote_message(outcome, actor.user_id), private, about=actor.user_id)
    bot.cards.refresh(link.id)
    if penalty:
        await bot.modlog.post(
            link.guild_id,
            msg(
                "⚠️ Penalty on link {link} in {channel}: {member} voted on their own link with "
                "their own account.",
                link=Name(link.name),
                channel=Channel(link.channel_id),
                member=Member(actor.user_id),
            ),
            interaction.guild_locale,
        )


def by_id(link_id: int) -> FindLink:
    return lambda voting, actor: voting.card_link(actor, link_id)


def by_name(name: str | None) -> FindLink:
    return lambda voting, actor: voting.resolve_link(actor, name)


class OwnVoteConfirmation(discord.ui.View):
    """Confirm or cancel a vote on one's own link; only the member who asked can answer."""

    def __init__(
        self,
        link_id: int,
        vote_type: VoteType,
        user_id: int,
        render: Callable[[Message], str],
    ) -> None:
        super().__init__(timeout=300)
        self.link_id = link_id
        self.vote_type = vote_type
        self.user_id = user_id
        self.confirm.label = render(msg("Confirm: vote with the penalty"))[:80]
        self.cancel.label = render(msg("Cancel"))[:80]

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        return interaction.user.id == self.user_id

    @discord.ui.button(style=discord.ButtonStyle.danger)
    async def confirm(
        self, interaction: discord.Interaction[CtVoteBot], button: discord.ui.Button
    ) -> None:
        self.stop()
        sending = private_text(interaction, msg("Sending your vote…"))
        await interaction.response.edit_message(content=sending, view=None)
        await cast_vote(interaction, self.vote_type, by_id(self.link_id), confirmed=True)

    @discord.ui.button(style=discord.ButtonStyle.secondary)
    async def cancel(
        self, interaction: discord.Interaction[CtVoteBot], button: discord.ui.Button
    ) -> None:
        self.stop()
        nothing = private_text(interaction, msg("Nothing was sent."))
        await interaction.response.edit_message(content=nothing, view=None)

    async def on_error(
        self, interaction: discord.Interaction, error: Exception, item: discord.ui.Item
    ) -> None:
        await report_error(interaction, error)
