"""Benchmark: what the bot adds to a vote, and how many votes it holds.

    python bench/run.py --votes 2000 --concurrency 200 [--mixed | --floor] [--rate R] [--repeat N]
                        [--profile bot.html] [--store sqlite|postgres] [--processes 1|2]
    python bench/run.py --stats [--stats-votes 20000] [--renders 200]   (see bench/stats.py)
    python bench/run.py --soak SECONDS [--seed N] [--store sqlite|postgres] [--processes 1|2]
                        [--report PATH]                                  (see bench/soak.py)

One run, all on 127.0.0.1: this process hosts the fake Discord from the tests and the tracker
sandbox; the real bot runs as a child process (`python bot.py`) with its own database file in a
temporary directory, so its RSS and CPU time are its own (read from /proc, so Linux only). With
`--store postgres` the bot uses a PostgreSQL server the benchmark starts in that directory (the
machine's binaries, default durable settings, a Unix socket); with `--processes 2` two bots run
shards 0 and 1 of 2 on it, and the members are spread over a guild of each shard.

Phases: N (+ warm-up) members connect through the real `/account connect` modal; a moderator binds
the sandbox's link with `/links add`; one warm-up vote per worker; the bare tracker call, alone,
one at a time; then the timed phase: C workers, each sending one interaction and waiting for its
answers before the next (a closed loop), until N were sent; with --rate, interactions are due at R
per second instead, each taken by an idle worker (an open loop). Times are the fake Discord's, from
INTERACTION_CREATE to the accepted acknowledgement and to the member's answer. The last line is
one line of key=value pairs; the exit status is 1 when a vote was lost, the ledger disagrees with
the tracker, or an answer was not the expected one. With --repeat N the whole run (and its floor)
is made N times (N may be 1), each printed as it ends, and a last line gives each figure's
median, minimum and maximum (`ratio_cpu_median=`, `ratio_cpu_min=`, ...) with `lost=` summed:
one run's figures follow whatever else the machine runs, so figures are compared as medians.

With --floor, the same timed phase then runs against `bench/floor.py` (the least any discord.py
bot must do for a vote) in a fresh fake Discord, with its own members and link on the same
sandbox, and the last line compares the two: CPU per vote and votes/s. The floor has no
database, so with `--store postgres` the comparison shows what PostgreSQL adds; it runs as one
process, so --floor is refused with `--processes 2`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import math
import os
import signal
import sqlite3
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # `python bench/run.py` puts bench/ first, not the project
    sys.path.insert(0, str(ROOT))

import asyncpg
from cryptography.fernet import Fernet
from pydantic import SecretStr

from bench.stats import WARM_RENDERS, run_stats
from settings import Settings
from tests.fake_discord import (
    MODERATOR_PERMISSIONS,
    Channel,
    Exchange,
    FakeDiscord,
    Member,
    modal_submit,
    slash,
)
from tests.postgres_server import PostgresServer
from tracker.client import TrackerClient
from tracker.http import create_http_client
from tracker.models import VoteType
from tracker.sandbox import SandboxTracker, SandboxUser

GUILD_ID = 910_000_000_000_000_001
LINK_NAME = "bench"
VOTING = Channel(910_000_000_000_000_010, "voting", GUILD_ID)
# A guild of the other shard when there are two: (guild_id >> 22) % 2 differs.
OTHER_GUILD_ID = GUILD_ID + (1 << 22)
OTHER_VOTING = Channel(910_000_000_000_000_020, "voting", OTHER_GUILD_ID)
MODERATOR = Member(920_000_000_000_000_001, "moderator", permissions=MODERATOR_PERMISSIONS)
FIRST_MEMBER_ID = 930_000_000_000_000_000
ANSWER_WITHIN = 30.0  # seconds one interaction may take before it counts as lost
START_WITHIN = 60.0
TYPING_TIME = 0.1  # seconds a member takes to fill the /account connect modal
SUBMIT_ATTEMPTS = 3
SETUP_CONCURRENCY = 200
STOP_WITHIN = 30.0
# The member's private answer when the game was played (a vote, a penalty vote, DICE or LUCK).
PLAYED_ANSWERS = (
    "Your vote was counted.",
    "The tracker applied a penalty: this is your own link.",
    "Played.",
)
T = TypeVar("T")
# --mixed: ten actions per cycle. Refusals: a second vote within 24 hours (refused by the bot,
# nothing sent) and DICE as dom of a session one is not the dom of (refused by the tracker).
MIX = ("add", "sub", "rand", "add", "sub", "rand", "dice", "luck", "again", "not_dom")


# -- the bot process ------------------------------------------------------------------------------


def cpu_seconds(pid: int, thread: int | None = None) -> float:
    """utime + stime of a process (or of one of its threads), from /proc."""
    path = f"/proc/{pid}/stat" if thread is None else f"/proc/{pid}/task/{thread}/stat"
    fields = Path(path).read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def threads_cpu_seconds(pid: int) -> dict[int, float]:
    """CPU seconds of each thread of a process, by thread id (the main thread's is the pid)."""
    return {
        int(task.name): cpu_seconds(pid, int(task.name))
        for task in Path(f"/proc/{pid}/task").iterdir()
    }


def machine_busy_seconds() -> float:
    """CPU time all processes of the machine spent busy (not idle or waiting), from /proc/stat."""
    user, nice, system, _idle, _iowait, irq, softirq, steal = map(
        int, Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]
    )
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def memory_mb(pid: int) -> tuple[float, float]:
    """(current RSS, peak RSS) in MB, from /proc/<pid>/status."""
    values = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            values[key] = int(rest.split()[0]) / 1024
    return values["VmRSS"], values["VmHWM"]


