"""The fields the API's seed text shows in played games' data, for tests that vary them."""

from __future__ import annotations

DOCUMENTED_RESULT_FIELDS = [
    "game",
    "operation",
    "multiplier",
    "time",
    "unit",
    "int",
    "seconds",
    "dom",
    "scheduledend_utc",
    "session",
    "penalty",
    "sum",
    "dices",
    "dicesops",
    "calc",
]
