"""`/account connect|disconnect|status`: a member's tracker token, entered through a modal."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from io import BytesIO
from typing import TYPE_CHECKING

import discord
from discord import app_commands, ui
from discord.app_commands import locale_str
from discord.ext import commands

from discord_layer.forget_flow import FORGET_QUESTION, ForgetConfirmation
from discord_layer.installs import anywhere
from discord_layer.ledger_lines import own_history_lines
from discord_layer.replies import (
    NO_PINGS,
    actor_from,
    private_text,
    reply_lines_privately,
    reply_privately,
    texts_of,
)
from discord_layer.tree import OPENS_MODAL, acknowledge_privately, report_error
from discord_layer.vote_limits import next_vote_line
from i18n.message import Message, Moment, Number, msg
from services.accounts import AccountService, AccountStatus
from services.commands import (
    ACCOUNT_CONNECT,
    ACCOUNT_FORGET,
    HELP_ACCOUNT,
    HELP_PRIVACY,
    REMIND_OFF,
    REMIND_ON,
)
from services.history import HistoryService
from services.privacy import PrivacyService, data_filename

if TYPE_CHECKING:
    from discord_layer.host import Host


CONNECT_FORM_TIMEOUT = 10 * 60  # seconds to find and paste a token; then the form is forgotten
MODAL_TITLE = msg("Connect your tracker account")
TOKEN_LABEL = msg("API token")
TOKEN_PLACEHOLDER = msg("Your personal API token from the tracker")
SESSION_LABEL = msg("Default session id (optional)")
SESSION_PLACEHOLDER = msg("Used by /dice and /luck when no session is given")


class ConnectModal(ui.Modal):
    """The token form, labelled in the member's language; the token never appears in a command."""

    def __init__(self, accounts: AccountService, render: Callable[[Message], str]) -> None:
        super().__init__(title=render(MODAL_TITLE)[:45], timeout=CONNECT_FORM_TIMEOUT)
        self.accounts = accounts
        self.api_token: ui.TextInput[ConnectModal] = ui.TextInput(
            label=render(TOKEN_LABEL)[:45],
            custom_id="api_token",
            placeholder=render(TOKEN_PLACEHOLDER)[:100],
            min_length=1,
            max_length=512,
        )
        self.default_session: ui.TextInput[ConnectModal] = ui.TextInput(
            label=render(SESSION_LABEL)[:45],
            custom_id="default_session",
            placeholder=render(SESSION_PLACEHOLDER)[:100],
            required=False,
            max_length=20,
        )
        self.add_item(self.api_token)
        self.add_item(self.default_session)

    async def on_submit(self, interaction: discord.Interaction) -> None:
        await acknowledge_privately(interaction)
        account = await self.accounts.connect(
            actor_from(interaction), self.api_token.value, self.default_session.value
        )
        await reply_privately(
            interaction,
            msg(
                "Connected: your votes now count as your own, and your token is stored "
                "encrypted. Default session: {session}. The token was not tested; the tracker "
                "checks it on your first game.",
                session=account.default_session,
            )
            if account.default_session
            else msg(
                "Connected: your votes now count as your own, and your token is stored "
                "encrypted. The token was not tested; the tracker checks it on your first game."
            ),
        )

    # Modal's own on_error (which this matches) drops BaseView's `item`: discord.py's typing.
    async def on_error(  # type: ignore[override]
        self, interaction: discord.Interaction, error: Exception, /
    ) -> None:
        self.stop()  # discord.py keeps a form that failed, and the text typed into it, otherwise
        await report_error(interaction, error)


def describe_status(status: AccountStatus) -> list[Message]:
    """One line per fact: the account, the votes cast, reminders, and when each link reopens."""
    account = status.account
    if account is None:
        lines = [
            msg(
                "No tracker account is connected: you use the channel's shared vote. Connect "
                "one with {connect}; {help} explains how.",
                connect=ACCOUNT_CONNECT,
                help=HELP_ACCOUNT,
            )
        ]
    else:
        lines = [msg("Connected since {since}.", since=Moment(account.connected_at))]
        lines.append(
            msg("Default session: {session}.", session=account.default_session)
            if account.default_session
            else msg("No default session saved.")
        )
        if account.token_rejected:
            lines.append(msg("⚠️ The tracker rejected this token last time: connect again."))
    lines.append(msg("Votes cast through this bot: {count}.", count=Number(status.votes_cast)))
    lines.append(
        msg("Reminders when a link reopens: on ({off} stops them).", off=REMIND_OFF)
        if status.reminders_on
        else msg("Reminders when a link reopens: off ({on}).", on=REMIND_ON)
    )
    lines.extend(next_vote_line(entry) for entry in status.next_votes)
    return lines


