-- Privacy: members' choices about their name, servers' retention of voters, forgetting on request
-- (mirrors SQLite's 0011). A forgotten voter's ledger rows keep their figures; user_id becomes 0
-- (no Discord user has it) and voter_name NULL.

CREATE TABLE member_privacy (
    user_id bigint PRIMARY KEY,
    name_hidden boolean NOT NULL
);

CREATE TABLE guild_retention (
    guild_id bigint PRIMARY KEY,
    days integer NOT NULL CHECK (days > 0)
);

CREATE TABLE forget_requests (
    user_id bigint PRIMARY KEY
);

CREATE FUNCTION forget_member() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM accounts WHERE user_id = NEW.user_id;
    DELETE FROM reminder_subscribers WHERE user_id = NEW.user_id;
    DELETE FROM member_privacy WHERE user_id = NEW.user_id;
    UPDATE ledger SET user_id = 0, voter_name = NULL
    WHERE user_id = NEW.user_id AND status <> 'pending';
    DELETE FROM forget_requests WHERE user_id = NEW.user_id;
    RETURN NULL;
END;
$$;

CREATE TRIGGER forget_member
AFTER INSERT ON forget_requests
FOR EACH ROW EXECUTE FUNCTION forget_member();
