"""The services the cogs call, built once by the composition root."""

from __future__ import annotations

from dataclasses import dataclass

from services.accounts import AccountService
from services.calls import SLOT_WAIT_SECONDS, CallObserver, GameCaller
from services.cards import CardService
from services.charts import ChartLimit
from services.clock import Clock
from services.error_digest import ErrorDigest
from services.games import GamesService
from services.history import HistoryService
from services.links import LinkAdmin
from services.locales import LocaleService
from services.privacy import PrivacyService
from services.proposals import ProposalService
from services.reminders import ReminderService
from services.voting import VotingService
from storage.interface import Storage
from tracker.client import TrackerClient


@dataclass(frozen=True)
class Services:
    voting: VotingService
    games: GamesService
    accounts: AccountService
    links: LinkAdmin
    cards: CardService
    reminders: ReminderService
    locales: LocaleService
    calls: GameCaller
    error_digest: ErrorDigest
    history: HistoryService
    privacy: PrivacyService
    proposals: ProposalService
    charts: ChartLimit

    @classmethod
    def build(
        cls,
        db: Storage,
        tracker: TrackerClient,
        clock: Clock,
        *,
        slot_wait: float = SLOT_WAIT_SECONDS,
        observer: CallObserver | None = None,
    ) -> Services:
        caller = GameCaller(db, clock, slot_wait=slot_wait, observer=observer)
        voting = VotingService(db, tracker, caller, clock)
        links = LinkAdmin(db, clock)
        return cls(
            voting=voting,
            games=GamesService(db, tracker, caller),
            accounts=AccountService(db, clock),
            links=links,
            cards=CardService(db, clock),
            reminders=ReminderService(db, clock),
            locales=LocaleService(db),
            calls=caller,
            error_digest=ErrorDigest(clock),
            history=HistoryService(db, links, voting, clock),
            privacy=PrivacyService(db, clock),
            proposals=ProposalService(db, links, clock),
            charts=ChartLimit(clock),
        )
