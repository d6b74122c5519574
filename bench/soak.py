"""The soak: members keep doing what members do while faults come and go (issue 20).

    python bench/run.py --soak SECONDS [--seed N] [--store sqlite|postgres] [--processes 1|2]

The same world as the benchmark (bench/run.py): the fake Discord and the tracker sandbox in this
process, the real bot as one child process per shard, SQLite or a PostgreSQL server started for
the run. Members of each shard's guild vote (by command and by card button), play DICE, LUCK and
/dom, ask /stats, connect and disconnect their accounts and turn reminders on and off, about
RATE actions per second; a moderator adds a link now and then, so there is always something
left to vote on. Meanwhile bench/faults.py breaks things, drawn from the seed. Members act one
interaction at a time each, so a tracker request belongs to its member's latest interaction.

Then the faults stop, everything settles, each process is asked /help, the bots stop, and
bench/soak_checks.py judges the record. Progress every 10 s; the last line is key=value pairs;
the violations go to a JSON report; the exit status is 1 on any violation.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import json
import os
import random
import shutil
import signal
import sqlite3
import tempfile
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
from cryptography.fernet import Fernet

from bench.faults import FaultScheduler, Targets
from bench.run import (
    GUILD_ID,
    MODERATOR,
    OTHER_GUILD_ID,
    OTHER_VOTING,
    VOTING,
    BotProcess,
    Person,
    connect,
    expect_answer,
    in_parallel,
    machine_busy_seconds,
    memory_mb,
)
from bench.soak_checks import (
    ANSWER_WITHIN,
    ON_ITS_WAY,
    Interaction,
    LedgerRow,
    Life,
    SoakLog,
    TrackerRequest,
    Violation,
    check_all,
    check_running,
)
from tests.fake_discord import (
    Channel,
    Exchange,
    FakeDiscord,
    Member,
    SentMessage,
    button_click,
    modal_submit,
    slash,
)
from tests.fake_discord.gateway import shard_of
from tests.postgres_server import PostgresServer
from tracker.sandbox import SandboxTracker

RATE = 20.0  # member actions per second
VOTERS, ANONYMOUS, OWNERS = 50, 6, 12  # per guild; each owner has a dom
FIRST_LINKS = 3
NEW_LINK_EVERY = 20.0
BUSY_AT_MOST = 30.0  # a member waits this long for an answer before acting again
SETTLE_WITHIN = 90.0
PROGRESS_EVERY = 10.0
STOP_WITHIN = 30.0  # after SIGTERM; then SIGKILL, and the life counts as overran
RESTART_TRIES = 5
RSS_EVERY = 2.0
TRACKER_READ_TIMEOUT = 10.0
FIRST_SOAK_MEMBER = 940_000_000_000_000_000
PR_SET_CHILD_SUBREAPER = 36


@dataclass
class Link:
    name: str
    token: str
    link_id: int
    card_id: int


@dataclass
class Place:
    """A guild of one shard: its voting channel and its links."""

    index: int
    channel: Channel
    shard: int
    links: list[Link] = field(default_factory=list)
    named: int = 0


@dataclass
class Soaker:
    """A member of the soak: `connected` is what the soak believes (None: not sure)."""

    person: Person
    role: str  # voter, anonymous, owner, dom
    place: Place
    session: int | None = None
    connected: bool | None = False
    busy: bool = False


@dataclass
class Sent:
    """An interaction as it was sent; turned into a `soak_checks.Interaction` when checked."""

    exchange: Exchange
    member: Soaker
    kind: str
    life: int | None
    link: str | None
    connected: bool | None
    calls_tracker: bool


class Fleet:
    """The bot processes, one per shard, each life recorded; restarts on demand."""

    def __init__(self, soak: Soak) -> None:
        self.soak = soak
        self.current: dict[int, tuple[BotProcess, Life]] = {}
        self.lives = 0
        self.stop_seconds: list[float] = []
        self.stopping: dict[int, Life] = {}

    async def start(self, shard: int) -> None:
        soak = self.soak
        for attempt in range(RESTART_TRIES):
            self.lives += 1
            try:
                bot = await BotProcess.start(
                    soak.fake,
                    soak.sandbox,
                    soak.data,
                    None,
                    soak.store,
                    shard=(shard, soak.processes) if soak.processes > 1 else None,
                    extra_env=soak.bot_env,
                    life=self.lives,
                )
            except RuntimeError as error:
                soak.notes.append(f"shard {shard}: start {attempt + 1} failed: {str(error)[-600:]}")
                await asyncio.sleep(2.0)
                continue
            life = Life(self.lives, shard, bot.pid, soak.clock())
            soak.log.lives.append(life)
            soak.logs[life.id] = bot.log
            self.current[shard] = (bot, life)
            return
        soak.notes.append(f"shard {shard}: gave up starting after {RESTART_TRIES} tries")

    def life_of(self, shard: int) -> int | None:
        """The life that receives the shard's events now (a running process gets what it missed
        when it resumes); None when no process runs, or the one stopping has no connection."""
        if shard in self.current:
            return self.current[shard][1].id
        stopping = self.stopping.get(shard)
        if stopping is not None and self.soak.fake.gateway.is_connected(shard):
            return stopping.id
        return None

    def stopping_life(self, shard: int) -> int | None:
        life = self.stopping.get(shard)
        return None if life is None else life.id

    async def restart(self, shard: int, how: str) -> None:
        """SIGTERM (wait for the exit) or SIGKILL the shard's process, then start it again."""
        if shard not in self.current:
            return
        bot, life = self.current.pop(shard)
        started = time.monotonic()
        if how == "sigkill":
            bot.process.kill()
            await bot.process.wait()
            life.end = "killed"
        else:
            self.stopping[shard] = life
            bot.process.send_signal(signal.SIGTERM)
            try:
                async with asyncio.timeout(STOP_WITHIN):
                    await bot.process.wait()
                life.end = "stopped"
            except TimeoutError:
                bot.process.kill()
                await bot.process.wait()
                life.end = "overran"
            finally:
                del self.stopping[shard]
            self.stop_seconds.append(time.monotonic() - started)
        life.ended = self.soak.clock()
        await self.start(shard)

    async def stop_all(self) -> None:
        for shard, (bot, life) in list(self.current.items()):
            await bot.stop()
            life.ended, life.end = self.soak.clock(), "stopped"
            del self.current[shard]

    def sample_rss(self) -> None:
        now = self.soak.clock()
        for bot, life in self.current.values():
            with contextlib.suppress(OSError, KeyError):
                life.rss.append((now, memory_mb(bot.pid)[0]))


