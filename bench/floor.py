"""The floor: the least any discord.py bot must do for a vote, to measure the bot against.

`bench/run.py --floor` runs this as a child process, in the same run and the same harness as the
bot, configured through the same environment (`DISCORD_*`, `TRACKER_API_URL`, `DEV_GUILD_ID`) and
`FLOOR_ACCOUNTS`, a JSON file: the link's name and token, and each member's tracker API token by
Discord id. For each `/vote add|sub|rand` it does what cannot be left out: the command tree
dispatches the interaction, the interaction is acknowledged privately, the tracker is called once
with the member's bearer through the bot's own HTTP and tracker clients, and the member gets the
bot's two answers (the private note and the public result, rendered by the bot's own code from its
catalogue, in the member's and the server's language).
No rules, no database, no encryption, no cards.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # `python bench/floor.py` puts bench/ first, not the project
    sys.path.insert(0, str(ROOT))

import discord
from discord import app_commands
from pydantic import SecretStr

from bot import point_discord_at, run_event_loop
from discord_layer.render import vote_message
from discord_layer.replies import publish
from discord_layer.texts import Texts
from i18n.catalogue import Catalogue
from i18n.message import msg
from services.voting import VoteOutcome
from settings import Settings, load_settings
from storage.models import ChannelLink, VoteInterval
from tracker.client import TrackerClient
from tracker.http import create_http_client
from tracker.models import VoteType


class FloorVote(app_commands.Group):
    """The bot's `/vote` group, each command only acknowledging, calling and answering."""

    def __init__(self, client: FloorClient) -> None:
        super().__init__(name="vote", description="Vote on this channel's link.", guild_only=True)
        self.client = client

    @app_commands.command(name="add")
    async def add(self, interaction: discord.Interaction, link: str | None = None) -> None:
        """Vote to add time on this channel's link."""
        await self.client.vote(interaction, VoteType.ADD)

    @app_commands.command(name="sub")
    async def sub(self, interaction: discord.Interaction, link: str | None = None) -> None:
        """Vote to remove time on this channel's link."""
        await self.client.vote(interaction, VoteType.SUB)

    @app_commands.command(name="rand")
    async def rand(self, interaction: discord.Interaction, link: str | None = None) -> None:
        """Vote and let the tracker pick add or remove at random."""
        await self.client.vote(interaction, VoteType.RAND)


class FloorClient(discord.Client):
    def __init__(
        self, tracker: TrackerClient, link: ChannelLink, bearers: dict[int, SecretStr]
    ) -> None:
        discord.VoiceClient.warn_nacl = discord.VoiceClient.warn_dave = False
        intents = discord.Intents.none()
        intents.guilds = True
        super().__init__(intents=intents, allowed_mentions=discord.AllowedMentions.none())
        self.tree = app_commands.CommandTree(self)
        self.tracker = tracker
        self.link = link
        self.bearers = bearers

    async def setup_hook(self) -> None:
        guild = discord.Object(self.link.guild_id)
        await self.tree.set_translator(Texts(Catalogue.load()))  # `publish` renders through it
        self.tree.add_command(FloorVote(self), guild=guild)
        await self.tree.sync(guild=guild)

    async def vote(self, interaction: discord.Interaction, vote_type: VoteType) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        voter = interaction.user.id
        result = await self.tracker.vote(
            self.link.link_token, vote_type, bearer=self.bearers[voter]
        )
        outcome = VoteOutcome(link=self.link, result=result, anonymous=False)
        voted = msg("Your vote was counted.")
        await publish(
            interaction,
            vote_message(outcome, voter),
            voted,
            about=voter,
            locale=interaction.guild_locale,
        )


def floor_link(settings: Settings, name: str, token: str) -> ChannelLink:
    """The link as the bot would hold it, for the bot's renderer."""
    if settings.dev_guild_id is None:
        raise SystemExit("floor: DEV_GUILD_ID is required")
    return ChannelLink(
        id=1,
        guild_id=settings.dev_guild_id,
        channel_id=0,
        name=name,
        link_token=SecretStr(token),
        interval=VoteInterval.DAILY,
        anonymous_allowed=True,
        added_by=0,
        added_at=datetime.now(UTC),
        session_id=None,
    )


async def serve(settings: Settings, accounts: dict[str, object]) -> None:
    if settings.discord_api_url is None or settings.discord_gateway_url is None:
        raise SystemExit("floor: DISCORD_API_URL and DISCORD_GATEWAY_URL are required")
    point_discord_at(str(settings.discord_api_url), str(settings.discord_gateway_url))
    link = floor_link(settings, str(accounts["link_name"]), str(accounts["link_token"]))
    tokens = accounts["bearers"]
    assert isinstance(tokens, dict)
    bearers = {int(member): SecretStr(token) for member, token in tokens.items()}
    async with create_http_client(settings) as http:
        client = FloorClient(TrackerClient(http, settings.tracker_base_url), link, bearers)
        async with client:
            await client.start(settings.discord_token.get_secret_value())


def main() -> int:
    settings = load_settings()
    accounts = json.loads(Path(os.environ["FLOOR_ACCOUNTS"]).read_text())
    with contextlib.suppress(KeyboardInterrupt):  # how bench/run.py stops it
        run_event_loop(serve(settings, accounts))
    return 0


if __name__ == "__main__":
    sys.exit(main())
