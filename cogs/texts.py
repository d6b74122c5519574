"""Every text a person sees, rendered from the catalogue in the reader's language.

One object does both jobs discord.py needs: it renders our messages (replies, announcements,
cards, DMs) and, as the command tree's translator, localises command and option descriptions and
choice names at sync. Command and option names stay English everywhere.
"""

from __future__ import annotations

import logging

from babel.lists import format_list
from discord import app_commands

from i18n.catalogue import SOURCE_LANGUAGE, Catalogue
from i18n.formats import babel_locale, format_duration, format_number
from i18n.message import (
    Channel,
    Duration,
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
from services.markup import plain, timestamp

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


def _code(text: str) -> str:
    return f"`{text.replace('`', '')}`"