class Soak:
    def __init__(
        self, args: Any, data: Path, store: dict[str, str], postgres: PostgresServer | None
    ) -> None:
        self.seconds: float = args.soak
        self.seed: int = args.seed
        self.store_name: str = args.store
        self.processes: int = args.processes
        self.rng = random.Random(args.seed)
        self.data = data
        self.store = store
        self.postgres = postgres
        self.bot_env = {"TRACKER_READ_TIMEOUT": str(TRACKER_READ_TIMEOUT)}
        self.sandbox = SandboxTracker(seed=args.seed)
        self.fake = FakeDiscord()
        self.log = SoakLog(seed=args.seed)
        self.fleet = Fleet(self)
        self.places: list[Place] = []
        self.members: list[Soaker] = []
        self.by_bearer: dict[str, Soaker] = {}
        self.link_names: dict[str, str] = {}  # token -> name
        self.sent: list[Sent] = []
        self.actions = 0
        self.notes: list[str] = []
        self.logs: dict[int, Path] = {}
        self.violations: dict[str, Violation] = {}
        self.ids = iter(range(FIRST_SOAK_MEMBER, FIRST_SOAK_MEMBER + 10**6))
        self.origin = time.monotonic()
        self.fault_counts: Counter[str] = Counter()
        self.started_at = 0.0

    def clock(self) -> float:
        """Seconds since the soak's actions began (the fake and the sandbox share this clock)."""
        return time.monotonic() - self.origin

    # -- the world -----------------------------------------------------------------------------

    async def set_up(self) -> None:
        guilds = [(GUILD_ID, VOTING), (OTHER_GUILD_ID, OTHER_VOTING)][: self.processes]
        for index, (guild_id, channel) in enumerate(guilds):
            self.fake.add_guild(guild_id, f"Soak {index}", channels=[channel])
            self.places.append(Place(index, channel, shard_of(guild_id, self.processes)))
        for place in self.places:
            self._cast(place)
        for shard in range(self.processes):
            await self.fleet.start(shard)
        if len(self.fleet.current) < self.processes:
            raise RuntimeError("the bot did not start:\n" + "\n".join(self.notes))
        for place in self.places:
            for _ in range(FIRST_LINKS):
                await self.add_link(place)
        identified = [m for m in self.members if m.role != "anonymous"]
        await in_parallel(identified, 50, lambda m: connect(self.fake, m.person, Counter()))
        for member in identified:
            member.connected = True

    def _cast(self, place: Place) -> None:
        for role, count in (("voter", VOTERS), ("anonymous", ANONYMOUS)):
            for _ in range(count):
                member_id = next(self.ids)
                user = self.sandbox.add_user()
                who = Person(Member(member_id, f"{role}{member_id}"), user, None, place.channel)
                self._enlist(Soaker(who, role, place))
        for _ in range(OWNERS):
            owner_user, dom_user = self.sandbox.add_user(), self.sandbox.add_user()
            session = self.sandbox.add_session(owner_user, dom=dom_user, link_enabled=False).id
            for role, user in (("owner", owner_user), ("dom", dom_user)):
                member_id = next(self.ids)
                default = session if role == "owner" else None
                who = Person(Member(member_id, f"{role}{member_id}"), user, default, place.channel)
                self._enlist(Soaker(who, role, place, session))

    def _enlist(self, member: Soaker) -> None:
        self.members.append(member)
        if member.role != "anonymous":
            self.by_bearer[member.person.tracker.api_token] = member

    async def add_link(self, place: Place) -> None:
        """The moderator binds a new session's link; its card's message gives the link's id."""
        outsider = self.sandbox.add_user()
        session = self.sandbox.add_session(outsider, link_enabled=True)
        place.named += 1  # a name per attempt: one whose answer was lost may exist
        name = f"g{place.index}l{place.named}"
        known = {link.link_id for link in place.links}
        await expect_answer(
            self.fake,
            slash(
                "links",
                "add",
                options={"token": session.link_token, "name": name},
                member=MODERATOR,
                channel=place.channel,
            ),
            "Link added",
        )
        # By its title: a card of an earlier attempt whose answer was lost may come first, and
        # taking it would file this link's votes under the other link's name.
        card = await self.fake.wait_for_channel_message(
            place.channel.id,
            lambda m: _card_link(m.components) not in (None, *known) and _card_name(m) == name,
            within=30,
        )
        link_id = _card_link(card.components)
        assert link_id is not None
        place.links.append(Link(name, session.link_token, link_id, card.id))
        self.link_names[session.link_token] = name

    # -- members -------------------------------------------------------------------------------

    async def act(self, member: Soaker) -> None:
        member.busy = True
        try:
            await self._act(member)
        finally:
            member.busy = False

    async def _act(self, member: Soaker) -> None:
        rng, place = self.rng, member.place
        who, channel = member.person.member, place.channel
        link = rng.choice(place.links)
        kind = rng.choices(*zip(*ACTIONS[member.role], strict=True))[0]
        if kind == "vote":
            kind = f"vote_{rng.choice(('add', 'sub', 'rand'))}"
            payload = slash(
                "vote", kind[5:], options={"link": link.name}, member=who, channel=channel
            )
        elif kind == "button":
            kind = f"button_{rng.choice(('add', 'sub', 'rand'))}"
            payload = button_click(
                f"ctvote:vote:{link.link_id}:{kind[7:]}",
                message_id=link.card_id,
                member=who,
                channel=channel,
            )
        elif kind == "stats":
            payload = slash("stats", options={"link": link.name}, member=who, channel=channel)
        elif kind == "stats_button":
            payload = button_click(
                f"ctvote:stats:{link.link_id}", message_id=link.card_id, member=who, channel=channel
            )
        elif kind in ("dice", "luck"):
            payload = slash(kind, member=who, channel=channel)
        elif kind.startswith("dom_"):
            options: dict[str, Any] = {"session": member.session}
            if kind == "dom_link":
                options["type"] = rng.choice(("add", "sub", "rand"))
            payload = slash("dom", kind[4:], options=options, member=who, channel=channel)
        elif kind == "account":
            kind = "account_disconnect" if member.connected is not False else "account_connect"
            if member.role == "anonymous":
                kind = "account_status"
            payload = slash("account", kind[8:], member=who, channel=channel)
        else:  # remind
            kind = f"remind_{rng.choice(('on', 'off'))}"
            payload = slash("remind", kind[7:], member=who, channel=channel)
        calls = kind.startswith(("vote", "button", "dice", "luck", "dom"))
        exchange = await self.send(member, kind, payload, link.name, calls)
        if kind == "account_connect":
            await self._submit_connect(member, exchange)
        elif kind == "account_disconnect":
            text = await self._answer_text(exchange)
            member.connected = False if text is not None and "erased" in text else None

    async def send(
        self, member: Soaker, kind: str, payload: dict[str, Any], link: str | None, calls: bool
    ) -> Exchange:
        life = self.fleet.life_of(member.place.shard)
        exchange = await self.fake.interact(payload)
        if not exchange.written and life == self.fleet.stopping_life(member.place.shard):
            life = None  # kept for a RESUME that a stopping process never makes: not received
        self.sent.append(Sent(exchange, member, kind, life, link, member.connected, calls))
        self.actions += 1
        if kind != "account_connect":
            with contextlib.suppress(AssertionError):
                await exchange.final(within=BUSY_AT_MOST)
        return exchange

    async def _submit_connect(self, member: Soaker, exchange: Exchange) -> None:
        try:
            modal = await exchange.modal(within=BUSY_AT_MOST)
        except AssertionError:
            return
        await asyncio.sleep(0.1)  # a member takes a moment to paste a token
        session = "" if member.session is None or member.role != "owner" else str(member.session)
        fields = {"api_token": member.person.tracker.api_token, "default_session": session}
        member.connected = None
        submitted = await self.send(
            member,
            "account_submit",
            modal_submit(modal, fields, member=member.person.member, channel=member.place.channel),
            None,
            calls=False,
        )
        text = await self._answer_text(submitted)
        member.connected = True if text is not None and text.startswith("Connected") else None

    async def _answer_text(self, exchange: Exchange) -> str | None:
        original = exchange.original
        return None if original is None or original.loading else original.content

    async def members_act(self, start: float, until: float) -> None:
        """Open loop: an action is due every 1/RATE s, taken by an idle member."""
        tasks: set[asyncio.Task[None]] = set()
        moderator_due = start + NEW_LINK_EVERY
        index = 0
        while (due := start + index / RATE) < until:
            await asyncio.sleep(max(0.0, due - self.clock()))
            index += 1
            if self.clock() >= moderator_due:
                moderator_due += NEW_LINK_EVERY
                task = asyncio.ensure_future(self._moderate())
                tasks.add(task)
                task.add_done_callback(tasks.discard)
            role = self.rng.choices(("voter", "anonymous", "owner", "dom"), (50, 8, 24, 18))[0]
            idle = [m for m in self.members if m.role == role and not m.busy]
            if idle:
                task = asyncio.ensure_future(self.act(self.rng.choice(idle)))
                tasks.add(task)
                task.add_done_callback(tasks.discard)
        if tasks:
            await asyncio.wait(tasks, timeout=BUSY_AT_MOST + 5)
        for task in tasks:
            task.cancel()

    async def _moderate(self) -> None:
        for place in self.places:
            if self.fleet.life_of(place.shard) is None:
                continue
            try:
                await self.add_link(place)
                self.actions += 1
            except (AssertionError, RuntimeError) as error:
                self.notes.append(
                    f"{self.clock():.0f} s: a new link in guild {place.index} failed: {error}"
                )

    # -- the record ----------------------------------------------------------------------------

    def interactions(self) -> list[Interaction]:
        return [self._interaction(sent) for sent in self.sent]

    def _interaction(self, sent: Sent) -> Interaction:
        exchange = sent.exchange
        callback = exchange.callback
        answered = None
        if callback is not None and callback.type == 9:
            answered = callback.delay
        elif exchange.answered_at is not None:
            answered = exchange.answered_at - exchange.dispatched_at
        original = exchange.original
        text = "" if original is None else original.content
        member = sent.member.person.member.id
        return Interaction(
            id=exchange.id,
            member=member,
            kind=sent.kind,
            dispatched=exchange.dispatched_at - self.origin,
            acked=exchange.ack_delay,
            answered=answered,
            text=text,
            life=sent.life,
            block_keys=_block_keys(sent, member, text),
            calls_tracker=sent.calls_tracker,
        )

    def requests(self) -> list[TrackerRequest]:
        found = []
        for request in self.sandbox.requests:
            body = request.body or {}
            member = self.by_bearer.get(request.bearer or "")
            voter = (
                "anon"
                if request.bearer is None
                else f"member:{member.person.member.id}"
                if member
                else "other"
            )
            game, dom = str(body.get("game")), int(body.get("dom") or 0)
            if game == "link" and dom == 0:
                target = self.link_names.get(str(body.get("token")), "unknown-link")
            else:
                target = f"session:{body.get('session')}"
            found.append(
                TrackerRequest(
                    request.at - self.origin,
                    voter,
                    game,
                    dom,
                    target,
                    request.status,
                    request.played,
                )
            )
        return found

    def check(self) -> None:
        self.log.interactions = self.interactions()
        self.log.requests = self.requests()
        for violation in check_running(self.log, self.clock()):
            self.violations.setdefault(violation.key, violation)

    async def watch(self, start: float, until: float) -> None:
        """Progress every PROGRESS_EVERY s, RSS every RSS_EVERY s, load every second."""
        loop = asyncio.get_running_loop()
        busy_before, wall_before = machine_busy_seconds(), time.monotonic()
        next_progress = start + PROGRESS_EVERY
        while self.clock() < until:
            lag = 0.0
            for _ in range(4):
                asked = loop.time()
                await asyncio.sleep(0.25)
                lag = max(lag, loop.time() - asked - 0.25)
            busy, wall = machine_busy_seconds(), time.monotonic()
            share = (busy - busy_before) / max(wall - wall_before, 1e-3) / (os.cpu_count() or 1)
            busy_before, wall_before = busy, wall
            self.log.load.append((self.clock(), lag, share))
            if int(self.clock()) % int(RSS_EVERY) == 0:
                self.fleet.sample_rss()
            if self.clock() >= next_progress:
                next_progress += PROGRESS_EVERY
                self.check()
                print(
                    f"soak: t={self.clock() - start:.0f}s actions={self.actions} "
                    f"faults={len(self.log.faults)} violations={len(self.violations)}",
                    flush=True,
                )

    # -- the end -------------------------------------------------------------------------------

    async def settle(self) -> None:
        """Every shard running, no row pending (within SETTLE_WITHIN), each process answering."""
        for shard in range(self.processes):
            if shard not in self.fleet.current:
                await self.fleet.start(shard)
        deadline = self.clock() + SETTLE_WITHIN
        pending = await self.pending_rows()
        while pending and self.clock() < deadline:
            await asyncio.sleep(1.0)
            pending = await self.pending_rows()
        self.log.pending_after_settle = pending
        for place in self.places:
            life = self.fleet.life_of(place.shard)
            member = next(m for m in self.members if m.place is place)
            exchange = await self.fake.interact(
                slash("help", member=member.person.member, channel=place.channel)
            )
            try:
                await exchange.final(within=ANSWER_WITHIN)
            except AssertionError:
                self.log.not_serving.append(
                    f"shard {place.shard} (life {life}): no answer to /help"
                )

    async def pending_rows(self) -> list[str]:
        rows = await self.read(PENDING_SQL)
        return [f"ledger row {r[0]}: {r[1]} by {r[2]}, link {r[3]}" for r in rows]

    async def read(self, sql: str) -> list[tuple[Any, ...]]:
        if "DATABASE_URL" in self.store:
            conn = await asyncpg.connect(self.store["DATABASE_URL"], timeout=10)
            try:
                return [tuple(row) for row in await conn.fetch(sql, timeout=10)]
            finally:
                await conn.close()
        uri = f"file:{self.store['DATABASE_PATH']}?mode=ro"
        with contextlib.closing(sqlite3.connect(uri, uri=True, timeout=10)) as conn:
            return list(conn.execute(sql))

    async def read_ledger(self) -> None:
        link_names = {link.link_id: link.name for place in self.places for link in place.links}
        by_member = {m.person.member.id for m in self.members}
        rows = []
        for row_id, user_id, game, dom, link_id, session_id, anonymous, status in await self.read(
            LEDGER_SQL
        ):
            voter = (
                "anon" if anonymous else f"member:{user_id}" if user_id in by_member else "other"
            )
            if game == "link" and not dom:
                target = link_names.get(link_id, "unknown-link")
            else:
                target = f"session:{session_id}"
            rows.append(LedgerRow(row_id, voter, game, int(dom), target, status))
        self.log.ledger = rows


