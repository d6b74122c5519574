-- A vote's pending row in one round trip (issue 25): the voter's advisory lock, the check of the
-- limit and the insert, in the one transaction of one statement, instead of BEGIN with the lock,
-- the insert and COMMIT. A lock held elsewhere for longer than lock_try_ms raises
-- lock_not_available (55P03) and the transaction ends; the bot tries again without holding a
-- connection. Returns the new row's id, or NULL when the voter has a counted vote after `since`.
-- The two questions are written out per kind of voter, each as its partial index of 0002 expects.
CREATE FUNCTION begin_vote(
    lock_key bigint, lock_try_ms integer, since bigint,
    p_link_id bigint, p_anonymous boolean, p_user_id bigint, p_created_at bigint,
    p_guild_id bigint, p_channel_id bigint, p_session_id bigint, p_game text, p_dom boolean,
    p_vote_type text, p_interaction_id bigint, p_boot_id integer, p_voter_name text
) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    session_lock_timeout text := current_setting('lock_timeout');
    new_id bigint;
BEGIN
    PERFORM set_config('lock_timeout', lock_try_ms::text, true);
    PERFORM pg_advisory_xact_lock(lock_key);
    PERFORM set_config('lock_timeout', session_lock_timeout, true);
    IF p_anonymous THEN
        PERFORM 1 FROM ledger
        WHERE link_id = p_link_id AND anonymous
            AND game = 'link' AND NOT dom AND status IN ('played', 'unknown', 'pending')
            AND created_at > since;
    ELSE
        PERFORM 1 FROM ledger
        WHERE link_id = p_link_id AND NOT anonymous AND user_id = p_user_id
            AND game = 'link' AND NOT dom AND status IN ('played', 'unknown', 'pending')
            AND created_at > since;
    END IF;
    IF FOUND THEN
        RETURN NULL;
    END IF;
    INSERT INTO ledger (link_id, anonymous, user_id, created_at, guild_id, channel_id,
                        session_id, game, dom, vote_type, interaction_id, boot_id, voter_name)
    VALUES (p_link_id, p_anonymous, p_user_id, p_created_at, p_guild_id, p_channel_id,
            p_session_id, p_game, p_dom, p_vote_type, p_interaction_id, p_boot_id, p_voter_name)
    RETURNING id INTO new_id;
    RETURN new_id;
END
$$;
