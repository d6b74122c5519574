"""PostgreSQL's questions for history, export and statistics (see storage.sqlite.history)."""

from __future__ import annotations

from storage.postgres.votes import PLAYED_VOTE

CALLS_ON_LINK_SQL = """
    SELECT * FROM ledger WHERE link_id = $1
    ORDER BY created_at DESC, id DESC
    LIMIT $2
"""
CALLS_OF_USER_SQL = """
    SELECT * FROM ledger WHERE user_id = $1
    ORDER BY created_at DESC, id DESC
    LIMIT $2
"""
# Keyset pages, oldest first: each page its own short statement.
EXPORT_FIRST_SQL = """
    SELECT * FROM ledger WHERE link_id = $1
    ORDER BY created_at, id
    LIMIT $2
"""
EXPORT_NEXT_SQL = """
    SELECT * FROM ledger WHERE link_id = $1 AND (created_at, id) > ($2, $3)
    ORDER BY created_at, id
    LIMIT $4
"""
DAYS_SQL = "SELECT * FROM link_days WHERE link_id = $1 AND day >= $2 ORDER BY day"
# sum() of bigint is numeric in PostgreSQL: cast back, so the row holds an int.
TOP_VOTERS_SQL = f"""
    SELECT user_id, count(*) AS votes,
        coalesce(
            sum(CASE operation WHEN 'ADD' THEN seconds WHEN 'SUB' THEN -seconds END), 0
        )::bigint AS net_seconds
    FROM ledger
    WHERE link_id = $1 AND created_at >= $2 AND NOT anonymous AND user_id <> 0
        AND {PLAYED_VOTE}
    GROUP BY user_id
    ORDER BY votes DESC, net_seconds DESC, user_id
    LIMIT $3
"""
# The latest reported end in each slice of the period.
ENDS_SQL = f"""
    SELECT at, scheduled_end, penalty FROM (
        SELECT DISTINCT ON ((created_at - $3) / $4)
            created_at AS at, scheduled_end, penalty
        FROM ledger
        WHERE link_id = $1 AND created_at >= $2 AND {PLAYED_VOTE} AND scheduled_end IS NOT NULL
        ORDER BY (created_at - $3) / $4, created_at DESC, id DESC
    ) AS slices
    ORDER BY at
"""
PENALTIES_SQL = f"""
    SELECT created_at AS at, scheduled_end, penalty
    FROM ledger
    WHERE link_id = $1 AND created_at >= $2 AND {PLAYED_VOTE} AND penalty
        AND scheduled_end IS NOT NULL
    ORDER BY created_at DESC
    LIMIT $3
"""
LAST_PLAYED_SQL = """
    SELECT ledger.* FROM link_totals JOIN ledger ON ledger.id = link_totals.last_played_id
    WHERE link_totals.link_id = $1
"""
