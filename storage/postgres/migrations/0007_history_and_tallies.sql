-- History, export and statistics of a link, and link cards that no longer sum the ledger
-- (mirrors SQLite's 0007).

-- The member's display name when they voted with their account, for moderators' exports.
ALTER TABLE ledger ADD COLUMN voter_name text;

DROP INDEX ledger_by_link;
CREATE INDEX ledger_by_link ON ledger (link_id, created_at);
CREATE INDEX ledger_by_user ON ledger (user_id, created_at);

-- Played public votes of a link per UTC day (`day`: days since the Unix epoch).
CREATE TABLE link_days (
    link_id bigint NOT NULL REFERENCES channel_links (id) ON DELETE CASCADE,
    day integer NOT NULL,
    identified bigint NOT NULL DEFAULT 0,
    anonymous bigint NOT NULL DEFAULT 0,
    adds bigint NOT NULL DEFAULT 0,
    subs bigint NOT NULL DEFAULT 0,
    seconds_added bigint NOT NULL DEFAULT 0,
    seconds_removed bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (link_id, day)
);

-- A link's played public votes in total, and its latest (by the time it was cast).
CREATE TABLE link_totals (
    link_id bigint PRIMARY KEY REFERENCES channel_links (id) ON DELETE CASCADE,
    identified bigint NOT NULL DEFAULT 0,
    anonymous bigint NOT NULL DEFAULT 0,
    seconds_added bigint NOT NULL DEFAULT 0,
    seconds_removed bigint NOT NULL DEFAULT 0,
    last_played_id bigint NOT NULL,
    last_played_at bigint NOT NULL
);

-- The terms of a played public vote (storage.postgres.ledger), on the row just played.
CREATE FUNCTION ledger_played_counts_for_link() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    added bigint := CASE WHEN NEW.operation = 'ADD' THEN coalesce(NEW.seconds, 0) ELSE 0 END;
    removed bigint := CASE WHEN NEW.operation = 'SUB' THEN coalesce(NEW.seconds, 0) ELSE 0 END;
BEGIN
    INSERT INTO link_days AS d (link_id, day, identified, anonymous, adds, subs, seconds_added,
                                seconds_removed)
    VALUES (
        NEW.link_id,
        NEW.created_at / 86400000000,
        (NOT NEW.anonymous)::int,
        NEW.anonymous::int,
        (NEW.operation IS NOT DISTINCT FROM 'ADD')::int,
        (NEW.operation IS NOT DISTINCT FROM 'SUB')::int,
        added,
        removed
    )
    ON CONFLICT (link_id, day) DO UPDATE SET
        identified = d.identified + excluded.identified,
        anonymous = d.anonymous + excluded.anonymous,
        adds = d.adds + excluded.adds,
        subs = d.subs + excluded.subs,
        seconds_added = d.seconds_added + excluded.seconds_added,
        seconds_removed = d.seconds_removed + excluded.seconds_removed;
    INSERT INTO link_totals AS t (link_id, identified, anonymous, seconds_added, seconds_removed,
                                  last_played_id, last_played_at)
    VALUES (
        NEW.link_id,
        (NOT NEW.anonymous)::int,
        NEW.anonymous::int,
        added,
        removed,
        NEW.id,
        NEW.created_at
    )
    ON CONFLICT (link_id) DO UPDATE SET
        identified = t.identified + excluded.identified,
        anonymous = t.anonymous + excluded.anonymous,
        seconds_added = t.seconds_added + excluded.seconds_added,
        seconds_removed = t.seconds_removed + excluded.seconds_removed,
        last_played_id = CASE
            WHEN (excluded.last_played_at, excluded.last_played_id)
                > (t.last_played_at, t.last_played_id)
            THEN excluded.last_played_id ELSE t.last_played_id END,
        last_played_at = greatest(t.last_played_at, excluded.last_played_at);
    RETURN NULL;
END;
$$;

CREATE TRIGGER ledger_played_counts_for_link
AFTER UPDATE OF status ON ledger
FOR EACH ROW
WHEN (NEW.status = 'played' AND OLD.status = 'pending' AND NEW.game = 'link' AND NOT NEW.dom
    AND NEW.link_id IS NOT NULL)
EXECUTE FUNCTION ledger_played_counts_for_link();

-- The votes played before this migration.
INSERT INTO link_days (link_id, day, identified, anonymous, adds, subs, seconds_added,
                       seconds_removed)
SELECT
    link_id,
    created_at / 86400000000,
    count(*) FILTER (WHERE NOT anonymous),
    count(*) FILTER (WHERE anonymous),
    count(*) FILTER (WHERE operation = 'ADD'),
    count(*) FILTER (WHERE operation = 'SUB'),
    coalesce(sum(seconds) FILTER (WHERE operation = 'ADD'), 0),
    coalesce(sum(seconds) FILTER (WHERE operation = 'SUB'), 0)
FROM ledger
WHERE link_id IS NOT NULL AND game = 'link' AND NOT dom AND status = 'played'
GROUP BY link_id, created_at / 86400000000;

INSERT INTO link_totals (link_id, identified, anonymous, seconds_added, seconds_removed,
                         last_played_id, last_played_at)
SELECT DISTINCT ON (link_id)
    link_id,
    count(*) FILTER (WHERE NOT anonymous) OVER whole,
    count(*) FILTER (WHERE anonymous) OVER whole,
    coalesce(sum(seconds) FILTER (WHERE operation = 'ADD') OVER whole, 0),
    coalesce(sum(seconds) FILTER (WHERE operation = 'SUB') OVER whole, 0),
    id,
    created_at
FROM ledger
WHERE link_id IS NOT NULL AND game = 'link' AND NOT dom AND status = 'played'
WINDOW whole AS (PARTITION BY link_id)
ORDER BY link_id, created_at DESC, id DESC;
