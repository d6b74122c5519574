"""The type checker reads every module the project ships, so a new package is checked from its
first commit rather than when someone remembers to add it."""

from __future__ import annotations

import tomllib
from pathlib import Path

PYPROJECT = Path(__file__).resolve().parent.parent / "pyproject.toml"


def test_every_shipped_module_is_type_checked() -> None:
    config = tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))
    setup = config["tool"]["setuptools"]
    shipped = {package.split(".")[0] for package in setup["packages"]}
    shipped |= {f"{module}.py" for module in setup["py-modules"]}
    assert shipped - set(config["tool"]["mypy"]["files"]) == set()