LEDGER_SQL = (
    "SELECT id, user_id, game, CAST(dom AS INTEGER), link_id, session_id, "
    "CAST(anonymous AS INTEGER), status FROM ledger"
)
PENDING_SQL = "SELECT id, game, user_id, link_id FROM ledger WHERE status = 'pending' ORDER BY id"

# What each kind of member does, with weights.
ACTIONS: dict[str, list[tuple[str, int]]] = {
    "voter": [
        ("vote", 40),
        ("button", 25),
        ("stats", 3),
        ("stats_button", 2),
        ("account", 12),
        ("remind", 8),
    ],
    "anonymous": [("vote", 50), ("button", 30), ("account", 10), ("remind", 10)],
    "owner": [("dice", 42), ("luck", 42), ("account", 8), ("remind", 8)],
    "dom": [("dom_dice", 35), ("dom_luck", 35), ("dom_link", 25), ("remind", 5)],
}


def _card_link(components: list[dict[str, Any]]) -> int | None:
    """The link id in a card's vote buttons (`ctvote:vote:<id>:<type>`)."""
    for row in components:
        for component in row.get("components", []):
            parts = str(component.get("custom_id", "")).split(":")
            if parts[:2] == ["ctvote", "vote"]:
                return int(parts[2])
    return None


def _card_name(message: SentMessage) -> str | None:
    """The link name in a card's title (`Vote on link “name”`)."""
    title = str(message.embeds[0].get("title", "")) if message.embeds else ""
    return title.partition("“")[2].rpartition("”")[0] or None


