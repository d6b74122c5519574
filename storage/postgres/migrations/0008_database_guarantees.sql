-- What keeps several processes (or a second delivery of one interaction) from playing twice:
-- enforced by the database, so it holds whichever process asks (mirrors SQLite's 0008).

ALTER TABLE ledger ADD COLUMN interaction_id bigint;
CREATE UNIQUE INDEX ledger_one_call_per_interaction ON ledger (interaction_id)
    WHERE interaction_id IS NOT NULL;

-- The process life that wrote a pending row; it holds an advisory lock on it while it runs.
ALTER TABLE ledger ADD COLUMN boot_id integer;

CREATE UNIQUE INDEX ledger_one_pending_vote
    ON ledger (link_id, (CASE WHEN anonymous THEN 0 ELSE user_id END))
    WHERE status = 'pending' AND game = 'link' AND NOT dom;
CREATE UNIQUE INDEX ledger_one_pending_game ON ledger (user_id)
    WHERE status = 'pending' AND (game <> 'link' OR dom);

CREATE TABLE card_refresh_claims (
    link_id bigint PRIMARY KEY REFERENCES channel_links (id) ON DELETE CASCADE,
    claimed_until bigint NOT NULL
);
