-- Turns to IDENTIFY on Discord's gateway, shared by every process on this database. Discord takes
-- one IDENTIFY per bucket (shard id % max_concurrency) per 5 s and refuses more; a bucket's row
-- holds the start of the latest slot a process took (microseconds since the epoch, by the
-- database's clock), and the next process takes the one after it.
CREATE TABLE identify_slots (
    bucket INTEGER PRIMARY KEY,
    starts_at INTEGER NOT NULL
);