def _block_keys(sent: Sent, member: int, text: str) -> tuple[str, ...]:
    """What an "on its way" refusal blocks, or which keys another answer shows free."""
    if sent.kind.startswith(("dice", "luck", "dom")):
        return (f"member:{member}:game",)
    if not sent.kind.startswith(("vote", "button")):
        return ()
    own, shared = f"member:{member}:{sent.link}", f"anon:{sent.link}"
    if ON_ITS_WAY in text:
        return (shared,) if "anonymous vote" in text else (own,)
    if sent.connected is None:
        return (own, shared)
    return (own,) if sent.connected else (shared,)


# -- the run -------------------------------------------------------------------------------------


@dataclass
class Outcome:
    last: str
    report: Path
    ok: bool


async def run_soak(args: Any) -> Soak:
    """Set up, soak, settle, stop; the soak's record is complete on return."""
    server = PostgresServer(durable=True) if args.store == "postgres" else None
    with tempfile.TemporaryDirectory(prefix="ctvote-soak-") as tmp:
        data = Path(tmp)
        key = Fernet.generate_key().decode()
        try:
            if server is not None:
                server.start()
                store = {
                    "TOKEN_KEY": key,
                    "DATABASE_URL": await server.new_database(migrated=False),
                }
            else:
                store = {"TOKEN_KEY": key, "DATABASE_PATH": str(data / "bot.sqlite3")}
            soak = Soak(args, data, store, server)
            await soak_in(soak)
            soak.log_tails = {life: _warnings(path) for life, path in soak.logs.items()}
            kept = Path(tempfile.gettempdir()) / f"ctvote-soak-logs-{os.getpid()}"
            kept.mkdir(exist_ok=True)
            for life, path in soak.logs.items():
                shutil.copy(path, kept / f"life{life}.log")
            soak.notes.append(f"the bots' logs: {kept}")
        finally:
            if server is not None:
                server.stop()
    return soak


