"""`bench/run.py --stats`: history, export and statistics of a link with many votes.

One process, all on 127.0.0.1: the bot runs in this process (so its event loop can be watched),
logged into the fake Discord from the tests, against the tracker sandbox. A link is seeded with
N played votes straight into the bot's database (pending rows, then settled, as the bot writes
them, so the tallies' trigger runs for each). Then: a card's tally read at 10 votes and at N;
`/stats` answered S times in a row (times from the interaction to the member's answer) while a
task measures how late the event loop wakes up; R charts drawn in a row (the process's RSS after
the first 20 and after all); `/links export` of the N rows.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import gc
import io
import random
import sqlite3
import statistics
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

from discord_layer.stats_flow import chart_of
from services.actor import Actor
from services.charts import CHART_INTERVAL
from services.history import Period
from services.voting import LinkByName
from storage.timestamps import to_db
from tests.bot_world import ALICE, GENERAL, MODERATOR, BotWorld, bot_world
from tests.fake_discord import slash

LAG_TICK = 0.005  # seconds the watcher sleeps; waking later than that is the loop's lag
VOTERS = 500
WARM_RENDERS = 20


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def seed_votes(database: Path, link_id: int, votes: int, now: datetime, seed: int) -> None:
    """N played votes over the last 60 days: 500 voters, a third of the votes anonymous."""
    rng = random.Random(seed)
    start = now - timedelta(days=60)
    step = (now - start) / votes
    end = now + timedelta(days=10)
    pending, played = [], []
    conn = sqlite3.connect(database, timeout=30, isolation_level=None)
    try:
        ((first_id,),) = conn.execute("SELECT coalesce(max(id), 0) + 1 FROM ledger")
        for number in range(votes):
            created = to_db(start + step * number)
            anonymous = rng.random() < 0.33
            user = 1_000 + rng.randrange(VOTERS)
            operation = "ADD" if rng.random() < 0.6 else "SUB"
            seconds = rng.randrange(60, 4 * 3600)
            end += timedelta(seconds=seconds if operation == "ADD" else -seconds)
            penalty = int(not anonymous and rng.random() < 0.01)
            pending.append(
                (
                    first_id + number,
                    created,
                    user,
                    GENERAL.guild_id,
                    GENERAL.id,
                    link_id,
                    rng.choice(("add", "sub", "rand")),
                    int(anonymous),
                    None if anonymous else f"voter {user}",
                )
            )
            played.append(
                (
                    created + 300_000,
                    operation,
                    seconds,
                    round(rng.uniform(1, 3), 2),
                    penalty,
                    to_db(end),
                    first_id + number,
                )
            )
        conn.execute("BEGIN IMMEDIATE")
        # Each settled before the next is written: the database allows one pending vote per
        # link and voter, as it does for the bot.
        for begun, settled in zip(pending, played, strict=True):
            conn.execute(
                "INSERT INTO ledger (id, created_at, user_id, guild_id, channel_id, link_id, game,"
                " dom, vote_type, anonymous, voter_name)"
                " VALUES (?, ?, ?, ?, ?, ?, 'link', 0, ?, ?, ?)",
                begun,
            )
            conn.execute(
                "UPDATE ledger SET status = 'played', finished_at = ?, operation = ?,"
                " seconds = ?, multiplier = ?, penalty = ?, scheduled_end = ?"
                " WHERE id = ? AND status = 'pending'",
                settled,
            )
        conn.execute("COMMIT")
    finally:
        conn.close()


class LagWatch:
    """How late the event loop wakes a task that sleeps `LAG_TICK`: the longest block.

    Also the longest full garbage collection meanwhile (this process holds the fake Discord and
    the sandbox too, so its collections are larger than the bot's alone).
    """

    def __init__(self) -> None:
        self.worst = 0.0
        self.worst_collection = 0.0
        self._task: asyncio.Task[None] | None = None
        self._collecting_since = 0.0

    async def _watch(self) -> None:
        while True:
            before = time.perf_counter()
            await asyncio.sleep(LAG_TICK)
            self.worst = max(self.worst, time.perf_counter() - before - LAG_TICK)

    def _collection(self, phase: str, info: dict[str, int]) -> None:
        if info["generation"] != 2:
            return
        if phase == "start":
            self._collecting_since = time.perf_counter()
        else:
            pause = time.perf_counter() - self._collecting_since
            self.worst_collection = max(self.worst_collection, pause)

    def __enter__(self) -> LagWatch:
        self._task = asyncio.get_running_loop().create_task(self._watch())
        gc.callbacks.append(self._collection)
        return self

    def __exit__(self, *exc: object) -> None:
        gc.callbacks.remove(self._collection)
        if self._task is not None:
            self._task.cancel()


async def tally_seconds(world: BotWorld, link_id: int, rounds: int = 200) -> float:
    day_start = world.sandbox.now().replace(hour=0, minute=0, second=0, microsecond=0)
    times = []
    for _ in range(rounds):
        before = time.perf_counter()
        await world.db.link_tally(link_id, day_start=day_start)
        times.append(time.perf_counter() - before)
    return statistics.median(times)


async def run_stats(args: argparse.Namespace) -> tuple[list[str], str, bool]:
    lines: list[str] = []
    with tempfile.TemporaryDirectory(prefix="ctvote-bench-stats-") as folder:
        async with bot_world(Path(folder)) as world:
            await world.add_link()
            (link,) = await world.db.links_in_guild(GENERAL.guild_id)
            now = world.sandbox.now()
            seed_votes(world.settings.database_path, link.id, 10, now - timedelta(days=61), 0)
            tally_small = await tally_seconds(world, link.id)
            seed_votes(world.settings.database_path, link.id, args.stats_votes, now, args.seed)
            tally_large = await tally_seconds(world, link.id)
            total = args.stats_votes + 10
            lines.append(f"seeded {total} played votes on one link")

            times = []
            with LagWatch() as lag:
                for _ in range(args.stats_answers):
                    world.sandbox.advance(CHART_INTERVAL)  # one chart per member per interval
                    payload = slash("stats", member=ALICE, channel=GENERAL)
                    before = time.perf_counter()
                    answer = await (await world.run(payload)).final()
                    times.append(time.perf_counter() - before)
                    if not answer.files or not answer.embeds:
                        lines.append(f"unexpected /stats answer: {answer}")
                        return lines, "bench-stats: failed", False

            history = world.bot.services.history
            texts = world.bot.texts
            member = Actor(user_id=ALICE.id, guild_id=GENERAL.guild_id, channel_id=GENERAL.id)
            report = await history.stats(member, LinkByName(None), Period.ALL)  # the largest
            chart = chart_of(report, lambda message: texts.render(message, "en"), "en")
            rss = []
            for number in range(args.renders):
                await world.bot.charts.render(chart)
                if number + 1 in (WARM_RENDERS, args.renders):
                    rss.append((rss_mb(), await world.bot.charts.worker_rss_mb()))

            before = time.perf_counter()
            export = await world.answer("links", "export", member=MODERATOR, name="link")
            export_seconds = time.perf_counter() - before
            (file,) = export.files
            rows = len(list(csv.reader(io.StringIO(file.data.decode(), newline="")))) - 1

    lines.append(
        f"card tally: {tally_small * 1e6:.0f} µs at 10 votes, {tally_large * 1e6:.0f} µs at "
        f"{total} (ratio {tally_large / tally_small:.2f})"
    )
    lines.append(
        f"/stats x{len(times)}: p50 {percentile(times, 50) * 1000:.0f} ms, "
        f"p99 {percentile(times, 99) * 1000:.0f} ms; "
        f"event loop lag at most {lag.worst * 1000:.1f} ms "
        f"(longest full garbage collection meanwhile {lag.worst_collection * 1000:.1f} ms)"
    )
    lines.append(
        f"{args.renders} charts in a row: RSS of the bot {rss[0][0]:.1f} MB after {WARM_RENDERS}, "
        f"{rss[-1][0]:.1f} MB after {args.renders}; of the chart worker {rss[0][1]:.1f} MB, "
        f"then {rss[-1][1]:.1f} MB"
    )
    lines.append(f"export: {rows} rows, {len(file.data) / 1e6:.1f} MB in {export_seconds:.2f} s")
    last = (
        f"bench-stats: votes={total} stats_p50_ms={percentile(times, 50) * 1000:.0f} "
        f"stats_p99_ms={percentile(times, 99) * 1000:.0f} loop_lag_max_ms={lag.worst * 1000:.1f} "
        f"renders={args.renders} rss_warm_mb={rss[0][0]:.1f} rss_end_mb={rss[-1][0]:.1f} "
        f"worker_rss_warm_mb={rss[0][1]:.1f} worker_rss_end_mb={rss[-1][1]:.1f} "
        f"export_rows={rows} export_s={export_seconds:.2f} "
        f"tally_ratio={tally_large / tally_small:.2f}"
    )
    return lines, last, rows == total
