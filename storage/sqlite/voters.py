"""What a vote reads of its member before it goes out: one statement, one trip to the thread."""

from __future__ import annotations

from storage.models import VoterOnLink
from storage.rows import ACCOUNT_COLUMNS, voter_on_link_from_row
from storage.sqlite.ledger import (
    LAST_ANONYMOUS_VOTE_SQL,
    LAST_IDENTIFIED_VOTE_SQL,
    PENALTY_OF_USER_ON_LINK_SQL,
)
from storage.sqlite.sql import SqlStore

# The account, an earlier penalty, whether the member's name is hidden, and the vote that limits
# the next: the member's own if they have an account, else the link's shared anonymous one. Built
# from the ledger's own questions, so each still seeks its partial index (the query-plan test).
# Parameters, in the text's order: user, link (penalty); user (account); link (anonymous); user,
# link (identified).
VOTER_ON_LINK_SQL = f"""
    SELECT {", ".join(f"accounts.{c} AS account_{c}" for c in ACCOUNT_COLUMNS)},
        EXISTS ({PENALTY_OF_USER_ON_LINK_SQL}) AS had_penalty,
        EXISTS (SELECT 1 FROM member_privacy AS privacy
            WHERE privacy.user_id = asked.user_id AND privacy.name_hidden = 1) AS name_hidden,
        ledger.*
    FROM (SELECT ? AS user_id) AS asked
    LEFT JOIN accounts ON accounts.user_id = asked.user_id
    LEFT JOIN ledger ON ledger.id = CASE WHEN accounts.user_id IS NULL
        THEN (SELECT id FROM ({LAST_ANONYMOUS_VOTE_SQL}))
        ELSE (SELECT id FROM ({LAST_IDENTIFIED_VOTE_SQL}))
    END
"""


class VoterStore(SqlStore):
    """The reads before a vote, as one statement: each trip to the database thread and back
    costs the event loop's thread CPU and, below saturation, the member's wait."""

    async def voter_on_link(self, user_id: int, link_id: int) -> VoterOnLink:
        params = (user_id, link_id, user_id, link_id, user_id, link_id)
        (row,) = await self._fetch_all(VOTER_ON_LINK_SQL, params)
        return voter_on_link_from_row(row, self._cipher)
