-- The bot never lists a guild's or a channel's calls, and asks for calls by status only at start-up,
-- for pending ones (mirrors SQLite's 0005).
DROP INDEX ledger_by_guild;
DROP INDEX ledger_by_channel;
DROP INDEX ledger_by_status;
CREATE INDEX ledger_pending ON ledger (status) WHERE status = 'pending';
