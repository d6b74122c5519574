"""A tiny run of the benchmark, exactly as the README starts it, so that it cannot rot."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NUMBER = r"\d+(?:\.\d+)?"
LAST_LINE = re.compile(
    rf"bench: votes=(?P<votes>\d+) concurrency=(?P<concurrency>\d+) lost=(?P<lost>\d+) "
    rf"ack_p50_ms={NUMBER} ack_p99_ms={NUMBER} reply_p50_ms={NUMBER} reply_p99_ms={NUMBER} "
    rf"bare_p50_ms={NUMBER} overhead_p50_ms=-?{NUMBER} votes_per_s={NUMBER} "
    rf"cpu_ms_per_vote={NUMBER} rss_mb={NUMBER} store=(?P<store>\w+) processes=(?P<processes>\d)"
    rf"(?P<floor> floor_votes_per_s={NUMBER} floor_cpu_ms_per_vote={NUMBER} "
    rf"ratio_cpu={NUMBER} ratio_votes={NUMBER})?"
)


def run_bench(*args: str) -> list[str]:
    done = subprocess.run(  # noqa: S603 - our own script, with fixed arguments
        [sys.executable, "bench/run.py", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=50,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout.splitlines()


SUMMARY_LINE = re.compile(
    rf"bench-repeat: runs=1 votes=20 concurrency=5 store=sqlite processes=1 lost=(?P<lost>\d+)"
    rf"(?: (?P<key>\w+)_median=(?P<median>{NUMBER}) (?P=key)_min=(?P<min>{NUMBER}) "
    rf"(?P=key)_max=(?P<max>{NUMBER}))+"
)


def test_votes_all_answered_in_the_ledger_and_compared_with_the_floor() -> None:
    lines = run_bench("--votes", "20", "--concurrency", "5", "--floor", "--repeat", "1")
    assert lines[0] == "run 1 of 1:", lines[0]
    summary = SUMMARY_LINE.fullmatch(lines[-1].replace("=-", "="))
    assert summary is not None, lines[-1]
    assert summary["lost"] == "0"
    for key in ("ratio_cpu", "ratio_votes", "votes_per_s", "ack_p99_ms"):
        assert f" {key}_median=" in lines[-1], lines[-1]
    # One run: its median and range are its own figures.
    match = LAST_LINE.fullmatch(lines[-2])
    assert match is not None, lines[-2]
    ratio_cpu = float(lines[-2].split("ratio_cpu=")[1].split()[0])
    ratio = f"ratio_cpu_median={ratio_cpu:.2f} ratio_cpu_min={ratio_cpu:.2f} "
    assert ratio + f"ratio_cpu_max={ratio_cpu:.2f}" in lines[-1]
    assert (match["votes"], match["concurrency"], match["lost"]) == ("20", "5", "0")
    assert match["floor"] is not None, lines[-1]
    assert (match["store"], match["processes"]) == ("sqlite", "1")
    # 20 timed votes and 5 warm-up votes, each one ledger row and one tracker request; the
    # floor's votes (its own members) are not the bot's.
    assert "ledger rows: played 25; tracker requests from the bot: HTTP 200 25: agree" in lines
    assert any(line.startswith("floor (bench/floor.py): 20 votes") for line in lines), lines


def test_mixed_games_and_refusals_are_answered() -> None:
    lines = run_bench("--votes", "20", "--concurrency", "5", "--mixed")
    match = LAST_LINE.fullmatch(lines[-1])
    assert match is not None, lines[-1]
    assert match["lost"] == "0"
    assert match["floor"] is None
    # Per 10: 6 votes, DICE, LUCK (played), a second vote (refused by the bot, never sent) and
    # DICE as a dom one is not (refused by the tracker); plus 5 warm-up votes.
    assert "  by kind: add 4, again 2, dice 2, luck 2, not_dom 2, rand 4, sub 4" in lines
    ledger = "ledger rows: played 21, refused 2; tracker requests from the bot: "
    assert ledger + "HTTP 200 21, HTTP 403 2: agree" in lines


def test_two_shard_processes_on_postgres_answer_every_vote() -> None:
    """The benchmark starts its own PostgreSQL server and one bot per shard."""
    lines = run_bench(
        "--votes", "20", "--concurrency", "5", "--store", "postgres", "--processes", "2"
    )
    match = LAST_LINE.fullmatch(lines[-1])
    assert match is not None, lines[-1]
    assert (match["lost"], match["store"], match["processes"]) == ("0", "postgres", "2")
    assert match["floor"] is None
    assert "ledger rows: played 25; tracker requests from the bot: HTTP 200 25: agree" in lines


STATS_LAST_LINE = re.compile(
    rf"bench-stats: votes=(?P<votes>\d+) stats_p50_ms={NUMBER} stats_p99_ms={NUMBER} "
    rf"loop_lag_max_ms={NUMBER} renders=(?P<renders>\d+) rss_warm_mb={NUMBER} "
    rf"rss_end_mb={NUMBER} worker_rss_warm_mb={NUMBER} worker_rss_end_mb={NUMBER} "
    rf"export_rows=(?P<rows>\d+) export_s={NUMBER} tally_ratio={NUMBER}"
)


def test_stats_answer_draw_and_export_a_seeded_link() -> None:
    lines = run_bench("--stats", "--stats-votes", "300", "--stats-answers", "2", "--renders", "20")
    match = STATS_LAST_LINE.fullmatch(lines[-1])
    assert match is not None, lines[-1]
    # 300 seeded votes and the 10 of the small card tally, each one row of the export.
    assert (match["votes"], match["renders"], match["rows"]) == ("310", "20", "310")


def test_repeated_runs_are_summarised_by_median_and_range_with_lost_summed() -> None:
    from bench.run import summary_line

    lasts = [
        f"bench: votes=20 concurrency=5 lost={lost} ack_p99_ms={ack} ratio_cpu={ratio} store=sqlite"
        for lost, ack, ratio in ((0, "9.0", "1.50"), (2, "3.0", "1.20"), (1, "30.0", "1.40"))
    ]
    assert summary_line(lasts) == (
        "bench-repeat: runs=3 votes=20 concurrency=5 store=sqlite lost=3 "
        "ack_p99_ms_median=9.00 ack_p99_ms_min=3.00 ack_p99_ms_max=30.00 "
        "ratio_cpu_median=1.40 ratio_cpu_min=1.20 ratio_cpu_max=1.50"
    )
