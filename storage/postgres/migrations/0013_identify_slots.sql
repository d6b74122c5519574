-- Turns to IDENTIFY on Discord's gateway (mirrors SQLite's 0013): a bucket's row holds the start
-- of the latest slot a process took, in microseconds since the epoch by the server's clock.
CREATE TABLE identify_slots (
    bucket integer PRIMARY KEY,
    starts_at bigint NOT NULL
);
