"""The moderators' log channel: configuration changes, penalties and tracker errors."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import discord

from services.links import LinkAdmin

if TYPE_CHECKING:
    from bot import CtVoteBot

log = logging.getLogger(__name__)


class ModLog:
    """Best effort: a log channel that cannot be written to never breaks the command itself."""

    def __init__(self, bot: CtVoteBot, links: LinkAdmin) -> None:
        self._bot = bot
        self._links = links

    async def post(self, guild_id: int | None, text: str) -> None:
        if guild_id is None:
            return
        channel_id = await self._links.log_channel(guild_id)
        if channel_id is None:
            return
        channel = self._bot.get_partial_messageable(channel_id, guild_id=guild_id)
        try:
            await channel.send(text[:2000], allowed_mentions=discord.AllowedMentions.none())
        except discord.HTTPException as error:
            log.warning(
                "could not post to the log channel of guild %d: HTTP %s", guild_id, error.status
            )
