"""Opening the database: file, connection settings, key check, meta, lifecycle, concurrency."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from pydantic import SecretStr

from storage.errors import InvalidTokenKey, WrongTokenKey
from storage.models import LedgerStatus, NewCall, NewLink, PlayedResult
from storage.sqlite.database import BUSY_TIMEOUT_MS, Database
from tests.helpers_ledger import calls
from tests.helpers_storage import KEY, NOW, USER, db_path, mode


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    async with Database.connect(db_path(tmp_path), KEY, now=NOW) as database:
        yield database


async def test_files_are_private_from_the_start(tmp_path: Path) -> None:
    path = db_path(tmp_path)
    previous = os.umask(0)
    try:
        async with Database.connect(path, KEY) as db:
            await db.set_meta("k", "v")
            assert mode(Path(str(path) + "-wal")) == 0o600
    finally:
        os.umask(previous)
    assert mode(path) == 0o600
    assert mode(path.parent) == 0o700


async def test_connection_settings(db: Database) -> None:
    expected = {
        "journal_mode": "wal",
        "foreign_keys": 1,
        "secure_delete": 1,
        "synchronous": 1,  # NORMAL; pending rows are synced by a group commit
        "busy_timeout": BUSY_TIMEOUT_MS,
    }
    actual = {}
    for name in expected:
        ((actual[name],),) = await db._conn.execute_fetchall(f"PRAGMA {name}")
    assert actual == expected


async def test_wrong_key_is_a_clear_start_up_error(tmp_path: Path) -> None:
    path = db_path(tmp_path)
    async with Database.connect(path, KEY):
        pass
    with pytest.raises(WrongTokenKey, match="TOKEN_KEY does not match the key the database"):
        await Database.open(path, Fernet.generate_key())
    async with Database.connect(path, KEY) as db:
        assert await db.integrity_check() == "ok"


async def test_malformed_key_fails_before_any_file_is_made(tmp_path: Path) -> None:
    path = db_path(tmp_path)
    with pytest.raises(InvalidTokenKey):
        await Database.open(path, b"not a key")
    assert not path.exists()


async def test_meta_round_trip(db: Database) -> None:
    assert await db.get_meta("commands_hash") is None
    await db.set_meta("commands_hash", "abc")
    await db.set_meta("commands_hash", "def")
    assert await db.get_meta("commands_hash") == "def"


async def test_meta_survives_reopen(tmp_path: Path) -> None:
    path = db_path(tmp_path)
    async with await Database.open(path, KEY) as db:
        await db.set_meta("commands_hash", "abc")
    async with await Database.open(path, KEY) as db:
        assert await db.get_meta("commands_hash") == "abc"


async def test_connect_closes_when_the_block_fails(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match="boom"):
        async with Database.connect(db_path(tmp_path), KEY) as db:
            raise RuntimeError("boom")
    with pytest.raises(ValueError, match="closed"):
        await db.get_meta("k")


async def test_hundreds_of_concurrent_tasks(db: Database, tmp_path: Path) -> None:
    link = await db.add_link(
        NewLink(guild_id=1, channel_id=2, name="l", link_token=SecretStr("t"), added_by=USER),
        now=NOW,
    )

    async def vote(n: int) -> None:
        call = NewCall(USER + n, 1, 2, link.id, None, "link", False, "add", False)
        entry_id = await db.begin_call(call, now=NOW)
        await db.finish_played(entry_id, PlayedResult("ADD", n, 1.0, False, NOW, 9), now=NOW)

    async def churn_account(n: int) -> None:
        await db.save_account(n, f"token-{n}", None, now=NOW)
        await db.mark_token_rejected(n)
        assert await db.forget_account(n)

    await asyncio.gather(
        *(vote(n) for n in range(500)),
        *(churn_account(n) for n in range(50)),
        *(db.set_meta(f"k{n % 10}", str(n)) for n in range(100)),
    )
    assert len(calls(db_path(tmp_path))) == 500
    played = calls(db_path(tmp_path), LedgerStatus.PLAYED)
    assert sorted(entry.seconds for entry in played) == list(range(500))
    assert calls(db_path(tmp_path), LedgerStatus.PENDING) == []
    assert await db.get_account(7) is None
    assert await db.integrity_check() == "ok"
