"""What the bot sent, kept so tests can read it and wait for it without polling."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar

from tests.fake_discord.wire import Refusal, SentFile

T = TypeVar("T")
JSON = dict[str, Any]

EPHEMERAL = 1 << 6
LOADING = 1 << 7
DEFAULT_TIMEOUT = 10.0


class Watch:
    """Wake waiters whose condition became true when the state they watch changes."""

    def __init__(self) -> None:
        self._waiters: list[tuple[Callable[[Any], Any], asyncio.Future[Any]]] = []

    def changed(self, subject: object = None) -> None:
        """Tell waiters that `subject` (or something unnamed) changed."""
        waiting = []
        for check, future in self._waiters:
            if future.done():
                continue
            try:
                result = check(subject)
            except Exception as error:  # a test's predicate failed: fail the test, not the fake
                future.set_exception(error)
                continue
            if result is None:
                waiting.append((check, future))
            else:
                future.set_result(result)
        self._waiters = waiting

    async def until(
        self,
        probe: Callable[[], T | None],
        what: Callable[[], str],
        within: float,
        check: Callable[[Any], T | None] | None = None,
    ) -> T:
        """Return `probe()` once it is not None; fail the test with `what()` after `within` s.

        After a change, `check(subject)` looks at just what changed (by default: `probe()` again).
        """
        result = probe()
        if result is not None:
            return result
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._waiters.append((check or (lambda _: probe()), future))
        try:
            async with asyncio.timeout(within):
                return await future
        except TimeoutError:
            raise AssertionError(f"{what()} (waited {within:g} s)") from None


@dataclass(frozen=True, slots=True)
class SentMessage:
    """One message as the bot left it: edits replace it, `allowed_mentions` is the last request's.

    `ephemeral` follows from `flags`.
    """

    id: int
    channel_id: int
    content: str
    embeds: list[JSON]
    components: list[JSON]
    flags: int
    allowed_mentions: JSON | None
    deleted: bool = False
    edits: int = 0  # how many PATCHes changed it: rate-limit friendliness is countable
    files: tuple[SentFile, ...] = ()
    ephemeral: bool = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "ephemeral", bool(self.flags & EPHEMERAL))

    @property
    def loading(self) -> bool:
        """A deferral's "thinking…" placeholder that no follow-up or edit has filled yet."""
        return bool(self.flags & LOADING)


@dataclass(frozen=True, slots=True)
class Callback:
    """The interaction response that Discord accepted (type 4 message … 9 modal)."""

    type: int
    data: JSON
    delay: float


@dataclass(frozen=True, slots=True)
class ApiError:
    """An error the fake answered, as the bot's HTTPException saw it."""

    status: int
    code: int
    message: str
    route: str


@dataclass(frozen=True, slots=True)
class ModalSpec:
    """A modal the bot opened (callback type 9)."""

    custom_id: str
    title: str
    components: list[JSON]

    def inputs(self) -> dict[str, JSON]:
        """The modal's fields by custom id, in action rows (type 1) or labels (type 18)."""
        found: dict[str, JSON] = {}
        for top in self.components:
            inner = top.get("components", [top["component"]] if "component" in top else [])
            found |= {c["custom_id"]: c for c in inner if "custom_id" in c}
        return found


class MessageStore:
    """Every message the bot sent, current version by id, plus those posted per channel."""

    def __init__(self) -> None:
        self._messages: dict[int, SentMessage] = {}
        self._watches: dict[int, list[Watch]] = {}
        self._channels: dict[int, list[int]] = {}
        self._channel_watches: dict[int, Watch] = {}

    def get(self, message_id: int) -> SentMessage | None:
        return self._messages.get(message_id)

    def put(self, message: SentMessage, watch: Watch | None = None) -> None:
        """Add or replace a message and wake everyone watching it (plus `watch`, from now on)."""
        self._messages[message.id] = message
        watches = self._watches.setdefault(message.id, [])
        if watch is not None and watch not in watches:
            watches.append(watch)
        for each in watches:
            each.changed(message)

    def post(self, message: SentMessage) -> None:
        """Add a message the bot posted with `POST /channels/{id}/messages`."""
        self._channels.setdefault(message.channel_id, []).append(message.id)
        self.put(message, self.channel_watch(message.channel_id))

    def posted(self, channel_id: int) -> list[SentMessage]:
        return [self._messages[i] for i in self._channels.get(channel_id, [])]

    def channel_watch(self, channel_id: int) -> Watch:
        return self._channel_watches.setdefault(channel_id, Watch())


