"""The soak's invariants, as functions of a record of what happened.

The soak (bench/soak.py) fills a `SoakLog` while it runs; these functions read it and return
the violations. They take nothing else, so a test can hand them a log made by hand and see them
flag what they must and pass what they must not. Times are seconds on one monotonic clock.
"""

from __future__ import annotations

import bisect
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

ACK_WITHIN = 3.0
ANSWER_WITHIN = 15.0
UNBLOCKED_WITHIN = 60.0  # after the database answers again
RSS_GROWTH_MB = 10.0
RSS_WARM_UP = 30.0  # seconds of a process life before its RSS baseline is taken
VOTE_WINDOW = 24 * 3600.0
ON_ITS_WAY = "on its way"
ANONYMOUS = "anon"


@dataclass(frozen=True)
class Interaction:
    """One interaction a member sent, and what the fake Discord saw of its answer.

    `acked` and `answered` are seconds after `dispatched` (None: never). `life` is the bot
    process life whose session it was dispatched to; None when the shard had no connection (as
    Discord, the fake cannot deliver it: the member sees "interaction failed"). `block_keys`:
    for an "on its way" refusal, the one thing it says is blocked (`member:<id>:<link>`,
    `anon:<link>`, `member:<id>:game`); for any other answer, the keys it shows are free.
    """

    id: int
    member: int
    kind: str
    dispatched: float
    acked: float | None
    answered: float | None
    text: str = ""
    life: int | None = None
    block_keys: tuple[str, ...] = ()
    calls_tracker: bool = False


@dataclass(frozen=True)
class TrackerRequest:
    """A request the tracker received. `voter`: `member:<id>` for a bearer, `anon` without."""

    at: float
    voter: str
    game: str
    dom: int
    target: str  # a link's name, or `session:<id>`
    status: int | None
    played: bool


@dataclass(frozen=True)
class LedgerRow:
    """One row of the bot's ledger, keyed as the requests are."""

    id: int
    voter: str
    game: str
    dom: int
    target: str
    status: str


@dataclass(frozen=True)
class Fault:
    domain: str  # tracker, discord, database, process
    kind: str
    start: float
    end: float | None = None
    detail: str = ""


@dataclass
class Life:
    """One run of a bot process: `end` is `killed` (SIGKILL on purpose), `stopped` (SIGTERM and
    it exited), `overran` (SIGTERM, then SIGKILL because it did not exit) or `` while it runs."""

    id: int
    shard: int
    pid: int
    started: float
    ended: float | None = None
    end: str = ""
    rss: list[tuple[float, float]] = field(default_factory=list)


@dataclass
class SoakLog:
    seed: int
    interactions: list[Interaction] = field(default_factory=list)
    requests: list[TrackerRequest] = field(default_factory=list)
    faults: list[Fault] = field(default_factory=list)
    lives: list[Life] = field(default_factory=list)
    ledger: list[LedgerRow] | None = None  # read once everything stopped
    pending_after_settle: list[str] = field(default_factory=list)
    not_serving: list[str] = field(default_factory=list)
    leftovers: list[str] = field(default_factory=list)
    load: list[tuple[float, float, float]] = field(default_factory=list)
    """(time, the soak's own event loop lag in s, the machine's busy share of all cores)."""


@dataclass(frozen=True)
class Violation:
    kind: str
    at: float
    key: str
    details: dict[str, Any]


def check_running(log: SoakLog, now: float) -> list[Violation]:
    """What can be decided before the end: interactions past their deadlines, the calls."""
    return [*check_interactions(log, now), *check_calls(log), *check_blocked(log)]


def check_all(log: SoakLog) -> list[Violation]:
    """Everything, once the soak ended and its ledger was read."""
    return [
        *check_interactions(log, float("inf")),
        *check_calls(log),
        *check_blocked(log),
        *check_ledger(log),
        *check_end_state(log),
        *check_rss(log),
    ]


# -- 1. acknowledged within 3 s, answered within 15 s ---------------------------------------------


