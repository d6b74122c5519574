"""The tests' own PostgreSQL server: when it cannot start, the run fails with one line."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BROKEN = '#!/bin/sh\necho "initdb: could not create directory: Permission denied" >&2\nexit 1\n'


def test_a_server_that_cannot_start_fails_the_run_with_one_clear_line() -> None:
    # Readable by everyone: as root the server's programs run as the postgres user.
    binaries = Path(tempfile.mkdtemp(prefix="ctvote-broken-pg-"))
    try:
        binaries.chmod(0o755)
        for program in ("initdb", "pg_ctl"):
            (binaries / program).write_text(BROKEN, encoding="utf-8")
            (binaries / program).chmod(0o755)
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "pytest",
                "-p",
                "no:cacheprovider",
                "tests/test_storage_accounts.py::test_save_and_get",
            ],
            cwd=ROOT,
            env=os.environ | {"PG_BIN": str(binaries)},
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    finally:
        shutil.rmtree(binaries)
    assert done.returncode != 0
    reasons = [line for line in done.stdout.splitlines() if "PostgreSQL could not start" in line]
    assert len(reasons) == 1, done.stdout
    assert "could not start for the tests: initdb failed: initdb: could not create" in reasons[0]
    assert "skipped" not in done.stdout
