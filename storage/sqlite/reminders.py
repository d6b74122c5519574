"""Opt-in reminders: who wants a DM when a link reopens, and which reopenings were announced."""

from __future__ import annotations

from datetime import datetime, timedelta

from storage.models import DueReminder
from storage.rows import reminder_from_row
from storage.sqlite.sql import SqlStore
from storage.timestamps import to_db

# The member's latest counted vote per daily link, once its window has passed, if it reopened
# after they opted in and was not announced yet. A later vote replaces it.
DUE_REMINDERS_SQL = """
    SELECT l.id AS ledger_id, l.user_id, l.link_id, l.created_at,
           cl.name, cl.guild_id, cl.channel_id, s.locale
    FROM reminder_subscribers s
    JOIN ledger l ON l.user_id = s.user_id
    JOIN channel_links cl ON cl.id = l.link_id AND cl.vote_interval = 'daily'
    WHERE l.game = 'link' AND l.dom = 0 AND l.anonymous = 0
        AND l.status IN ('played', 'unknown', 'pending')
        AND l.created_at <= :voted_before
        AND l.created_at + :window >= s.since
        AND NOT EXISTS (
            SELECT 1 FROM ledger later
            WHERE later.user_id = l.user_id AND later.link_id = l.link_id
                AND later.game = 'link' AND later.dom = 0 AND later.anonymous = 0
                AND later.status IN ('played', 'unknown', 'pending')
                AND later.created_at > l.created_at
        )
        AND NOT EXISTS (SELECT 1 FROM reminders_sent r WHERE r.ledger_id = l.id)
    ORDER BY l.created_at
    LIMIT :limit
"""


class ReminderStore(SqlStore):
    async def subscribe_reminders(
        self, user_id: int, *, now: datetime, locale: str | None = None
    ) -> bool:
        """True when the member was not subscribed before; `locale` is theirs as seen now."""
        added = await self._fetch_all(
            "INSERT INTO reminder_subscribers (user_id, since, locale) VALUES (?, ?, ?)"
            " ON CONFLICT (user_id) DO NOTHING RETURNING user_id",
            (user_id, to_db(now), locale),
        )
        if not added and locale is not None:
            await self.set_member_locale(user_id, locale)
        return bool(added)

    async def set_member_locale(self, user_id: int, locale: str) -> None:
        """Reminders follow the language a subscriber last used; others have nothing stored.

        Read first: a write that changes nothing would still wait for a locked database.
        """
        stale = await self._fetch_one(
            "SELECT 1 FROM reminder_subscribers WHERE user_id = ? AND locale IS NOT ?",
            (user_id, locale),
        )
        if stale is None:
            return
        await self._write(
            "UPDATE reminder_subscribers SET locale = ? WHERE user_id = ? AND locale IS NOT ?",
            (locale, user_id, locale),
        )

    async def unsubscribe_reminders(self, user_id: int) -> bool:
        removed = await self._fetch_all(
            "DELETE FROM reminder_subscribers WHERE user_id = ? RETURNING user_id", (user_id,)
        )
        return bool(removed)

    async def is_subscribed(self, user_id: int) -> bool:
        row = await self._fetch_one(
            "SELECT 1 FROM reminder_subscribers WHERE user_id = ?", (user_id,)
        )
        return row is not None

    async def due_reminders(
        self, *, now: datetime, window: timedelta, limit: int = 100
    ) -> list[DueReminder]:
        window_us = window // timedelta(microseconds=1)
        rows = await self._fetch_all(
            DUE_REMINDERS_SQL,
            {"voted_before": to_db(now - window), "window": window_us, "limit": limit},
        )
        return [reminder_from_row(row, window) for row in rows]

    async def claim_reminder(self, ledger_id: int, *, now: datetime) -> bool:
        """True for the one process that sends this reminder; recorded as not delivered yet."""
        rows = await self._fetch_all(
            "INSERT INTO reminders_sent (ledger_id, sent_at, delivered) VALUES (?, ?, 0)"
            " ON CONFLICT (ledger_id) DO NOTHING RETURNING 1",
            (ledger_id, to_db(now)),
        )
        return bool(rows)

    async def mark_reminded(self, ledger_id: int, *, delivered: bool, now: datetime) -> None:
        await self._write(
            "INSERT INTO reminders_sent (ledger_id, sent_at, delivered) VALUES (?, ?, ?)"
            " ON CONFLICT (ledger_id) DO UPDATE SET delivered = excluded.delivered",
            (ledger_id, to_db(now), delivered),
        )
