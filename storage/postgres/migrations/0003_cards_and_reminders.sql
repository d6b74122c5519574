-- Link cards (messages with vote buttons) and opt-in reminders (mirrors SQLite's 0003).

CREATE TABLE link_cards (
    message_id bigint PRIMARY KEY,
    link_id bigint NOT NULL REFERENCES channel_links (id) ON DELETE CASCADE,
    channel_id bigint NOT NULL,
    posted_at bigint NOT NULL
);
CREATE INDEX link_cards_by_link ON link_cards (link_id);

CREATE TABLE reminder_subscribers (
    user_id bigint PRIMARY KEY,
    since bigint NOT NULL
);

CREATE TABLE reminders_sent (
    ledger_id bigint PRIMARY KEY REFERENCES ledger (id),
    sent_at bigint NOT NULL,
    delivered boolean NOT NULL
);
