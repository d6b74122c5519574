-- Languages as Discord last showed them: a server's (`guild_locale`) for the public messages of
-- its links, which card edits outside any interaction need too, and a member's (`locale`) for
-- the reminder DMs they asked for. NULL: not seen yet (English).
ALTER TABLE channel_links ADD COLUMN locale TEXT;
ALTER TABLE reminder_subscribers ADD COLUMN locale TEXT;