class BotProcess:
    """`python bot.py` (or bench/floor.py) in a child process, configured by its environment."""

    def __init__(self, process: asyncio.subprocess.Process, log: Path) -> None:
        self.process = process
        self.log = log

    @classmethod
    async def start(
        cls,
        fake: FakeDiscord,
        sandbox: SandboxTracker,
        data: Path,
        profile: Path | None,
        store: dict[str, str],
        shard: tuple[int, int] | None = None,
        script: Path = ROOT / "bot.py",
        extra_env: dict[str, str] | None = None,
        life: int = 0,
    ) -> BotProcess:
        """`store`: the database settings; `shard`: (id, count) when the bot runs one shard;
        `script`: what runs (bot.py, or bench/floor.py); `extra_env`: more of its environment;
        `life`: how many times the soak started it before (each start writes its own log)."""
        env = {k: v for k, v in os.environ.items() if k.lower() not in Settings.model_fields}
        env |= store | (extra_env or {})
        env |= {
            "DISCORD_TOKEN": fake.token,
            "DISCORD_API_URL": fake.api_base,
            "DISCORD_GATEWAY_URL": fake.gateway_url,
            "TRACKER_API_URL": sandbox.base_url,
            "LOG_LEVEL": "WARNING",
        }
        if shard is None:
            env["DEV_GUILD_ID"] = str(GUILD_ID)
        else:  # commands are synced globally, for the guilds of every shard
            env |= {"SHARD_IDS": str(shard[0]), "SHARD_COUNT": str(shard[1])}
        data = data / (f"shard{shard[0]}" if shard else "bot")
        data.mkdir(exist_ok=life > 0)
        command = [sys.executable]
        if profile is not None and profile.suffix == ".prof":
            command += ["-m", "cProfile", "-o", str(profile)]
        elif profile is not None:
            renderers = {".html": "html", ".pstats": "pstats", ".json": "speedscope"}
            renderer = renderers.get(profile.suffix, "text")
            command += ["-m", "pyinstrument", "-r", renderer, "-o", str(profile)]
        command.append(str(script))
        log = data / ("bot.log" if life == 0 else f"bot.{life}.log")
        with log.open("wb") as output:
            process = await asyncio.create_subprocess_exec(
                *command, cwd=data, env=env, stdout=output, stderr=asyncio.subprocess.STDOUT
            )
        bot = cls(process, log)
        before = fake.gateway.session_id(shard[0] if shard else 0)
        ready = asyncio.ensure_future(identified(fake, shard[0] if shard else 0, before))
        exited = asyncio.ensure_future(process.wait())
        done, _ = await asyncio.wait(
            {ready, exited}, timeout=START_WITHIN, return_when=asyncio.FIRST_COMPLETED
        )
        ready.cancel()
        exited.cancel()
        if ready not in done:
            await bot.stop()
            raise RuntimeError(f"the bot did not connect to the fake Discord:\n{bot.log_tail()}")
        return bot

    @property
    def pid(self) -> int:
        return self.process.pid

    def cpu_seconds(self) -> float:
        return cpu_seconds(self.pid)

    def memory_mb(self) -> tuple[float, float]:
        return memory_mb(self.pid)

    async def stop(self) -> int:
        """SIGINT, as Ctrl-C: the bot closes its database and connections (and writes a profile)."""
        if self.process.returncode is None:
            self.process.send_signal(signal.SIGINT)
            try:
                async with asyncio.timeout(STOP_WITHIN):
                    await self.process.wait()
            except TimeoutError:
                self.process.kill()
                await self.process.wait()
        return self.process.returncode or 0

    def log_tail(self, lines: int = 30) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])


async def identified(fake: FakeDiscord, shard: int, before: str | None) -> None:
    """Until a new session identified for the shard and its guilds went out."""
    while fake.gateway.session_id(shard) in (None, before) or not fake.ready.is_set():  # noqa: ASYNC110 - no event per shard
        await asyncio.sleep(0.02)


class Bots:
    """The bot processes of one run: one, or one per shard; figures are summed over them."""

    def __init__(self, processes: list[BotProcess]) -> None:
        self.processes = processes

    def cpu_seconds(self) -> float:
        return sum(bot.cpu_seconds() for bot in self.processes)

    def main_thread_seconds(self) -> float:
        return sum(threads_cpu_seconds(bot.pid).get(bot.pid, 0.0) for bot in self.processes)

    def memory_mb(self) -> tuple[float, float]:
        sizes = [bot.memory_mb() for bot in self.processes]
        return sum(now for now, _ in sizes), sum(peak for _, peak in sizes)

    async def stop(self) -> int:
        codes = [await bot.stop() for bot in self.processes]
        return next((code for code in codes if code), 0)

    def log_tail(self) -> str:
        return "\n".join(bot.log_tail() for bot in self.processes)


