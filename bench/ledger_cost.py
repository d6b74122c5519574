"""What a vote's database work costs alone: the CPU the floor does not spend.

    python -m bench.ledger_cost [--votes 4000] [--concurrency 200] [--repeat 5]

The bot's votes differ from the floor's (`bench/floor.py`) mostly by the ledger: the read before
the call (`voter_on_link`), the pending row made durable before the call leaves (`begin_call`,
its group-committed sync) and the outcome (`finish_played`). This runs exactly those, as the
voting service does, against a real SQLite file in this process, with no Discord and no tracker,
on uvloop as the bot, and prints the CPU per vote of the event loop's thread and of the others
(aiosqlite's), each run and then the medians: the ledger's share of the bot's CPU per vote,
measured rather than estimated.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import threading
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import uvloop
from cryptography.fernet import Fernet
from pydantic import SecretStr

from bench.run import cpu_seconds, threads_cpu_seconds
from storage.models import NewLink, PlayedResult
from storage.sqlite.database import Database
from tests.helpers_storage import CHANNEL, GUILD, vote

FIRST_MEMBER = 1_000
PLAYED = PlayedResult(
    operation="ADD", seconds=60, multiplier=1.0, penalty=False, scheduled_end=None, session_id=7
)


async def one_run(votes: int, concurrency: int, folder: Path) -> tuple[float, float]:
    """(loop thread, other threads) CPU milliseconds per vote."""
    async with Database.connect(folder / "ctvote.sqlite3", Fernet.generate_key()) as db:
        now = datetime(2026, 12, 1, tzinfo=UTC)
        link = await db.add_link(
            NewLink(
                guild_id=GUILD,
                channel_id=CHANNEL,
                name="bench",
                link_token=SecretStr("link-token"),
                added_by=FIRST_MEMBER,
            ),
            now=now,
        )
        members = [FIRST_MEMBER + i for i in range(concurrency)]
        for member in members:
            await db.save_account(member, f"api-token-{member}", None, now=now)

        async def member_votes(user_id: int, rounds: int) -> None:
            for round_ in range(rounds):
                at = now + timedelta(days=round_ + 1)
                voter = await db.voter_on_link(user_id, link.id)
                assert voter.account is not None
                call = replace(vote(link.id, user_id=user_id), voter_name="member")
                entry = await db.begin_call(call, now=at, limit_since=at - timedelta(hours=1))
                await db.finish_played(entry, PLAYED, now=at)

        pid, main = os.getpid(), threading.main_thread().native_id
        before_all, before_main = cpu_seconds(pid), threads_cpu_seconds(pid)[main]
        await asyncio.gather(*(member_votes(m, votes // concurrency) for m in members))
        done = votes // concurrency * concurrency
        loop_cpu = threads_cpu_seconds(pid)[main] - before_main
        other_cpu = cpu_seconds(pid) - before_all - loop_cpu
        return loop_cpu * 1000 / done, other_cpu * 1000 / done


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--votes", type=int, default=4000)
    parser.add_argument("--concurrency", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    runs = []
    for run in range(args.repeat):
        with tempfile.TemporaryDirectory() as folder:
            started = time.monotonic()
            measured = one_run(args.votes, args.concurrency, Path(folder))
            loop_ms, other_ms = uvloop.run(measured)  # the bot's event loop
        runs.append((loop_ms, other_ms))
        print(
            f"run {run + 1}: loop thread {loop_ms:.3f} ms/vote, other threads {other_ms:.3f} "
            f"ms/vote, {time.monotonic() - started:.1f} s"
        )
    loops, others = [r[0] for r in runs], [r[1] for r in runs]
    totals = [a + b for a, b in runs]
    print(
        f"ledger-cost: votes={args.votes} concurrency={args.concurrency} repeat={args.repeat} "
        f"loop_ms_median={statistics.median(loops):.3f} "
        f"other_ms_median={statistics.median(others):.3f} "
        f"total_ms_median={statistics.median(totals):.3f} "
        f"total_ms_min={min(totals):.3f} total_ms_max={max(totals):.3f}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
