"""Links members propose for their server, kept while a moderator has not decided on them."""

from __future__ import annotations

from datetime import datetime

import asyncpg

from storage.errors import ProposalOpen
from storage.models import LinkProposal, NewProposal
from storage.postgres.sql import SqlStore
from storage.rows import proposal_from_row
from storage.timestamps import to_db


class ProposalStore(SqlStore):
    """Open proposals only: a decision or expiry deletes the row, erasing its token."""

    async def add_proposal(self, proposal: NewProposal, *, now: datetime) -> LinkProposal:
        try:
            (row,) = await self._fetch(
                """
                INSERT INTO link_proposals (guild_id, channel_id, proposer_id, name, link_token,
                    vote_interval, anonymous_allowed, proposer_locale, guild_locale, created_at)
                VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
                RETURNING *
                """,
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
            )
        except asyncpg.UniqueViolationError:
            raise ProposalOpen("the member has an open proposal in this server") from None
        return proposal_from_row(row, self._cipher)

    async def set_proposal_message(
        self, proposal_id: int, channel_id: int, message_id: int
    ) -> None:
        await self._execute(
            "UPDATE link_proposals SET log_channel_id = $2, message_id = $3 WHERE id = $1",
            proposal_id,
            channel_id,
            message_id,
        )

    async def get_proposal(self, proposal_id: int) -> LinkProposal | None:
        row = await self._fetchrow("SELECT * FROM link_proposals WHERE id = $1", proposal_id)
        return None if row is None else proposal_from_row(row, self._cipher)

    async def take_proposal(self, proposal_id: int) -> LinkProposal | None:
        """Close the proposal: the one caller that gets it back decided it (or let it expire)."""
        row = await self._fetchrow(
            "DELETE FROM link_proposals WHERE id = $1 RETURNING *", proposal_id
        )
        if row is None:
            return None
        await self._vacuum("link_proposals")
        return proposal_from_row(row, self._cipher)

    async def proposals_created_before(
        self, before: datetime, limit: int = 100
    ) -> list[LinkProposal]:
        rows = await self._fetch(
            "SELECT * FROM link_proposals WHERE created_at <= $1 ORDER BY created_at LIMIT $2",
            to_db(before),
            limit,
        )
        return [proposal_from_row(row, self._cipher) for row in rows]