# -- members and what they send -------------------------------------------------------------------


@dataclass(frozen=True)
class Person:
    """A Discord member with a tracker account of their own."""

    member: Member
    tracker: SandboxUser
    default_session: int | None = None
    channel: Channel = VOTING  # where the member acts


@dataclass(frozen=True)
class Action:
    """One interaction of the timed phase, and what the member should get.

    Without a person, the worker's own member acts (its session owner for DICE and LUCK, its
    warm-up voter for a second vote): one worker never overlaps with itself, so the bot's guard
    against a double click never turns these into a different refusal.
    """

    kind: str
    person: Person | None
    succeeds: bool

    def payload(self, person: Person, session_id: int) -> dict[str, object]:
        member, channel = person.member, person.channel
        if self.kind in ("add", "sub", "rand", "again"):
            name = "add" if self.kind == "again" else self.kind
            return slash("vote", name, member=member, channel=channel)
        if self.kind in ("dice", "luck"):
            return slash(self.kind, member=member, channel=channel)
        return slash("dom", "dice", options={"session": session_id}, member=member, channel=channel)


@dataclass
class Sample:
    kind: str
    ack: float | None = None
    reply: float | None = None
    public: float | None = None
    answered: bool = False
    late_ack: bool = False
    unexpected: str | None = None


@dataclass
class Cast:
    """Everyone taking part, created in the sandbox before the bot starts."""

    workers: list[tuple[Person, Person]]  # per worker: its warm-up voter, its session owner
    actions: list[Action]
    bare_voters: list[SandboxUser]
    session_id: int
    link_token: str

    @property
    def people(self) -> list[Person]:
        seen = {p.member.id: p for pair in self.workers for p in pair}
        seen |= {a.person.member.id: a.person for a in self.actions if a.person is not None}
        return list(seen.values())


def cast(
    sandbox: SandboxTracker,
    votes: int,
    concurrency: int,
    mixed: bool,
    bare: int,
    channels: tuple[Channel, ...],
) -> Cast:
    """Workers and voters take the channels in turn (one per shard's guild)."""
    ids = itertools.count(FIRST_MEMBER_ID)
    places = itertools.cycle(channels)

    def person(name: str, default_session: int | None = None) -> Person:
        member_id = next(ids)
        member = Member(member_id, f"{name}{member_id}")
        return Person(member, sandbox.add_user(), default_session, next(places))

    demo = sandbox.demo()
    workers = []
    for _ in range(concurrency):
        owner_user = sandbox.add_user()
        session = sandbox.add_session(owner_user, link_enabled=False)
        owner_id = next(ids)
        warmup = person("warmup")
        owner = Person(Member(owner_id, f"owner{owner_id}"), owner_user, session.id, warmup.channel)
        workers.append((warmup, owner))
    actions = []
    for index in range(votes):
        kind = MIX[index % len(MIX)] if mixed else ("add", "sub", "rand")[index % 3]
        if kind in ("dice", "luck"):
            actions.append(Action(kind, None, succeeds=True))
        elif kind == "again":
            actions.append(Action(kind, None, succeeds=False))
        else:
            actions.append(Action(kind, person("voter"), succeeds=kind != "not_dom"))
    bare_voters = [sandbox.add_user() for _ in range(bare)]
    return Cast(workers, actions, bare_voters, demo.session_id, demo.link_token)


# -- one interaction, as the member sees it -------------------------------------------------------


async def answer(exchange: Exchange) -> tuple[str | None, Sample]:
    """Wait for the member's answer (and the public result, if any); None when none came."""
    sample = Sample(kind="")
    try:
        final = await exchange.final(within=ANSWER_WITHIN)
    except AssertionError:
        final = None
    sample.late_ack = any(e.code == 10062 and "callback" in e.route for e in exchange.errors)
    sample.ack = exchange.ack_delay
    if final is None or exchange.answered_at is None:
        return None, sample
    sample.answered = True
    sample.reply = exchange.answered_at - exchange.dispatched_at
    if final.content in PLAYED_ANSWERS:
        try:
            public = await exchange.wait_for_message(lambda m: not m.ephemeral, ANSWER_WITHIN)
        except AssertionError:
            return final.content + " (no public result)", sample
        sample.public = exchange.kept_at[public.id] - exchange.dispatched_at
    return final.content, sample


async def run_action(
    fake: FakeDiscord, action: Action, session_id: int, worker: tuple[Person, Person]
) -> Sample:
    warmup, owner = worker
    person = action.person or (owner if action.kind in ("dice", "luck") else warmup)
    exchange = await fake.interact(action.payload(person, session_id))
    content, sample = await answer(exchange)
    sample.kind = action.kind
    if content is not None and (content in PLAYED_ANSWERS) != action.succeeds:
        sample.unexpected = f"{action.kind}: {content[:120]}"
    return sample


async def expect_answer(fake: FakeDiscord, payload: dict[str, object], wanted: str) -> None:
    exchange = await fake.interact(payload)
    final = await exchange.final(within=ANSWER_WITHIN)
    if wanted not in final.content:
        raise RuntimeError(f"setup failed: expected {wanted!r}, got {final.content!r}")


