"""What a vote reads of its member before it goes out: one query, one round trip."""

from __future__ import annotations

from storage.models import VoterOnLink
from storage.postgres.ledger import PENALTY_OF_USER_ON_LINK_SQL, same_voter
from storage.postgres.sql import SqlStore
from storage.rows import ACCOUNT_COLUMNS, voter_on_link_from_row

_LAST_VOTE = "SELECT * FROM ledger WHERE {terms} ORDER BY created_at DESC, id DESC LIMIT 1"
# The account ($1 the user, $2 the link), an earlier penalty, whether the member's name is
# hidden, and the vote that limits the next: the member's own if they have an account, else the
# link's shared anonymous one; each of the two written as its partial index of migration 0002
# expects.
VOTER_ON_LINK_SQL = f"""
    SELECT {", ".join(f"accounts.{c} AS account_{c}" for c in ACCOUNT_COLUMNS)},
        EXISTS ({PENALTY_OF_USER_ON_LINK_SQL}) AS had_penalty,
        EXISTS (SELECT 1 FROM member_privacy AS privacy
            WHERE privacy.user_id = asked.user_id AND privacy.name_hidden) AS name_hidden,
        last.*
    FROM (SELECT $1::bigint AS user_id) AS asked
    LEFT JOIN accounts ON accounts.user_id = asked.user_id
    LEFT JOIN LATERAL (
        ({_LAST_VOTE.format(terms=same_voter(anonymous=False, link="$2", user="$1"))})
        UNION ALL
        ({_LAST_VOTE.format(terms=same_voter(anonymous=True, link="$2", user=""))})
    ) AS last ON last.anonymous = (accounts.user_id IS NULL)
"""


class VoterStore(SqlStore):
    """The reads before a vote, as one query instead of three round trips."""

    async def voter_on_link(self, user_id: int, link_id: int) -> VoterOnLink:
        (row,) = await self._fetch(VOTER_ON_LINK_SQL, user_id, link_id)
        return voter_on_link_from_row(row, self._cipher)
