-- Browser sign-in for the authorization and settings pages: sessions, throttling of failed
-- sign-ins per email and per address, sign-up, sign-out, password changes.

-- How many failures a throttle key allows within its window, and how long it then locks.
CREATE FUNCTION _throttle_policy(key text, OUT max_failures integer, OUT period interval, OUT lock_for interval)
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE split_part(key, ':', 1) WHEN 'email' THEN 5 WHEN 'ip' THEN 50 ELSE 10 END,
           CASE split_part(key, ':', 1) WHEN 'signup' THEN interval '1 hour' ELSE interval '15 minutes' END,
           CASE split_part(key, ':', 1) WHEN 'signup' THEN interval '1 hour' ELSE interval '15 minutes' END
$$;

-- Seconds until a throttle key unlocks, or NULL when it is not locked.
CREATE FUNCTION _locked_for(key text) RETURNS integer
LANGUAGE sql STABLE AS $$
    SELECT ceil(extract(epoch FROM t.locked_until - now()))::integer
      FROM quarry.sign_in_throttle t WHERE t.key = _locked_for.key AND t.locked_until > now()
$$;

-- Counts one failure against a key; locks the key when its window's allowance is used up.
CREATE FUNCTION _count_failure(key text) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    p record := quarry._throttle_policy(key);
    v_failures integer;
BEGIN
    INSERT INTO quarry.sign_in_throttle AS t (key, failures, window_started_at)
    VALUES (_count_failure.key, 1, now())
    ON CONFLICT ON CONSTRAINT sign_in_throttle_pkey DO UPDATE
       SET failures = CASE WHEN t.window_started_at < now() - p.period THEN 1 ELSE t.failures + 1 END,
           window_started_at = CASE WHEN t.window_started_at < now() - p.period THEN now() ELSE t.window_started_at END
    RETURNING t.failures INTO v_failures;
    IF v_failures >= p.max_failures THEN
        UPDATE quarry.sign_in_throttle t SET locked_until = now() + p.lock_for, failures = 0, window_started_at = now()
         WHERE t.key = _count_failure.key;
    END IF;
END $$;

CREATE FUNCTION _throttle_keys(email text, client_ip inet) RETURNS text[]
LANGUAGE sql IMMUTABLE AS $$
    SELECT array_remove(ARRAY['email:' || lower(btrim(email)), 'ip:' || host(client_ip)], NULL)
$$;

CREATE FUNCTION _create_session(account_id bigint, client_ip inet, user_agent text, ttl interval) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
    v_token text := 'qss_' || quarry._random_token(32);
    v_csrf text := quarry._random_token(24);
    v_expires timestamptz := now() + coalesce(ttl, interval '12 hours');
BEGIN
    INSERT INTO quarry.web_sessions (token_hash, account_id, csrf_token, expires_at, client_ip, user_agent)
    VALUES (quarry._hash_token(v_token), account_id, v_csrf, v_expires, client_ip, left(user_agent, 500));
    RETURN jsonb_build_object('ok', true, 'account_id', account_id, 'session', v_token, 'csrf', v_csrf,
                              'expires_at', v_expires);
END $$;

-- Checks a sign-in with the throttling every password sign-in gets (the sign-in page's and the
-- SQLBot-compatible front's): {ok: true, account_id}, or {ok: false, reason: 'invalid'} (wrong
-- email or password, or a disabled account: the same answer), or {ok: false, reason: 'throttled',
-- retry_after} after too many failures for that email (5 in 15 minutes) or that address (50 in
-- 15 minutes). A failure counts against both; a success clears the email's count.
CREATE FUNCTION _check_sign_in(email text, password text, client_ip inet) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
    v_keys text[] := quarry._throttle_keys(coalesce(email, ''), client_ip);
    v_wait integer;
    v_account bigint;
BEGIN
    SELECT max(quarry._locked_for(k)) INTO v_wait FROM unnest(v_keys) k;
    IF v_wait IS NOT NULL THEN
        RETURN jsonb_build_object('ok', false, 'reason', 'throttled', 'retry_after', v_wait);
    END IF;
    v_account := quarry.verify_password(email, password);
    IF v_account IS NULL THEN
        PERFORM quarry._count_failure(k) FROM unnest(v_keys) k;
        RETURN jsonb_build_object('ok', false, 'reason', 'invalid');
    END IF;
    DELETE FROM quarry.sign_in_throttle t WHERE t.key = v_keys[1];
    RETURN jsonb_build_object('ok', true, 'account_id', v_account);
