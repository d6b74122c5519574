"""Shared values and file-level probes for the storage tests."""

from __future__ import annotations

import sqlite3
import stat
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet

from storage.database import Database
from storage.models import ChannelLink, NewCall, PlayedResult

KEY = Fernet.generate_key()
NOW = datetime(2026, 2, 10, 12, 0, tzinfo=UTC)
GUILD = 100
CHANNEL = 200
USER = 300


def db_path(folder: Path) -> Path:
    return folder / "data" / "bot.sqlite3"


def vote(
    link_id: int | None,
    *,
    user_id: int = USER,
    anonymous: bool = False,
    channel_id: int = CHANNEL,
    game: str = "link",
    dom: bool = False,
) -> NewCall:
    """A call as the voting service would record it; by default a public, identified vote."""
    return NewCall(
        user_id=user_id,
        guild_id=GUILD,
        channel_id=channel_id,
        link_id=link_id,
        session_id=None,
        game=game,
        dom=dom,
        vote_type="add" if game == "link" else None,
        anonymous=anonymous,
    )


async def played(
    db: Database,
    link: ChannelLink,
    at: datetime,
    *,
    user_id: int = USER,
    anonymous: bool = False,
    operation: str = "ADD",
    seconds: int = 60,
    penalty: bool = False,
    settled_at: datetime | None = None,
) -> int:
    """A public vote as the bot records it: pending first, then played (by `settled_at`)."""
    call = replace(vote(link.id, user_id=user_id, anonymous=anonymous), voter_name=f"n{user_id}")
    entry = await db.begin_call(call, now=at)
    result = PlayedResult(operation, seconds, 1.5, penalty, at + timedelta(days=1), 1001)
    await db.finish_played(entry, result, now=settled_at or at)
    return entry


def raw_query(path: Path, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Read the file with a second, read-only connection, as someone holding a copy of it would."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def file_bytes(path: Path) -> bytes:
    """The database file and its -wal file, if any, as they are on disk."""
    wal = Path(str(path) + "-wal")
    return path.read_bytes() + (wal.read_bytes() if wal.exists() else b"")
