-- The bot never lists a guild's or a channel's calls: these indexes served only test queries, and
-- every vote paid for them twice (its pending row, then its outcome).
DROP INDEX ledger_by_guild;
DROP INDEX ledger_by_channel;
-- Only the start-up recovery asks for calls by status, and only for pending ones: a partial index
-- holds just those. An index of every status also drew the planner to read all played votes when
-- a card asked for its link's last one.
DROP INDEX ledger_by_status;
CREATE INDEX ledger_pending ON ledger (status) WHERE status = 'pending';