async def connect(fake: FakeDiscord, person: Person, resubmitted: Counter[str]) -> None:
    """The real `/account connect`: the command opens the modal, the member fills and submits it.

    discord.py stores the modal only once it has read Discord's answer to its callback, so a
    submission sent the instant the modal appears can overtake that answer and be dropped; no
    person types a token that fast, so the member takes TYPING_TIME, and submits again (as
    Discord's "interaction failed" would make them) if the first was not acknowledged in time.
    """
    exchange = await fake.interact(
        slash("account", "connect", member=person.member, channel=VOTING)
    )
    modal = await exchange.modal(within=ANSWER_WITHIN)
    session = "" if person.default_session is None else str(person.default_session)
    fields = {"api_token": person.tracker.api_token, "default_session": session}
    for _ in range(SUBMIT_ATTEMPTS):
        await asyncio.sleep(TYPING_TIME)
        submitted = await fake.interact(
            modal_submit(modal, fields, member=person.member, channel=VOTING)
        )
        try:
            await submitted.acknowledged(within=fake.ack_deadline + 1)
        except AssertionError:
            resubmitted["modal"] += 1
            continue
        final = await submitted.final(within=ANSWER_WITHIN)
        if "Connected" not in final.content:
            raise RuntimeError(f"connect failed: {final.content!r}")
        return
    raise RuntimeError(f"{person.member.name}: no modal submission was acknowledged")


async def in_parallel(
    items: list[T], concurrency: int, work: Callable[[T], Awaitable[None]]
) -> None:
    """Run `work` over `items`, at most `concurrency` at a time; the first failure stops all."""
    queue = iter(items)

    async def worker() -> None:
        for item in queue:
            await work(item)

    async with asyncio.TaskGroup() as group:
        for _ in range(min(concurrency, len(items))):
            group.create_task(worker())


# -- figures ---------------------------------------------------------------------------------------


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile; nan for no values."""
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f}"


def spread(values: list[float]) -> str:
    return "/".join(ms(percentile(values, p)) for p in (50, 95, 99))


@dataclass
class Ledger:
    rows: Counter[str]
    tracker: Counter[str] = field(default_factory=Counter)

    @property
    def agrees(self) -> bool:
        """Every call recorded, every recorded call sent, each with the tracker's outcome."""
        return (
            self.rows["pending"] == 0
            and self.rows["unknown"] == 0
            and self.rows["played"] == self.tracker["200"]
            and self.rows["refused"] == sum(n for s, n in self.tracker.items() if s.startswith("4"))
            and self.rows.total() == self.tracker.total()
        )


LEDGER_SQL = "SELECT status, count(*) FROM ledger GROUP BY status"


async def read_ledger(store: dict[str, str]) -> Counter[str]:
    """The bot's ledger by status, read-only, after the bot stopped."""
    if "DATABASE_URL" in store:
        conn = await asyncpg.connect(store["DATABASE_URL"])
        try:
            return Counter({row["status"]: row["count"] for row in await conn.fetch(LEDGER_SQL)})
        finally:
            await conn.close()
    uri = f"file:{store['DATABASE_PATH']}?mode=ro"
    with contextlib.closing(sqlite3.connect(uri, uri=True)) as conn:
        return Counter(dict(conn.execute(LEDGER_SQL)))


# -- the run ---------------------------------------------------------------------------------------


@dataclass
class Report:
    lines: list[str]
    last: str
    ok: bool


async def bare_calls(
    sandbox: SandboxTracker, link_token: str, voters: list[SandboxUser]
) -> list[float]:
    """The vote's tracker call alone, one at a time, through the bot's own clients."""
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        discord_token=SecretStr("unused"),
        tracker_api_url=sandbox.base_url,  # type: ignore[arg-type]
    )
    times = []
    async with create_http_client(settings) as http:
        tracker = TrackerClient(http, settings.tracker_base_url)
        token = SecretStr(link_token)
        for voter in voters:
            started = time.perf_counter()
            await tracker.vote(token, VoteType.ADD, bearer=SecretStr(voter.api_token))
            times.append(time.perf_counter() - started)
    return times


@dataclass
class Phase:
    """The timed phase against one process, as members saw it and as /proc counted it."""

    samples: list[Sample]
    elapsed: float
    late_starts: int
    series: list[tuple[int, float]]
    cpu: float = 0.0
    main_cpu: float = 0.0
    bench_cpu: float = 0.0
    others: float = 0.0
    discord_requests: Counter[str] = field(default_factory=Counter)

    @property
    def answered(self) -> list[Sample]:
        return [s for s in self.samples if s.answered]

    @property
    def votes_per_s(self) -> float:
        return len(self.answered) / self.elapsed if self.elapsed else math.nan

    def all_answered_as_expected(self, interactions: int) -> bool:
        """Every interaction answered, acknowledged in time, with the answer it should get."""
        return len(self.answered) == interactions and not any(
            s.unexpected or s.late_ack for s in self.samples
        )

    def cpu_ms_per(self, interactions: int) -> float:
        return self.cpu / interactions * 1000