def check_interactions(log: SoakLog, now: float) -> list[Violation]:
    lives = {life.id: life for life in log.lives}
    found = []
    for each in log.interactions:
        if each.dispatched + ANSWER_WITHIN > now or each.life is None:
            continue
        life = lives.get(each.life)
        killed_at = life.ended if life is not None and life.end == "killed" else None
        late_ack = each.acked is None or each.acked > ACK_WITHIN
        late_answer = each.answered is None or each.answered > ANSWER_WITHIN
        if late_ack and not _killed_before(killed_at, each.dispatched + ACK_WITHIN):
            kind = "late_ack"
        elif late_answer and not _killed_before(killed_at, each.dispatched + ANSWER_WITHIN):
            kind = "late_answer"
        else:
            continue
        found.append(
            Violation(
                kind,
                each.dispatched,
                f"{kind}:{each.id}",
                {
                    "interaction": each.id,
                    "member": each.member,
                    "action": each.kind,
                    "acked_after_s": each.acked,
                    "answered_after_s": each.answered,
                    "answer": each.text[:160],
                    "life": each.life,
                    **_load_near(log, each.dispatched),
                },
            )
        )
    return found


def _killed_before(killed_at: float | None, due: float) -> bool:
    return killed_at is not None and killed_at <= due


def _load_near(log: SoakLog, at: float) -> dict[str, float]:
    """The soak's loop lag and the machine's load around a moment, to tell starvation apart."""
    near = [(lag, busy) for t, lag, busy in log.load if at - 2 <= t <= at + ACK_WITHIN + 1]
    if not near:
        return {}
    return {
        "soak_loop_lag_s": round(max(lag for lag, _ in near), 3),
        "machine_busy": round(max(busy for _, busy in near), 2),
    }


# -- 2. one call per interaction; no second vote in a window after one that counted ------------


def check_calls(log: SoakLog) -> list[Violation]:
    return [*_two_calls(log), *_second_votes(log)]


def _two_calls(log: SoakLog) -> list[Violation]:
    """Each identified request belongs to its member's latest interaction that calls the tracker
    (a member sends one at a time); anonymous requests cannot be told apart and are left out."""
    sent: dict[int, list[Interaction]] = defaultdict(list)
    for each in sorted(log.interactions, key=lambda i: i.dispatched):
        if each.calls_tracker:
            sent[each.member].append(each)
    per_interaction: Counter[int] = Counter()
    for request in log.requests:
        if not request.voter.startswith("member:"):
            continue
        mine = sent.get(int(request.voter.split(":")[1]), [])
        index = bisect.bisect_right([i.dispatched for i in mine], request.at) - 1
        if index >= 0:
            per_interaction[mine[index].id] += 1
    by_id = {i.id: i for i in log.interactions}
    return [
        Violation(
            "two_calls",
            by_id[interaction].dispatched,
            f"two_calls:{interaction}",
            {"interaction": interaction, "requests": count, "action": by_id[interaction].kind},
        )
        for interaction, count in per_interaction.items()
        if count > 1
    ]


def _second_votes(log: SoakLog) -> list[Violation]:
    """A vote sent on a link within its window after one of the same voter the tracker counted
    (the sandbox refuses it, as the tracker would; the bot must not send it at all)."""
    counted: dict[tuple[str, str], float] = {}
    found = []
    for request in sorted(log.requests, key=lambda r: r.at):
        if request.game != "link" or request.dom != 0:
            continue
        key = (request.voter, request.target)
        first = counted.get(key)
        if first is not None and request.at - first < VOTE_WINDOW:
            found.append(
                Violation(
                    "second_vote",
                    request.at,
                    f"second_vote:{request.voter}:{request.target}:{request.at:.3f}",
                    {
                        "voter": request.voter,
                        "link": request.target,
                        "counted_at": round(first, 3),
                        "status": request.status,
                    },
                )
            )
        if request.played and first is None:
            counted[key] = request.at
    return found


# -- 3. every request in the ledger, with the tracker's outcome or unknown ------------------------


