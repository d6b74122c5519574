"""The one path of every game call: a guard against doubles, the throttle, a bounded wait for a
slot, the ledger before and after."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Hashable, Iterator
from contextlib import AbstractContextManager, asynccontextmanager, contextmanager
from datetime import datetime, timedelta
from functools import partial
from typing import Protocol, TypeVar

from i18n.message import Message, msg
from services.clock import Clock
from services.errors import AlreadyInProgress, BotBusy, Restarting
from services.outcomes import OutcomeWriter
from services.throttle import CallThrottle
from storage.deadlines import lift_deadline, statements_within
from storage.errors import CallUnderWay, StorageUnavailable
from storage.interface import Storage
from storage.models import NewCall, PlayedResult
from tracker import errors
from tracker.http import MAX_CONNECTIONS
from tracker.models import GameResult, LinkResult

log = logging.getLogger(__name__)

ResultT = TypeVar("ResultT", bound=GameResult)

SLOT_WAIT_SECONDS = 10.0
SLOTS_BUSY = msg(
    "The bot is busy with many games right now, so yours was not sent. Try again in a moment."
)
RESTARTING = msg("The bot is restarting; try again in a minute.")
# Everything read and written before a game call is sent gets this long, all of it together:
# the call itself may then take the tracker's whole read timeout (10 s by default), and the
# member must have an answer within 15 s. (A database slower than this: "try again later".)
BEFORE_SENDING_SECONDS = 2.5


def preparing_a_call() -> AbstractContextManager[None]:
    """The block that checks and records a game call before it is sent; `CallService.call`
    lifts the limit once its row is written."""
    return statements_within(BEFORE_SENDING_SECONDS)


class CallObserver(Protocol):
    """Told how each tracker call ended (metrics); game and outcome come from fixed sets."""

    def call_settled(self, game: str, outcome: str, seconds: float) -> None: ...


class _NoObserver:
    def call_settled(self, game: str, outcome: str, seconds: float) -> None:
        return None


class GameCaller:
    """Records each call as pending before it is sent, and as played, refused or unknown after.

    At most `max_calls` calls are under way at once (the HTTP pool's size); the next waits for a
    free slot before its pending row is written. So a pending row always means a call on its way,
    never one queued for a connection (where it could time out as "tracker busy" after waiting,
    or be cut off by a restart and then count as a vote of unknown outcome), and a burst of votes
    cannot crowd out the event loop's work of acknowledging new interactions within 3 seconds.
    A call that finds no slot within `slot_wait` seconds is refused as busy rather than queued
    for as long as the tracker is slow.
    """

    def __init__(
        self,
        db: Storage,
        clock: Clock,
        *,
        max_calls: int = MAX_CONNECTIONS,
        slot_wait: float = SLOT_WAIT_SECONDS,
        observer: CallObserver | None = None,
        outcomes: OutcomeWriter | None = None,
    ) -> None:
        self._db = db
        self.outcomes = outcomes or OutcomeWriter()
        self._clock = clock
        self._observer = observer or _NoObserver()
        self._throttle = CallThrottle(clock)
        self._in_flight: set[Hashable] = set()
        self._slots = asyncio.Semaphore(max_calls)
        self._slot_wait = slot_wait
        self._calling: set[asyncio.Task[object]] = set()  # waiting for a slot, or under way
        self._sending: set[asyncio.Task[object]] = set()  # under way: holding a slot
        self._answering: set[asyncio.Task[object]] = set()  # made a call; the task is not done
        self._open_entries: set[int] = set()  # pending rows of calls under way here
        self._stopping = False
        self._giving_up = False

    @property
    def calls_under_way(self) -> int:
        return len(self._sending)

    async def drain(self, grace: float) -> int:
        """At a clean stop: send no new call, and give the calls already made up to `grace`
        seconds to settle and their members' answers to go out. Returns how many are left.

        Waits for the interactions' tasks, not only the tracker calls, so the member's answer
        (posted after the call settles) is delivered before the bot closes.
        """
        self._stopping = True
        tasks = set(self._answering)
        if not tasks:
            return 0
        log.info("stopping: waiting up to %gs for %d game calls", grace, len(tasks))
        _, left = await asyncio.wait(tasks, timeout=grace)
        return len(left)

    @contextmanager
    def exclusive(self, key: Hashable, busy_message: Message) -> Iterator[None]:
        """Let one call per key run at a time; a second (a double click) is refused, not queued.

        The check and the claim happen with no await between them, so two tasks cannot both pass.
        From here the interaction counts as under way: a stop's drain waits for it, checks
        included.
        """
        if self._stopping:
            raise Restarting(RESTARTING)
        if key in self._in_flight:
            raise AlreadyInProgress(busy_message)
        self._answering_now()
        self._in_flight.add(key)
        try:
            yield
        finally:
            self._in_flight.discard(key)

    def _answering_now(self) -> asyncio.Task[object] | None:
        """Count the current interaction's task among those a stop waits for."""
        task = asyncio.current_task()
        if task is not None and task not in self._answering:
            self._answering.add(task)
            task.add_done_callback(self._answering.discard)
        return task

    async def give_up(self, reply_seconds: float) -> int:
        """After the grace: stop waiting for the tracker. Each call still under way settles as
        unknown, and its member is told it may or may not have counted (given `reply_seconds`
        to deliver that) rather than getting no answer at all. Returns how many were stopped.
        """
        self._giving_up = True
        tasks = set(self._sending)
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=reply_seconds)
        return len(tasks)

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

    async def call(
        self,
        call: NewCall,
        play: Callable[[], Awaitable[ResultT]],
        *,
        busy: Message,
        limit_since: datetime | None = None,
    ) -> ResultT:
        """Record, send and settle one call; `busy` is the answer when the database already has
        one of the same voter under way (another process's, or one this process's guard missed).

        With `limit_since` (a vote), `VoteAlreadyCounted` when the voter has a counted vote since.
        """
        if self._stopping:
            raise Restarting(RESTARTING)
        self._throttle.check(call)
        task = self._answering_now()
        mine: set[asyncio.Task[object]] = {task} if task is not None else set()
        self._calling |= mine
        try:
            async with self._slot():
                if self._stopping:  # the stop began while this call waited for a slot
                    raise Restarting(RESTARTING)
                self._throttle.check(call)  # a 429 may have come while this call waited
                self._sending |= mine
                try:
                    result = await self._call(call, play, busy, limit_since)
                finally:
                    self._sending -= mine
        except errors.TrackerError as error:
            self._throttle.settle(call, error)
            raise
        finally:
            self._calling -= mine
        self._throttle.settle(call, None)
        return result

    @asynccontextmanager
    async def _slot(self) -> AsyncIterator[None]:
        try:
            async with asyncio.timeout(self._slot_wait):
                await self._slots.acquire()
        except TimeoutError:
            raise BotBusy(SLOTS_BUSY) from None
        try:
            yield
        finally:
            self._slots.release()

    async def _call(
        self,
        call: NewCall,
        play: Callable[[], Awaitable[ResultT]],
        busy: Message,
        limit_since: datetime | None,
    ) -> ResultT:
        try:
            entry_id = await self._db.begin_call(call, now=self._clock(), limit_since=limit_since)
        except CallUnderWay:
            raise AlreadyInProgress(busy) from None
        self._open_entries.add(entry_id)
        lift_deadline()  # the call is on its way: what it needs written waits the full deadline
        try:
            return await self._play_and_record(entry_id, call, play)
        finally:
            self._open_entries.discard(entry_id)

    async def _play_and_record(
        self, entry_id: int, call: NewCall, play: Callable[[], Awaitable[ResultT]]
    ) -> ResultT:
        try:
            result = await self._observed(call.game, play)
        except errors.TrackerRefused as error:
            await self._record_refused(entry_id, error)
            if isinstance(error, errors.Unauthorized) and not call.anonymous:
                await self._mark_token_rejected(call.user_id)
            log.info("ledger %d refused: %s (HTTP %s)", entry_id, error.reason, error.status)
            raise
        except errors.InvalidGameRequest as error:
            await self._record_refused(entry_id, error)
            raise
        except errors.OutcomeUnknown as error:
            await self._record(
                entry_id,
                partial(self._db.finish_unknown, entry_id, error.reason, now=self._clock()),
            )
            log.warning("ledger %d outcome unknown: %s", entry_id, error.reason)
            raise
        except asyncio.CancelledError:
            unknown = partial(self._db.finish_unknown, entry_id, "cancelled", now=self._clock())
            self.outcomes.write_soon(entry_id, unknown)  # the member's answer need not wait
            task = asyncio.current_task()
            if self._giving_up and task is not None and task.uncancel() == 0:
                raise errors.NoResponse("the bot stopped before the tracker answered") from None
            raise
        # Also marks a connected member's account as used (a trigger of migration 0004).
        played = partial(self._db.finish_played, entry_id, _played(result, call), now=self._clock())
        await self._record(entry_id, played)
        return result

    async def _record_refused(
        self, entry_id: int, error: errors.TrackerRefused | errors.InvalidGameRequest
    ) -> None:
        refused = partial(
            self._db.finish_refused, entry_id, error.reason, error.message, now=self._clock()
        )
        await self._record(entry_id, refused)

    async def _observed(self, game: str, play: Callable[[], Awaitable[ResultT]]) -> ResultT:
        started = time.perf_counter()
        outcome = "unknown"
        try:
            result = await play()
        except (errors.TrackerRefused, errors.InvalidGameRequest):
            outcome = "refused"
            raise
        else:
            outcome = "played"
            return result
        finally:
            self._observer.call_settled(game, outcome, time.perf_counter() - started)

    async def _record(self, entry_id: int, write: Callable[[], Awaitable[None]]) -> None:
        """Write down what the tracker said; a database that refuses must not hide it.

        The member still learns the outcome. Until the write lands (tried again in the
        background) the row stays pending, which limits votes like a played one.
        """
        await self.outcomes.write(entry_id, write)

    async def _mark_token_rejected(self, user_id: int) -> None:
        """Tried once: the next 401 marks it again."""
        try:
            await self._db.mark_token_rejected(user_id)
        except StorageUnavailable as error:
            log.warning("a rejected token was not marked: %s", error)

    async def settle_stale(self, age: timedelta) -> list[int]:
        """Settle as unknown this process's rows pending for longer than `age` that no call
        under way and no outcome still being written holds: their outcome was lost."""
        now = self._clock()
        keep = self._open_entries | self.outcomes.retrying
        settled = await self._db.settle_stale_calls(before=now - age, now=now, keep=keep)
        if settled:
            log.warning("ledger %s: pending too long with no outcome; now unknown", settled)
        return settled

    async def keep_settled(self, age: timedelta, every: float) -> None:
        """Run `settle_stale` every `every` seconds until cancelled."""
        while True:
            await asyncio.sleep(every)
            try:
                await self.settle_stale(age)
            except StorageUnavailable as error:
                log.warning("pending rows not checked: %s", error)


def _played(result: GameResult, call: NewCall) -> PlayedResult:
    return PlayedResult(
        operation=result.operation.value if result.operation else None,
        seconds=result.seconds,
        multiplier=result.multiplier,
        penalty=isinstance(result, LinkResult) and result.penalty,
        scheduled_end=result.scheduled_end,
        session_id=result.session if result.session is not None else call.session_id,
    )
