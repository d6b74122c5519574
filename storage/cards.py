"""Link cards: the messages that carry a link's vote buttons, edited as votes come in."""

from __future__ import annotations

from datetime import datetime

from storage.models import LinkCard
from storage.sql import SqlStore
from storage.timestamps import from_db, to_db


class CardStore(SqlStore):
    async def add_card(
        self, link_id: int, channel_id: int, message_id: int, *, now: datetime
    ) -> LinkCard:
        await self._write(
            "INSERT INTO link_cards (message_id, link_id, channel_id, posted_at)"
            " VALUES (?, ?, ?, ?)",
            (message_id, link_id, channel_id, to_db(now)),
        )
        return LinkCard(
            message_id=message_id, link_id=link_id, channel_id=channel_id, posted_at=now
        )

    async def cards_of_link(self, link_id: int) -> list[LinkCard]:
        rows = await self._fetch_all(
            "SELECT * FROM link_cards WHERE link_id = ? ORDER BY posted_at", (link_id,)
        )
        return [
            LinkCard(
                message_id=row["message_id"],
                link_id=row["link_id"],
                channel_id=row["channel_id"],
                posted_at=from_db(row["posted_at"]),
            )
            for row in rows
        ]

    async def forget_card(self, message_id: int) -> None:
        """A card whose message is gone (deleted in Discord) is not edited again."""
        await self._write("DELETE FROM link_cards WHERE message_id = ?", (message_id,))
