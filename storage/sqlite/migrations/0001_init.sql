-- Tables. Times are integer microseconds since the Unix epoch, UTC. Secrets are Fernet ciphertext.
-- A migration file runs inside one transaction opened by the runner: no BEGIN or COMMIT here.

CREATE TABLE meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID;

CREATE TABLE accounts (
    user_id INTEGER PRIMARY KEY,
    api_token BLOB NOT NULL,
    default_session INTEGER,
    connected_at INTEGER NOT NULL,
    last_used_at INTEGER,
    token_rejected INTEGER NOT NULL DEFAULT 0 CHECK (token_rejected IN (0, 1))
);

-- AUTOINCREMENT: a removed link's id is never given to another link, so an old vote button
-- or ledger row can never point at the wrong one.
CREATE TABLE channel_links (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    guild_id INTEGER NOT NULL,
    channel_id INTEGER NOT NULL,
    name TEXT NOT NULL COLLATE NOCASE,
    link_token BLOB NOT NULL,
    vote_interval TEXT NOT NULL DEFAULT 'daily' CHECK (vote_interval IN ('once', 'daily')),
    anonymous_allowed INTEGER NOT NULL DEFAULT 1 CHECK (anonymous_allowed IN (0, 1)),
    added_by INTEGER NOT NULL,
    added_at INTEGER NOT NULL,
    session_id INTEGER,
    UNIQUE (guild_id, channel_id, name)
);

CREATE TABLE guild_settings (
    guild_id INTEGER PRIMARY KEY,
    voter_role_id INTEGER,
    log_channel_id INTEGER
);

-- Every game call: inserted as 'pending' before it is sent, finished once afterwards.
CREATE TABLE ledger (
    id INTEGER PRIMARY KEY,
    created_at INTEGER NOT NULL,
    finished_at INTEGER,
    user_id INTEGER NOT NULL,
    guild_id INTEGER,
    channel_id INTEGER,
    link_id INTEGER REFERENCES channel_links (id) ON DELETE SET NULL,
    session_id INTEGER,
    game TEXT NOT NULL CHECK (game IN ('dice', 'luck', 'link')),
    dom INTEGER NOT NULL CHECK (dom IN (0, 1)),
    vote_type TEXT CHECK (vote_type IN ('add', 'sub', 'rand')),
    anonymous INTEGER NOT NULL CHECK (anonymous IN (0, 1)),
    status TEXT NOT NULL DEFAULT 'pending'
        CHECK (status IN ('pending', 'played', 'refused', 'unknown')),
    operation TEXT,
    seconds INTEGER,
    multiplier REAL,
    penalty INTEGER NOT NULL DEFAULT 0 CHECK (penalty IN (0, 1)),
    scheduled_end INTEGER,
    reason TEXT,
    message TEXT
);
