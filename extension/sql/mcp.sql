-- What the MCP endpoint needs per request: one call that checks the bearer token and, when the
-- request names an MCP session, that the session belongs to the same account and client.

-- Checks a request to the MCP endpoint. Returns one row for a live access token for `audience`,
-- with session_status 'none' (no session named), 'ok', or 'unknown' (a session that does not
-- exist, has ended, or belongs to another account or client: all look the same). No row for a
-- bad token.
CREATE FUNCTION check_mcp_request(token text, audience text, session_id text)
RETURNS TABLE (account_id bigint, client_id text, scopes text[], session_status text)
LANGUAGE plpgsql AS $$
DECLARE
    v_hash bytea := quarry._hash_token(coalesce(token, ''));
    v record;
BEGIN
    -- One query for the token (checked as check_token checks it) and the session named: this runs
    -- on every MCP request.
    SELECT t.account_id, t.client_id, t.scopes, t.last_used_at, s.session_id AS session,
           s.ended_at, s.account_id AS session_account, s.client_id AS session_client, s.last_seen_at
      INTO v
      FROM quarry._live_access_token(v_hash, check_mcp_request.audience) t
      LEFT JOIN quarry.mcp_sessions s ON s.session_id = check_mcp_request.session_id;
    IF NOT FOUND THEN
        RETURN;
    END IF;
    IF v.last_used_at IS NULL OR v.last_used_at < now() - interval '1 minute' THEN
        UPDATE quarry.oauth_tokens t SET last_used_at = now()
         WHERE t.token_hash = v_hash AND (t.last_used_at IS NULL OR t.last_used_at < now() - interval '1 minute');
    END IF;
    account_id := v.account_id; client_id := v.client_id; scopes := v.scopes; session_status := 'none';
    IF check_mcp_request.session_id IS NOT NULL THEN
        IF v.session IS NULL OR v.ended_at IS NOT NULL
           OR v.session_account IS DISTINCT FROM v.account_id OR v.session_client IS DISTINCT FROM v.client_id THEN
            session_status := 'unknown';
        ELSE
            session_status := 'ok';
            IF v.last_seen_at < now() - interval '1 minute' THEN
                UPDATE quarry.mcp_sessions s SET last_seen_at = now()
                 WHERE s.session_id = v.session AND s.last_seen_at < now() - interval '1 minute';
            END IF;
        END IF;
    END IF;
    RETURN NEXT;
END $$;

-- Records who opened a session (right after the server assigned its id).
CREATE FUNCTION open_mcp_session(session_id text, account_id bigint, client_id text) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO quarry.mcp_sessions AS s (session_id, account_id, client_id)
    VALUES (open_mcp_session.session_id, open_mcp_session.account_id, open_mcp_session.client_id)
    ON CONFLICT ON CONSTRAINT mcp_sessions_pkey DO UPDATE
       SET account_id = excluded.account_id, client_id = excluded.client_id
     WHERE s.account_id IS NULL;
END $$;

-- The session store behind the MCP transport: the client's initialize request per session.
CREATE FUNCTION store_mcp_session(session_id text, initialize_params jsonb) RETURNS void
LANGUAGE sql AS $$
    INSERT INTO quarry.mcp_sessions AS s (session_id, initialize_params)
    VALUES (store_mcp_session.session_id, store_mcp_session.initialize_params)
    ON CONFLICT ON CONSTRAINT mcp_sessions_pkey DO UPDATE SET initialize_params = excluded.initialize_params
$$;

CREATE FUNCTION load_mcp_session(session_id text) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT s.initialize_params FROM quarry.mcp_sessions s
     WHERE s.session_id = load_mcp_session.session_id AND s.ended_at IS NULL
$$;

CREATE FUNCTION end_mcp_session(session_id text) RETURNS void
LANGUAGE sql AS $$
    UPDATE quarry.mcp_sessions s SET ended_at = now()
     WHERE s.session_id = end_mcp_session.session_id AND s.ended_at IS NULL
$$;
