"""`/account connect|disconnect|status`: a member's tracker token, entered through a modal."""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord
from discord import app_commands, ui
from discord.ext import commands

from cogs.replies import actor_from, pages, reply_privately
from cogs.tree import OPENS_MODAL, acknowledge_privately, report_error
from services.accounts import AccountService, AccountStatus
from services.markup import timestamp
from services.voting import UNCLEAR

if TYPE_CHECKING:
    from bot import CtVoteBot


CONNECT_FORM_TIMEOUT = 10 * 60  # seconds to find and paste a token; then the form is forgotten


class ConnectModal(ui.Modal, title="Connect your tracker account"):
    api_token: ui.TextInput[ConnectModal] = ui.TextInput(
        label="API token",
        custom_id="api_token",
        placeholder="Your personal API token from the tracker",
        min_length=1,
        max_length=512,
    )
    default_session: ui.TextInput[ConnectModal] = ui.TextInput(
        label="Default session id (optional)",
        custom_id="default_session",
        placeholder="Used by /dice and /luck when no session is given",
        required=False,
        max_length=20,
    )

    def __init__(self, accounts: AccountService) -> None:
        super().__init__(timeout=CONNECT_FORM_TIMEOUT)
        self.accounts = accounts

    async def on_submit(self, interaction: discord.Interaction) -> None:
        await acknowledge_privately(interaction)
        account = await self.accounts.connect(
            actor_from(interaction), self.api_token.value, self.default_session.value
        )
        session = f" Default session: {account.default_session}." if account.default_session else ""
        await reply_privately(
            interaction,
            "Connected: your votes now count as your own, and your token is stored encrypted."
            f"{session} The token was not tested; the tracker checks it on your first game.",
        )

    async def on_error(self, interaction: discord.Interaction, error: Exception, /) -> None:
        self.stop()  # discord.py keeps a form that failed, and the text typed into it, otherwise
        await report_error(interaction, error)


def describe_status(status: AccountStatus) -> list[str]:
    account = status.account
    if account is None:
        lines = [
            "No tracker account is connected: you vote anonymously, sharing the channel's "
            "anonymous vote. Connect one with `/account connect`."
        ]
    else:
        lines = [f"Connected since {timestamp(account.connected_at, 'F')}."]
        lines.append(
            f"Default session: {account.default_session}."
            if account.default_session
            else "No default session saved."
        )
        if account.token_rejected:
            lines.append("⚠️ The tracker rejected this token last time: connect again.")
    lines.append(f"Votes cast through this bot: {status.votes_cast}.")
    lines.append(
        "Reminders when a link reopens: on (`/remind off` stops them)."
        if status.reminders_on
        else "Reminders when a link reopens: off (`/remind on`)."
    )
    for entry in status.next_votes:
        when = f"from {timestamp(entry.at, 'R')}" if entry.at else "never (one vote per person)"
        unclear = f"your last vote {UNCLEAR}; " if entry.uncertain else ""
        lines.append(
            f"• `{entry.link.name}` in <#{entry.link.channel_id}>: {unclear}"
            f"you can vote again {when}."
        )
    return lines


class Accounts(
    commands.GroupCog,
    group_name="account",
    group_description="Connect your tracker account to vote as yourself.",
):
    def __init__(self, accounts: AccountService) -> None:
        self.accounts = accounts
        super().__init__()

    @app_commands.command(name="connect", extras={OPENS_MODAL: True})
    async def connect(self, interaction: discord.Interaction) -> None:
        """Store your tracker API token (privately, encrypted) and an optional default session."""
        await interaction.response.send_modal(ConnectModal(self.accounts))

    @app_commands.command(name="disconnect")
    async def disconnect(self, interaction: discord.Interaction) -> None:
        """Forget your API token: it is erased from the bot's database."""
        forgotten = await self.accounts.disconnect(actor_from(interaction))
        await reply_privately(
            interaction,
            "Your API token is erased; you now vote anonymously."
            if forgotten
            else "No tracker account was connected.",
        )

    @app_commands.command(name="status")
    async def status(self, interaction: discord.Interaction) -> None:
        """Show whether your account is connected and when you can vote again."""
        status = await self.accounts.status(actor_from(interaction))
        for page in pages(describe_status(status)):  # a line per link: many links, many pages
            await reply_privately(interaction, page)


async def setup(bot: CtVoteBot) -> None:
    await bot.add_cog(Accounts(bot.services.accounts))
