"""The message catalogues: one `.po` file per language beside this module, compiled at start.

Compiling in memory (a few milliseconds) keeps generated `.mo` files out of the repository and
makes a fresh clone run as it is. English is the source language: its texts are the keys.
"""

from __future__ import annotations

import gettext
from io import BytesIO
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

LOCALES_DIR = Path(__file__).with_name("locales")
DOMAIN = "ctvote"
SOURCE_LANGUAGE = "en"


def po_files(directory: Path = LOCALES_DIR) -> dict[str, Path]:
    """Each translated language's `.po` file, by language code (`de`, `pt-BR`)."""
    return {
        path.parents[1].name.replace("_", "-"): path
        for path in sorted(directory.glob(f"*/LC_MESSAGES/{DOMAIN}.po"))
    }


class Catalogue:
    """Translations by language; a text missing in one language falls back to English."""

    def __init__(self, translations: dict[str, gettext.NullTranslations]) -> None:
        self._translations = {SOURCE_LANGUAGE: gettext.NullTranslations(), **translations}

    @classmethod
    def load(cls, directory: Path = LOCALES_DIR) -> Catalogue:
        translations: dict[str, gettext.NullTranslations] = {}
        for language, path in po_files(directory).items():
            with path.open("rb") as po:
                catalog = read_po(po, locale=language.replace("-", "_"))
            compiled = BytesIO()
            write_mo(compiled, catalog, use_fuzzy=False)  # a fuzzy guess is not a translation
            compiled.seek(0)
            translations[language] = gettext.GNUTranslations(compiled)
        return cls(translations)

    @property
    def languages(self) -> tuple[str, ...]:
        return tuple(self._translations)

    def language_of(self, locale: object) -> str:
        """The language for a Discord locale: `de` and any `de-…` give German; unknown: English."""
        if locale is None:
            return SOURCE_LANGUAGE
        code = str(locale)
        if code in self._translations:
            return code
        base = code.split("-", 1)[0]
        return base if base in self._translations else SOURCE_LANGUAGE

    def gettext(self, language: str, text: str) -> str:
        return self._translations[language].gettext(text)

    def ngettext(self, language: str, singular: str, plural: str, count: int) -> str:
        return self._translations[language].ngettext(singular, plural, count)
