"""A writer killed mid-way leaves a sound database whose unfinished calls are marked unknown."""

from __future__ import annotations

import asyncio
import contextlib
import os
import sqlite3
import sys
from pathlib import Path

from storage.models import LedgerStatus
from storage.sqlite.database import Database
from storage.token_cipher import load_token_key
from tests import helpers_storage_writer
from tests.helpers_ledger import calls
from tests.helpers_storage import db_path

REPO = Path(__file__).resolve().parents[1]


async def test_killed_writer_leaves_unknown_rows_and_a_sound_file(tmp_path: Path) -> None:
    path = db_path(tmp_path)
    writer = await asyncio.create_subprocess_exec(
        sys.executable,
        helpers_storage_writer.__file__,
        str(path),
        stdout=asyncio.subprocess.PIPE,
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    assert writer.stdout is not None
    announced = []
    try:
        while (line := (await writer.stdout.readline()).decode()) != "writing\n":
            assert line.startswith("pending "), f"writer stopped early: {line!r}"
            announced.append(int(line.split()[1]))
    finally:
        with contextlib.suppress(ProcessLookupError):  # it may have died on its own
            writer.kill()
        await writer.wait()
    assert len(announced) == helpers_storage_writer.LEFT_PENDING

    check = sqlite3.connect(path)
    try:
        assert check.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    finally:
        check.close()

    async with Database.connect(
        path, load_token_key(None, helpers_storage_writer.key_file(path))
    ) as db:
        unknown = calls(path, LedgerStatus.UNKNOWN)
        assert db.recovered_at_open == len(unknown) >= len(announced)
        assert {entry.id for entry in unknown} >= set(announced)
        assert {entry.reason for entry in unknown} == {"interrupted"}
        assert calls(path, LedgerStatus.PENDING) == []
        played = calls(path, LedgerStatus.PLAYED)
        assert played, "the writer was killed before it wrote anything else"
        assert len(played) + len(unknown) == len(calls(path))
        assert await db.integrity_check() == "ok"
