"""Group commit: one disk sync makes durable every commit that finished before it was sent."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable


class GroupCommit:
    """Lets many tasks wait for durability while the disk syncs once for all of them.

    A task calls `durable()` after its commit returned. It joins the sync that has not been sent
    yet (one is sent only after the previous finished), so the sync it waits for is sent after its
    commit and covers it. Under load, every pending row of a burst shares one sync instead of
    paying one each.
    """

    def __init__(self, sync: Callable[[], Awaitable[None]]) -> None:
        self._sync = sync
        self._waiting: asyncio.Task[None] | None = None  # not sent yet: later commits may join
        self._sent: asyncio.Task[None] | None = None

    async def durable(self) -> None:
        """Return once a sync sent after this call has finished; raise what that sync raised."""
        if self._waiting is None:
            self._waiting = asyncio.ensure_future(self._send_after(self._sent))
        await asyncio.shield(self._waiting)

    async def _send_after(self, previous: asyncio.Task[None] | None) -> None:
        if previous is not None:
            await asyncio.wait({previous})
        self._waiting, self._sent = None, asyncio.current_task()
        await self._sync()
