"""Repeated errors reach the moderators' log once per window; the next post counts the repeats."""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass
from datetime import datetime, timedelta

from services.clock import Clock

GROUP_WINDOW = timedelta(minutes=10)
PRUNE_ABOVE = 1_000  # groups kept before quiet ones are dropped


@dataclass(frozen=True)
class Repeats:
    """Errors like the one to post that were only counted since the previous post of its kind."""

    count: int
    since: datetime


@dataclass
class _Group:
    posted_at: datetime
    repeats: int = 0


class ErrorDigest:
    """Decides which errors to post: the first of a kind, then one per window with a count.

    A count rides on the next post of its kind; one with no later error of that kind is never
    posted (the errors it counted are in the bot's log and the ledger).
    """

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._groups: dict[Hashable, _Group] = {}

    def admit(self, kind: Hashable) -> Repeats | None:
        """None: one like it was posted less than a window ago, so this one is only counted."""
        now = self._clock()
        group = self._groups.get(kind)
        if group is not None and now - group.posted_at < GROUP_WINDOW:
            group.repeats += 1
            return None
        repeats = Repeats(group.repeats, group.posted_at) if group else Repeats(0, now)
        self._groups[kind] = _Group(posted_at=now)
        if len(self._groups) > PRUNE_ABOVE:
            self._groups = {
                k: g for k, g in self._groups.items() if now - g.posted_at < GROUP_WINDOW
            }
        return repeats
