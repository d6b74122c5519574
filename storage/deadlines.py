"""A shorter deadline for the statements of one piece of work, where waiting the whole
DATABASE_TIMEOUT_SECONDS costs more than failing fast and trying again later.

SQLite runs every statement on one thread: a write waiting for another program's lock holds up
every statement queued behind it, the reads a member's answer needs included.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

_limit: ContextVar[float | None] = ContextVar("statement_deadline", default=None)


@contextmanager
def statements_within(seconds: float) -> Iterator[None]:
    """Statements made in this block (and tasks it starts) get at most `seconds` each."""
    token = _limit.set(seconds)
    try:
        yield
    finally:
        _limit.reset(token)


def statement_seconds(default: float) -> float:
    """The deadline of a statement made now: `default`, or less inside `statements_within`."""
    limit = _limit.get()
    return default if limit is None else min(default, limit)
