"""The `/stats` chart's time axis: labels that a reader can tell apart, in every language."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta

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
