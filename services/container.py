"""The services the cogs call, built once by the composition root."""

from __future__ import annotations

from dataclasses import dataclass

from services.accounts import AccountService
from services.calls import CallObserver, GameCaller
from services.cards import CardService
from services.clock import Clock
from services.games import GamesService
from services.links import LinkAdmin
from services.reminders import ReminderService
from services.voting import VotingService
from storage.database import Database
from tracker.client import TrackerClient


@dataclass(frozen=True)
class Services:
    voting: VotingService
    games: GamesService
    accounts: AccountService
    links: LinkAdmin
    cards: CardService
    reminders: ReminderService
    calls: GameCaller

    @classmethod
    def build(
        cls,
        db: Database,
        tracker: TrackerClient,
        clock: Clock,
        *,
        observer: CallObserver | None = None,
    ) -> Services:
        caller = GameCaller(db, clock, observer=observer)
        return cls(
            voting=VotingService(db, tracker, caller, clock),
            games=GamesService(db, tracker, caller),
            accounts=AccountService(db, clock),
            links=LinkAdmin(db, clock),
            cards=CardService(db, clock),
            reminders=ReminderService(db, clock),
            calls=caller,
        )
