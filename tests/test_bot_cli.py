"""`python bot.py` as a person starts it: configuration problems end in one line and status 2."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.bot_world import BOT_SCRIPT, bot_environment

DISCORD_SECRET = "MTIzNDU2Nzg5.cli-SECRET.token-value-abc"


def run_bot(cwd: Path, **extra_env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - our own interpreter running the repository's bot.py
        [sys.executable, str(BOT_SCRIPT)],
        cwd=cwd,
        env=bot_environment(**extra_env),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.fixture
def empty_dir(tmp_path: Path) -> Path:
    workdir = tmp_path / "run"
    workdir.mkdir()
    assert not (workdir / ".env").exists()
    return workdir


def test_without_a_token_it_says_how_to_set_one_and_exits_2(empty_dir: Path) -> None:
    done = run_bot(empty_dir)
    assert done.returncode == 2, done.stderr
    assert done.stdout == ""
    assert "Traceback" not in done.stderr
    assert done.stderr.endswith("\n")
    lines = done.stderr.splitlines()
    assert lines == [
        "ctvote: DISCORD_TOKEN is not set: set it in the environment or in .env (see .env.example)."
    ]
    assert list(empty_dir.iterdir()) == []  # no database, key or log file was created


def test_a_bad_setting_is_one_line_without_the_token(empty_dir: Path) -> None:
    done = run_bot(empty_dir, DISCORD_TOKEN=DISCORD_SECRET, TRACKER_READ_TIMEOUT="-1")
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    [line] = done.stderr.splitlines()
    assert line.startswith("ctvote: TRACKER_READ_TIMEOUT is invalid: ")
    assert DISCORD_SECRET not in done.stderr
    assert DISCORD_SECRET not in done.stdout
    assert list(empty_dir.iterdir()) == []
