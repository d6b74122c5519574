"""The soak: its invariant checker on hand-made records, and a short soak as CI runs it."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from bench.soak_checks import (
    Fault,
    Interaction,
    LedgerRow,
    Life,
    SoakLog,
    TrackerRequest,
    check_all,
)

ROOT = Path(__file__).resolve().parents[1]
MEMBER = 7
VOTE_BLOCKED = "Your vote on this link is already on its way; wait for its answer."


def vote(
    ident: int, at: float, *, acked: float | None = 0.1, answered: float | None = 0.5, **extra
) -> Interaction:
    fields = {
        "text": "Your vote was counted.",
        "life": 1,
        "block_keys": (f"member:{MEMBER}:l1",),
        "calls_tracker": True,
    } | extra
    return Interaction(ident, MEMBER, "vote_add", at, acked, answered, **fields)


def request(at: float, *, played: bool = True, status: int = 200) -> TrackerRequest:
    return TrackerRequest(at, f"member:{MEMBER}", "link", 0, "l1", status, played)


def row(ident: int, status: str) -> LedgerRow:
    return LedgerRow(ident, f"member:{MEMBER}", "link", 0, "l1", status)


def clean_log() -> SoakLog:
    """One member's vote, played, in the ledger; then a game; a life that ran throughout."""
    log = SoakLog(seed=1)
    log.lives = [Life(1, 0, 100, 0.0, 200.0, "stopped", rss=[(40.0, 80.0), (190.0, 84.0)])]
    log.interactions = [vote(1, 10.0)]
    log.requests = [request(10.2)]
    log.ledger = [row(1, "played")]
    return log


def kinds(log: SoakLog) -> list[str]:
    return sorted(v.kind for v in check_all(log))


def test_a_clean_record_passes() -> None:
    log = clean_log()
    # Exempt: the member's process was killed while holding the interaction, and one sent while
    # the shard had no connection; a refusal "on its way" 30 s after the database came back.
    log.lives.append(Life(2, 0, 101, 200.0, 205.0, "killed"))
    log.interactions += [
        vote(2, 204.0, acked=None, answered=None, life=2),
        vote(3, 206.0, acked=None, answered=None, life=None),
        vote(4, 100.0, text=VOTE_BLOCKED),
        vote(5, 145.0, text=VOTE_BLOCKED),
    ]
    log.faults = [Fault("database", "sqlite_lock", 95.0, 120.0)]
    # Not played (a 429), so a second vote in the window is allowed; both in the ledger.
    log.requests += [
        TrackerRequest(50.0, "anon", "link", 0, "l2", 429, played=False),
        TrackerRequest(60.0, "anon", "link", 0, "l2", 200, played=True),
    ]
    log.ledger += [
        LedgerRow(2, "anon", "link", 0, "l2", "refused"),
        LedgerRow(3, "anon", "link", 0, "l2", "unknown"),
    ]
    assert check_all(log) == []


def test_each_broken_invariant_is_flagged() -> None:
    log = clean_log()
    log.interactions += [
        vote(2, 20.0, acked=3.5),  # acknowledged too late
        vote(3, 30.0, answered=16.0),  # answered too late
        vote(4, 40.0, acked=None, answered=None, life=1),  # never, and the process was not killed
        vote(5, 100.0, text=VOTE_BLOCKED),  # blocked for 70 s with the database fine
        vote(6, 170.0, text=VOTE_BLOCKED),
    ]
    log.requests += [
        request(40.5),  # a second vote in the window after one that counted
        request(40.7, played=False, status=400),  # and a third call for that one interaction
        TrackerRequest(41.0, f"member:{MEMBER}", "dice", 0, "session:5", 200, played=True),
    ]
    log.ledger += [row(2, "unknown")]  # the rest of the calls have no row, dice none either
    log.pending_after_settle = ["ledger row 9: link by 7, link 1"]
    log.not_serving = ["shard 0"]
    log.leftovers = ["pid 4242: python"]
    log.lives[0].rss.append((195.0, 95.0))
    assert kinds(log) == [
        "blocked",
        "late_ack",
        "late_ack",
        "late_answer",
        "ledger",
        "ledger",
        "leftover",
        "not_serving",
        "pending",
        "rss",
        "second_vote",
        "second_vote",
        "two_calls",
    ]


def test_a_played_row_without_a_played_request_is_flagged() -> None:
    log = clean_log()
    log.requests = [request(10.2, played=False, status=500)]
    assert kinds(log) == ["ledger"]


def test_a_block_across_a_database_fault_counts_from_its_end() -> None:
    log = clean_log()
    log.faults = [Fault("database", "postgres_sigstop", 20.0, 50.0)]
    log.interactions += [vote(2, 11.0, text=VOTE_BLOCKED), vote(3, 105.0, text=VOTE_BLOCKED)]
    assert kinds(log) == []  # 54 s after the database came back
    log.interactions.append(vote(4, 115.0, text=VOTE_BLOCKED))
    assert kinds(log) == ["blocked"]


FINAL = re.compile(r"^soak: seconds=(?P<seconds>\S+) seed=1 store=sqlite processes=1 .*$")


@pytest.mark.timeout(900)
def test_a_short_soak_on_sqlite_ends_clean(tmp_path: Path) -> None:
    """What CI runs: `--soak 60 --seed 1`, one process on SQLite."""
    report = tmp_path / "soak.json"
    done = subprocess.run(  # noqa: S603 - our own benchmark, fixed arguments
        [sys.executable, "bench/run.py", "--soak", "60", "--seed", "1", "--report", str(report)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=880,
        check=False,
    )
    lines = done.stdout.strip().splitlines()
    assert lines, done.stderr[-3000:]
    assert FINAL.match(lines[-1]), lines[-5:]
    assert any(line.startswith("soak: t=10s actions=") for line in lines), lines
    found = json.loads(report.read_text())["violations"]
    assert "violations=0 " in lines[-1], json.dumps(found[:10], indent=1)
    assert done.returncode == 0, done.stderr[-3000:]