def check_ledger(log: SoakLog) -> list[Violation]:
    """Per voter, game and target: a row for each request, `played` or `unknown` for each the
    tracker played, `refused` or `unknown` for each it did not, and no `played` row more than
    the tracker played. Rows without a request (refused before reaching it) are fine."""
    if log.ledger is None:
        return []
    requests: dict[tuple[str, str, int, str], Counter[bool]] = defaultdict(Counter)
    rows: dict[tuple[str, str, int, str], Counter[str]] = defaultdict(Counter)
    for request in log.requests:
        requests[request.voter, request.game, request.dom, request.target][request.played] += 1
    for row in log.ledger:
        rows[row.voter, row.game, row.dom, row.target][row.status] += 1
    found = []
    for key in sorted(set(requests) | set(rows)):
        played, not_played = requests[key][True], requests[key][False]
        have = rows[key]
        fits = (
            played <= have["played"] + have["unknown"]
            and not_played <= have["refused"] + have["unknown"]
            and played + not_played <= have["played"] + have["refused"] + have["unknown"]
            and have["played"] <= played
        )
        if not fits:
            found.append(
                Violation(
                    "ledger",
                    float("nan"),
                    "ledger:" + ":".join(map(str, key)),
                    {
                        "voter": key[0],
                        "game": key[1],
                        "dom": key[2],
                        "target": key[3],
                        "tracker_played": played,
                        "tracker_not_played": not_played,
                        "ledger_rows": dict(have),
                    },
                )
            )
    return found


# -- 4. nobody refused "on its way" for longer than 60 s after the database answers again -------


def check_blocked(log: SoakLog) -> list[Violation]:
    database = sorted(
        (f.start, f.end if f.end is not None else float("inf"))
        for f in log.faults
        if f.domain == "database"
    )
    answers = sorted(
        (
            (i.dispatched + i.answered, i)
            for i in log.interactions
            if i.answered is not None and i.block_keys
        ),
        key=lambda pair: pair[0],
    )
    streaks: dict[str, float] = {}
    flagged: set[str] = set()
    found = []
    for at, each in answers:
        if ON_ITS_WAY not in each.text:
            for key in each.block_keys:
                streaks.pop(key, None)
            continue
        key = each.block_keys[0]
        since = streaks.setdefault(key, at)
        if any(start <= at <= end for start, end in database):
            continue
        database_back = max((end for _, end in database if end <= at), default=since)
        blocked_from = max(since, database_back)
        streak = f"blocked:{key}:{since:.3f}"
        if at - blocked_from > UNBLOCKED_WITHIN and streak not in flagged:
            flagged.add(streak)
            found.append(
                Violation(
                    "blocked",
                    at,
                    streak,
                    {
                        "blocked": key,
                        "first_refused_at": round(since, 3),
                        "database_back_at": round(database_back, 3),
                        "answer": each.text[:160],
                    },
                )
            )
    return found


# -- 5. and 6. at the end: nothing pending, everyone serving, RSS, no child left ------------------


def check_end_state(log: SoakLog) -> list[Violation]:
    end = max((i.dispatched for i in log.interactions), default=0.0)
    return [
        *(
            Violation("pending", end, f"pending:{row}", {"row": row})
            for row in log.pending_after_settle
        ),
        *(
            Violation("not_serving", end, f"not_serving:{what}", {"process": what})
            for what in log.not_serving
        ),
        *(
            Violation("leftover", end, f"leftover:{what}", {"process": what})
            for what in log.leftovers
        ),
    ]


def check_rss(log: SoakLog) -> list[Violation]:
    found = []
    for life in log.lives:
        warm = [(t, mb) for t, mb in life.rss if t >= life.started + RSS_WARM_UP]
        if len(warm) < 2:
            continue
        (start, baseline), (last, now) = warm[0], warm[-1]
        if now - baseline >= RSS_GROWTH_MB:
            found.append(
                Violation(
                    "rss",
                    last,
                    f"rss:{life.id}",
                    {
                        "life": life.id,
                        "shard": life.shard,
                        "baseline_mb": round(baseline, 1),
                        "baseline_at": round(start, 1),
                        "last_mb": round(now, 1),
                    },
                )
            )
    return found
