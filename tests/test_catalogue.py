"""The message catalogues: current with the code, complete in each language, placeholders intact."""

from __future__ import annotations

import re
import string
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog, Message
from babel.messages.pofile import read_po, write_po

from discord_layer.texts import Texts
from i18n.catalogue import Catalogue, po_files
from i18n.message import msg
from i18n.tools import TEMPLATE, extract

SHIPPED = ("de", "fr")


def read(path: Path) -> Catalog:
    with path.open("rb") as po:
        return read_po(po)


def ids(catalog: Catalog) -> set[object]:
    return {(message.id, message.context) for message in catalog if message.id}


def forms(text: str | tuple[str, ...]) -> tuple[str, ...]:
    return text if isinstance(text, tuple) else (text,)


def placeholders(text: str) -> set[str]:
    """Named fields of a `str.format` template; a stray brace fails here as it would at run time."""
    return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}


def test_template_is_current_with_the_code() -> None:
    """Run the extraction: a text added, changed or removed in the code without an update fails."""
    extracted, template = ids(extract()), ids(read(TEMPLATE))
    assert extracted - template == set(), "run: .venv/bin/python -m i18n.tools update"
    assert template - extracted == set(), "run: .venv/bin/python -m i18n.tools update"


def test_german_and_french_are_shipped() -> None:
    assert set(SHIPPED) <= set(po_files())
    assert set(SHIPPED) <= set(Catalogue.load().languages)


@pytest.mark.parametrize("language", sorted(po_files()))
def test_every_message_is_translated_and_none_is_fuzzy(language: str) -> None:
    catalog = read(po_files()[language])
    assert ids(catalog) == ids(read(TEMPLATE)), "run: .venv/bin/python -m i18n.tools update"
    untranslated = [m.id for m in catalog if m.id and not all(forms(m.string))]
    fuzzy = [m.id for m in catalog if m.id and m.fuzzy]
    assert untranslated == []
    assert fuzzy == []
    assert not catalog.fuzzy, "the header is marked fuzzy"


@pytest.mark.parametrize("language", sorted(po_files()))
def test_translations_keep_every_placeholder(language: str) -> None:
    """Named placeholders are the same in every form; a plural form may leave out `{count}`."""
    catalog = read(po_files()[language])
    wrong: list[tuple[object, str]] = []
    for message in catalog:
        if not message.id:
            continue
        expected = set().union(*(placeholders(text) for text in forms(message.id)))
        translated = forms(message.string)
        if message.pluralizable and len(translated) != catalog.num_plurals:
            wrong.append((message.id, f"{len(translated)} plural forms"))
        for text in translated:
            found = placeholders(text)
            if found - expected or (expected - found) - {"count"}:
                wrong.append((message.id, text))
    assert wrong == []


def test_a_plural_form_is_chosen_by_the_number() -> None:
    catalogue = Catalogue.load()
    singular = "{count} vote ({identified} with an account, {anonymous} shared)"
    plural = "{count} votes ({identified} with an account, {anonymous} shared)"
    for language in SHIPPED:
        one, many = (catalogue.ngettext(language, singular, plural, n) for n in (1, 5))
        assert one != many, language
        assert one != singular, language


def catalogue_of(tmp_path: Path, *entries: Message) -> Catalogue:
    """A language `xx` holding only `entries`."""
    folder = tmp_path / "xx" / "LC_MESSAGES"
    folder.mkdir(parents=True)
    catalog = Catalog(locale="de")
    for entry in entries:
        catalog[entry.id] = entry
    with (folder / "ctvote.po").open("wb") as po:
        write_po(po, catalog)
    return Catalogue.load(tmp_path)


def test_fuzzy_and_missing_entries_fall_back_to_english(tmp_path: Path) -> None:
    """A fuzzy guess is never shown: the member reads the English source instead."""
    loaded = catalogue_of(
        tmp_path, Message("Today", "Heute", flags=["fuzzy"]), Message("Time", "Zeit")
    )
    assert loaded.gettext("xx", "Today") == "Today"
    assert loaded.gettext("xx", "Time") == "Zeit"
    assert loaded.gettext("xx", "In total") == "In total"


def test_a_translation_that_breaks_its_placeholders_is_shown_in_english(tmp_path: Path) -> None:
    """A language added without the catalogue test still never fails a command."""
    texts = Texts(catalogue_of(tmp_path, Message("Session {session}", "Sitzung {sesion}")))
    assert texts.render(msg("Session {session}", session=5), "xx") == "Session 5"


@pytest.mark.parametrize(
    ("locale", "language"),
    [("de", "de"), ("fr", "fr"), ("en-GB", "en"), ("en-US", "en"), ("es-ES", "en"), (None, "en")],
)
def test_discord_locales_map_to_our_languages(locale: str | None, language: str) -> None:
    """Discord's own fallbacks: any English is English; a language we lack reads English."""
    assert Catalogue.load().language_of(locale) == language


GLOSSARY = Path(__file__).resolve().parents[1] / "i18n" / "GLOSSARY.md"


def forbidden_renderings() -> dict[str, list[str]]:
    """The glossary's table of forbidden words, by language."""
    section = GLOSSARY.read_text(encoding="utf-8").split("## Forbidden renderings", 1)[1]
    rows = [line.strip("|").split("|") for line in section.splitlines() if line.startswith("| ")]
    forbidden: dict[str, list[str]] = {}
    for language, word, _instead in (map(str.strip, row) for row in rows[1:]):
        forbidden.setdefault(language, []).append(word)
    return forbidden


def uses(text: str, word: str) -> bool:
    """The word, as a whole word and in any case, outside the placeholders."""
    prose = re.sub(r"\{[a-z_]+\}", " ", text)
    return re.search(rf"(?<!\w){re.escape(word)}(?!\w)", prose, re.IGNORECASE) is not None


def test_the_glossary_forbids_words_in_both_languages() -> None:
    forbidden = forbidden_renderings()
    assert {"de", "fr"} <= set(forbidden)
    assert "Besitzer" in forbidden["de"]
    assert uses("Die Besitzerin oder der Besitzer der Session", "Besitzer")
    assert not uses("Verbinde dein Konto", "binden")
    assert not uses("{anonymous} gemeinsam", "anonym")


@pytest.mark.parametrize("language", SHIPPED)
def test_translations_use_no_rendering_the_glossary_forbids(language: str) -> None:
    catalog = read(po_files()[language])
    found = [
        (word, text)
        for message in catalog
        if message.id
        for text in forms(message.string)
        for word in forbidden_renderings()[language]
        if uses(text, word)
    ]
    assert found == []