async def soak_in(soak: Soak) -> None:
    async with soak.fake:
        soak.fake.ack_deadline = 3.0
        await soak.sandbox.start()
        try:
            await soak.set_up()
            start = soak.started_at = soak.clock()
            until = start + soak.seconds
            sqlite_path = soak.store.get("DATABASE_PATH")
            faults = FaultScheduler(
                random.Random(f"faults {soak.seed}"),
                Targets(
                    soak.fake,
                    soak.sandbox,
                    Path(sqlite_path) if sqlite_path else None,
                    soak.postgres,
                    list(range(soak.processes)),
                    soak.fleet.restart,
                    TRACKER_READ_TIMEOUT,
                ),
                soak.log,
                soak.clock,
            )
            soak.fault_counts = faults.counts
            await asyncio.gather(
                soak.members_act(start, until), faults.run(until), soak.watch(start, until)
            )
            await soak.settle()
        finally:
            await soak.fleet.stop_all()
            await soak.sandbox.stop()
        soak.check()
        await soak.read_ledger()


def _warnings(log: Path, lines: int = 40) -> list[str]:
    """The last warnings and errors of one bot life's log, for the report."""
    try:
        text = log.read_text(errors="replace").splitlines()
    except OSError:
        return []
    return [line for line in text if "WARNING" in line or "ERROR" in line or "Traceback" in line][
        -lines:
    ]


