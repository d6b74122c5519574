-- Languages as Discord last showed them: a server's for its links' public messages, a member's for
-- the reminders they asked for; NULL: not seen yet (mirrors SQLite's 0006).
ALTER TABLE channel_links ADD COLUMN locale text;
ALTER TABLE reminder_subscribers ADD COLUMN locale text;
