"""The moderators' log channel: configuration changes, penalties and tracker errors."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import discord

from cogs.texts import Texts
from i18n.message import Message
from services.links import LinkAdmin

if TYPE_CHECKING:
    from bot import CtVoteBot

log = logging.getLogger(__name__)


class ModLog:
    """Best effort: a log channel that cannot be written to never breaks the command itself."""

    def __init__(self, bot: CtVoteBot, links: LinkAdmin, texts: Texts) -> None:
        self._bot = bot
        self._links = links
        self._texts = texts

    async def post(self, guild_id: int | None, message: Message, locale: object) -> None:
        """Post in the server's language (`locale`: its `guild_locale`), as every public text."""
        if guild_id is None:
            return
        channel_id = await self._links.log_channel(guild_id)
        if channel_id is None:
            return
        channel = self._bot.get_partial_messageable(channel_id, guild_id=guild_id)
        try:
            text = self._texts.render(message, locale)[:2000]
            await channel.send(text, allowed_mentions=discord.AllowedMentions.none())
        except discord.HTTPException as error:
            log.warning(
                "could not post to the log channel of guild %d: HTTP %s", guild_id, error.status
            )
