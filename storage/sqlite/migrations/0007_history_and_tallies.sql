-- History, export and statistics of a link, and link cards that no longer sum the ledger.

-- The member's display name when they voted with their account, for moderators' exports.
-- NULL for anonymous votes and for calls recorded before this migration.
ALTER TABLE ledger ADD COLUMN voter_name TEXT;

-- A link's calls in time order (history, export, statistics); removing a link still finds its
-- rows through it.
DROP INDEX ledger_by_link;
CREATE INDEX ledger_by_link ON ledger (link_id, created_at);
-- A member's own calls, newest first (/account history).
CREATE INDEX ledger_by_user ON ledger (user_id, created_at);

-- Played public votes of a link per UTC day (`day`: days since the Unix epoch), kept up to date
-- by the trigger below as votes settle: cards and statistics read a few rows, not the ledger.
CREATE TABLE link_days (
    link_id INTEGER NOT NULL REFERENCES channel_links (id) ON DELETE CASCADE,
    day INTEGER NOT NULL,
    identified INTEGER NOT NULL DEFAULT 0,
    anonymous INTEGER NOT NULL DEFAULT 0,
    adds INTEGER NOT NULL DEFAULT 0,
    subs INTEGER NOT NULL DEFAULT 0,
    seconds_added INTEGER NOT NULL DEFAULT 0,
    seconds_removed INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (link_id, day)
) WITHOUT ROWID;

-- A link's played public votes in total, and its latest (by the time it was cast).
CREATE TABLE link_totals (
    link_id INTEGER PRIMARY KEY REFERENCES channel_links (id) ON DELETE CASCADE,
    identified INTEGER NOT NULL DEFAULT 0,
    anonymous INTEGER NOT NULL DEFAULT 0,
    seconds_added INTEGER NOT NULL DEFAULT 0,
    seconds_removed INTEGER NOT NULL DEFAULT 0,
    last_played_id INTEGER NOT NULL,
    last_played_at INTEGER NOT NULL
);

-- The terms of storage.ledger.PLAYED_VOTE, on the row that has just been played.
CREATE TRIGGER ledger_played_counts_for_link
AFTER UPDATE OF status ON ledger
FOR EACH ROW
WHEN NEW.status = 'played' AND OLD.status = 'pending' AND NEW.game = 'link' AND NEW.dom = 0
    AND NEW.link_id IS NOT NULL
BEGIN
    INSERT INTO link_days (link_id, day, identified, anonymous, adds, subs, seconds_added,
                           seconds_removed)
    VALUES (
        NEW.link_id,
        NEW.created_at / 86400000000,
        NEW.anonymous = 0,
        NEW.anonymous = 1,
        NEW.operation IS 'ADD',
        NEW.operation IS 'SUB',
        CASE WHEN NEW.operation IS 'ADD' THEN coalesce(NEW.seconds, 0) ELSE 0 END,
        CASE WHEN NEW.operation IS 'SUB' THEN coalesce(NEW.seconds, 0) ELSE 0 END
    )
    ON CONFLICT (link_id, day) DO UPDATE SET
        identified = identified + excluded.identified,
        anonymous = anonymous + excluded.anonymous,
        adds = adds + excluded.adds,
        subs = subs + excluded.subs,
        seconds_added = seconds_added + excluded.seconds_added,
        seconds_removed = seconds_removed + excluded.seconds_removed;
    INSERT INTO link_totals (link_id, identified, anonymous, seconds_added, seconds_removed,
                             last_played_id, last_played_at)
    VALUES (
        NEW.link_id,
        NEW.anonymous = 0,
        NEW.anonymous = 1,
        CASE WHEN NEW.operation IS 'ADD' THEN coalesce(NEW.seconds, 0) ELSE 0 END,
        CASE WHEN NEW.operation IS 'SUB' THEN coalesce(NEW.seconds, 0) ELSE 0 END,
        NEW.id,
        NEW.created_at
    )
    ON CONFLICT (link_id) DO UPDATE SET
        identified = identified + excluded.identified,
        anonymous = anonymous + excluded.anonymous,
        seconds_added = seconds_added + excluded.seconds_added,
        seconds_removed = seconds_removed + excluded.seconds_removed,
        last_played_id = CASE
            WHEN (excluded.last_played_at, excluded.last_played_id) > (last_played_at, last_played_id)
            THEN excluded.last_played_id ELSE last_played_id END,
        last_played_at = max(last_played_at, excluded.last_played_at);
END;

-- The votes played before this migration.
INSERT INTO link_days (link_id, day, identified, anonymous, adds, subs, seconds_added,
                       seconds_removed)
SELECT
    link_id,
    created_at / 86400000000,
    sum(anonymous = 0),
    sum(anonymous = 1),
    sum(operation IS 'ADD'),
    sum(operation IS 'SUB'),
    coalesce(sum(seconds) FILTER (WHERE operation = 'ADD'), 0),
    coalesce(sum(seconds) FILTER (WHERE operation = 'SUB'), 0)
FROM ledger
WHERE link_id IS NOT NULL AND game = 'link' AND dom = 0 AND status = 'played'
GROUP BY link_id, created_at / 86400000000;

INSERT INTO link_totals (link_id, identified, anonymous, seconds_added, seconds_removed,
                         last_played_id, last_played_at)
SELECT
    days.link_id,
    sum(days.identified),
    sum(days.anonymous),
    sum(days.seconds_added),
    sum(days.seconds_removed),
    (SELECT id FROM ledger
     WHERE link_id = days.link_id AND game = 'link' AND dom = 0 AND status = 'played'
     ORDER BY created_at DESC, id DESC LIMIT 1),
    (SELECT max(created_at) FROM ledger
     WHERE link_id = days.link_id AND game = 'link' AND dom = 0 AND status = 'played')
FROM link_days AS days
GROUP BY days.link_id;
