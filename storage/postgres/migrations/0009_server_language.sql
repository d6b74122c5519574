-- The language a server's managers chose for its public messages (/config language); NULL:
-- follow Discord's server language (mirrors SQLite's 0009).
ALTER TABLE guild_settings ADD COLUMN language text;
