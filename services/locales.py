"""Which language each reader gets: the server's public one, and the ones Discord shows us.

A server's public messages (results, cards, the moderators' log) speak the language its managers
chose with `/config language`, else Discord's server language. Discord reports en-US for every
server that is not a Community server, so without the setting most small servers read English.

Card edits and reminder DMs have no interaction to take a language from: the server's Discord
language is stored with its links, a subscriber's with their subscription. Interactions report
both every time, so only a change is written; this process remembers what it stored last.
"""

from __future__ import annotations

import logging

from i18n.message import Message, msg
from services.actor import Actor
from services.errors import BadInput
from storage.errors import StorageUnavailable
from storage.interface import Storage

log = logging.getLogger(__name__)

REMEMBERED = 10_000  # per kind; forgetting only costs one redundant write later
# The languages a server may choose for its public messages, each named in the reader's language.
LANGUAGE_NAMES = {
    "en": msg("English"),
    "de": msg("German"),
    "fr": msg("French"),
}


class LocaleService:
    def __init__(self, db: Storage) -> None:
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

    async def public_locale(self, guild_id: int | None, discord_locale: str | None) -> str | None:
        """The language of a server's public messages: its own choice, else Discord's.

        A database that cannot be read costs the choice, never the message itself.
        """
        if guild_id is None:
            return discord_locale
        try:
            chosen = await self.chosen_language(guild_id)
        except StorageUnavailable as error:
            log.warning("the language of guild %d is unknown: %s", guild_id, error)
            return discord_locale
        return chosen or discord_locale

    async def chosen_language(self, guild_id: int) -> str | None:
        """The server's `/config language`; None: it follows Discord's server language."""
        return (await self._db.guild_settings(guild_id)).language

    async def choose_public_language(self, actor: Actor, language: str | None) -> None:
        """A manager sets the language of public messages; None follows Discord's again."""
        guild_id = actor.require_manager()
        if language is not None and language not in LANGUAGE_NAMES:
            raise BadInput(msg("The bot does not speak that language."))
        await self._db.set_guild_language(guild_id, language)


def language_name(language: str) -> Message:
    """A language of ours, named in the reader's language (English for a code we lack)."""
    return LANGUAGE_NAMES.get(language, LANGUAGE_NAMES["en"])


def _changed(remembered: dict[int, str], key: int, locale: str) -> bool:
    if remembered.get(key) == locale:
        return False
    if len(remembered) >= REMEMBERED:
        remembered.clear()
    remembered[key] = locale
    return True
