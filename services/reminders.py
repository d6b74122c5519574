"""Opt-in DMs when a daily link reopens for a member: one per reopening, none after opting out."""

from __future__ import annotations

from services.actor import Actor
from services.clock import Clock
from services.voting import DAILY_WINDOW
from storage.database import Database
from storage.models import DueReminder


class ReminderService:
    def __init__(self, db: Database, clock: Clock) -> None:
        self._db = db
        self._clock = clock

    async def turn_on(self, actor: Actor) -> bool:
        """True when reminders were off before; only reopenings after this moment are announced."""
        return await self._db.subscribe_reminders(
            actor.user_id, now=self._clock(), locale=actor.locale
        )

    async def turn_off(self, actor: Actor) -> bool:
        return await self._db.unsubscribe_reminders(actor.user_id)

    async def due(self) -> list[DueReminder]:
        return await self._db.due_reminders(now=self._clock(), window=DAILY_WINDOW)

    async def sent(self, reminder: DueReminder, *, delivered: bool) -> None:
        """Recorded whether or not the DM arrived: a closed inbox is not asked again."""
        await self._db.mark_reminded(reminder.ledger_id, delivered=delivered, now=self._clock())
