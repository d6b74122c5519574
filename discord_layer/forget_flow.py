"""`/account forget`: a question with Confirm and Cancel, then the erasure and a plain answer."""

from __future__ import annotations

from collections.abc import Callable

import discord

from discord_layer.replies import actor_from, private_text
from discord_layer.tree import MemberQuestion
from i18n.message import Message, msg
from services.errors import AlreadyInProgress
from services.privacy import PrivacyService

FORGET_QUESTION = msg(
    "This erases everything the bot keeps about you: your API token and default session, your "
    "reminders, your language and your choice about your name, and your Discord id and name on "
    "every vote and game in its records. Your votes stay counted, as a former member's. This "
    "cannot be undone. Forget you now?"
)
FORGOTTEN = msg(
    "Done: the bot has forgotten you. Your token, default session, reminders, language and "
    "choices are erased, and your votes and games no longer carry your Discord id or name; they "
    "stay counted, so every tally stays as it was. The tracker keeps its own record of your votes "
    "and games, under your tracker account: the bot cannot erase that."
)


class ForgetConfirmation(MemberQuestion):
    """Only the member who asked can answer; labels in their language, like the question."""

    def __init__(
        self, privacy: PrivacyService, user_id: int, render: Callable[[Message], str]
    ) -> None:
        super().__init__(user_id)
        self.privacy = privacy
        self.confirm.label = render(msg("Confirm: forget me"))[:80]
        self.cancel.label = render(msg("Cancel"))[:80]

    @discord.ui.button(style=discord.ButtonStyle.danger)
    async def confirm(self, interaction: discord.Interaction, button: discord.ui.Button) -> None:
        self.stop()
        await interaction.response.defer()
        try:
            await self.privacy.forget(actor_from(interaction))
        except AlreadyInProgress as refusal:  # the question becomes the answer, without buttons
            answer = refusal.message
        else:
            answer = FORGOTTEN
        await interaction.edit_original_response(
            content=private_text(interaction, answer), view=None
        )

    @discord.ui.button(style=discord.ButtonStyle.secondary)
    async def cancel(self, interaction: discord.Interaction, button: discord.ui.Button) -> None:
        self.stop()
        nothing = private_text(interaction, msg("Nothing was erased."))
        await interaction.response.edit_message(content=nothing, view=None)
