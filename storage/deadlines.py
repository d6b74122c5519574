"""A nearer deadline for the statements of one piece of work, where waiting the whole
DATABASE_TIMEOUT_SECONDS per statement costs more than failing fast.

SQLite runs every statement on one thread: a write waiting for another program's lock holds up
every statement queued behind it, so a piece of work made of several statements could wait a
whole deadline for each of them.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

_due: ContextVar[float | None] = ContextVar("statements_due", default=None)


@contextmanager
def statements_within(seconds: float) -> Iterator[None]:
    """Statements made in this block (and in tasks it starts) are answered within `seconds`
    from now, all of them together, or fail as if the database were unavailable."""
    token = _due.set(time.monotonic() + seconds)
    try:
        yield
    finally:
        _due.reset(token)


def lift_deadline() -> None:
    """From here on, this task's statements get their own full deadline again."""
    _due.set(None)


def statement_seconds(default: float) -> float:
    """The deadline of a statement made now: `default`, or what is left of the block's."""
    due = _due.get()
    return default if due is None else min(default, due - time.monotonic())
