"""The chart of `/stats`: a PNG drawn with matplotlib's object API, off the event loop.

matplotlib is imported by the first chart, in the worker process, so the bot starts as fast as
without it. `Figure` + Agg only: pyplot keeps global figures (a leak, and not thread-safe).
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
import threading
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from io import BytesIO
from pathlib import Path
from typing import Any, TypeVar

from babel.dates import format_skeleton

from i18n.formats import babel_locale
from services.charts import CHART_TOO_SLOW, CHARTS_AT_ONCE, CHARTS_BUSY, ChartRefused
from storage.models import DayCount, EndPoint

log = logging.getLogger(__name__)
T = TypeVar("T")
# An opaque panel with its own light text: the same image reads well on Discord's dark and
# light themes (a transparent one would take the theme's background behind dark or light text).
BACKGROUND = "#2b2d31"
TEXT = "#dbdee1"
GRID = "#4e5058"
END_LINE = "#8ea1e1"
ADDED = "#3ba55c"
REMOVED = "#ed4245"
PENALTY = "#faa81a"
WIDTH_INCHES, HEIGHT_INCHES, DPI = 8.0, 5.0, 100
PARENT_CHECK_SECONDS = 1.0  # how soon a worker ends after its bot was killed
DAY_TICKS = 8  # labels on the time axis at most


@dataclass(frozen=True)
class ChartTexts:
    """The chart's words, already in the reader's language; `language` formats its dates."""

    language: str
    ends: str
    votes: str
    added: str
    removed: str
    penalty: str
    no_end: str
    times: str


@dataclass(frozen=True)
class Chart:
    since: datetime
    until: datetime
    ends: list[EndPoint]
    penalties: list[EndPoint]
    days: list[DayCount]
    texts: ChartTexts


class ChartRenderer:
    """Draws charts one at a time in a worker process, started with the first chart.

    A process, not a thread: drawing holds Python's GIL for tens of milliseconds at a time, which
    in a thread would stall the event loop (every interaction and heartbeat) while a chart is
    drawn. `MPLCONFIGDIR` keeps matplotlib's font cache between starts (it is rebuilt on every
    start without a writable folder); an operator's own setting wins.

    A draw that outlives `deadline` seconds (a hung worker) is given up and its process killed,
    so the next chart gets a new one; a new worker's first draw also imports matplotlib and may
    build its font cache, and gets twice the time. At most `CHARTS_AT_ONCE` charts are drawn or
    wait to be drawn; more are refused at once rather than queued behind a hung draw.
    """

    def __init__(self, config_dir: Path, deadline: float) -> None:
        self._config_dir = config_dir
        self._deadline = deadline
        self._turn = asyncio.Lock()
        self._at_once = 0
        self._executor = self._new_executor()
        self._fresh = True

    def _new_executor(self) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(
            max_workers=1,
            mp_context=multiprocessing.get_context("spawn"),  # no fork of a threaded process
            initializer=_prepare_worker,
            initargs=(str(self._config_dir),),
        )

    async def render(self, chart: Chart) -> bytes:
        return await self._run(draw_png, chart)

    async def worker_rss_mb(self) -> float:
        """The worker's resident memory (Linux), for the benchmark's "RSS stays flat"."""
        return await self._run(_own_rss_mb)

    async def _run(self, function: Callable[..., T], *args: Any) -> T:
        if self._at_once >= CHARTS_AT_ONCE:
            raise ChartRefused(CHARTS_BUSY)
        self._at_once += 1
        try:
            async with self._turn:  # one at a time: the deadline times this draw alone
                return await self._draw(function, *args)
        finally:
            self._at_once -= 1

    async def _draw(self, function: Callable[..., T], *args: Any) -> T:
        deadline = self._deadline * (2 if self._fresh else 1)
        try:
            # Submitted from a thread: the first submission starts the worker process, which
            # takes tens of milliseconds that the event loop should not wait for.
            future = await asyncio.to_thread(self._executor.submit, function, *args)
            async with asyncio.timeout(deadline):
                result = await asyncio.wrap_future(future)
        except TimeoutError:
            log.warning("a chart took longer than %g s to draw; its worker is replaced", deadline)
            self._replace()
            raise ChartRefused(CHART_TOO_SLOW) from None
        except BrokenProcessPool:
            self._replace()  # a crashed worker: the next chart gets a new one
            raise
        self._fresh = False
        return result

    def _replace(self) -> None:
        self._stop_worker()
        self._executor = self._new_executor()
        self._fresh = True

    def _stop_worker(self) -> None:
        """Kill the worker (stopped, hung or drawing) and let the pool go without waiting.

        `shutdown` alone waits for a running task to end, which a hung draw never does; the
        pool's processes are only reachable through its `_processes` (Python 3.14 adds
        `kill_workers()` for this).
        """
        processes = getattr(self._executor, "_processes", None) or {}
        for process in list(processes.values()):
            process.kill()
        self._executor.shutdown(wait=False, cancel_futures=True)

    def close(self) -> None:
        self._stop_worker()


def _prepare_worker(config_dir: str) -> None:
    threading.Thread(target=_end_with_parent, args=(os.getppid(),), daemon=True).start()
    if "MPLCONFIGDIR" not in os.environ:
        Path(config_dir).mkdir(mode=0o700, parents=True, exist_ok=True)
        os.environ["MPLCONFIGDIR"] = config_dir


def _end_with_parent(parent: int) -> None:
    """A bot killed by SIGKILL cannot stop its worker, and the worker's own end of the task queue
    keeps it waiting: it ends itself once it has been handed to another parent."""
    pause = threading.Event()  # never set: a sleep that needs no clock
    while os.getppid() == parent:
        pause.wait(PARENT_CHECK_SECONDS)
    os._exit(0)


def _own_rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def draw_png(chart: Chart) -> bytes:
    buffer = BytesIO()
    draw_figure(chart).savefig(buffer, format="png", facecolor=BACKGROUND)
    return buffer.getvalue()


def draw_figure(chart: Chart) -> Any:
    """The scheduled end over time (a step through each played vote's report, penalties marked)
    above the votes per UTC day (added and removed time stacked)."""
    from matplotlib.dates import AutoDateLocator
    from matplotlib.figure import Figure
    from matplotlib.ticker import FuncFormatter, MaxNLocator

    texts = chart.texts
    figure = Figure(figsize=(WIDTH_INCHES, HEIGHT_INCHES), dpi=DPI, facecolor=BACKGROUND)
    # Fixed margins: a layout engine would measure every label first, doubling the drawing time.
    figure.subplots_adjust(left=0.16, right=0.98, top=0.94, bottom=0.1, hspace=0.28)
    ends_axes, votes_axes = figure.subplots(2, 1, sharex=True, height_ratios=(3, 2))
    for axes in (ends_axes, votes_axes):
        _style(axes)

    if chart.ends:
        last = chart.ends[-1].scheduled_end
        moments = [point.at for point in chart.ends] + [chart.until]
        ends = [point.scheduled_end for point in chart.ends] + [last]
        ends_axes.step(moments, ends, where="post", color=END_LINE, linewidth=2)
        if chart.penalties:
            ends_axes.scatter(
                [point.at for point in chart.penalties],
                [point.scheduled_end for point in chart.penalties],
                marker="^",
                s=48,
                color=PENALTY,
                zorder=3,
                label=texts.penalty,
            )
            _legend(ends_axes)
        ends_axes.yaxis.set_major_locator(AutoDateLocator())
        ends_axes.yaxis.set_major_formatter(
            _date_formatter(FuncFormatter, texts.language, ("MMMd", "Hm"))
        )
    else:
        ends_axes.set_yticks([])
        ends_axes.text(
            0.5, 0.5, texts.no_end, transform=ends_axes.transAxes, ha="center", color=TEXT
        )
    ends_axes.set_title(texts.ends, loc="left", color=TEXT, fontsize=11)

    noon = [datetime.combine(day.day, time(12), tzinfo=UTC) for day in chart.days]
    adds = [day.adds for day in chart.days]
    votes_axes.bar(noon, adds, width=0.8, color=ADDED, label=texts.added)
    subs = [day.subs for day in chart.days]
    votes_axes.bar(noon, subs, width=0.8, bottom=adds, color=REMOVED, label=texts.removed)
    votes_axes.yaxis.set_major_locator(MaxNLocator(nbins=4, integer=True))
    votes_axes.set_title(texts.votes, loc="left", color=TEXT, fontsize=11)
    votes_axes.set_xlabel(texts.times, color=TEXT, fontsize=9)
    votes_axes.set_xlim(chart.since, _end_of_day(chart.until))
    # At most DAY_TICKS labels: German's `29. Nov.` is twice as wide as `Nov 29`, and a label
    # every other day ran into the next over 30 days.
    votes_axes.xaxis.set_major_locator(AutoDateLocator(minticks=3, maxticks=DAY_TICKS))
    votes_axes.xaxis.set_major_formatter(_date_formatter(FuncFormatter, texts.language, ("MMMd",)))
    _legend(votes_axes)
    return figure


def _style(axes: Any) -> None:
    axes.set_facecolor(BACKGROUND)
    axes.tick_params(colors=TEXT, labelsize=8)
    axes.grid(color=GRID, linewidth=0.6)
    axes.set_axisbelow(True)
    for spine in axes.spines.values():
        spine.set_color(GRID)


def _legend(axes: Any) -> None:
    legend = axes.legend(loc="upper left", fontsize=8, facecolor=BACKGROUND, edgecolor=GRID)
    for text in legend.get_texts():
        text.set_color(TEXT)


def _date_formatter(formatter: Any, language: str, skeletons: tuple[str, ...]) -> Any:
    """Tick labels in the reader's language (`3. Dez.`, `3 déc.`, `Dec 3`), in UTC."""
    from matplotlib.dates import num2date

    locale = babel_locale(language)

    def label(value: float, _position: int) -> str:
        moment = num2date(value)
        return " ".join(
            format_skeleton(skeleton, moment, tzinfo=UTC, locale=locale) for skeleton in skeletons
        )

    return formatter(label)


def _end_of_day(moment: datetime) -> datetime:
    """Just before the next midnight, whose tick would crowd the last day's label."""
    return datetime.combine(moment.date(), time(0), tzinfo=UTC) + timedelta(days=1, minutes=-1)
