-- Keep the ledger's questions fast at hundreds of thousands of rows (mirrors SQLite's 0002).

CREATE INDEX ledger_counted_identified ON ledger (user_id, link_id, created_at)
    WHERE game = 'link' AND NOT dom AND NOT anonymous
        AND status IN ('played', 'unknown', 'pending');

CREATE INDEX ledger_counted_anonymous ON ledger (link_id, created_at)
    WHERE game = 'link' AND NOT dom AND anonymous
        AND status IN ('played', 'unknown', 'pending');

CREATE INDEX ledger_played_votes ON ledger (user_id)
    WHERE game = 'link' AND NOT dom AND status = 'played';

CREATE INDEX ledger_by_guild ON ledger (guild_id, created_at);
CREATE INDEX ledger_by_channel ON ledger (channel_id, created_at);
CREATE INDEX ledger_by_status ON ledger (status, created_at);
CREATE INDEX ledger_by_link ON ledger (link_id);
