"""The moderators' log channel: configuration changes, penalties and tracker errors."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import discord

from discord_layer.replies import NO_PINGS, within_limit
from discord_layer.texts import Texts
from i18n.message import Message, Moment, followed_by, msg_n
from services.error_digest import ErrorDigest
from services.links import LinkAdmin
from services.locales import LocaleService

if TYPE_CHECKING:
    from discord_layer.host import Host

log = logging.getLogger(__name__)


class ModLog:
    """Best effort: a log channel that cannot be written to never breaks the command itself."""

    def __init__(
        self,
        bot: Host,
        links: LinkAdmin,
        locales: LocaleService,
        digest: ErrorDigest,
        texts: Texts,
    ) -> None:
        self._bot = bot
        self._links = links
        self._locales = locales
        self._digest = digest
        self._texts = texts

    async def post_repeatable(
        self, guild_id: int | None, kind: tuple[object, ...], message: Message, locale: object
    ) -> None:
        """An error that may come again and again: one post per kind and window, with a count."""
        if guild_id is None:
            return
        repeats = self._digest.admit((guild_id, *kind))
        if repeats is None:
            return
        if repeats.count:
            not_posted = msg_n(
                "{count} more like it since the last post ({since}) was not posted.",
                "{count} more like it since the last post ({since}) were not posted.",
                repeats.count,
                since=Moment(repeats.since, "relative"),
            )
            message = followed_by(message, not_posted)
        await self.post(guild_id, message, locale)

    async def post(self, guild_id: int | None, message: Message, locale: object) -> None:
        """Post in the server's public language, as every public text (`locale`: Discord's
        `guild_locale`, for a server that chose none)."""
        if guild_id is None:
            return
        channel_id = await self._links.log_channel(guild_id)
        if channel_id is None:
            return
        language = await self._locales.public_locale(guild_id, str(locale) if locale else None)
        channel = self._bot.get_partial_messageable(channel_id, guild_id=guild_id)
        try:
            text = within_limit(self._texts.render(message, language))
            await channel.send(text, allowed_mentions=NO_PINGS)
        except discord.HTTPException as error:
            log.warning(
                "could not post to the log channel of guild %d: HTTP %s", guild_id, error.status
            )
