"""How much the history, export and statistics questions read at once, on either backend."""

from __future__ import annotations

EXPORT_BATCH = 2000
END_POINTS = 400  # a chart is a few hundred pixels wide: more points would not show
PENALTY_POINTS = 200