class Exchange:
    """One interaction the fake dispatched and everything the bot did about it."""

    def __init__(
        self, payload: JSON, *, dispatched_at: float, deadline: float, store: MessageStore
    ) -> None:
        self.payload = payload
        self.id = int(payload["id"])
        self.token: str = payload["token"]
        self.type: int = payload["type"]
        self.channel_id = int(payload["channel_id"])
        self.dispatched_at = dispatched_at
        self.deadline = deadline
        self.callback: Callback | None = None
        self.shard: int | None = None
        """The shard whose session the interaction was dispatched to."""
        self.written = False
        """Whether it was written to the session's open socket (else kept for a RESUME)."""
        self.errors: list[ApiError] = []
        self.original_id: int | None = None
        self.answered_at: float | None = None
        """Loop time at which the member first saw an answer (the original response, filled)."""
        self.kept_at: dict[int, float] = {}
        """Loop time at which each of this interaction's messages first appeared."""
        self._message_ids: list[int] = []
        self._store = store
        self._watch = Watch()

    @property
    def ack_delay(self) -> float | None:
        """Seconds from dispatch to the accepted callback, None before it."""
        return None if self.callback is None else self.callback.delay

    @property
    def messages(self) -> list[SentMessage]:
        """Messages this interaction produced or changed (original first, then follow-ups)."""
        return [message for i in self._message_ids if (message := self._store.get(i)) is not None]

    @property
    def original(self) -> SentMessage | None:
        """The interaction's original response message, once this interaction produced it."""
        if self.original_id is None or self.original_id not in self._message_ids:
            return None
        return self._store.get(self.original_id)

    async def acknowledged(self, within: float = DEFAULT_TIMEOUT) -> Callback:
        """Wait for the callback Discord accepted."""
        return await self._watch.until(lambda: self.callback, self._describe, within)

    async def final(self, within: float = DEFAULT_TIMEOUT) -> SentMessage:
        """Wait for what the member sees as the answer: the original, filled if it was deferred."""

        def probe() -> SentMessage | None:
            original = self.original
            return None if original is None or original.loading else original

        return await self._watch.until(
            probe, lambda: f"no final message: {self._describe()}", within
        )

    async def wait_for_message(
        self,
        predicate: Callable[[SentMessage], bool] | None = None,
        within: float = DEFAULT_TIMEOUT,
    ) -> SentMessage:
        """Wait for a (filled) message of this interaction that matches `predicate`."""

        def probe() -> SentMessage | None:
            matching = (m for m in self.messages if not m.loading and (predicate or bool)(m))
            return next(matching, None)

        return await self._watch.until(
            probe, lambda: f"no matching message: {self._describe()}", within
        )

    async def modal(self, within: float = DEFAULT_TIMEOUT) -> ModalSpec:
        """Wait for the modal the bot opened in answer (callback type 9)."""
        data = (await self._expect(9, within)).data
        return ModalSpec(data["custom_id"], data["title"], data["components"])

    async def autocomplete_choices(self, within: float = DEFAULT_TIMEOUT) -> list[JSON]:
        """Wait for the choices the bot offered (callback type 8)."""
        return (await self._expect(8, within)).data.get("choices", [])

    async def rejected(self, code: int | None = None, within: float = DEFAULT_TIMEOUT) -> ApiError:
        """Wait for an error the fake answered for this interaction (with this Discord code)."""

        def probe() -> ApiError | None:
            return next((e for e in self.errors if code in (None, e.code)), None)

        return await self._watch.until(
            probe, lambda: f"no error {code or ''} answered: {self._describe()}", within
        )

    async def _expect(self, callback_type: int, within: float) -> Callback:
        callback = await self.acknowledged(within)
        if callback.type != callback_type:
            raise AssertionError(f"expected callback type {callback_type}: {self._describe()}")
        return callback

    def _describe(self) -> str:
        data = self.payload.get("data", {})
        label = data.get("custom_id") or "/" + " ".join(_command_path(data))
        state = (
            "not acknowledged" if self.callback is None else f"callback type {self.callback.type}"
        )
        errors = ", ".join(f"{e.code} {e.message}" for e in self.errors) or "no errors"
        shown = [(m.content[:40], "ephemeral" if m.ephemeral else "public") for m in self.messages]
        return f"interaction {self.id} ({label}): {state}; {errors}; messages {shown}"

    # The fake's REST routes record through these.

    def accept(self, callback: Callback, original_id: int | None) -> None:
        self.callback = callback
        self.original_id = original_id
        self._watch.changed()

    def keep(self, message: SentMessage) -> None:
        """Record a message this interaction produced or changed."""
        now = asyncio.get_running_loop().time()
        if message.id not in self._message_ids:
            self._message_ids.append(message.id)
            self.kept_at[message.id] = now
        if self.answered_at is None and message.id == self.original_id and not message.loading:
            self.answered_at = now
        self._store.put(message, self._watch)

    def owns(self, message_id: int) -> bool:
        return message_id in self._message_ids

    @contextmanager
    def recording_refusals(self, route: str) -> Iterator[None]:
        try:
            yield
        except Refusal as refusal:
            self.errors.append(ApiError(refusal.status, refusal.code, refusal.message, route))
            self._watch.changed()
            raise


def _command_path(data: JSON) -> list[str]:
    path = [data.get("name", "?")]
    options = data.get("options", [])
    while options and options[0].get("type") in (1, 2):
        path.append(options[0]["name"])
        options = options[0].get("options", [])
    return path
