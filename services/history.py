"""What the ledger shows people: a link's history and export, a member's own calls, statistics."""

from __future__ import annotations

import asyncio
import logging
import shutil
import tempfile
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from pathlib import Path

from i18n.message import Name, msg
from services.actor import Actor
from services.clock import Clock
from services.errors import BadInput, StorageFull
from services.export_file import CappedCsv, disk_full
from services.links import ChannelChoice, LinkAdmin
from services.voting import LinkRef, VotingService
from storage.interface import Storage
from storage.models import ChannelLink, LedgerEntry, LedgerStatus, LinkStats
from storage.private_files import describe_os_error

log = logging.getLogger(__name__)

HISTORY_DEFAULT = 10
HISTORY_MAX = 25
OWN_HISTORY = 10

EXPORT_HEADER = (
    "time_utc",
    "voter_id",
    "voter_name",
    "game",
    "type",
    "outcome",
    "operation",
    "seconds",
    "multiplier",
    "penalty",
    "scheduled_end_utc",
)
# A spreadsheet runs a cell that starts with one of these as a formula (CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


class Period(StrEnum):
    """How far back `/stats` looks, in whole UTC days up to today."""

    WEEK = "7d"
    MONTH = "30d"
    ALL = "all"

    @property
    def days(self) -> int | None:
        return {Period.WEEK: 7, Period.MONTH: 30, Period.ALL: None}[self]


@dataclass(frozen=True)
class LinkHistory:
    link: ChannelLink
    calls: list[LedgerEntry]


@dataclass(frozen=True)
class OwnCall:
    """A member's call, with the name of its link when it was a vote on one that still exists."""

    entry: LedgerEntry
    link_name: str | None


@dataclass(frozen=True)
class ExportFile:
    """A written export; it exists only inside `HistoryService.export`'s block."""

    path: Path
    filename: str
    rows: int
    compressed: bool


@dataclass(frozen=True)
class StatsReport:
    link: ChannelLink
    period: Period
    since: datetime
    until: datetime
    stats: LinkStats
    hidden_voters: frozenset[int] = frozenset()  # top voters who asked not to be named

    @property
    def identified(self) -> int:
        return sum(day.identified for day in self.stats.days)

    @property
    def anonymous(self) -> int:
        return sum(day.anonymous for day in self.stats.days)

    @property
    def seconds_added(self) -> int:
        return sum(day.seconds_added for day in self.stats.days)

    @property
    def seconds_removed(self) -> int:
        return sum(day.seconds_removed for day in self.stats.days)

    @property
    def scheduled_end(self) -> datetime | None:
        last = self.stats.last_vote
        return last.scheduled_end if last is not None else None


def iso_utc(moment: datetime | None) -> str:
    """`2026-02-10T00:00:00Z`: what spreadsheets and scripts read without a time zone guess."""
    if moment is None:
        return ""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def spreadsheet_safe(value: str) -> str:
    """Members choose their own display names: a name like `=HYPERLINK(…)` stays text."""
    return "'" + value if value.startswith(FORMULA_STARTS) else value


def export_outcome(status: LedgerStatus) -> str:
    """A call still under way has no outcome yet: like a lost answer, it is not known."""
    return status.value if status is not LedgerStatus.PENDING else LedgerStatus.UNKNOWN.value


def export_row(entry: LedgerEntry) -> list[str]:
    identified = not entry.anonymous and entry.user_id is not None  # not forgotten
    cells = (
        iso_utc(entry.created_at),
        str(entry.user_id) if identified else "",
        (entry.voter_name or "") if identified else "",
        entry.game,
        entry.vote_type or "",
        export_outcome(entry.status),
        entry.operation or "",
        "" if entry.seconds is None else str(entry.seconds),
        "" if entry.multiplier is None else str(entry.multiplier),
        "1" if entry.penalty else "0",
        iso_utc(entry.scheduled_end),
    )
    return [spreadsheet_safe(cell) for cell in cells]


