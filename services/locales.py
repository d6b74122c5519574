"""The languages Discord shows us, kept for messages sent outside any interaction.

Card edits and reminder DMs have no interaction to take a language from: the server's language
is stored with its links, a subscriber's with their subscription. Interactions report both every
time, so only a change is written; this process remembers what it stored last.
"""

from __future__ import annotations

import logging

from services.actor import Actor
from storage.database import Database
from storage.errors import StorageUnavailable

log = logging.getLogger(__name__)

REMEMBERED = 10_000  # per kind; forgetting only costs one redundant write later


class LocaleService:
    def __init__(self, db: Database) -> None:
        self._db = db
        self._guilds: dict[int, str] = {}
        self._members: dict[int, str] = {}

    async def seen(self, actor: Actor) -> None:
        """Store the server's and the member's language when they differ from what we stored."""
        try:
            guild_id, guild_locale = actor.guild_id, actor.guild_locale
            if (
                guild_id is not None
                and guild_locale is not None
                and _changed(self._guilds, guild_id, guild_locale)
            ):
                await self._db.set_guild_locale(guild_id, guild_locale)
            if actor.locale is not None and _changed(self._members, actor.user_id, actor.locale):
                await self._db.set_member_locale(actor.user_id, actor.locale)
        except StorageUnavailable as error:  # a detail: the next interaction tries again
            self._guilds.pop(actor.guild_id or 0, None)
            self._members.pop(actor.user_id, None)
            log.warning("languages not recorded: %s", error)


def _changed(remembered: dict[int, str], key: int, locale: str) -> bool:
    if remembered.get(key) == locale:
        return False
    if len(remembered) >= REMEMBERED:
        remembered.clear()
    remembered[key] = locale
    return True
