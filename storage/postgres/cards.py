"""Link cards: the messages that carry a link's vote buttons, edited as votes come in."""

from __future__ import annotations

from datetime import datetime

from storage.models import LinkCard
from storage.postgres.sql import SqlStore
from storage.rows import card_from_row
from storage.timestamps import to_db


class CardStore(SqlStore):
    async def add_card(
        self, link_id: int, channel_id: int, message_id: int, *, now: datetime
    ) -> LinkCard:
        await self._execute(
            "INSERT INTO link_cards (message_id, link_id, channel_id, posted_at)"
            " VALUES ($1, $2, $3, $4)",
            message_id,
            link_id,
            channel_id,
            to_db(now),
        )
        return LinkCard(
            message_id=message_id, link_id=link_id, channel_id=channel_id, posted_at=now
        )

    async def cards_of_link(self, link_id: int) -> list[LinkCard]:
        rows = await self._fetch(
            "SELECT * FROM link_cards WHERE link_id = $1 ORDER BY posted_at", link_id
        )
        return [card_from_row(row) for row in rows]

    async def forget_card(self, message_id: int) -> None:
        await self._execute("DELETE FROM link_cards WHERE message_id = $1", message_id)

    async def claim_card_refresh(self, link_id: int, *, now: datetime, until: datetime) -> bool:
        """True for the one process that edits the link's cards in this window."""
        row = await self._fetchrow(
            """
            INSERT INTO card_refresh_claims (link_id, claimed_until)
            SELECT $1, $3 WHERE EXISTS (SELECT 1 FROM channel_links WHERE id = $1)
            ON CONFLICT (link_id) DO UPDATE SET claimed_until = excluded.claimed_until
                WHERE card_refresh_claims.claimed_until <= $2
            RETURNING 1
            """,
            link_id,
            to_db(now),
            to_db(until),
        )
        return row is not None