END $$;

-- Signs in with email and password. Returns {ok: true, account_id, session, csrf, expires_at}, or
-- {ok: false, reason: 'invalid'} or {ok: false, reason: 'throttled', retry_after} as
-- _check_sign_in says.
CREATE FUNCTION sign_in(email text, password text, client_ip inet, user_agent text,
                        session_ttl interval DEFAULT '12 hours') RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
    v_checked jsonb := quarry._check_sign_in(email, password, client_ip);
BEGIN
    IF NOT (v_checked->>'ok')::boolean THEN
        RETURN v_checked;
    END IF;
    RETURN quarry._create_session((v_checked->>'account_id')::bigint, client_ip, user_agent, session_ttl);
END $$;

-- Creates an account (with no database role and no team: a DBA grants those) and signs it in.
-- Returns as sign_in does, or {ok: false, reason: 'exists'} when the email is taken. At most 10
-- attempts an hour from one address. Other bad input raises as create_account does.
CREATE FUNCTION sign_up(email text, password text, display_name text, client_ip inet, user_agent text,
                        session_ttl interval DEFAULT '12 hours') RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
    v_key text := 'signup:' || coalesce(host(client_ip), 'unknown');
    v_wait integer := quarry._locked_for(v_key);
    v_account bigint;
BEGIN
    IF v_wait IS NOT NULL THEN
        RETURN jsonb_build_object('ok', false, 'reason', 'throttled', 'retry_after', v_wait);
    END IF;
    -- Every attempt counts, taken or not, so sign-up cannot be used to test addresses quickly.
    PERFORM quarry._count_failure(v_key);
    BEGIN
        v_account := quarry.create_account(email, quarry._check_password_policy(password), nullif(btrim(display_name), ''));
    EXCEPTION WHEN unique_violation THEN
        RETURN jsonb_build_object('ok', false, 'reason', 'exists');
    END;
    RETURN quarry._create_session(v_account, client_ip, user_agent, session_ttl);
END $$;

-- The signed-in account of a session cookie, or NULL for an unknown, ended or expired session or a
-- disabled account. Notes the use at most once a minute.
CREATE FUNCTION session(token text) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
    v_hash bytea := quarry._hash_token(coalesce(token, ''));
    v_result jsonb;
BEGIN
    SELECT jsonb_build_object('account_id', a.id, 'email', a.email, 'display_name', a.display_name,
                              'csrf', s.csrf_token, 'expires_at', s.expires_at)
      INTO v_result
      FROM quarry.web_sessions s JOIN quarry.accounts a ON a.id = s.account_id
     WHERE s.token_hash = v_hash AND s.expires_at > now() AND NOT a.disabled;
    IF v_result IS NOT NULL THEN
        UPDATE quarry.web_sessions s SET last_seen_at = now()
         WHERE s.token_hash = v_hash AND s.last_seen_at < now() - interval '1 minute';
    END IF;
    RETURN v_result;
END $$;

CREATE FUNCTION sign_out(token text) RETURNS void
LANGUAGE sql AS $$
    DELETE FROM quarry.web_sessions s WHERE s.token_hash = quarry._hash_token(coalesce(token, ''))
$$;

-- Changes a signed-in account's password after checking the current one; every other session of
-- the account ends. Returns false when the current password is wrong.
CREATE FUNCTION change_password(account_id bigint, current_password text, new_password text, keep_session text)
RETURNS boolean
LANGUAGE plpgsql AS $$
DECLARE
    v quarry.accounts := quarry._account(account_id, lock => true);
BEGIN
    IF current_password IS NULL OR NOT quarry._verify_password(v.password_hash, current_password) THEN
        RETURN false;
    END IF;
    PERFORM quarry.set_password(v.id, new_password);
    DELETE FROM quarry.web_sessions s
     WHERE s.account_id = v.id AND s.token_hash <> quarry._hash_token(coalesce(keep_session, ''));
    RETURN true;
END $$;