def become_subreaper() -> None:
    """Orphans of our children (a bot's chart worker, the PostgreSQL server) become ours, so the
    end can see whether any outlived the soak."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)


def leftover_children() -> list[str]:
    """Children still alive once everything stopped (zombies are reaped first)."""
    with contextlib.suppress(ChildProcessError):
        while os.waitpid(-1, os.WNOHANG)[0] > 0:
            pass
    me, found = os.getpid(), []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[1]) == me and fields[0] != "Z":
                command = (stat.parent / "cmdline").read_bytes().replace(b"\0", b" ")
                found.append(f"pid {stat.parent.name}: {command.decode(errors='replace')[:200]}")
    return found


def kill_leftovers() -> None:
    for what in leftover_children():
        with contextlib.suppress(ProcessLookupError, ValueError):
            os.kill(int(what.split()[1].rstrip(":")), signal.SIGKILL)


def finish(soak: Soak, report_path: Path | None) -> Outcome:
    """Judge the record, write the JSON report, and say it in one line."""
    soak.log.leftovers = leftover_children()
    kill_leftovers()
    violations = {v.key: v for v in check_all(soak.log)}
    violations = soak.violations | violations
    kinds = Counter(v.kind for v in violations.values())
    exempt = sum(1 for i in soak.log.interactions if i.life is None)
    path = report_path or Path(tempfile.gettempdir()) / (
        f"ctvote-soak-{soak.store_name}-p{soak.processes}-seed{soak.seed}-{os.getpid()}.json"
    )
    report = {
        "seconds": soak.seconds,
        "seed": soak.seed,
        "store": soak.store_name,
        "processes": soak.processes,
        "actions": soak.actions,
        "tracker_requests": len(soak.log.requests),
        "faults": [asdict(f) for f in soak.log.faults],
        "violations": sorted(
            (asdict(v) | {"seed": soak.seed} for v in violations.values()),
            key=lambda v: (v["kind"], str(v["at"])),
        ),
        "lives": [
            {k: v for k, v in asdict(life).items() if k != "rss"}
            | {"rss_first_last_mb": [life.rss[0][1], life.rss[-1][1]] if life.rss else []}
            for life in soak.log.lives
        ],
        "stop_seconds": [round(s, 1) for s in soak.fleet.stop_seconds],
        "notes": soak.notes,
        "bot_warnings": {str(k): v for k, v in getattr(soak, "log_tails", {}).items()},
    }
    path.write_text(json.dumps(report, indent=1, default=str))
    faults = Counter(f.kind for f in soak.log.faults)
    last = (
        f"soak: seconds={soak.seconds:g} seed={soak.seed} store={soak.store_name} "
        f"processes={soak.processes} actions={soak.actions} faults={len(soak.log.faults)} "
        f"violations={len(violations)} exempt={exempt} lives={len(soak.log.lives)} "
        + "".join(f"{kind}={n} " for kind, n in sorted(kinds.items()))
        + "".join(f"fault_{kind}={n} " for kind, n in sorted(faults.items()))
        + f"report={path}"
    )
    return Outcome(last, path, not violations)


def soak_main(args: Any) -> int:
    become_subreaper()
    budget = args.soak + 600.0

    async def bounded() -> Soak:
        async with asyncio.timeout(budget):
            return await run_soak(args)

    try:
        soak = asyncio.run(bounded())
    except TimeoutError:
        kill_leftovers()
        print(f"soak: stopped after {budget:g} s without finishing", flush=True)
        return 2
    outcome = finish(soak, args.report)
    print(outcome.last, flush=True)
    return 0 if outcome.ok else 1
