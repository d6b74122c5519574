-- Forgetting a member also forgets them as a moderator and a proposer: the links they set up stay
-- and say nobody set them up (added_by 0, as a forgotten voter's ledger rows), and their open link
-- proposals are withdrawn with the tokens they proposed. The rest is 0011's.

DROP TRIGGER forget_member;

CREATE TRIGGER forget_member
AFTER INSERT ON forget_requests
FOR EACH ROW
BEGIN
    DELETE FROM accounts WHERE user_id = NEW.user_id;
    DELETE FROM reminder_subscribers WHERE user_id = NEW.user_id;
    DELETE FROM member_privacy WHERE user_id = NEW.user_id;
    UPDATE ledger SET user_id = 0, voter_name = NULL
    WHERE user_id = NEW.user_id AND status <> 'pending';
    UPDATE channel_links SET added_by = 0 WHERE added_by = NEW.user_id;
    DELETE FROM link_proposals WHERE proposer_id = NEW.user_id;
    DELETE FROM forget_requests WHERE user_id = NEW.user_id;
END;
