"""`/dice`, `/luck` as the session's owner and `/dom dice|luck|link` as their dom."""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.app_commands import locale_str
from discord.ext import commands

from discord_layer.installs import anywhere
from discord_layer.render import game_message
from discord_layer.replies import actor_from, discord_guild_locale, publish
from i18n.message import msg
from services.games import GameOutcome, GamesService
from services.locales import LocaleService
from tracker.models import Game, VoteType

if TYPE_CHECKING:
    from discord_layer.host import Host

# Discord integers are exact up to 2^53 - 1.
SessionId = app_commands.Range[int, 1, 2**53 - 1]
OWN_SESSION = locale_str("Session id (default: the one saved with /account connect).")
DOM_SESSION = locale_str("The session id of the person whose dom you are.")


async def _announce(
    interaction: discord.Interaction, outcome: GameOutcome, locales: LocaleService
) -> None:
    # Outside servers (a user install's DMs) there is no server language: the player's serves.
    guild_locale = discord_guild_locale(interaction) or str(interaction.locale)
    await publish(
        interaction,
        game_message(outcome, interaction.user.id),
        msg("Played."),
        about=interaction.user.id,
        locale=await locales.public_locale(interaction.guild_id, guild_locale),
    )


class Games(commands.Cog):
    dom = anywhere(
        app_commands.Group(
            name="dom",
            description=locale_str(
                "Play a session's games as the dom of the person it belongs to."
            ),
        )
    )

    def __init__(self, games: GamesService, locales: LocaleService) -> None:
        self.games = games
        self.locales = locales

    async def _play(
        self, interaction: discord.Interaction, game: Game, session: int | None, *, as_dom: bool
    ) -> None:
        outcome = await self.games.play(actor_from(interaction), game, session, as_dom=as_dom)
        await _announce(interaction, outcome, self.locales)

    @app_commands.command(name="dice", description=locale_str("Roll DICE on your own session."))
    @anywhere
    @app_commands.describe(session=OWN_SESSION)
    async def dice(
        self, interaction: discord.Interaction, session: SessionId | None = None
    ) -> None:
        await self._play(interaction, Game.DICE, session, as_dom=False)

    @app_commands.command(name="luck", description=locale_str("Play LUCK on your own session."))
    @anywhere
    @app_commands.describe(session=OWN_SESSION)
    async def luck(
        self, interaction: discord.Interaction, session: SessionId | None = None
    ) -> None:
        await self._play(interaction, Game.LUCK, session, as_dom=False)

    @dom.command(
        name="dice",
        description=locale_str("Roll DICE on the session of the person whose dom you are."),
    )
    @app_commands.describe(session=DOM_SESSION)
    async def dom_dice(self, interaction: discord.Interaction, session: SessionId) -> None:
        await self._play(interaction, Game.DICE, session, as_dom=True)

    @dom.command(
        name="luck",
        description=locale_str("Play LUCK on the session of the person whose dom you are."),
    )
    @app_commands.describe(session=DOM_SESSION)
    async def dom_luck(self, interaction: discord.Interaction, session: SessionId) -> None:
        await self._play(interaction, Game.LUCK, session, as_dom=True)

    @dom.command(
        name="link",
        description=locale_str("Play LINK on the session of the person whose dom you are."),
    )
    @app_commands.describe(
        session=DOM_SESSION, type=locale_str("Add time, remove time, or let the tracker pick.")
    )
    @app_commands.choices(
        type=[
            # TRANSLATORS: choice names of /dom link type; members may know them as add/sub/rand.
            app_commands.Choice(name=locale_str("add"), value="add"),
            app_commands.Choice(name=locale_str("sub"), value="sub"),
            app_commands.Choice(name=locale_str("rand"), value="rand"),
        ]
    )
    async def dom_link(
        self, interaction: discord.Interaction, session: SessionId, type: app_commands.Choice[str]
    ) -> None:
        outcome = await self.games.dom_link(actor_from(interaction), session, VoteType(type.value))
        await _announce(interaction, outcome, self.locales)


async def setup(bot: Host) -> None:
    await bot.add_cog(Games(bot.services.games, bot.services.locales))
