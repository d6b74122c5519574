"""Keep the catalogues in step with the code.

    python -m i18n.tools update      # extract the texts into ctvote.pot, merge it into every .po
    python -m i18n.tools init es     # start a language: locales/es/LC_MESSAGES/ctvote.po

Messages are found where the code marks them: `msg(...)`, `msg_n(...)` and `locale_str(...)`.
The files carry no source locations, so moving code never makes a catalogue look stale.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from babel import Locale
from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po, write_po

from i18n.catalogue import DOMAIN, LOCALES_DIR, po_files

ROOT = Path(__file__).resolve().parents[1]
TEMPLATE = LOCALES_DIR / f"{DOMAIN}.pot"
METHOD_MAP = [
    ("tests/**", "ignore"),
    ("bench/**", "ignore"),
    (".venv/**", "ignore"),
    ("**.py", "python"),
]
KEYWORDS = {"msg": None, "msg_n": (1, 2), "locale_str": None}
COMMENT_TAGS = ("TRANSLATORS:",)


def extract(root: Path = ROOT) -> Catalog:
    """Every marked text of the code, with the comments written for translators."""
    catalog = Catalog(project="ctvote", domain=DOMAIN, fuzzy=False)
    found = extract_from_dir(
        root,
        method_map=METHOD_MAP,
        keywords=KEYWORDS,
        comment_tags=COMMENT_TAGS,
        strip_comment_tags=True,
    )
    for _filename, _lineno, message, comments, context in found:
        catalog.add(message, auto_comments=comments, context=context)
    return catalog


def _write(path: Path, catalog: Catalog, *, header: bool = True) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as out:
        write_po(
            out,
            catalog,
            width=100,
            no_location=True,
            omit_header=not header,
            sort_output=True,
            ignore_obsolete=True,
        )


def update() -> None:
    """The template has no header (no date that changes); each language keeps its own."""
    template = extract()
    _write(TEMPLATE, template, header=False)
    for language, path in po_files().items():
        with path.open("rb") as po:
            catalog = read_po(po, locale=language.replace("-", "_"))
        created = catalog.creation_date
        catalog.update(template)
        catalog.creation_date = created
        _write(path, catalog)


def init(language: str) -> Path:
    with TEMPLATE.open("rb") as pot:
        catalog = read_po(pot)
    locale = Locale.parse(language.replace("-", "_"))
    catalog.locale = locale
    catalog.project = "ctvote"
    catalog.header_comment = f"# {locale.english_name} messages of ctvote."
    catalog.fuzzy = False
    path = LOCALES_DIR / language.replace("-", "_") / "LC_MESSAGES" / f"{DOMAIN}.po"
    if path.exists():
        raise SystemExit(f"{path} exists already; use `update`")
    _write(path, catalog)
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Update the message catalogues.")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("update", help="extract the texts and merge them into every language")
    start = commands.add_parser("init", help="start a new language from the template")
    start.add_argument("language", help="a Discord locale code, e.g. es-ES or just es")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    if args.command == "update":
        update()
    else:
        sys.stdout.write(f"created {init(args.language)}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
