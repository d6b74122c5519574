"""What the tracker answered is written down eventually, however long the database is away."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from storage.deadlines import statements_within
from storage.errors import EntryNotPending, StorageUnavailable

log = logging.getLogger(__name__)

FIRST_PAUSE_SECONDS = 0.5
LONGEST_PAUSE_SECONDS = 5.0
# The member's answer waits this long at most for the outcome's first write.
ANSWER_WAITS_SECONDS = 1.0
# Each try waits this long at most for the database: it is tried again anyway, and on SQLite a
# write waiting for a lock holds up every statement behind it.
TRY_SECONDS = 0.5

Write = Callable[[], Awaitable[None]]


class OutcomeWriter:
    """Writes a settled call's outcome now, or keeps trying in the background until it lands.

    A row left pending holds its member back ("still on its way") and its link's voters too;
    once the database answers again, the next try (at most LONGEST_PAUSE_SECONDS later) settles
    it. The member already has their answer: the write never waits in front of it.
    """

    def __init__(
        self,
        *,
        first_pause: float = FIRST_PAUSE_SECONDS,
        longest_pause: float = LONGEST_PAUSE_SECONDS,
    ) -> None:
        self._first_pause = first_pause
        self._longest_pause = longest_pause
        self._retrying: dict[int, asyncio.Task[None]] = {}

    @property
    def retrying(self) -> frozenset[int]:
        """Ledger ids whose outcome is still to be written: no one else may settle them."""
        return frozenset(self._retrying)

    async def write(
        self, entry_id: int, write: Write, *, wait: float = ANSWER_WAITS_SECONDS
    ) -> None:
        """Try `write` now, waiting for it at most `wait` seconds; if the database cannot take
        it, it is tried again later until it does, in the background.

        A tracker call that took its whole read timeout leaves the member's answer little time:
        a database that holds the first try for its full deadline must not take that too.
        `write` is called once per try, so it must be a fresh statement each time.
        """
        first_try = self._start(entry_id, self._first_try(entry_id, write))
        await asyncio.wait({first_try}, timeout=wait)

    async def _first_try(self, entry_id: int, write: Write) -> None:
        try:
            with statements_within(TRY_SECONDS):
                await write()
        except StorageUnavailable as error:
            log.error(
                "ledger %d: outcome not recorded yet, trying again until it is: %s",
                entry_id,
                error,
            )
            self._retry_later(entry_id, write)
        except EntryNotPending:  # settled meanwhile: by a stale check or a second outcome
            log.info("ledger %d: outcome found recorded already", entry_id)

    def write_soon(self, entry_id: int, write: Write) -> None:
        """`write`, tried in the background from the start (for a call being cut off)."""
        self._start(entry_id, self._first_try(entry_id, write))

    def _retry_later(self, entry_id: int, write: Write) -> None:
        self._start(entry_id, self._retry(entry_id, write))

    def _start(self, entry_id: int, writing: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        earlier = self._retrying.get(entry_id)
        # A second outcome for one row says more; a first try that failed hands over to retries.
        if earlier is not None and earlier is not asyncio.current_task():
            earlier.cancel()
        task = asyncio.create_task(writing, name=f"ledger {entry_id}")
        self._retrying[entry_id] = task
        task.add_done_callback(lambda done: self._forget(entry_id, done))
        return task

    def _forget(self, entry_id: int, task: asyncio.Task[None]) -> None:
        if self._retrying.get(entry_id) is task:
            del self._retrying[entry_id]

    async def _retry(self, entry_id: int, write: Write) -> None:
        pause, tries = self._first_pause, 1
        while True:
            await asyncio.sleep(pause)
            tries += 1
            try:
                with statements_within(TRY_SECONDS):
                    await write()
            except StorageUnavailable:
                pause = min(pause * 2, self._longest_pause)
                continue
            except EntryNotPending:  # an earlier try landed after all
                log.info("ledger %d: outcome found recorded at try %d", entry_id, tries)
                return
            log.warning("ledger %d: outcome recorded at try %d", entry_id, tries)
            return

    async def close(self, seconds: float) -> int:
        """At a stop: give the writes still trying up to `seconds`, then stop them. Returns how
        many rows stay pending (the next start settles them as unknown)."""
        tasks = set(self._retrying.values())
        if not tasks:
            return 0
        _, left = await asyncio.wait(tasks, timeout=seconds)
        for task in left:
            task.cancel()
        if left:
            log.warning("%d outcomes not recorded before the stop; they stay pending", len(left))
        return len(left)
