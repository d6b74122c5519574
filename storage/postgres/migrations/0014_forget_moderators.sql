-- Forgetting a member also forgets them as a moderator and a proposer (mirrors SQLite's 0014): the
-- links they set up stay with added_by 0, and their open link proposals are withdrawn with the
-- tokens they proposed.

CREATE OR REPLACE FUNCTION forget_member() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM accounts WHERE user_id = NEW.user_id;
    DELETE FROM reminder_subscribers WHERE user_id = NEW.user_id;
    DELETE FROM member_privacy WHERE user_id = NEW.user_id;
    UPDATE ledger SET user_id = 0, voter_name = NULL
    WHERE user_id = NEW.user_id AND status <> 'pending';
    UPDATE channel_links SET added_by = 0 WHERE added_by = NEW.user_id;
    DELETE FROM link_proposals WHERE proposer_id = NEW.user_id;
    DELETE FROM forget_requests WHERE user_id = NEW.user_id;
    RETURN NULL;
END;
$$;