@anywhere
class Accounts(
    commands.GroupCog,
    group_name="account",
    group_description=locale_str("Connect your tracker account to vote as yourself."),
):
    def __init__(
        self, accounts: AccountService, history: HistoryService, privacy: PrivacyService
    ) -> None:
        self.accounts = accounts
        self.history_service = history
        self.privacy_service = privacy
        super().__init__()

    @app_commands.command(
        name="connect",
        description=locale_str(
            "Store your tracker API token (privately, encrypted) and an optional default session."
        ),
        extras={OPENS_MODAL: True},
    )
    async def connect(self, interaction: discord.Interaction) -> None:
        texts = texts_of(interaction)
        modal = ConnectModal(self.accounts, lambda text: texts.render(text, interaction.locale))
        await interaction.response.send_modal(modal)

    @app_commands.command(
        name="disconnect",
        description=locale_str("Forget your API token: it is erased from the bot's database."),
    )
    async def disconnect(self, interaction: discord.Interaction) -> None:
        forgotten = await self.accounts.disconnect(actor_from(interaction))
        await reply_privately(
            interaction,
            msg("Your API token is erased; you now use the channel's shared vote.")
            if forgotten
            else msg("No tracker account was connected."),
        )

    @app_commands.command(
        name="status",
        description=locale_str(
            "Show whether your account is connected and when you can vote again."
        ),
    )
    async def status(self, interaction: discord.Interaction) -> None:
        lines = describe_status(await self.accounts.status(actor_from(interaction)))
        await reply_lines_privately(interaction, lines)  # a line per link: maybe several pages

    @app_commands.command(
        name="history",
        description=locale_str("Show your own latest votes and games, with their outcomes."),
    )
    async def history(self, interaction: discord.Interaction) -> None:
        calls = await self.history_service.own_history(actor_from(interaction))
        await reply_lines_privately(interaction, own_history_lines(calls))

    @app_commands.command(
        name="forget",
        description=locale_str(
            "Erase everything the bot keeps about you; your votes stay counted, without your name."
        ),
    )
    async def forget(self, interaction: discord.Interaction) -> None:
        render = partial(private_text, interaction)
        view = ForgetConfirmation(self.privacy_service, interaction.user.id, render)
        await interaction.followup.send(render(FORGET_QUESTION), view=view, ephemeral=True)

    @app_commands.command(
        name="data",
        description=locale_str("Get a file of everything the bot keeps about you."),
    )
    async def data(self, interaction: discord.Interaction) -> None:
        actor = actor_from(interaction)
        content = await self.privacy_service.data(actor)
        text = msg(
            "Everything the bot keeps about you is in this file (your token only by its last "
            "four characters). {forget} erases it; {help} explains what is kept and why.",
            forget=ACCOUNT_FORGET,
            help=HELP_PRIVACY,
        )
        await interaction.followup.send(
            private_text(interaction, text),
            file=discord.File(BytesIO(content), filename=data_filename(actor.user_id)),
            ephemeral=True,
            allowed_mentions=NO_PINGS,
        )

    @app_commands.command(
        name="privacy",
        description=locale_str("Choose whether public results and link cards name you."),
    )
    @app_commands.describe(
        announce=locale_str("name: results name you; hidden: they say “a member” instead.")
    )
    @app_commands.choices(
        announce=[
            app_commands.Choice(name=locale_str("name"), value="name"),
            app_commands.Choice(name=locale_str("hidden"), value="hidden"),
        ]
    )
    async def privacy(
        self, interaction: discord.Interaction, announce: app_commands.Choice[str]
    ) -> None:
        hidden = announce.value == "hidden"
        await self.privacy_service.set_name_hidden(actor_from(interaction), hidden)
        await reply_privately(
            interaction,
            msg(
                "Public results and link cards now say “a member” instead of naming you. The "
                "tracker still knows your votes by your token, and moderators' history and "
                "exports still name you, until {forget}.",
                forget=ACCOUNT_FORGET,
            )
            if hidden
            else msg("Public results and link cards name you again."),
        )


async def setup(bot: Host) -> None:
    await bot.add_cog(Accounts(bot.services.accounts, bot.services.history, bot.services.privacy))
