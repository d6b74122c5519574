"""`/remind on|off`, and the loop that sends a DM when a daily link reopens for a member."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.app_commands import locale_str
from discord.ext import commands, tasks

from discord_layer.installs import anywhere
from discord_layer.replies import actor_from, reply_privately
from discord_layer.texts import Texts
from i18n.message import Channel, Message, Name, msg
from services.reminders import ReminderService
from storage.models import DueReminder

if TYPE_CHECKING:
    from discord_layer.host import Host

log = logging.getLogger(__name__)


def reminder_text(reminder: DueReminder) -> Message:
    return msg(
        "Link {link} in {channel} has reopened for you: you can vote on it again. "
        "(Turn these messages off with `/remind off`.)",
        link=Name(reminder.link_name),
        channel=Channel(reminder.channel_id),
    )


@anywhere
class Reminders(
    commands.GroupCog,
    group_name="remind",
    group_description=locale_str("A direct message when a link reopens for you."),
):
    def __init__(
        self, bot: Host, reminders: ReminderService, texts: Texts, every_seconds: float
    ) -> None:
        self.bot = bot
        self.reminders = reminders
        self.texts = texts
        self.deliver.change_interval(seconds=every_seconds)
        super().__init__()

    async def cog_load(self) -> None:
        self.deliver.start()

    async def cog_unload(self) -> None:
        self.deliver.cancel()

    @app_commands.command(
        name="on",
        description=locale_str(
            "Get a direct message when a daily link you voted on reopens for you."
        ),
    )
    async def turn_on(self, interaction: discord.Interaction) -> None:
        await self.reminders.turn_on(actor_from(interaction))
        await reply_privately(
            interaction,
            msg(
                "Reminders are on: you get a direct message when a daily link you voted on "
                "reopens for you. Direct messages from this server's members must be allowed."
            ),
        )

    @app_commands.command(
        name="off", description=locale_str("Stop the direct messages when a link reopens.")
    )
    async def turn_off(self, interaction: discord.Interaction) -> None:
        await self.reminders.turn_off(actor_from(interaction))
        await reply_privately(interaction, msg("Reminders are off."))

    @tasks.loop(seconds=60)
    async def deliver(self) -> None:
        try:
            for reminder in await self.reminders.due():
                if await self.reminders.claim(reminder):  # else another process sends it
                    await self.reminders.sent(reminder, delivered=await self._send(reminder))
        except Exception:  # the next round tries again; a stopped loop would never remind anyone
            log.exception("reminder round failed")

    @deliver.before_loop
    async def _ready(self) -> None:
        await self.bot.wait_until_ready()

    async def _send(self, reminder: DueReminder) -> bool:
        """One attempt, in the member's language as last seen.

        Closed DMs are logged, not retried, so nobody is messaged twice.
        """
        try:
            channel = await self.bot.create_dm(discord.Object(id=reminder.user_id))
            text = self.texts.render(reminder_text(reminder), reminder.locale)
            await channel.send(text, allowed_mentions=discord.AllowedMentions.none())
        except discord.HTTPException as error:
            log.info(
                "reminder for user %d not delivered (HTTP %s, code %s)",
                reminder.user_id,
                error.status,
                error.code,
            )
            return False
        self.bot.metrics.reminders_sent.inc()
        return True


async def setup(bot: Host) -> None:
    await bot.add_cog(Reminders(bot, bot.services.reminders, bot.texts, bot.reminder_check_seconds))
