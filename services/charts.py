"""How often the bot draws charts: one per member per `CHART_INTERVAL`, a few at a time at most.

A chart costs a core about 200 ms; a member pressing `/stats` or a card's Stats button again and
again would keep it busy for everyone else. The state lives in memory, per process.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from i18n.message import Moment, msg
from services.clock import Clock
from services.errors import UserError

CHART_INTERVAL = timedelta(seconds=10)
CHARTS_AT_ONCE = 4  # drawn or waiting to be drawn, for the whole bot
PRUNE_ABOVE = 1_000  # members remembered before those whose wait is over are dropped

CHARTS_BUSY = msg("The bot is busy drawing other charts, so nothing was drawn. Try again shortly.")
CHART_TOO_SLOW = msg(
    "Drawing the chart took too long, so the bot gave it up. Try again in a moment."
)


class ChartRefused(UserError):
    """No chart now: the member asked moments ago, or the bot is busy drawing; nothing drawn."""


class ChartLimit:
    """One chart per member per `CHART_INTERVAL`: a burst of requests draws the first only."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._next: dict[int, datetime] = {}

    def admit(self, user_id: int) -> None:
        """Count a chart for the member, or refuse with when their next one may be drawn."""
        now = self._clock()
        allowed = self._next.get(user_id)
        if allowed is not None and now < allowed:
            raise ChartRefused(
                msg(
                    "The bot draws one chart per member every 10 seconds, so nothing was drawn "
                    "this time. Try again {when}.",
                    when=Moment(allowed, "relative"),
                )
            )
        if len(self._next) > PRUNE_ABOVE:
            self._next = {user: at for user, at in self._next.items() if at > now}
        self._next[user_id] = now + CHART_INTERVAL
