"""One vote, however it was asked for: `/vote`, a card's button, or the owner's confirmation."""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING

import discord

from discord_layer.render import vote_message
from discord_layer.replies import actor_from, private_text, publish
from discord_layer.tree import MemberQuestion, acknowledge_privately
from i18n.message import Channel, Member, Message, Name, msg
from services.voting import LinkById, LinkRef, NeedsConfirmation, VotingService
from storage.models import ChannelLink
from tracker.models import VoteType

if TYPE_CHECKING:
    from collections.abc import Callable

    from discord_layer.modlog import ModLog
    from services.locales import LocaleService


def own_link_question(link: ChannelLink) -> Message:
    return msg(
        "{link} is your own session's link: a vote on it with your account makes the tracker "
        "apply a penalty (time added at the maximum multiplier). Send it anyway?",
        link=Name(link.name),
    )


class VoteFlow:
    """Acknowledge privately, vote, then announce publicly or ask the owner to confirm.

    Refusals surface through the one error handler. `refresh_cards` (the card board's) is told
    of every counted vote; taking it as a function keeps the cards, whose buttons call this flow,
    out of its imports.
    """

    def __init__(
        self,
        voting: VotingService,
        locales: LocaleService,
        refresh_cards: Callable[[int], None],
        modlog: ModLog,
    ) -> None:
        self._voting = voting
        self._locales = locales
        self._refresh_cards = refresh_cards
        self._modlog = modlog

    async def cast(
        self,
        interaction: discord.Interaction,
        ref: LinkRef,
        vote_type: VoteType,
        *,
        confirmed: bool = False,
    ) -> None:
        await acknowledge_privately(interaction)
        actor = actor_from(interaction)
        answer = await self._voting.vote(actor, ref, vote_type, confirmed=confirmed)
        if isinstance(answer, NeedsConfirmation):
            render = partial(private_text, interaction)
            view = OwnVoteConfirmation(self, answer, actor.user_id, render)
            await interaction.followup.send(
                render(own_link_question(answer.link)), view=view, ephemeral=True
            )
            return
        link, penalty = answer.link, answer.result.penalty
        private = (
            msg("The tracker applied a penalty: this is your own link.")
            if penalty
            else msg("Your vote was counted.")
        )
        locale = await self._locales.public_locale(actor.guild_id, actor.guild_locale)
        await publish(
            interaction,
            vote_message(answer, actor.user_id),
            private,
            about=actor.user_id,
            locale=locale,
        )
        self._refresh_cards(link.id)
        if penalty:
            await self._modlog.post(
                link.guild_id,
                msg(
                    "⚠️ Penalty on link {link} in {channel}: {member} voted on their own link "
                    "with their own account.",
                    link=Name(link.name),
                    channel=Channel(link.channel_id),
                    member=Member(actor.user_id),
                ),
                interaction.guild_locale,
            )


class OwnVoteConfirmation(MemberQuestion):
    """Confirm or cancel a vote on one's own link; only the member who asked can answer.

    Its labels are in the member's language, like the question above them.
    """

    def __init__(
        self,
        flow: VoteFlow,
        question: NeedsConfirmation,
        user_id: int,
        render: Callable[[Message], str],
    ) -> None:
        super().__init__(user_id)
        self.flow = flow
        self.link_id = question.link.id
        self.vote_type = question.vote_type
        self.confirm.label = render(msg("Confirm: vote with the penalty"))[:80]
        self.cancel.label = render(msg("Cancel"))[:80]

    @discord.ui.button(style=discord.ButtonStyle.danger)
    async def confirm(self, interaction: discord.Interaction, button: discord.ui.Button) -> None:
        self.stop()
        sending = private_text(interaction, msg("Sending your vote…"))
        await interaction.response.edit_message(content=sending, view=None)
        await self.flow.cast(interaction, LinkById(self.link_id), self.vote_type, confirmed=True)

    @discord.ui.button(style=discord.ButtonStyle.secondary)
    async def cancel(self, interaction: discord.Interaction, button: discord.ui.Button) -> None:
        self.stop()
        nothing = private_text(interaction, msg("Nothing was sent."))
        await interaction.response.edit_message(content=nothing, view=None)
