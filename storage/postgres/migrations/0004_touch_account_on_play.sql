-- A played call of a connected member marks their account as used, inside the statement that
-- records the play (mirrors SQLite's 0004).
CREATE FUNCTION ledger_played_touches_account() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE accounts SET last_used_at = NEW.finished_at WHERE user_id = NEW.user_id;
    RETURN NULL;
END;
$$;

CREATE TRIGGER ledger_played_touches_account
AFTER UPDATE OF status ON ledger
FOR EACH ROW
WHEN (NEW.status = 'played' AND OLD.status = 'pending' AND NOT NEW.anonymous)
EXECUTE FUNCTION ledger_played_touches_account();
