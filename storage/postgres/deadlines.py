"""Deadlines on everything the bot asks PostgreSQL: a frozen server, a half-open connection or a
lock held elsewhere costs a command DATABASE_TIMEOUT_SECONDS, never the whole bot."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Iterator
from typing import Any, TypeAlias

import asyncpg
from asyncpg.pool import PoolConnectionProxy

# A connection of its own or one lent by the pool (asyncpg's proxy is no Connection subclass).
AnyConnection: TypeAlias = "asyncpg.Connection | PoolConnectionProxy"

log = logging.getLogger(__name__)

# How long one try for a voter's lock waits on the server before the connection goes back to the
# pool; the vote tries again, without holding a connection, until its deadline.
VOTER_LOCK_TRY_MS = 20
VOTER_LOCK_PAUSE_SECONDS = (0.02, 0.2)  # the first pause between tries, and the longest
KEEPALIVE_IDLE_SECONDS = 30


def session_settings(seconds: float) -> dict[str, str]:
    """The server's own deadlines for each session, and keepalives that find a vanished client.

    A statement, a wait for a lock, an open transaction nobody continues: each ends on the server
    too, so a process that stopped answering holds nothing for long.
    """
    ms = str(round(seconds * 1000))
    return {
        "statement_timeout": ms,
        "lock_timeout": ms,
        "idle_in_transaction_session_timeout": str(round(seconds * 2000)),
        "tcp_keepalives_idle": str(KEEPALIVE_IDLE_SECONDS),
        "tcp_keepalives_interval": "5",
        "tcp_keepalives_count": "3",
    }


def connection_options(seconds: float) -> dict[str, Any]:
    """For `asyncpg.connect` and `create_pool`: connecting, and every query, within `seconds`."""
    return {
        "timeout": seconds,
        "command_timeout": seconds,
        "server_settings": session_settings(seconds),
    }


async def take_voter_lock(conn: AnyConnection, lock: int) -> bool:
    """Open a transaction holding `lock` (an int, nothing from outside), or roll it back and
    return False when another session holds it. One round trip either way."""
    try:
        await conn.execute(
            f"BEGIN; SET LOCAL lock_timeout = {VOTER_LOCK_TRY_MS};"
            f" SELECT pg_advisory_xact_lock({lock}); SET LOCAL lock_timeout TO DEFAULT"
        )
    except asyncpg.LockNotAvailableError:
        await conn.execute("ROLLBACK")
        return False
    return True


def voter_lock_pauses(seconds: float) -> Iterator[float]:
    """The pauses between tries for a voter's lock, growing, until `seconds` have passed."""
    pause, longest = VOTER_LOCK_PAUSE_SECONDS
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        yield min(pause, left)
        pause = min(pause * 2, longest)


async def close_pool(pool: asyncpg.Pool, seconds: float) -> None:
    """Close gracefully within `seconds`, then cut what is left: a frozen server cannot hold a
    stop."""
    try:
        async with asyncio.timeout(seconds):
            await pool.close()
    except TimeoutError:
        log.warning("PostgreSQL did not close its connections within %g s; cutting them", seconds)
        pool.terminate()


async def close_connection(conn: asyncpg.Connection, seconds: float) -> None:
    with contextlib.suppress(TimeoutError, OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
        async with asyncio.timeout(seconds):
            await conn.close()
    if not conn.is_closed():
        conn.terminate()
