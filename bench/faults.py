"""The soak's fault scheduler: the tracker, Discord, the database and the bot processes go wrong
at random moments for random short times, all drawn from one seeded generator.

Each domain has its own loop, so faults of different domains overlap as they would in a real
deployment. Every fault is recorded with its start and end in the soak's log; a fault that is
under way when the soak ends is ended first (locks released, servers continued).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import signal
import sqlite3
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

from bench.soak_checks import Fault, SoakLog
from tests.fake_discord import FakeDiscord
from tests.postgres_server import PostgresServer
from tracker.sandbox import Fault as TrackerFault
from tracker.sandbox import SandboxTracker

# Close codes after which Discord allows a RESUME (4000 unknown error, 4001 unknown opcode,
# 4002 decode error, 4005 already authenticated, 4008 rate limited).
RESUMABLE_CODES = (4000, 4001, 4002, 4005, 4008)
HANG_BEYOND_READ_TIMEOUT = 5.0
# Seconds between two faults of a domain: (least, most).
GAPS = {
    "tracker": (2.0, 6.0),
    "discord": (6.0, 15.0),
    "database": (8.0, 20.0),
    "process": (20.0, 40.0),
}


@dataclass
class Targets:
    """What the faults act on. `restart` SIGTERMs or SIGKILLs a shard's process and starts it
    again (recording both in the log); `shards` lists the shards that run."""

    fake: FakeDiscord
    sandbox: SandboxTracker
    sqlite_path: Path | None
    postgres: PostgresServer | None
    shards: list[int]
    restart: Callable[[int, str], Awaitable[None]]
    tracker_read_timeout: float


class FaultScheduler:
    def __init__(
        self, rng: random.Random, targets: Targets, log: SoakLog, clock: Callable[[], float]
    ) -> None:
        self.rng = rng
        self.targets = targets
        self.log = log
        self.clock = clock
        self.counts: Counter[str] = Counter()

    async def run(self, until: float) -> None:
        """Inject faults until `until` (the clock's time); every fault has ended on return."""
        domains = ["tracker", "discord", "database", "process"]
        async with asyncio.TaskGroup() as group:
            for domain in domains:
                group.create_task(self._loop(domain, until))

    async def _loop(self, domain: str, until: float) -> None:
        least, most = GAPS[domain]
        inject = getattr(self, f"_{domain}")
        while True:
            await asyncio.sleep(self.rng.uniform(least, most))
            if self.clock() >= until:
                return
            await inject(until)

    def _record(self, domain: str, kind: str, start: float, detail: str = "") -> Fault:
        fault = Fault(domain, kind, start, None, detail)
        self.log.faults.append(fault)
        self.counts[kind] += 1
        return fault

    def _ended(self, fault: Fault) -> None:
        index = self.log.faults.index(fault)
        self.log.faults[index] = Fault(
            fault.domain, fault.kind, fault.start, self.clock(), fault.detail
        )

    # -- the tracker -------------------------------------------------------------------------

    async def _tracker(self, until: float) -> None:
        rng, sandbox = self.rng, self.targets.sandbox
        kind = rng.choice(
            (
                "slow",
                "hang",
                "html_500",
                "json_500",
                "non_json_200",
                "drop",
                "rate_limited",
                "refused",
            )
        )
        seconds = min(rng.uniform(1.0, 8.0), max(until - self.clock(), 0.5))
        fault = self._record("tracker", kind, self.clock(), f"{seconds:.1f} s")
        try:
            if kind == "refused":
                await sandbox.refuse_connections()
                try:
                    await asyncio.sleep(seconds)
                finally:
                    await sandbox.accept_connections()
                return
            for _ in range(rng.randint(1, 5)):
                sandbox.queue_fault(self._tracker_fault(kind))
            await asyncio.sleep(seconds)
        finally:
            sandbox.clear_faults()
            self._ended(fault)

    def _tracker_fault(self, kind: str) -> TrackerFault:
        rng = self.rng
        applied = rng.random() < 0.5  # played, and then the answer goes wrong
        match kind:
            case "slow":
                return TrackerFault.slow(rng.uniform(1.0, self.targets.tracker_read_timeout - 2))
            case "hang":
                beyond = self.targets.tracker_read_timeout + HANG_BEYOND_READ_TIMEOUT
                return TrackerFault.hang(apply_game=applied, seconds=beyond)
            case "html_500":
                return TrackerFault.html_500(apply_game=applied)
            case "json_500":
                return TrackerFault.json_500(apply_game=applied)
            case "non_json_200":
                return TrackerFault.non_json_200(apply_game=applied)
            case "drop":
                return TrackerFault.drop(apply_game=applied)
        return TrackerFault.rate_limited(rng.randint(1, 5))

    # -- Discord ---------------------------------------------------------------------------------

    async def _discord(self, until: float) -> None:
        rng, fake = self.rng, self.targets.fake
        kind = rng.choice(("gateway_abnormal", "gateway_resumable", "rest_429"))
        now = self.clock()
        if kind == "rest_429":
            route = rng.choice(
                (("POST", "/webhooks/"), ("PATCH", "/channels/"), ("PATCH", "/webhooks/"))
            )
            count, retry_after = rng.randint(1, 3), round(rng.uniform(0.3, 2.0), 2)
            fake.rate_limits.limit(*route, count=count, retry_after=retry_after)
            fault = self._record(
                "discord", kind, now, f"{route[0]} {route[1]} x{count}, {retry_after} s"
            )
            self._ended(fault)
            return
        shard = rng.choice(self.targets.shards)
        if not fake.gateway.is_connected(shard):
            return  # the process is restarting: nothing to drop
        if kind == "gateway_abnormal":
            fault = self._record("discord", kind, now, f"shard {shard}")
            fake.gateway.abort(shard=shard)
        else:
            code = rng.choice(RESUMABLE_CODES)
            fault = self._record("discord", kind, now, f"shard {shard}, close code {code}")
            await fake.gateway.drop(code, shard=shard)
        self._ended(fault)

    # -- the database ----------------------------------------------------------------------------

    async def _database(self, until: float) -> None:
        rng, targets = self.rng, self.targets
        seconds = rng.uniform(1.0, 15.0)
        if targets.sqlite_path is not None:
            fault = self._record("database", "sqlite_lock", self.clock(), f"{seconds:.1f} s")
            try:
                await asyncio.to_thread(hold_write_lock, targets.sqlite_path, seconds)
            finally:
                self._ended(fault)
            return
        assert targets.postgres is not None
        if rng.random() < 0.25:
            fault = self._record("database", "postgres_restart", self.clock())
            try:
                await asyncio.to_thread(targets.postgres.restart)
            finally:
                self._ended(fault)
            return
        pids = targets.postgres.process_ids()
        fault = self._record(
            "database", "postgres_sigstop", self.clock(), f"{seconds:.1f} s, {len(pids)} processes"
        )
        try:
            signal_all(pids, signal.SIGSTOP)
            await asyncio.sleep(seconds)
        finally:
            signal_all(reversed(pids), signal.SIGCONT)
            self._ended(fault)

    # -- the bot's processes ---------------------------------------------------------------------

    async def _process(self, until: float) -> None:
        kind = self.rng.choice(("sigterm", "sigkill"))
        shard = self.rng.choice(self.targets.shards)
        fault = self._record("process", kind, self.clock(), f"shard {shard}")
        try:
            await self.targets.restart(shard, kind)
        finally:
            self._ended(fault)


def hold_write_lock(path: Path, seconds: float) -> None:
    """Another program's write transaction on the SQLite file, held for `seconds` (in a thread)."""
    connection = sqlite3.connect(path, timeout=30.0, isolation_level=None)
    try:
        connection.execute("BEGIN IMMEDIATE")
        time.sleep(seconds)
        connection.execute("ROLLBACK")
    finally:
        connection.close()


def signal_all(pids: object, which: signal.Signals) -> None:
    for pid in pids:  # type: ignore[attr-defined]
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, which)
