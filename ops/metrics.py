"""The bot's Prometheus metrics: counts and timings an operator graphs and alerts on.

Every label value comes from a fixed set (a game, an outcome, an error kind): never a token, a
user id or free text.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from storage.errors import StorageUnavailable
from tracker import errors

GAMES = ("dice", "luck", "link")
OUTCOMES = ("played", "refused", "unknown")


def _error_classes(base: type[errors.TrackerError]) -> Iterator[type[errors.TrackerError]]:
    yield base
    for subclass in base.__subclasses__():
        yield from _error_classes(subclass)


# Tracker errors count under their reason, a fixed code of tracker/errors.py.
ERROR_KINDS = (
    *sorted({kind.reason for kind in _error_classes(errors.TrackerError)} - {"invalid"}),
    "storage_unavailable",
    "unexpected",
    "reply_failed",
)
_SECONDS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
_ACK_SECONDS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 3, 5)


class Metrics:
    """The metrics of one bot, in a registry of their own (nothing global, so tests can count)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.game_calls = Counter(
            "ctvote_game_calls",
            "Game calls sent to the tracker, by game and outcome (played, refused, unknown).",
            ["game", "outcome"],
            registry=self.registry,
        )
        self.tracker_seconds = Histogram(
            "ctvote_tracker_call_seconds",
            "Time from sending a game call to the tracker's answer (or giving up), by game.",
            ["game"],
            buckets=_SECONDS,
            registry=self.registry,
        )
        self.ack_seconds = Histogram(
            "ctvote_discord_ack_seconds",
            "Time from an interaction's creation on Discord to the bot's acknowledgement.",
            buckets=_ACK_SECONDS,
            registry=self.registry,
        )
        self.card_edits = Counter(
            "ctvote_card_edits", "Link card messages edited.", registry=self.registry
        )
        self.reminders_sent = Counter(
            "ctvote_reminders_sent", "Reminder direct messages delivered.", registry=self.registry
        )
        self.errors = Counter(
            "ctvote_errors",
            "Failures answered to members, by kind (a tracker error's reason, storage, ...).",
            ["kind"],
            registry=self.registry,
        )
        self.calls_under_way = Gauge(
            "ctvote_calls_under_way",
            "Game calls sent to the tracker and not yet answered.",
            registry=self.registry,
        )
        self.gateway_latency = Gauge(
            "ctvote_gateway_latency_seconds",
            "Discord gateway heartbeat latency (mean over shards); NaN before the first.",
            registry=self.registry,
        )
        self.shards_connected = Gauge(
            "ctvote_shards_connected",
            "Gateway connections (shards) that are up.",
            registry=self.registry,
        )
        for game in GAMES:
            self.tracker_seconds.labels(game)
            for outcome in OUTCOMES:
                self.game_calls.labels(game, outcome)
        for kind in ERROR_KINDS:
            self.errors.labels(kind)

    def call_settled(self, game: str, outcome: str, seconds: float) -> None:
        """GameCaller's observer: one tracker call ended."""
        self.game_calls.labels(game, outcome).inc()
        self.tracker_seconds.labels(game).observe(seconds)

    def error(self, error: BaseException, *, explained: bool) -> None:
        """Count a failure; refusals of bad input or missing permissions are not failures."""
        kind = error_kind(error, explained=explained)
        if kind is not None:
            self.errors.labels(kind).inc()

    def watch(
        self,
        *,
        calls_under_way: Callable[[], float],
        gateway_latency: Callable[[], float],
        shards_connected: Callable[[], float],
    ) -> None:
        """Read the gauges from the running bot at each scrape."""
        self.calls_under_way.set_function(calls_under_way)
        self.gateway_latency.set_function(gateway_latency)
        self.shards_connected.set_function(shards_connected)

    def exposition(self) -> bytes:
        return generate_latest(self.registry)


def error_kind(error: BaseException, *, explained: bool) -> str | None:
    if isinstance(error, errors.InvalidGameRequest):
        return None  # our own validation: nothing was sent
    if isinstance(error, errors.TrackerError):
        return error.reason
    if isinstance(error, StorageUnavailable):
        return "storage_unavailable"
    return None if explained else "unexpected"
