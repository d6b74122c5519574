"""Opt-in reminders: who wants a DM when a link reopens, and which reopenings were announced."""

from __future__ import annotations

from datetime import datetime, timedelta

from storage.models import DueReminder
from storage.postgres.ledger import counted_vote
from storage.postgres.sql import SqlStore
from storage.rows import reminder_from_row
from storage.timestamps import to_db

# The member's latest counted vote per daily link, once its window has passed, if it reopened
# after they opted in and was not announced yet. A later vote replaces it.
DUE_REMINDERS_SQL = f"""
    SELECT l.id AS ledger_id, l.user_id, l.link_id, l.created_at,
           cl.name, cl.guild_id, cl.channel_id, s.locale
    FROM reminder_subscribers s
    JOIN ledger l ON l.user_id = s.user_id
    JOIN channel_links cl ON cl.id = l.link_id AND cl.vote_interval = 'daily'
    WHERE NOT l.anonymous AND {counted_vote("l")}
        AND l.created_at <= $1
        AND l.created_at + $2 >= s.since
        AND NOT EXISTS (
            SELECT 1 FROM ledger later
            WHERE later.user_id = l.user_id AND later.link_id = l.link_id
                AND NOT later.anonymous AND {counted_vote("later")}
                AND later.created_at > l.created_at
        )
        AND NOT EXISTS (SELECT 1 FROM reminders_sent r WHERE r.ledger_id = l.id)
    ORDER BY l.created_at
    LIMIT $3
"""


class ReminderStore(SqlStore):
    async def subscribe_reminders(
        self, user_id: int, *, now: datetime, locale: str | None = None
    ) -> bool:
        row = await self._fetchrow(
            "INSERT INTO reminder_subscribers (user_id, since, locale) VALUES ($1, $2, $3)"
            " ON CONFLICT (user_id) DO NOTHING RETURNING user_id",
            user_id,
            to_db(now),
            locale,
        )
        if row is None and locale is not None:
            await self.set_member_locale(user_id, locale)
        return row is not None

    async def set_member_locale(self, user_id: int, locale: str) -> None:
        await self._execute(
            "UPDATE reminder_subscribers SET locale = $2"
            " WHERE user_id = $1 AND locale IS DISTINCT FROM $2",
            user_id,
            locale,
        )

    async def unsubscribe_reminders(self, user_id: int) -> bool:
        row = await self._fetchrow(
            "DELETE FROM reminder_subscribers WHERE user_id = $1 RETURNING user_id", user_id
        )
        return row is not None

    async def is_subscribed(self, user_id: int) -> bool:
        row = await self._fetchrow("SELECT 1 FROM reminder_subscribers WHERE user_id = $1", user_id)
        return row is not None

    async def due_reminders(
        self, *, now: datetime, window: timedelta, limit: int = 100
    ) -> list[DueReminder]:
        rows = await self._fetch(
            DUE_REMINDERS_SQL,
            to_db(now - window),
            window // timedelta(microseconds=1),
            limit,
        )
        return [reminder_from_row(row, window) for row in rows]

    async def claim_reminder(self, ledger_id: int, *, now: datetime) -> bool:
        """True for the one process that sends this reminder; recorded as not delivered yet."""
        row = await self._fetchrow(
            "INSERT INTO reminders_sent (ledger_id, sent_at, delivered) VALUES ($1, $2, false)"
            " ON CONFLICT (ledger_id) DO NOTHING RETURNING 1",
            ledger_id,
            to_db(now),
        )
        return row is not None

    async def mark_reminded(self, ledger_id: int, *, delivered: bool, now: datetime) -> None:
        await self._execute(
            "INSERT INTO reminders_sent (ledger_id, sent_at, delivered) VALUES ($1, $2, $3)"
            " ON CONFLICT (ledger_id) DO UPDATE SET delivered = excluded.delivered",
            ledger_id,
            to_db(now),
            delivered,
        )
