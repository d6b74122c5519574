-- Link cards (messages with vote buttons) and opt-in reminders.

-- A card disappears with its link; the link's removal first disables the card's message.
CREATE TABLE link_cards (
    message_id INTEGER PRIMARY KEY,
    link_id INTEGER NOT NULL REFERENCES channel_links (id) ON DELETE CASCADE,
    channel_id INTEGER NOT NULL,
    posted_at INTEGER NOT NULL
);
CREATE INDEX link_cards_by_link ON link_cards (link_id);

CREATE TABLE reminder_subscribers (
    user_id INTEGER PRIMARY KEY,
    since INTEGER NOT NULL
);

-- One reminder per reopening: keyed by the vote whose limit ran out.
CREATE TABLE reminders_sent (
    ledger_id INTEGER PRIMARY KEY REFERENCES ledger (id),
    sent_at INTEGER NOT NULL,
    delivered INTEGER NOT NULL CHECK (delivered IN (0, 1))
);
