"""Started by test_storage_crash.py: leaves calls pending, then writes ledger rows until killed."""

from __future__ import annotations

import asyncio
import itertools
import sys
from datetime import UTC, datetime
from pathlib import Path

from storage.models import NewCall, PlayedResult
from storage.sqlite.database import Database
from storage.token_cipher import load_token_key

LEFT_PENDING = 3


def key_file(path: Path) -> Path:
    """The token key the writer and the test share."""
    return path.with_name("token.key")


async def main(path: Path) -> None:
    db = await Database.open(path, load_token_key(None, key_file(path)))
    call = NewCall(1, 2, 3, None, 4, "dice", False, None, False)
    result = PlayedResult("ADD", 60, 1.5, False, datetime.now(UTC), 4)
    for session in range(LEFT_PENDING):  # one game under way per member
        left = NewCall(100 + session, 2, 3, None, 4, "dice", False, None, False)
        entry_id = await db.begin_call(left, now=datetime.now(UTC))
        sys.stdout.write(f"pending {entry_id}\n")
    for round_ in itertools.count():
        entry_id = await db.begin_call(call, now=datetime.now(UTC))
        await db.finish_played(entry_id, result, now=datetime.now(UTC))
        if round_ == 0:
            sys.stdout.write("writing\n")
            sys.stdout.flush()


if __name__ == "__main__":
    asyncio.run(main(Path(sys.argv[1])))