async def warm_up(fake: FakeDiscord, plan: Cast, concurrency: int) -> None:
    """One vote per worker, by its warm-up voter, before anything is timed."""
    warm: list[Sample] = []
    await in_parallel(
        plan.workers,
        concurrency,
        lambda w: _append(warm, run_action(fake, Action("add", w[0], True), plan.session_id, w)),
    )
    if any(not s.answered or s.unexpected for s in warm):
        raise RuntimeError(f"warm-up votes failed: {warm}")


async def measured_phase(
    fake: FakeDiscord, bot: Bots, plan: Cast, rss_every: int, rate: float | None
) -> Phase:
    """The timed phase, with the CPU time of the bots (summed over their processes), their event
    loops' threads, this process and the rest."""
    cpu_before, bench_before = bot.cpu_seconds(), time.process_time()
    main_before = bot.main_thread_seconds()
    machine_before = machine_busy_seconds()
    requests_before = fake.requests.copy()
    phase = await timed_phase(fake, bot, plan, rss_every, rate)
    phase.discord_requests = fake.requests - requests_before
    phase.cpu = bot.cpu_seconds() - cpu_before
    phase.main_cpu = bot.main_thread_seconds() - main_before
    phase.bench_cpu = time.process_time() - bench_before
    phase.others = machine_busy_seconds() - machine_before - phase.cpu - phase.bench_cpu
    return phase


async def timed_phase(
    fake: FakeDiscord, bot: Bots, plan: Cast, rss_every: int, rate: float | None
) -> Phase:
    """Send every action with the workers: samples, seconds, late starts, RSS series.

    Without `rate`, a closed loop: each worker sends its next interaction as soon as the last one
    is answered, so the bot is always saturated. With `rate`, interactions are due at that many
    per second and each takes an idle worker; one that finds none starts late (counted).
    """
    samples: list[Sample] = []
    series: list[tuple[int, float]] = [(0, bot.memory_mb()[0])]
    idle: asyncio.Queue[tuple[Person, Person]] = asyncio.Queue()
    for own in plan.workers:
        idle.put_nowait(own)
    late = 0

    async def one(action: Action, own: tuple[Person, Person]) -> None:
        try:
            samples.append(await run_action(fake, action, plan.session_id, own))
        finally:
            idle.put_nowait(own)
        if rss_every and len(samples) % rss_every == 0:
            series.append((len(samples), bot.memory_mb()[0]))

    loop = asyncio.get_running_loop()
    started = loop.time()
    async with asyncio.TaskGroup() as group:
        for index, action in enumerate(plan.actions):
            if rate is not None:
                await asyncio.sleep(max(0.0, started + index / rate - loop.time()))
                late += idle.empty()
            group.create_task(one(action, await idle.get()))
    elapsed = loop.time() - started
    if series[-1][0] != len(samples):
        series.append((len(samples), bot.memory_mb()[0]))
    return Phase(samples, elapsed, late, series)


async def floor_phase(
    sandbox: SandboxTracker, args: argparse.Namespace, data: Path
) -> tuple[Phase, set[str], int]:
    """The same timed phase against bench/floor.py: its phase, its members' tokens, its exit."""
    plan = cast(sandbox, args.votes, args.concurrency, mixed=False, bare=0, channels=(VOTING,))
    data = data / "floor"
    data.mkdir()
    accounts = data / "accounts.json"
    bearers = {str(p.member.id): p.tracker.api_token for p in plan.people}
    accounts.write_text(
        json.dumps({"link_name": LINK_NAME, "link_token": plan.link_token, "bearers": bearers})
    )
    async with FakeDiscord() as fake:
        fake.ack_deadline = 3.0
        fake.add_guild(GUILD_ID, "Bench server", channels=[VOTING])
        # No database: the settings only need to load.
        settings = {"TOKEN_KEY": Fernet.generate_key().decode(), "DATABASE_PATH": "unused.sqlite3"}
        floor = Bots(
            [
                await BotProcess.start(
                    fake,
                    sandbox,
                    data,
                    None,
                    settings,
                    script=ROOT / "bench" / "floor.py",
                    extra_env={"FLOOR_ACCOUNTS": str(accounts)},
                )
            ]
        )
        try:
            await warm_up(fake, plan, args.concurrency)
            phase = await measured_phase(fake, floor, plan, 0, args.rate)
        except Exception as error:
            await floor.stop()
            raise RuntimeError(f"{error}\nthe floor's log:\n{floor.log_tail()}") from error
        finally:
            code = await floor.stop()
    return phase, set(bearers.values()), code


