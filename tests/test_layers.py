"""The layers import only downwards (CONTRIBUTING.md, "Layers").

Read from the source, so an import that only a type checker follows (`if TYPE_CHECKING:`) or one
inside a function counts as much as one at the top of a module.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BELOW_DISCORD = ("services", "storage", "tracker", "i18n")
DISCORD_SIDE = ("discord", "discord_layer", "cogs", "bot")
# `bot.py` composes the bot; these run it.
BOT_CALLERS = ("bot.py", "ops/cli.py", "bench/", "tests/")


def modules_imported_by(path: Path) -> set[str]:
    imported = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            imported.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            imported.add(node.module)
            imported.update(f"{node.module}.{alias.name}" for alias in node.names)
    return imported


def in_package(module: str, package: str) -> bool:
    return module == package or module.startswith(f"{package}.")


def sources(*folders: str) -> list[Path]:
    return sorted(path for folder in folders for path in (ROOT / folder).rglob("*.py"))


def our_sources() -> list[Path]:
    return sorted(
        path
        for path in ROOT.rglob("*.py")
        if not any(part.startswith(".") for part in path.relative_to(ROOT).parts)
    )


@pytest.mark.parametrize("package", BELOW_DISCORD)
def test_layers_below_discord_never_import_it(package: str) -> None:
    offending = {
        f"{path.relative_to(ROOT)}: {module}"
        for path in sources(package)
        for module in modules_imported_by(path)
        if any(in_package(module, upper) for upper in DISCORD_SIDE)
    }
    assert offending == set()


def test_the_discord_layer_never_imports_the_extensions() -> None:
    offending = {
        f"{path.relative_to(ROOT)}: {module}"
        for path in sources("discord_layer")
        for module in modules_imported_by(path)
        if in_package(module, "cogs")
    }
    assert offending == set()


def test_nothing_but_its_callers_imports_bot() -> None:
    offending = {
        path.relative_to(ROOT).as_posix()
        for path in our_sources()
        if "bot" in modules_imported_by(path)
        and not path.relative_to(ROOT).as_posix().startswith(BOT_CALLERS)
    }
    assert offending == set()


def test_the_vote_flow_and_the_cards_do_not_import_each_other() -> None:
    """A card's button calls the vote flow; the flow learns of votes for the cards by a callback."""
    assert "discord_layer.cards" not in modules_imported_by(ROOT / "discord_layer/vote_flow.py")
    assert "discord_layer.vote_flow" not in modules_imported_by(ROOT / "discord_layer/cards.py")


def test_the_check_sees_imports_a_type_checker_alone_follows(tmp_path: Path) -> None:
    source = tmp_path / "example.py"
    source.write_text(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from bot import CtVoteBot\n"
        "def later():\n    import discord.ui\n"
    )
    assert {"bot", "bot.CtVoteBot", "discord.ui"} <= modules_imported_by(source)


def test_the_postgresql_backend_never_imports_the_sqlite_one() -> None:
    """What both backends read lives in `storage/`; a twin never leans on the other twin."""
    offending = {
        f"{path.relative_to(ROOT)}: {module}"
        for path in sources("storage/postgres")
        for module in modules_imported_by(path)
        if in_package(module, "storage.sqlite")
    }
    assert offending == set()
