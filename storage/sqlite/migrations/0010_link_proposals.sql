-- Links members propose (/propose) for moderators to approve. A row lives while its proposal is
-- open: approving, rejecting or expiry deletes it, and with it the proposed token.
CREATE TABLE link_proposals (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    guild_id INTEGER NOT NULL,
    channel_id INTEGER NOT NULL,
    proposer_id INTEGER NOT NULL,
    name TEXT,
    link_token BLOB NOT NULL,
    vote_interval TEXT NOT NULL CHECK (vote_interval IN ('once', 'daily')),
    anonymous_allowed INTEGER NOT NULL CHECK (anonymous_allowed IN (0, 1)),
    proposer_locale TEXT,
    guild_locale TEXT,
    created_at INTEGER NOT NULL,
    log_channel_id INTEGER,
    message_id INTEGER
);
-- One open proposal per member and server.
CREATE UNIQUE INDEX link_proposals_one_per_member ON link_proposals (guild_id, proposer_id);
CREATE INDEX link_proposals_by_age ON link_proposals (created_at);