async def run(args: argparse.Namespace) -> Report:
    lines: list[str] = []
    say = lines.append
    votes, concurrency = args.votes, args.concurrency
    bare = args.bare if args.bare is not None else min(200, max(20, votes))
    sandbox = SandboxTracker(seed=args.seed)
    channels = (VOTING, OTHER_VOTING)[: args.processes]
    plan = cast(sandbox, votes, concurrency, args.mixed, bare, channels)
    with tempfile.TemporaryDirectory(prefix="ctvote-bench-") as tmp, database(args.store) as url:
        data = Path(tmp)
        key = Fernet.generate_key().decode()
        store = {"TOKEN_KEY": key} | (
            {"DATABASE_URL": await url} if url else {"DATABASE_PATH": str(data / "bot.sqlite3")}
        )
        async with FakeDiscord() as fake:
            fake.ack_deadline = 3.0
            await sandbox.start()
            try:
                for channel in channels:
                    assert channel.guild_id is not None
                    fake.add_guild(channel.guild_id, f"Bench {channel.id}", channels=[channel])
                bot = await start_bots(fake, sandbox, data, args, store)
                try:
                    clock = time.perf_counter()
                    for channel in channels:
                        await expect_answer(
                            fake,
                            slash(
                                "links",
                                "add",
                                options={"token": plan.link_token, "name": LINK_NAME},
                                member=MODERATOR,
                                channel=channel,
                            ),
                            "Link added",
                        )
                    people = plan.people
                    resubmitted: Counter[str] = Counter()
                    setup_concurrency = max(concurrency, SETUP_CONCURRENCY)
                    await in_parallel(
                        people, setup_concurrency, lambda p: connect(fake, p, resubmitted)
                    )
                    say(
                        f"setup: {len(people)} members connected through /account connect "
                        f"({setup_concurrency} at a time, {TYPING_TIME:g} s typing each, "
                        f"{resubmitted['modal']} resubmitted) in "
                        f"{time.perf_counter() - clock:.1f} s"
                    )
                    await warm_up(fake, plan, concurrency)
                    bare_times = await bare_calls(sandbox, plan.link_token, plan.bare_voters)
                    not_the_bots = {v.api_token for v in plan.bare_voters}
                    phase = await measured_phase(fake, bot, plan, args.rss_every, args.rate)
                    rss_now, rss_peak = bot.memory_mb()
                except Exception as error:
                    await bot.stop()
                    raise RuntimeError(f"{error}\nthe bot's log:\n{bot.log_tail()}") from error
                finally:
                    code = await bot.stop()
                floor, floor_code = None, 0
                if args.floor:
                    floor, floor_tokens, floor_code = await floor_phase(sandbox, args, data)
                    not_the_bots |= floor_tokens
            finally:
                await sandbox.stop()
        if code != 0:
            say(f"the bot exited with status {code}:\n{bot.log_tail()}")
        ledger = Ledger(await read_ledger(store))
        ledger.tracker = Counter(
            str(r.status) for r in sandbox.requests if r.bearer not in not_the_bots
        )

    samples, elapsed = phase.samples, phase.elapsed
    acks = [s.ack for s in samples if s.ack is not None]
    replies = [s.reply for s in phase.answered if s.reply is not None]
    lost = votes - len(phase.answered)
    bare_p50 = percentile(bare_times, 50)
    reply_p50 = percentile(replies, 50)
    mode = "mixed: votes, DICE, LUCK, refusals" if args.mixed else "votes"
    pace = (
        f"at most {concurrency} at a time"
        if args.rate is None
        else f"due at {args.rate:g} per s, at most {concurrency} at a time, "
        f"{phase.late_starts} started late for want of an idle member"
    )
    processes = "1 bot process" if args.processes == 1 else f"{args.processes} bot processes"
    say(f"store: {args.store}, {processes}")
    say(f"timed: {votes} interactions ({mode}), {pace}, in {elapsed:.2f} s")
    kinds = Counter(s.kind for s in samples)
    say("  by kind: " + ", ".join(f"{k} {n}" for k, n in sorted(kinds.items())))
    lines.extend(answer_lines(phase, votes))
    say(
        f"  bare tracker call (the bot's httpx client, one at a time, {len(bare_times)} calls): "
        f"p50 {ms(bare_p50)} ms, p99 {ms(percentile(bare_times, 99))} ms"
    )
    bots = "bot process" if args.processes == 1 else f"{args.processes} bot processes, summed"
    lines.extend(cpu_lines(bots, phase, votes))
    say(f"  RSS {rss_now:.1f} MB, peak {rss_peak:.1f} MB")
    series = phase.series
    if len(series) > 2:
        say(
            "bot RSS by interactions answered: "
            + ", ".join(f"{n}: {mb:.1f} MB" for n, mb in series)
        )
        warmed = series[1][1]
        say(f"  growth after the first {series[1][0]}: {series[-1][1] - warmed:+.1f} MB")
    statuses = ", ".join(f"{k} {n}" for k, n in sorted(ledger.rows.items()))
    answers = ", ".join(f"HTTP {k} {n}" for k, n in sorted(ledger.tracker.items()))
    verdict = "agree" if ledger.agrees else "DISAGREE"
    say(f"ledger rows: {statuses}; tracker requests from the bot: {answers}: {verdict}")
    last = (
        f"bench: votes={votes} concurrency={concurrency} lost={lost} "
        f"ack_p50_ms={ms(percentile(acks, 50))} ack_p99_ms={ms(percentile(acks, 99))} "
        f"reply_p50_ms={ms(reply_p50)} reply_p99_ms={ms(percentile(replies, 99))} "
        f"bare_p50_ms={ms(bare_p50)} overhead_p50_ms={ms(reply_p50 - bare_p50)} "
        f"votes_per_s={phase.votes_per_s:.1f} cpu_ms_per_vote={phase.cpu_ms_per(votes):.2f} "
        f"rss_mb={rss_peak:.1f} store={args.store} processes={args.processes}"
    )
    floor_ok = True
    if floor is not None:
        say(
            f"floor (bench/floor.py): {votes} votes at the same pace in {floor.elapsed:.2f} s"
            + (f"; it exited with status {floor_code}" if floor_code else "")
        )
        lines.extend(answer_lines(floor, votes))
        lines.extend(cpu_lines("floor process", floor, votes))
        floor_ok = floor_code == 0 and floor.all_answered_as_expected(votes)
        last += (
            f" floor_votes_per_s={floor.votes_per_s:.1f} "
            f"floor_cpu_ms_per_vote={floor.cpu_ms_per(votes):.2f} "
            f"ratio_cpu={phase.cpu / floor.cpu:.2f} "
            f"ratio_votes={phase.votes_per_s / floor.votes_per_s:.2f}"
        )
    ok = phase.all_answered_as_expected(votes) and ledger.agrees and code == 0 and floor_ok
    return Report(lines, last, ok)


