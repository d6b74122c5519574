-- What keeps several processes (or a second delivery of one interaction) from playing twice:
-- enforced by the database, so it holds whichever process asks.

-- The Discord interaction a call answers: one call per interaction, whoever received it.
ALTER TABLE ledger ADD COLUMN interaction_id INTEGER;
CREATE UNIQUE INDEX ledger_one_call_per_interaction ON ledger (interaction_id)
    WHERE interaction_id IS NOT NULL;

-- The process life that wrote a pending row: start-up settles only rows of lives that ended.
ALTER TABLE ledger ADD COLUMN boot_id INTEGER;

-- At most one vote under way per link and voter (all anonymous votes of a link are one voter),
-- and one game call under way per member, whatever the game or session.
CREATE UNIQUE INDEX ledger_one_pending_vote
    ON ledger (link_id, (CASE WHEN anonymous = 1 THEN 0 ELSE user_id END))
    WHERE status = 'pending' AND game = 'link' AND dom = 0;
CREATE UNIQUE INDEX ledger_one_pending_game ON ledger (user_id)
    WHERE status = 'pending' AND (game <> 'link' OR dom = 1);

-- Which process edits a link's cards in the current refresh window.
CREATE TABLE card_refresh_claims (
    link_id INTEGER PRIMARY KEY REFERENCES channel_links (id) ON DELETE CASCADE,
    claimed_until INTEGER NOT NULL
);
