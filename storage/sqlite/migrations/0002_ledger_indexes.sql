-- Keep the ledger's questions fast at hundreds of thousands of rows.
-- The partial indexes' WHERE clauses are repeated word for word in storage/ledger.py: SQLite uses a
-- partial index only when the query contains the same terms.

-- A connected member's votes: last vote on one link, latest vote per link.
CREATE INDEX ledger_counted_identified ON ledger (user_id, link_id, created_at)
    WHERE game = 'link' AND dom = 0 AND anonymous = 0
        AND status IN ('played', 'unknown', 'pending');

-- The one shared anonymous vote of a link.
CREATE INDEX ledger_counted_anonymous ON ledger (link_id, created_at)
    WHERE game = 'link' AND dom = 0 AND anonymous = 1
        AND status IN ('played', 'unknown', 'pending');

-- A member's played public votes, counted.
CREATE INDEX ledger_played_votes ON ledger (user_id)
    WHERE game = 'link' AND dom = 0 AND status = 'played';

CREATE INDEX ledger_by_guild ON ledger (guild_id, created_at);
CREATE INDEX ledger_by_channel ON ledger (channel_id, created_at);
CREATE INDEX ledger_by_status ON ledger (status, created_at);
-- Lets removing a link find the rows whose link_id becomes NULL.
CREATE INDEX ledger_by_link ON ledger (link_id);
