"""`/dice`, `/luck` as the session's owner and `/dom dice|luck|link` as their dom."""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from cogs.render import game_message
from cogs.replies import actor_from, publish
from services.games import GameOutcome, GamesService
from tracker.models import Game, VoteType

if TYPE_CHECKING:
    from bot import CtVoteBot

# Discord integers are exact up to 2^53 - 1.
SessionId = app_commands.Range[int, 1, 2**53 - 1]
OWN_SESSION = "Session id (default: the one saved with /account connect)."
DOM_SESSION = "The session id of the person whose dom you are."


async def _announce(interaction: discord.Interaction, outcome: GameOutcome) -> None:
    await publish(
        interaction,
        game_message(outcome, interaction.user.id),
        "Played.",
        about=interaction.user.id,
    )


class Games(commands.Cog):
    dom = app_commands.Group(name="dom", description="Play a session's games as its owner's dom.")

    def __init__(self, games: GamesService) -> None:
        self.games = games

    async def _play(
        self, interaction: discord.Interaction, game: Game, session: int | None, *, as_dom: bool
    ) -> None:
        outcome = await self.games.play(actor_from(interaction), game, session, as_dom=as_dom)
        await _announce(interaction, outcome)

    @app_commands.command(name="dice")
    @app_commands.describe(session=OWN_SESSION)
    async def dice(
        self, interaction: discord.Interaction, session: SessionId | None = None
    ) -> None:
        """Roll DICE on your own session."""
        await self._play(interaction, Game.DICE, session, as_dom=False)

    @app_commands.command(name="luck")
    @app_commands.describe(session=OWN_SESSION)
    async def luck(
        self, interaction: discord.Interaction, session: SessionId | None = None
    ) -> None:
        """Play LUCK on your own session."""
        await self._play(interaction, Game.LUCK, session, as_dom=False)

    @dom.command(name="dice")
    @app_commands.describe(session=DOM_SESSION)
    async def dom_dice(self, interaction: discord.Interaction, session: SessionId) -> None:
        """Roll DICE on a session whose owner you are the dom of."""
        await self._play(interaction, Game.DICE, session, as_dom=True)

    @dom.command(name="luck")
    @app_commands.describe(session=DOM_SESSION)
    async def dom_luck(self, interaction: discord.Interaction, session: SessionId) -> None:
        """Play LUCK on a session whose owner you are the dom of."""
        await self._play(interaction, Game.LUCK, session, as_dom=True)

    @dom.command(name="link")
    @app_commands.describe(
        session=DOM_SESSION, type="Add time, remove time, or let the tracker pick."
    )
    @app_commands.choices(
        type=[
            app_commands.Choice(name="add", value="add"),
            app_commands.Choice(name="sub", value="sub"),
            app_commands.Choice(name="rand", value="rand"),
        ]
    )
    async def dom_link(
        self, interaction: discord.Interaction, session: SessionId, type: app_commands.Choice[str]
    ) -> None:
        """Play LINK on a session whose owner you are the dom of."""
        outcome = await self.games.dom_link(actor_from(interaction), session, VoteType(type.value))
        await _announce(interaction, outcome)


async def setup(bot: CtVoteBot) -> None:
    await bot.add_cog(Games(bot.services.games))
