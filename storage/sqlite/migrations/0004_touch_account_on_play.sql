-- A played call of a connected member marks their account as used, inside the statement that
-- records the play: the ledger and the account cannot disagree, and a vote costs one write less.
CREATE TRIGGER ledger_played_touches_account
AFTER UPDATE OF status ON ledger
FOR EACH ROW
WHEN NEW.status = 'played' AND OLD.status = 'pending' AND NEW.anonymous = 0
BEGIN
    UPDATE accounts SET last_used_at = NEW.finished_at WHERE user_id = NEW.user_id;
END;