@contextlib.contextmanager
def database(store: str) -> Iterator[Awaitable[str] | None]:
    """For PostgreSQL, a local server for this run and (awaited) an empty database's URL."""
    if store == "sqlite":
        yield None
        return
    server = PostgresServer(durable=True)
    try:
        server.start()
        yield server.new_database(migrated=False)
    finally:
        server.stop()


async def start_bots(
    fake: FakeDiscord,
    sandbox: SandboxTracker,
    data: Path,
    args: argparse.Namespace,
    store: dict[str, str],
) -> Bots:
    if args.processes == 1:
        return Bots([await BotProcess.start(fake, sandbox, data, args.profile, store)])
    started: list[BotProcess] = []
    try:
        for shard in range(args.processes):
            started.append(
                await BotProcess.start(
                    fake, sandbox, data, None, store, shard=(shard, args.processes)
                )
            )
    except BaseException:
        await Bots(started).stop()
        raise
    return Bots(started)


def answer_lines(phase: Phase, votes: int) -> list[str]:
    """How fast members were acknowledged and answered, and what went missing."""
    acks = [s.ack for s in phase.samples if s.ack is not None]
    replies = [s.reply for s in phase.answered if s.reply is not None]
    publics = [s.public for s in phase.answered if s.public is not None]
    late = sum(s.late_ack for s in phase.samples)
    unexpected = [s.unexpected for s in phase.samples if s.unexpected]
    lost = votes - len(phase.answered)
    return [
        f"  ack p50/p95/p99 ms:    {spread(acks)}  (late acks, refused after 3 s: {late})",
        f"  reply p50/p95/p99 ms:  {spread(replies)}",
        f"  public result p50/p95/p99 ms: {spread(publics)}",
        f"  throughput: {phase.votes_per_s:.1f} per s; lost: {lost}; "
        f"unexpected answers: {len(unexpected)}",
        *(f"    unexpected: {text}" for text in unexpected[:5]),
    ]


def cpu_lines(name: str, phase: Phase, votes: int) -> list[str]:
    """CPU time of the process under test, its threads, this process and everything else."""
    return [
        f"{name}: {phase.cpu:.2f} CPU s in the timed phase = "
        f"{phase.cpu_ms_per(votes):.2f} CPU s per 1,000 "
        f"({phase.cpu / phase.elapsed * 100:.0f}% of a core)",
        f"  of which the event loop's thread {phase.main_cpu:.2f} s, other threads "
        f"{phase.cpu - phase.main_cpu:.2f} s",
        f"  bench process (fake Discord + sandbox + members): {phase.bench_cpu:.2f} CPU s "
        f"({phase.bench_cpu / phase.elapsed * 100:.0f}% of a core); other processes on this "
        f"machine {max(phase.others, 0) / phase.elapsed * 100:.0f}% of a core "
        f"({os.cpu_count()} cores)",
        f"  Discord REST requests per interaction: {requests_per(phase, votes)}",
    ]


def requests_per(phase: Phase, votes: int) -> str:
    """Each route's requests in the timed phase, per interaction, busiest first."""
    counts = phase.discord_requests.most_common()
    return ", ".join(f"{route} {count / votes:.2f}" for route, count in counts) or "none"


