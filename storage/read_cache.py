"""A cache for small, hot reads, shared by both backends."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Hashable
from typing import Any, Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")
T = TypeVar("T")


class ReadCache(Generic[K, V]):
    """Answers of small, hot reads (a channel's links, a guild's settings), kept for a second.

    This process's own writes go through `changed_by`: the cache is emptied when the write is
    sent and keeps nothing until it has run, and an answer read before a write cannot be kept
    after it (`put` checks the generation), so this process sees its own changes at once. Another
    process's changes are seen when the answer expires, after `max_age` seconds: measured, one
    read per key and second costs nothing noticeable, where a change feed would add a connection
    and a listener to keep alive. Bounded: the oldest entry goes when full.
    """

    def __init__(self, limit: int = 1024, max_age: float = 1.0) -> None:
        self._limit = limit
        self._max_age = max_age
        self._values: dict[K, tuple[float, V]] = {}
        self._writing = 0
        self.generation = 0

    def get(self, key: K) -> V | None:
        found = self._values.get(key)
        if found is None:
            return None
        expires, value = found
        if expires <= time.monotonic():
            del self._values[key]
            return None
        return value

    async def read(self, key: K, load: Callable[[], Awaitable[V]]) -> V:
        """The cached answer, or `load()`'s, kept unless a write overlapped it."""
        value = self.get(key)
        if value is None:
            generation = self.generation
            value = await load()
            self.put(key, value, generation)
        return value

    def put(self, key: K, value: V, generation: int) -> None:
        """Keep `value`, read when `self.generation` was `generation`, unless a write came since."""
        if generation != self.generation or self._writing:
            return
        if key not in self._values and len(self._values) >= self._limit:
            del self._values[next(iter(self._values))]
        self._values[key] = (time.monotonic() + self._max_age, value)

    def clear(self) -> None:
        self._values.clear()
        self.generation += 1

    async def changed_by(self, write: Awaitable[T]) -> T:
        """Await a write that changes what this cache holds; readers skip the cache until it ran.

        Shielded: a caller cancelled while the statement waits in aiosqlite's queue does not stop
        the statement, so the cache waits for the statement, not for the caller.
        """
        self._writing += 1
        self.clear()
        task = asyncio.ensure_future(write)
        task.add_done_callback(self._written)
        return await asyncio.shield(task)

    def _written(self, task: asyncio.Future[Any]) -> None:
        self._writing -= 1
        self.clear()
        if not task.cancelled():
            task.exception()  # retrieved: the caller sees it, or was cancelled and cannot

    def __len__(self) -> int:
        return len(self._values)
