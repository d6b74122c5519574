"""`/vote add|sub|rand`: public LINK votes on the link(s) a moderator bound to this channel."""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.app_commands import locale_str
from discord.ext import commands

from discord_layer.host import host_of
from discord_layer.installs import server_only
from discord_layer.replies import actor_from
from discord_layer.vote_flow import VoteFlow
from services.voting import LinkByName
from tracker.models import VoteType

if TYPE_CHECKING:
    from discord_layer.host import Host

LINK_OPTION = locale_str("Which of this channel's links (needed only when it has several).")


async def link_autocomplete(
    interaction: discord.Interaction, current: str
) -> list[app_commands.Choice[str]]:
    """This channel's links that start with what the member typed (`/vote`, `/stats`)."""
    voting = host_of(interaction).services.voting
    names = await voting.link_names(actor_from(interaction), current)
    return [app_commands.Choice(name=name, value=name) for name in names]


@server_only
@app_commands.guild_only()
class Voting(
    commands.GroupCog,
    group_name="vote",
    group_description=locale_str("Vote on this channel's link."),
):
    def __init__(self, flow: VoteFlow) -> None:
        self.flow = flow
        super().__init__()

    async def _vote(
        self, interaction: discord.Interaction, link: str | None, kind: VoteType
    ) -> None:
        await self.flow.cast(interaction, LinkByName(link), kind)

    @app_commands.command(
        name="add", description=locale_str("Vote to add time on this channel's link.")
    )
    @app_commands.describe(link=LINK_OPTION)
    @app_commands.autocomplete(link=link_autocomplete)
    async def add(self, interaction: discord.Interaction, link: str | None = None) -> None:
        await self._vote(interaction, link, VoteType.ADD)

    @app_commands.command(
        name="sub", description=locale_str("Vote to remove time on this channel's link.")
    )
    @app_commands.describe(link=LINK_OPTION)
    @app_commands.autocomplete(link=link_autocomplete)
    async def sub(self, interaction: discord.Interaction, link: str | None = None) -> None:
        await self._vote(interaction, link, VoteType.SUB)

    @app_commands.command(
        name="rand",
        description=locale_str("Vote and let the tracker pick add or remove at random."),
    )
    @app_commands.describe(link=LINK_OPTION)
    @app_commands.autocomplete(link=link_autocomplete)
    async def rand(self, interaction: discord.Interaction, link: str | None = None) -> None:
        await self._vote(interaction, link, VoteType.RAND)


async def setup(bot: Host) -> None:
    await bot.add_cog(Voting(bot.votes))
