"""The bot as the extensions, the Discord layer and `ops` use it.

`bot.CtVoteBot` is the one implementation. Typing against this Protocol instead of the class
keeps `bot.py`, which imports all of them, out of their imports: nothing imports `bot.py` but
its callers (the CLI, the benchmark, the tests).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol, cast

if TYPE_CHECKING:
    import discord
    from discord.ext import commands
    from discord.gateway import DiscordWebSocket

    from discord_layer.cards import CardBoard
    from discord_layer.modlog import ModLog
    from discord_layer.stats_flow import StatsFlow
    from discord_layer.texts import Texts
    from discord_layer.vote_flow import VoteFlow
    from ops.metrics import Metrics
    from services.container import Services
    from storage.interface import Storage


class Host(Protocol):
    services: Services
    db: Storage
    texts: Texts
    metrics: Metrics
    cards: CardBoard
    modlog: ModLog
    votes: VoteFlow
    stats: StatsFlow
    reminder_check_seconds: float
    proposal_check_seconds: float
    stopping: bool
    shard_count: int | None

    @property
    def latency(self) -> float: ...

    @property
    def ws(self) -> DiscordWebSocket | None: ...

    def is_ready(self) -> bool: ...

    async def add_cog(self, cog: commands.Cog, /) -> None: ...

    def get_cog(self, name: str, /) -> commands.Cog | None: ...

    def get_partial_messageable(
        self, id: int, *, guild_id: int | None = None
    ) -> discord.PartialMessageable: ...

    def add_dynamic_items(self, *items: type[discord.ui.DynamicItem[Any]]) -> None: ...

    def remove_dynamic_items(self, *items: type[discord.ui.DynamicItem[Any]]) -> None: ...

    async def create_dm(self, user: discord.abc.Snowflake) -> discord.DMChannel: ...

    async def wait_until_ready(self) -> None: ...

    async def stop_gracefully(self, grace: float) -> None: ...


def host_of(interaction: discord.Interaction) -> Host:
    """The bot an interaction arrived at: every interaction this code sees reached a `Host`."""
    return cast("Host", interaction.client)
