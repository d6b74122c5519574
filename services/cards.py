"""What a link card shows and where its messages are; posting and editing them is Discord's part."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from services.clock import Clock
from storage.interface import Storage
from storage.models import ChannelLink, LinkCard, LinkTally


@dataclass(frozen=True)
class CardSummary:
    link: ChannelLink
    tally: LinkTally
    last_voter_named: bool = True  # False: forgotten, or asked not to be named in public

    @property
    def scheduled_end(self) -> datetime | None:
        """The session's end as the last played vote reported it: the newest the bot knows."""
        last = self.tally.last_vote
        return last.scheduled_end if last is not None else None


class CardService:
    def __init__(self, db: Storage, clock: Clock) -> None:
        self._db = db
        self._clock = clock

    async def summary(self, link_id: int) -> CardSummary | None:
        """None once the link is gone."""
        link = await self._db.get_link(link_id)
        return None if link is None else await self.summary_of(link)

    async def summary_of(self, link: ChannelLink) -> CardSummary:
        day_start = self._clock().replace(hour=0, minute=0, second=0, microsecond=0)
        tally = await self._db.link_tally(link.id, day_start=day_start)
        voter = tally.last_vote.user_id if tally.last_vote is not None else None
        named = voter is not None and not await self._db.hidden_names([voter])
        return CardSummary(link=link, tally=tally, last_voter_named=named)

    async def claim_refresh(self, link_id: int, window: timedelta) -> bool:
        """True for the one process that edits the link's cards in the coming window.

        A vote recorded while another process holds the window is in that process's tally, which
        it reads when its window ends.
        """
        now = self._clock()
        return await self._db.claim_card_refresh(link_id, now=now, until=now + window)

    async def cards(self, link_id: int) -> list[LinkCard]:
        return await self._db.cards_of_link(link_id)

    async def remember(self, link: ChannelLink, channel_id: int, message_id: int) -> LinkCard:
        return await self._db.add_card(link.id, channel_id, message_id, now=self._clock())

    async def forget(self, card: LinkCard) -> None:
        await self._db.forget_card(card.message_id)
