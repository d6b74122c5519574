"""PostgreSQL's one statement of what counts as a vote, and the ledger questions built on it."""

from __future__ import annotations


# A vote "counted" if the tracker may have recorded it: played, or sent without a known answer.
# The partial indexes of migration 0002 carry the same terms.
def counted_vote(row: str = "ledger") -> str:
    return (
        f"{row}.game = 'link' AND NOT {row}.dom"
        f" AND {row}.status IN ('played', 'unknown', 'pending')"
    )


COUNTED_VOTE = counted_vote()
PLAYED_VOTE = "game = 'link' AND NOT dom AND status = 'played'"


def same_voter(*, anonymous: bool, link: str, user: str) -> str:
    """Counted votes that limit the next: the member's own, or the link's one anonymous vote.

    Written out per kind of voter, so that each matches its partial index of migration 0002.
    """
    voter = "anonymous" if anonymous else f"NOT anonymous AND user_id = {user}"
    return f"link_id = {link} AND {voter} AND {COUNTED_VOTE}"


LAST_COUNTED_VOTE_SQL = {
    False: f"""
        SELECT * FROM ledger WHERE {same_voter(anonymous=False, link="$1", user="$2")}
        ORDER BY created_at DESC, id DESC LIMIT 1
    """,
    True: f"""
        SELECT * FROM ledger WHERE {same_voter(anonymous=True, link="$1", user="")}
        ORDER BY created_at DESC, id DESC LIMIT 1
    """,
}
LATEST_VOTES_OF_USER_SQL = f"""
    SELECT * FROM (
        SELECT DISTINCT ON (link_id) * FROM ledger
        WHERE user_id = $1 AND link_id IS NOT NULL AND NOT anonymous AND {COUNTED_VOTE}
        ORDER BY link_id, created_at DESC, id DESC
    ) AS latest
    ORDER BY created_at DESC, id DESC
"""
VOTE_COUNT_SQL = f"SELECT count(*) FROM ledger WHERE user_id = $1 AND {PLAYED_VOTE}"
PENALTY_OF_USER_ON_LINK_SQL = f"""
    SELECT 1 FROM ledger
    WHERE user_id = $1 AND link_id = $2 AND NOT anonymous AND {COUNTED_VOTE} AND penalty
    LIMIT 1
"""
# A link card's figures: kept up to date by the trigger of migration 0007 as votes are played.
TALLY_SQL = """
    SELECT totals.*,
        coalesce(today.identified, 0) AS identified_today,
        coalesce(today.anonymous, 0) AS anonymous_today
    FROM link_totals AS totals
    LEFT JOIN link_days AS today ON today.link_id = totals.link_id AND today.day = $2
    WHERE totals.link_id = $1
"""
# Written only if the voter has no counted vote after $13 (votes only; $13 NULL for games).
BEGIN_CALL_SQL = {
    anonymous: f"""
        INSERT INTO ledger (link_id, anonymous, user_id, created_at, guild_id, channel_id,
                            session_id, game, dom, vote_type, interaction_id, boot_id,
                            voter_name)
        SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $14
        WHERE $13::bigint IS NULL OR NOT EXISTS (
            SELECT 1 FROM ledger
            WHERE {same_voter(anonymous=anonymous, link="$1", user="$3")} AND created_at > $13
        )
        RETURNING id
    """
    for anonymous in (False, True)
}
# The member's latest counted vote per daily link, once its window has passed, if it reopened
# after they opted in and was not announced yet. A later vote replaces it.
DUE_REMINDERS_SQL = f"""
    SELECT l.id AS ledger_id, l.user_id, l.link_id, l.created_at,
           cl.name, cl.guild_id, cl.channel_id, s.locale
    FROM reminder_subscribers s
    JOIN ledger l ON l.user_id = s.user_id
    JOIN channel_links cl ON cl.id = l.link_id AND cl.vote_interval = 'daily'
    WHERE NOT l.anonymous AND {counted_vote("l")}
        AND l.created_at <= $1
        AND l.created_at + $2 >= s.since
        AND NOT EXISTS (
            SELECT 1 FROM ledger later
            WHERE later.user_id = l.user_id AND later.link_id = l.link_id
                AND NOT later.anonymous AND {counted_vote("later")}
                AND later.created_at > l.created_at
        )
        AND NOT EXISTS (SELECT 1 FROM reminders_sent r WHERE r.ledger_id = l.id)
    ORDER BY l.created_at
    LIMIT $3
"""
