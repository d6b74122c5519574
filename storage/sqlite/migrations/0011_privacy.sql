-- Privacy: members' choices about their name, servers' retention of voters, forgetting on request.
-- A ledger row whose voter is forgotten keeps its figures (tallies, cards and statistics stay as
-- they were); its user_id becomes 0, which no Discord user has (snowflakes are positive), and its
-- voter_name NULL. storage.rows.FORMER_MEMBER names that 0.

-- Members who asked that public results and cards say "a member" instead of naming them.
CREATE TABLE member_privacy (
    user_id INTEGER PRIMARY KEY,
    name_hidden INTEGER NOT NULL CHECK (name_hidden IN (0, 1))
);

-- A server's choice: votes older than `days` lose their voter's id and name.
CREATE TABLE guild_retention (
    guild_id INTEGER PRIMARY KEY,
    days INTEGER NOT NULL CHECK (days > 0)
);

-- Forgetting a member is one INSERT here, written only while none of their calls is under way;
-- the trigger erases the rest in the same statement, and the request row with it.
CREATE TABLE forget_requests (
    user_id INTEGER PRIMARY KEY
);

CREATE TRIGGER forget_member
AFTER INSERT ON forget_requests
FOR EACH ROW
BEGIN
    DELETE FROM accounts WHERE user_id = NEW.user_id;
    DELETE FROM reminder_subscribers WHERE user_id = NEW.user_id;
    DELETE FROM member_privacy WHERE user_id = NEW.user_id;
    UPDATE ledger SET user_id = 0, voter_name = NULL
    WHERE user_id = NEW.user_id AND status <> 'pending';
    DELETE FROM forget_requests WHERE user_id = NEW.user_id;
END;
