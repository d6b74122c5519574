"""The one path of every game call: a guard against doubles, the ledger before and after."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Hashable, Iterator
from contextlib import contextmanager
from typing import TypeVar

from i18n.message import Message
from services.clock import Clock
from services.errors import AlreadyInProgress
from storage.database import Database
from storage.errors import StorageUnavailable
from storage.models import NewCall, PlayedResult
from tracker import errors
from tracker.http import MAX_CONNECTIONS
from tracker.models import GameResult, LinkResult

log = logging.getLogger(__name__)

ResultT = TypeVar("ResultT", bound=GameResult)


class GameCaller:
    """Records each call as pending before it is sent, and as played, refused or unknown after.

    At most `max_calls` calls are under way at once (the HTTP pool's size); the next waits for a
    free slot before its pending row is written. So a pending row always means a call on its way,
    never one queued for a connection (where it could time out as "tracker busy" after waiting,
    or be cut off by a restart and then count as a vote of unknown outcome), and a burst of votes
    cannot crowd out the event loop's work of acknowledging new interactions within 3 seconds.
    """

    def __init__(self, db: Database, clock: Clock, *, max_calls: int = MAX_CONNECTIONS) -> None:
        self._db = db
        self._clock = clock
        self._in_flight: set[Hashable] = set()
        self._slots = asyncio.Semaphore(max_calls)
        self._calling: set[asyncio.Task[object]] = set()  # waiting for a slot, or under way
        self._sending: set[asyncio.Task[object]] = set()  # under way: holding a slot

    @contextmanager
    def exclusive(self, key: Hashable, busy_message: Message) -> Iterator[None]:
        """Let one call per key run at a time; a second (a double click) is refused, not queued.

        The check and the claim happen with no await between them, so two tasks cannot both pass.
        """
        if key in self._in_flight:
            raise AlreadyInProgress(busy_message)
        self._in_flight.add(key)
        try:
            yield
        finally:
            self._in_flight.discard(key)

    async def cancel_in_flight(self) -> int:
        """At shutdown, before the tracker client and the database close: stop waiting for the
        tracker and record each call still waiting as unknown, rather than leave it half done.
        Calls still waiting for a slot stop too; they have no row and sent nothing.
        """
        tasks = list(self._calling)
        sending = len(self._sending)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if sending:
            log.warning("stopped %d game calls waiting for the tracker; outcome unknown", sending)
        return sending

    async def call(self, call: NewCall, play: Callable[[], Awaitable[ResultT]]) -> ResultT:
        task = asyncio.current_task()
        mine: set[asyncio.Task[object]] = {task} if task is not None else set()
        self._calling |= mine
        try:
            async with self._slots:
                self._sending |= mine
                try:
                    return await self._call(call, play)
                finally:
                    self._sending -= mine
        finally:
            self._calling -= mine

    async def _call(self, call: NewCall, play: Callable[[], Awaitable[ResultT]]) -> ResultT:
        entry_id = await self._db.begin_call(call, now=self._clock())
        try:
            result = await play()
        except errors.TrackerRefused as error:
            await self._record(
                entry_id,
                self._db.finish_refused(entry_id, error.reason, error.message, now=self._clock()),
            )
            if isinstance(error, errors.Unauthorized) and not call.anonymous:
                await self._record(entry_id, self._db.mark_token_rejected(call.user_id))
            log.info("ledger %d refused: %s (HTTP %s)", entry_id, error.reason, error.status)
            raise
        except errors.InvalidGameRequest as error:
            await self._record(
                entry_id,
                self._db.finish_refused(entry_id, error.reason, error.message, now=self._clock()),
            )
            raise
        except errors.OutcomeUnknown as error:
            await self._record(
                entry_id, self._db.finish_unknown(entry_id, error.reason, now=self._clock())
            )
            log.warning("ledger %d outcome unknown: %s", entry_id, error.reason)
            raise
        except asyncio.CancelledError:
            unknown = self._db.finish_unknown(entry_id, "cancelled", now=self._clock())
            await asyncio.shield(self._record(entry_id, unknown))
            raise
        # Also marks a connected member's account as used (a trigger of migration 0004).
        await self._record(
            entry_id, self._db.finish_played(entry_id, _played(result, call), now=self._clock())
        )
        return result

    @staticmethod
    async def _record(entry_id: int, write: Awaitable[None]) -> None:
        """Write down what the tracker said; a database that refuses must not hide it.

        The member still learns the outcome. The row stays pending, which limits votes like a
        played one and becomes unknown at the next start.
        """
        try:
            await write
        except StorageUnavailable as error:
            log.error("ledger %d: outcome not recorded, the row stays pending: %s", entry_id, error)


def _played(result: GameResult, call: NewCall) -> PlayedResult:
    return PlayedResult(
        operation=result.operation.value if result.operation else None,
        seconds=result.seconds,
        multiplier=result.multiplier,
        penalty=isinstance(result, LinkResult) and result.penalty,
        scheduled_end=result.scheduled_end,
        session_id=result.session if result.session is not None else call.session_id,
    )