async def _append(into: list[Sample], sample: Awaitable[Sample]) -> None:
    into.append(await sample)


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--votes", type=int, help="interactions in the timed phase")
    parser.add_argument("--concurrency", type=int, help="members at a time")
    parser.add_argument(
        "--stats",
        action="store_true",
        help="instead: history, export and /stats of one link with --stats-votes votes",
    )
    parser.add_argument("--stats-votes", type=int, default=20_000, help="votes seeded (--stats)")
    parser.add_argument("--stats-answers", type=int, default=50, help="/stats answers (--stats)")
    parser.add_argument("--renders", type=int, default=200, help="charts drawn in a row (--stats)")
    parser.add_argument(
        "--soak",
        type=float,
        default=None,
        metavar="SECONDS",
        help="instead: members act while faults are injected, then the invariants are checked",
    )
    parser.add_argument(
        "--report", type=Path, default=None, help="the soak's JSON report (default: in /tmp)"
    )
    parser.add_argument("--mixed", action="store_true", help="votes, DICE, LUCK and refusals")
    parser.add_argument(
        "--rss-every", type=int, default=2000, help="sample the bot's RSS every N answers"
    )
    parser.add_argument(
        "--bare", type=int, default=None, help="bare tracker calls (default 20-200)"
    )
    parser.add_argument(
        "--rate",
        type=float,
        default=None,
        help="send interactions at this many per second (default: each member as soon as answered)",
    )
    parser.add_argument(
        "--floor",
        action="store_true",
        help="then run the same votes against bench/floor.py and compare (not with --mixed)",
    )
    parser.add_argument(
        "--repeat",
        type=int,
        default=None,
        metavar="N",
        help="make the whole run N times, then print each figure's median and range",
    )
    parser.add_argument("--seed", type=int, default=1, help="the sandbox's (and the soak's) seed")
    parser.add_argument(
        "--store",
        choices=("sqlite", "postgres"),
        default="sqlite",
        help="the bot's database: a SQLite file, or a local PostgreSQL server started for the run",
    )
    parser.add_argument(
        "--processes",
        type=int,
        choices=(1, 2),
        default=1,
        help="bot processes; 2 runs shards 0 and 1 of 2 (needs --store postgres)",
    )
    parser.add_argument(
        "--profile",
        type=Path,
        default=None,
        help="profile the bot: pyinstrument (.html .txt .pstats .json) or cProfile (.prof)",
    )
    parser.add_argument(
        "--timeout", type=float, default=None, help="seconds for each run (default scales)"
    )
    args = parser.parse_args(argv)
    if args.processes > 1 and args.store != "postgres":
        parser.error("--processes 2 shares one database: use --store postgres")
    if args.soak is not None:
        if args.soak <= 0:
            parser.error("--soak needs a positive number of seconds")
        return args
    if args.stats:
        if min(args.stats_votes, args.stats_answers) < 1 or args.renders < WARM_RENDERS:
            parser.error(f"--stats needs votes and answers, and at least {WARM_RENDERS} renders")
        return args
    if args.votes is None or args.concurrency is None:
        parser.error("--votes and --concurrency are required (or --stats)")
    if args.votes < 1 or args.concurrency < 1:
        parser.error("--votes and --concurrency must be at least 1")
    if args.floor and args.mixed:
        parser.error("--floor compares votes only; leave out --mixed")
    if args.rate is not None and args.rate <= 0:
        parser.error("--rate must be positive")
    if args.repeat is not None and args.repeat < 1:
        parser.error("--repeat must be at least 1")
    if args.processes > 1 and args.store != "postgres":
        parser.error("--processes 2 shares one database: use --store postgres")
    if args.floor and args.processes > 1:
        parser.error("--floor runs the floor as one process; leave out --processes 2")
    if args.profile is not None:
        args.profile = args.profile.absolute()  # the bot runs in its own temporary directory
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    if args.soak is not None:
        from bench.soak import soak_main

        return soak_main(args)
    if args.stats:
        return stats_main(args)
    budget = args.timeout or (120 + args.votes * 0.1) * (2 if args.floor else 1)

    async def bounded() -> Report:
        async with asyncio.timeout(budget):
            return await run(args)

    reports: list[Report] = []
    repeat = args.repeat or 1
    for number in range(1, repeat + 1):
        try:
            report = asyncio.run(bounded())
        except TimeoutError:
            print(f"bench: stopped after {budget:g} s without finishing", file=sys.stderr)
            return 2
        if args.repeat is not None:
            print(f"run {number} of {repeat}:")
        print("\n".join(report.lines))
        print(report.last, flush=True)
        reports.append(report)
    if args.repeat is not None:
        print(summary_line([r.last for r in reports]), flush=True)
    return 0 if all(r.ok for r in reports) else 1


LABELS = ("votes", "concurrency", "store", "processes")
"""Keys of the last line that name the run rather than measure it: the same in every run."""


def figures(last: str) -> dict[str, str]:
    """The `key=value` pairs of a run's last line."""
    return dict(pair.split("=", 1) for pair in last.removeprefix("bench: ").split())


def summary_line(lasts: list[str]) -> str:
    """Each figure's median and range over the runs, `lost` summed: what runs are compared by."""
    runs = [figures(last) for last in lasts]
    first = runs[0]
    pairs = [f"runs={len(runs)}"]
    pairs += [f"{key}={first[key]}" for key in LABELS if key in first]
    pairs.append(f"lost={sum(int(run['lost']) for run in runs)}")
    for key in first:
        if key in LABELS or key == "lost":
            continue
        values = [float(run[key]) for run in runs]
        pairs += [
            f"{key}_median={statistics.median(values):.2f}",
            f"{key}_min={min(values):.2f}",
            f"{key}_max={max(values):.2f}",
        ]
    return "bench-repeat: " + " ".join(pairs)


def stats_main(args: argparse.Namespace) -> int:
    budget = args.timeout or 120 + args.stats_votes * 0.005 + args.renders

    async def bounded() -> tuple[list[str], str, bool]:
        async with asyncio.timeout(budget):
            return await run_stats(args)

    try:
        lines, last, ok = asyncio.run(bounded())
    except TimeoutError:
        print(f"bench: stopped after {budget:g} s without finishing", file=sys.stderr)
        return 2
    print("\n".join(lines))
    print(last, flush=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