class HistoryService:
    def __init__(self, db: Storage, links: LinkAdmin, voting: VotingService, clock: Clock) -> None:
        self._db = db
        self._links = links
        self._voting = voting
        self._clock = clock

    async def link_history(
        self,
        actor: Actor,
        name: str,
        channel: ChannelChoice | None,
        channel_of: Callable[[int], ChannelChoice | None],
        count: int,
    ) -> LinkHistory:
        """The link's last `count` calls, newest first (moderators only)."""
        link = await self._links.find_to_read(actor, name, channel, channel_of)
        count = max(1, min(count, HISTORY_MAX))
        return LinkHistory(link=link, calls=await self._db.calls_on_link(link.id, count))

    async def own_history(self, actor: Actor) -> list[OwnCall]:
        calls = await self._db.calls_of_user(actor.user_id, OWN_HISTORY)
        names: dict[int, str | None] = {}
        for link_id in {call.link_id for call in calls if call.link_id is not None}:
            link = await self._db.get_link(link_id)
            names[link_id] = link.name if link is not None else None
        return [
            OwnCall(call, names.get(call.link_id) if call.link_id is not None else None)
            for call in calls
        ]

    @asynccontextmanager
    async def export(
        self,
        actor: Actor,
        name: str,
        channel: ChannelChoice | None,
        channel_of: Callable[[int], ChannelChoice | None],
        *,
        size_limit: int,
    ) -> AsyncIterator[ExportFile]:
        """Write every call on the link to a CSV file, gzipped when it exceeds `size_limit`.

        Written a batch at a time to a temporary folder that is removed when the block ends.
        """
        link = await self._links.find_to_read(actor, name, channel, channel_of)
        folder = Path(await asyncio.to_thread(tempfile.mkdtemp, prefix="ctvote-export-"))
        try:
            try:
                export = await self._write(link, folder / f"{link.name}-votes.csv", size_limit)
            except OSError as error:
                if not disk_full(error):
                    raise
                log.warning("export of link %d: %s", link.id, describe_os_error(error))
                raise StorageFull(
                    msg(
                        "The export could not be written: the bot's server has no disk space "
                        "left for it. Tell whoever runs the bot."
                    )
                ) from None
            yield export
        finally:
            await asyncio.to_thread(shutil.rmtree, folder, ignore_errors=True)

    async def _write(self, link: ChannelLink, path: Path, size_limit: int) -> ExportFile:
        out = await asyncio.to_thread(CappedCsv, path, size_limit)
        rows = 0
        try:
            await asyncio.to_thread(out.write_rows, [list(EXPORT_HEADER)])
            async for batch in self._db.calls_on_link_in_order(link.id):
                await asyncio.to_thread(out.write_rows, [export_row(entry) for entry in batch])
                rows += len(batch)
                if out.too_large:
                    break
        finally:
            await asyncio.to_thread(out.close)
        if rows == 0:
            raise BadInput(
                msg(
                    "Link {link} has no votes yet: there is nothing to export.",
                    link=Name(link.name),
                )
            )
        if out.too_large:
            raise BadInput(
                msg(
                    "The export of link {link} is too large for Discord, even compressed.",
                    link=Name(link.name),
                )
            )
        return ExportFile(
            path=out.path, filename=out.path.name, rows=rows, compressed=out.compressed
        )

    async def stats(self, actor: Actor, ref: LinkRef, period: Period) -> StatsReport:
        """A link's figures for anyone who may vote on it."""
        link = await self._voting.votable_link(actor, ref)
        now = self._clock()
        today = now.replace(hour=0, minute=0, second=0, microsecond=0)
        days = period.days
        since = (
            today - timedelta(days=days - 1)
            if days is not None
            else link.added_at.replace(hour=0, minute=0, second=0, microsecond=0)
        )
        stats = await self._db.link_stats(link.id, since=since, until=now)
        hidden = await self._db.hidden_names([voter.user_id for voter in stats.top_voters])
        return StatsReport(link, period, since, now, stats, hidden_voters=frozenset(hidden))
