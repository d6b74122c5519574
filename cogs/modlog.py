"""The moderators' log channel: configuration changes, penalties and tracker errors."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import discord

from cogs.replies import NO_PINGS, within_limit
from services.error_digest import ErrorDigest
from services.links import LinkAdmin
from services.markup import timestamp

if TYPE_CHECKING:
    from bot import CtVoteBot

log = logging.getLogger(__name__)

REPEATS_NOT_POSTED = "{count} more like it since {since} were not posted."


class ModLog:
    """Best effort: a log channel that cannot be written to never breaks the command itself."""

    def __init__(self, bot: CtVoteBot, links: LinkAdmin, digest: ErrorDigest) -> None:
        self._bot = bot
        self._links = links
        self._digest = digest

    async def post_repeatable(
        self, guild_id: int | None, kind: tuple[object, ...], text: str
    ) -> None:
        """An error that may come again and again: one post per kind and window, with a count."""
        if guild_id is None:
            return
        repeats = self._digest.admit((guild_id, *kind))
        if repeats is None:
            return
        if repeats.count:
            since = timestamp(repeats.since, "R")
            text += " " + REPEATS_NOT_POSTED.format(count=repeats.count, since=since)
        await self.post(guild_id, text)

    async def post(self, guild_id: int | None, text: str) -> None:
        if guild_id is None:
            return
        channel_id = await self._links.log_channel(guild_id)
        if channel_id is None:
            return
        channel = self._bot.get_partial_messageable(channel_id, guild_id=guild_id)
        try:
            await channel.send(within_limit(text), allowed_mentions=NO_PINGS)
        except discord.HTTPException as error:
            log.warning(
                "could not post to the log channel of guild %d: HTTP %s", guild_id, error.status
            )
