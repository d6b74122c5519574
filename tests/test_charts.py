"""The `/stats` chart's time axis: labels that a reader can tell apart, in every language."""

from __future__ import annotations

import itertools
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from discord_layer.charts import Chart, ChartTexts, draw_figure
from storage.models import DayCount, EndPoint

UNTIL = datetime(2026, 12, 2, 18, 0, tzinfo=UTC)  # 30 days back reach into November


def chart(days: int, language: str) -> Chart:
    since = (UNTIL - timedelta(days=days - 1)).replace(hour=0)
    counts = [
        DayCount(date.fromordinal(since.toordinal() + n), 3, 1, 2, 2, 7_200, 3_600)
        for n in range(days)
    ]
    ends = [
        EndPoint(since + timedelta(days=n, hours=12), UNTIL + timedelta(days=n), penalty=False)
        for n in range(days)
    ]
    words = ChartTexts(language, "End", "Votes", "Added", "Removed", "Penalty", "None", "UTC")
    return Chart(since, UNTIL, ends, [], counts, words)


@pytest.mark.parametrize("language", ["en", "de", "fr"])
@pytest.mark.parametrize("days", [7, 30, 90])
def test_day_labels_never_run_into_each_other(language: str, days: int) -> None:
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = FigureCanvasAgg(draw_figure(chart(days, language)))  # as savefig draws a PNG
    canvas.draw()
    figure, renderer = canvas.figure, canvas.get_renderer()
    axes = figure.axes[1]
    low, high = axes.get_xlim()
    labels = [
        label
        for tick, label in zip(axes.get_xticks(), axes.get_xticklabels(), strict=True)
        if low <= tick <= high and label.get_text()
    ]
    assert len(labels) >= 3, [label.get_text() for label in labels]
    boxes = sorted((label.get_window_extent(renderer) for label in labels), key=lambda b: b.x0)
    gaps = [right.x0 - left.x1 for left, right in itertools.pairwise(boxes)]
    texts = [label.get_text() for label in labels]
    assert min(gaps) >= 4, texts  # pixels between two labels


WORKER_OWNER = """
import asyncio, multiprocessing, sys
from pathlib import Path
from discord_layer.charts import ChartRenderer
from tests.test_charts import chart

async def main() -> None:
    renderer = ChartRenderer(Path(sys.argv[1]), deadline=60)
    await renderer.render(chart(7, "en"))
    print(*(child.pid for child in multiprocessing.active_children()), flush=True)
    await asyncio.sleep(3600)

asyncio.run(main())
"""


def test_the_chart_worker_ends_with_a_killed_bot(tmp_path: Path) -> None:
    """A bot killed with SIGKILL cannot stop its worker: the worker must notice and end itself,
    so no process outlives the bot (a supervisor restarting it would otherwise pile them up)."""
    bot = subprocess.Popen(  # noqa: S603 (our own script)
        [sys.executable, "-c", WORKER_OWNER, str(tmp_path / "matplotlib")],
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parents[1],
    )
    try:
        assert bot.stdout is not None
        workers = [int(pid) for pid in bot.stdout.readline().split()]
        assert workers, "the renderer started no worker"
    finally:
        bot.kill()
        bot.wait()
    deadline = time.monotonic() + 10
    while any(_running(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.1)
    alive = [pid for pid in workers if _running(pid)]
    for pid in alive:
        os.kill(pid, signal.SIGKILL)
    assert alive == [], "the chart worker outlived the bot"


def _running(pid: int) -> bool:
    """A zombie (exited, not yet reaped by its new parent) counts as ended."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"
