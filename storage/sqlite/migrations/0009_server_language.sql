-- The language a server's managers chose for its public messages (/config language): a code of
-- ours (`en`, `de`, `fr`). NULL: follow Discord's server language (`guild_locale`), which
-- Discord reports as en-US for every server that is not a Community server.
ALTER TABLE guild_settings ADD COLUMN language TEXT;
