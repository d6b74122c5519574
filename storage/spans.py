"""Updates over the whole ledger in spans of ids, one statement each.

On a ledger of a million votes, clearing half of them in one statement held SQLite's one database
thread for 7 s, and every command queued behind it met its deadline; even a run that cleared
nothing scanned for 0.2 s. A span of ids is a range of the primary key on both backends: each
statement reads only its span, and other statements run between two spans (in that run, a read
waited 0.18 s at most with spans of 10,000 ids, 0.35 s with 20,000).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

SPAN_IDS = 10_000


async def over_spans(
    first: int, last: int, run: Callable[[int, int], Awaitable[int]], span: int = SPAN_IDS
) -> int:
    """`run(low, high)` for each span of ids from `first` to `last` (both included); the sum of
    what it returns (the rows it changed)."""
    changed = 0
    for low in range(first, last + 1, span):
        changed += await run(low, min(low + span - 1, last))
    return changed
