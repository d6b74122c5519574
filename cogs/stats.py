"""`/stats`: a link's figures and chart, for anyone who may vote (`discord_layer/stats_flow.py`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.app_commands import locale_str
from discord.ext import commands

from cogs.voting import LINK_OPTION, link_autocomplete
from discord_layer.installs import server_only
from discord_layer.stats_flow import StatsFlow
from services.history import Period
from services.voting import LinkByName

if TYPE_CHECKING:
    from discord_layer.host import Host


class Stats(commands.Cog):
    def __init__(self, flow: StatsFlow) -> None:
        self.flow = flow

    @server_only
    @app_commands.guild_only()
    @app_commands.command(
        name="stats",
        description=locale_str("Show the statistics and a chart of this channel's link."),
    )
    @app_commands.describe(
        link=LINK_OPTION,
        period=locale_str("How far back to look (default: the last 30 days)."),
    )
    @app_commands.choices(
        period=[
            app_commands.Choice(name=locale_str("last 7 days"), value=Period.WEEK.value),
            app_commands.Choice(name=locale_str("last 30 days"), value=Period.MONTH.value),
            app_commands.Choice(
                name=locale_str("since the link was added"), value=Period.ALL.value
            ),
        ]
    )
    @app_commands.autocomplete(link=link_autocomplete)
    async def stats(
        self,
        interaction: discord.Interaction,
        link: str | None = None,
        period: app_commands.Choice[str] | None = None,
    ) -> None:
        chosen = Period(period.value) if period is not None else Period.MONTH
        await self.flow.answer(interaction, LinkByName(link), chosen)


async def setup(bot: Host) -> None:
    await bot.add_cog(Stats(bot.stats))
