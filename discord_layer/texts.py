"""Every text a person sees, rendered from the catalogue in the reader's language.

One object does both jobs discord.py needs: it renders our messages (replies, announcements,
cards, DMs) and, as the command tree's translator, localises command and option descriptions and
choice names at sync. Command and option names stay English everywhere.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from babel.lists import format_list
from discord import app_commands

from discord_layer.markup import plain, timestamp
from i18n.catalogue import SOURCE_LANGUAGE, Catalogue
from i18n.formats import babel_locale, format_duration, format_number
from i18n.message import (
    Channel,
    Command,
    Duration,
    Listing,
    Member,
    Message,
    Moment,
    Name,
    Names,
    Number,
    Outside,
    Param,
    Role,
    Term,
)

log = logging.getLogger(__name__)

MOMENT_STYLES = {"full": "F", "short": "f", "relative": "R"}  # Discord's timestamp styles

ENGLISH_NAMES = (
    app_commands.TranslationContextLocation.command_name,
    app_commands.TranslationContextLocation.group_name,
    app_commands.TranslationContextLocation.parameter_name,
)


class Texts(app_commands.Translator):
    def __init__(self, catalogue: Catalogue) -> None:
        self.catalogue = catalogue
        self._command_ids: dict[str, int] = {}

    def learn_commands(self, ids: Mapping[str, int]) -> None:
        """The ids Discord gave the top-level commands: a command mention needs its id."""
        self._command_ids = dict(ids)

    def language(self, locale: object) -> str:
        return self.catalogue.language_of(locale)

    def render(self, message: Message, locale: object) -> str:
        """The message in the language for `locale` (a Discord locale or one of our codes)."""
        return self._render(message, self.language(locale))

    def _render(self, message: Message, language: str) -> str:
        params = {name: self._param(value, language) for name, value in message.params.items()}
        if message.plural is not None and message.count is not None:
            template = self.catalogue.ngettext(
                language, message.text, message.plural, message.count
            )
            params.setdefault("count", format_number(message.count, language))
        else:
            template = self.catalogue.gettext(language, message.text)
        try:
            return template.format(**params)
        except (KeyError, IndexError, ValueError):  # a broken translation: say it in English
            log.warning(
                "the %s translation of %r does not fit its parameters", language, message.text
            )
            source = message.plural if message.plural and message.count != 1 else message.text
            return source.format(**params)

    def _param(self, value: Param, language: str) -> str:
        match value:
            case Message():
                return self._render(value, language)
            case Member(id=user_id):
                return f"<@{user_id}>"
            case Channel(id=channel_id):
                return f"<#{channel_id}>"
            case Role(id=role_id):
                return f"<@&{role_id}>"
            case Moment(at=at, style=style):
                return timestamp(at, MOMENT_STYLES[style])
            case Duration(seconds=seconds, sign=sign):
                return format_duration(seconds, language, sign)
            case Number(value=number):
                return format_number(number, language)
            case Name(text=text):
                return _code(text)
            case Names(texts=texts):
                return format_list([_code(text) for text in texts], locale=babel_locale(language))
            case Listing(items=items):
                rendered = [self._param(item, language) for item in items]
                return format_list(rendered, locale=babel_locale(language))
            case Command(name=name, option=option):
                return self._mention(name, option)
            case Term(text=text):
                return text
            case Outside(text=text, limit=limit):
                return plain(text, limit=limit)
            case int():
                return str(value)
        raise TypeError(f"no rendering for a {type(value).__name__} parameter")

    async def translate(
        self,
        string: app_commands.locale_str,
        locale: object,
        context: app_commands.TranslationContextTypes,
    ) -> str | None:
        """A description or choice name in `locale`; None keeps Discord's default (English)."""
        if context.location in ENGLISH_NAMES:
            return None
        language = self.language(locale)
        if language == SOURCE_LANGUAGE:
            return None
        translated = self.catalogue.gettext(language, string.message)
        return translated if translated != string.message else None

    def _mention(self, name: str, option: str | None) -> str:
        """`</vote add:ID>`, clickable; as code until the ids are known (before the first sync)."""
        command_id = self._command_ids.get(name.split(" ", 1)[0])
        if command_id is None:
            if self._command_ids:
                log.warning("no synced command named /%s to mention", name)
            return _code(f"/{name} {option}" if option else f"/{name}")
        mention = f"</{name}:{command_id}>"
        return f"{mention} {_code(option)}" if option else mention


def _code(text: str) -> str:
    return f"`{text.replace('`', '')}`"
