"""Links members propose for their server, kept while a moderator has not decided on them."""

from __future__ import annotations

import sqlite3
from datetime import datetime

import aiosqlite

from storage.errors import ProposalOpen
from storage.models import LinkProposal, NewProposal
from storage.rows import proposal_from_row
from storage.sqlite.sql import SqlStore
from storage.timestamps import to_db


class ProposalStore(SqlStore):
    """Open proposals only: a decision or expiry deletes the row, erasing its token."""

    async def add_proposal(self, proposal: NewProposal, *, now: datetime) -> LinkProposal:
        try:
            (row,) = await self._fetch_all(
                """
                INSERT INTO link_proposals (guild_id, channel_id, proposer_id, name, link_token,
                    vote_interval, anonymous_allowed, proposer_locale, guild_locale, created_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                RETURNING *
                """,
                (
                    proposal.guild_id,
                    proposal.channel_id,
                    proposal.proposer_id,
                    proposal.name,
                    self._cipher.encrypt(proposal.link_token.get_secret_value()),
                    proposal.interval.value,
                    proposal.anonymous_allowed,
                    proposal.proposer_locale,
                    proposal.guild_locale,
                    to_db(now),
                ),
            )
        except sqlite3.IntegrityError as error:
            if error.sqlite_errorname != "SQLITE_CONSTRAINT_UNIQUE":
                raise
            raise ProposalOpen("the member has an open proposal in this server") from None
        return self._proposal(row)

    async def set_proposal_message(
        self, proposal_id: int, channel_id: int, message_id: int
    ) -> None:
        await self._write(
            "UPDATE link_proposals SET log_channel_id = ?, message_id = ? WHERE id = ?",
            (channel_id, message_id, proposal_id),
        )

    async def get_proposal(self, proposal_id: int) -> LinkProposal | None:
        row = await self._fetch_one("SELECT * FROM link_proposals WHERE id = ?", (proposal_id,))
        return None if row is None else self._proposal(row)

    async def take_proposal(self, proposal_id: int) -> LinkProposal | None:
        """Close the proposal: the one caller that gets it back decided it (or let it expire)."""
        rows = await self._write_erasing(
            "DELETE FROM link_proposals WHERE id = ? RETURNING *", (proposal_id,)
        )
        return self._proposal(rows[0]) if rows else None

    async def proposals_created_before(
        self, before: datetime, limit: int = 100
    ) -> list[LinkProposal]:
        rows = await self._fetch_all(
            "SELECT * FROM link_proposals WHERE created_at <= ? ORDER BY created_at LIMIT ?",
            (to_db(before), limit),
        )
        return [self._proposal(row) for row in rows]

    def _proposal(self, row: aiosqlite.Row) -> LinkProposal:
        return proposal_from_row(row, self._cipher)
