-- OAuth 2.1: clients, consent, authorization codes, access and refresh tokens, revocation.
-- Every state change happens here, in one transaction per call, so several sidecars act as one.
--
-- Errors a client must see as OAuth errors carry SQLSTATEs of class QO:
--   QO001 invalid_request      QO002 invalid_client        QO003 invalid_grant
--   QO004 unauthorized_client  QO006 invalid_scope         QO007 invalid_target
--   QO008 invalid_redirect_uri QO009 invalid_client_metadata
--   QO010 access_denied        QO011 too many requests (the DETAIL holds the seconds to wait)
-- The token endpoint's functions (redeem_code, refresh_tokens, revoke_token) return their errors
-- as JSON instead of raising them, because some of those errors must still change state (a
-- replayed code or refresh token revokes what it issued) and a raised error would roll that back.
--
-- Secrets are stored only as SHA-256 hashes. Tokens carry a prefix saying what they are
-- (qat_ access, qrt_ refresh, qac_ authorization code, qcs_ client secret, qss_ browser session)
-- and 256 random bits.

-- (PL/pgSQL, not SQL: a SQL function that is not inlined, as this one is not, is parsed and planned
-- again in every transaction that calls it, and every MCP request checks a token.)
CREATE FUNCTION _hash_token(token text) RETURNS bytea
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
BEGIN
    RETURN pg_catalog.sha256(pg_catalog.convert_to(token, 'UTF8'));
END $$;

-- The scopes Quarry knows, in the order they are shown.
CREATE FUNCTION scopes() RETURNS text[]
LANGUAGE sql IMMUTABLE AS $$ SELECT ARRAY['read', 'write', 'datasets', 'conversations'] $$;

-- A space-separated scope string as an array in canonical order, without duplicates; NULL stays
-- NULL. Raises `unknown_state` (QO006 or QO009) naming the first scope Quarry does not know.
CREATE FUNCTION _parse_scopes(scope text, unknown_state text DEFAULT 'QO006') RETURNS text[]
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    v_requested text[];
    v_unknown text;
BEGIN
    IF scope IS NULL THEN
        RETURN NULL;
    END IF;
    v_requested := ARRAY(SELECT s FROM regexp_split_to_table(btrim(scope), '\s+') s WHERE s <> '');
    SELECT s INTO v_unknown FROM unnest(v_requested) s WHERE s <> ALL (quarry.scopes()) LIMIT 1;
    IF v_unknown IS NOT NULL THEN
        RAISE EXCEPTION 'unknown scope %; Quarry''s scopes are %', quote_literal(left(v_unknown, 50)),
            array_to_string(quarry.scopes(), ', ') USING ERRCODE = unknown_state;
    END IF;
    RETURN ARRAY(SELECT s FROM unnest(quarry.scopes()) WITH ORDINALITY AS k(s, n) WHERE s = ANY (v_requested) ORDER BY n);
END $$;

CREATE FUNCTION _oauth_error(error text, description text) RETURNS jsonb
LANGUAGE sql IMMUTABLE AS $$ SELECT jsonb_build_object('error', error, 'error_description', description) $$;

CREATE FUNCTION _check_redirect_uris(redirect_uris text[]) RETURNS text[]
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    v_uri text;
    v_problem text;
BEGIN
    IF redirect_uris IS NULL OR cardinality(redirect_uris) = 0 THEN
        RAISE EXCEPTION 'at least one redirect URI is required' USING ERRCODE = 'QO008';
    ELSIF cardinality(redirect_uris) > 20 THEN
        RAISE EXCEPTION 'at most 20 redirect URIs' USING ERRCODE = 'QO008';
    END IF;
    FOREACH v_uri IN ARRAY redirect_uris LOOP
        v_problem := quarry._redirect_uri_problem(coalesce(v_uri, ''));
        IF v_problem IS NOT NULL THEN
            RAISE EXCEPTION 'redirect URI % %', quote_literal(left(v_uri, 200)), v_problem USING ERRCODE = 'QO008';
        END IF;
    END LOOP;
    RETURN redirect_uris;
END $$;

-- The grant types of a client: defaulted, and only those Quarry supports.
CREATE FUNCTION _check_grant_types(grant_types text[]) RETURNS text[]
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    v_types text[] := coalesce(grant_types, ARRAY['authorization_code', 'refresh_token']);
BEGIN
    IF NOT v_types <@ ARRAY['authorization_code', 'refresh_token'] OR NOT 'authorization_code' = ANY (v_types) THEN
        RAISE EXCEPTION 'grant_types must be authorization_code, optionally with refresh_token'
            USING ERRCODE = 'QO009';
    END IF;
    RETURN v_types;
END $$;

-- How a client registered, as the registration response shows it (RFC 7591).
CREATE FUNCTION _client_json(c quarry.oauth_clients) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT c.metadata - 'client_secret' || jsonb_strip_nulls(jsonb_build_object(
        'client_id', c.client_id,
        'client_id_issued_at', extract(epoch FROM c.created_at)::bigint,
        'client_name', c.client_name,
        'redirect_uris', to_jsonb(c.redirect_uris),
        'grant_types', to_jsonb(c.grant_types),
        'response_types', jsonb_build_array('code'),
        'token_endpoint_auth_method', c.token_endpoint_auth_method,
        'scope', c.scope))
$$;

-- Registers a client (RFC 7591 Dynamic Client Registration, or a DBA pre-registering one).
-- Returns the registration, with the client secret (shown this once) for confidential clients.
CREATE FUNCTION register_client(
    client_name                 text,
    redirect_uris               text[],
    token_endpoint_auth_method  text DEFAULT 'none',
    grant_types                 text[] DEFAULT NULL,
    scope                       text DEFAULT NULL,
    metadata                    jsonb DEFAULT '{}',
    kind                        text DEFAULT 'dynamic',
    client_ip                   inet DEFAULT NULL,
    per_hour                    integer DEFAULT NULL
) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
    v_method text := coalesce(token_endpoint_auth_method, 'none');
    v_secret text;
    v_client quarry.oauth_clients;
    v_wait integer;
BEGIN
    IF kind IS NULL OR kind NOT IN ('dynamic', 'preregistered') THEN
        RAISE EXCEPTION 'kind must be dynamic or preregistered' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    -- Anyone may register a client, so registrations are counted per address and hour (a refused
    -- attempt rolls back with its error and does not extend the wait).
    IF per_hour IS NOT NULL THEN
        v_wait := quarry._rate_limit('register:' || coalesce(host(client_ip), 'unknown'), per_hour, interval '1 hour');
        IF v_wait IS NOT NULL THEN
            RAISE EXCEPTION 'too many client registrations from this address; try again in % seconds', v_wait
                USING ERRCODE = 'QO011', DETAIL = v_wait::text;
        END IF;
    END IF;
    IF v_method NOT IN ('none', 'client_secret_post') THEN
        RAISE EXCEPTION 'token_endpoint_auth_method % is not supported; use none or client_secret_post',
            quote_literal(left(v_method, 50)) USING ERRCODE = 'QO009';
    END IF;
    IF metadata IS NULL OR jsonb_typeof(metadata) <> 'object' OR pg_column_size(metadata) > 16384 THEN
        RAISE EXCEPTION 'client metadata must be a JSON object of at most 16 kB' USING ERRCODE = 'QO009';
    END IF;
    IF length(btrim(client_name)) > 200 THEN
        RAISE EXCEPTION 'client_name is too long (at most 200 characters)' USING ERRCODE = 'QO009';
    END IF;
    IF v_method = 'client_secret_post' THEN
        v_secret := 'qcs_' || quarry._random_token(32);
    END IF;
    INSERT INTO quarry.oauth_clients AS c (client_id, kind, client_name, redirect_uris, grant_types, scope,
                                           token_endpoint_auth_method, secret_hash, metadata)
    VALUES ('qci_' || quarry._random_token(16), register_client.kind,
            coalesce(nullif(btrim(client_name), ''), 'Unnamed client'),
            quarry._check_redirect_uris(redirect_uris),
            quarry._check_grant_types(grant_types),
            array_to_string(quarry._parse_scopes(scope, 'QO009'), ' '),
            v_method, quarry._hash_token(v_secret), metadata)
    RETURNING * INTO v_client;
    RETURN quarry._client_json(v_client)
        || CASE WHEN v_secret IS NULL THEN '{}'::jsonb
                ELSE jsonb_build_object('client_secret', v_secret, 'client_secret_expires_at', 0) END;
END $$;

-- Caches a Client ID Metadata Document the sidecar fetched from the https URL that is the client's
-- id. The document must name that same URL as its client_id; such clients are public.
CREATE FUNCTION cache_client_metadata(client_id text, document jsonb) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
    v_client quarry.oauth_clients;
    v_uris text[];
BEGIN
    -- https, or http on a loopback host (local development and tests only reach those).
    IF client_id IS NULL OR client_id !~ '^(https://|http://(127\.0\.0\.1|localhost|\[::1\])(:[0-9]+)?/)' THEN
        RAISE EXCEPTION 'a metadata document client_id is an https URL' USING ERRCODE = 'QO009';
    ELSIF document IS NULL OR jsonb_typeof(document) <> 'object' THEN
        RAISE EXCEPTION 'the client metadata document is not a JSON object' USING ERRCODE = 'QO009';
    ELSIF document->>'client_id' IS DISTINCT FROM client_id THEN
        RAISE EXCEPTION 'the client metadata document names another client_id' USING ERRCODE = 'QO009';
    ELSIF coalesce(document->>'token_endpoint_auth_method', 'none') <> 'none' THEN
        RAISE EXCEPTION 'a client identified by a metadata document must use token_endpoint_auth_method none'
            USING ERRCODE = 'QO009';
    ELSIF jsonb_typeof(document->'redirect_uris') IS DISTINCT FROM 'array' THEN
        RAISE EXCEPTION 'the client metadata document has no redirect_uris array' USING ERRCODE = 'QO009';
    ELSIF jsonb_typeof(document->'grant_types') NOT IN ('array') THEN
        RAISE EXCEPTION 'grant_types must be an array' USING ERRCODE = 'QO009';
    END IF;
    v_uris := ARRAY(SELECT jsonb_array_elements_text(document->'redirect_uris'));
    INSERT INTO quarry.oauth_clients AS c (client_id, kind, client_name, redirect_uris, grant_types, scope,
                                           token_endpoint_auth_method, metadata, fetched_at)
    VALUES (cache_client_metadata.client_id, 'metadata_document',
            left(coalesce(nullif(btrim(document->>'client_name'), ''), substring(cache_client_metadata.client_id from '^https://([^/:]+)')), 200),
            quarry._check_redirect_uris(v_uris),
            quarry._check_grant_types(CASE WHEN document ? 'grant_types'
                                           THEN ARRAY(SELECT jsonb_array_elements_text(document->'grant_types')) END),
            array_to_string(quarry._parse_scopes(document->>'scope', 'QO009'), ' '),
            'none', document, now())
    ON CONFLICT ON CONSTRAINT oauth_clients_pkey DO UPDATE
        SET client_name = excluded.client_name, redirect_uris = excluded.redirect_uris,
            grant_types = excluded.grant_types, scope = excluded.scope, metadata = excluded.metadata,
            fetched_at = excluded.fetched_at
        WHERE c.kind = 'metadata_document'
    RETURNING * INTO v_client;
    IF v_client.client_id IS NULL THEN
        RAISE EXCEPTION 'client % is not a metadata document client', quote_literal(client_id) USING ERRCODE = 'QO009';
    END IF;
    RETURN quarry._client_json(v_client);
END $$;

-- A client as the authorization endpoint needs it, or NULL when there is none. `age_seconds` says
-- how old a cached metadata document is.
CREATE FUNCTION client(client_id text) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT quarry._client_json(c) || jsonb_build_object(
               'kind', c.kind, 'disabled', c.disabled,
               'age_seconds', extract(epoch FROM now() - coalesce(c.fetched_at, c.created_at))::bigint)
      FROM quarry.oauth_clients c WHERE c.client_id = client.client_id
$$;

-- Checks an authorization request's client, redirect URI and scopes. Returns the effective
-- redirect URI and scopes (defaulted when absent) with the client's name; raises QO002 for an
-- unknown client, QO008 for a redirect URI that is not registered, QO006 for scopes beyond
-- Quarry's or the client's.
CREATE FUNCTION check_authorization_request(client_id text, redirect_uri text, scope text) RETURNS jsonb
LANGUAGE plpgsql STABLE AS $$
DECLARE
    v_client quarry.oauth_clients;
    v_redirect text := redirect_uri;
    v_scopes text[];
BEGIN
    SELECT * INTO v_client FROM quarry.oauth_clients c WHERE c.client_id = check_authorization_request.client_id;
    -- Quarry's own clients (the SQLBot-compatible front) get their tokens elsewhere, never a code.
    IF v_client.client_id IS NULL OR v_client.disabled OR v_client.kind = 'builtin' THEN
        RAISE EXCEPTION 'unknown client %', quote_literal(left(client_id, 200)) USING ERRCODE = 'QO002';
    END IF;
    IF v_redirect IS NULL THEN
        IF cardinality(v_client.redirect_uris) <> 1 THEN
            RAISE EXCEPTION 'redirect_uri is required: the client registered several' USING ERRCODE = 'QO008';
        END IF;
        v_redirect := v_client.redirect_uris[1];
    ELSIF NOT EXISTS (SELECT 1 FROM unnest(v_client.redirect_uris) r WHERE quarry._redirect_uri_matches(r, v_redirect)) THEN
        RAISE EXCEPTION 'redirect_uri % is not registered for this client', quote_literal(left(v_redirect, 200))
            USING ERRCODE = 'QO008';
    END IF;
    v_scopes := coalesce(quarry._parse_scopes(nullif(btrim(scope), '')),
                         quarry._parse_scopes(v_client.scope), quarry.scopes());
    IF v_client.scope IS NOT NULL AND NOT v_scopes <@ quarry._parse_scopes(v_client.scope) THEN
        RAISE EXCEPTION 'the client registered for %, not %', v_client.scope, array_to_string(v_scopes, ' ')
            USING ERRCODE = 'QO006';
    END IF;
    RETURN jsonb_build_object('client_id', v_client.client_id, 'client_name', v_client.client_name,
                              'redirect_uri', v_redirect, 'scopes', to_jsonb(v_scopes), 'kind', v_client.kind,
                              'client_uri', v_client.metadata->>'client_uri');
END $$;

-- The scopes an account last granted a client, or NULL if it never did.
CREATE FUNCTION consented_scopes(account_id bigint, client_id text) RETURNS text[]
LANGUAGE sql STABLE AS $$
    SELECT c.scopes FROM quarry.oauth_consents c
     WHERE c.account_id = consented_scopes.account_id AND c.client_id = consented_scopes.client_id
$$;

-- Records the account's consent and issues a single-use authorization code bound to the client,
-- the redirect URI, the scopes, the resource and the PKCE challenge. Returns the code.
CREATE FUNCTION authorize(
    account_id      bigint,
    client_id       text,
    redirect_uri    text,
    scopes          text[],
    resource        text,
    code_challenge  text,
    code_ttl        interval DEFAULT '60 seconds'
) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    v_request jsonb := quarry.check_authorization_request(client_id, redirect_uri, array_to_string(scopes, ' '));
    v_account quarry.accounts := quarry._account(account_id);
    v_code text := 'qac_' || quarry._random_token(32);
BEGIN
    IF v_account.disabled THEN
        RAISE EXCEPTION 'account % is disabled', v_account.id USING ERRCODE = 'QO010';
    ELSIF scopes IS NULL OR cardinality(scopes) = 0 THEN
        RAISE EXCEPTION 'no scope was granted' USING ERRCODE = 'QO010';
    ELSIF code_challenge IS NULL OR code_challenge !~ '^[A-Za-z0-9_-]{43}$' THEN
        RAISE EXCEPTION 'a PKCE code_challenge (S256) is required' USING ERRCODE = 'QO001';
    ELSIF resource IS NULL OR resource = '' THEN
        RAISE EXCEPTION 'the resource is required' USING ERRCODE = 'QO007';
    END IF;
    INSERT INTO quarry.oauth_consents AS c (account_id, client_id, scopes)
    VALUES (v_account.id, v_request->>'client_id', quarry._parse_scopes(array_to_string(scopes, ' ')))
    ON CONFLICT ON CONSTRAINT oauth_consents_pkey DO UPDATE SET scopes = excluded.scopes, granted_at = now();
    INSERT INTO quarry.oauth_codes (code_hash, client_id, account_id, redirect_uri, scopes, resource,
                                    code_challenge, expires_at)
    VALUES (quarry._hash_token(v_code), v_request->>'client_id', v_account.id, v_request->>'redirect_uri',
            quarry._parse_scopes(array_to_string(scopes, ' ')), resource, code_challenge, now() + code_ttl);
    RETURN v_code;
END $$;

-- The client making a token-endpoint request, authenticated; NULL when it fails (unknown or
-- disabled client, wrong or missing secret for a confidential client).
CREATE FUNCTION _authenticated_client(client_id text, client_secret text) RETURNS quarry.oauth_clients
LANGUAGE plpgsql STABLE AS $$
DECLARE
    v_client quarry.oauth_clients;
BEGIN
    SELECT * INTO v_client FROM quarry.oauth_clients c WHERE c.client_id = _authenticated_client.client_id;
    IF v_client.client_id IS NULL OR v_client.disabled THEN
        RETURN NULL;
    ELSIF v_client.secret_hash IS NOT NULL
          AND (client_secret IS NULL OR quarry._hash_token(client_secret) <> v_client.secret_hash) THEN
        RETURN NULL;
    END IF;
    RETURN v_client;
END $$;

-- Stores a fresh access token and refresh token of a grant family and returns the token response.
CREATE FUNCTION _issue_tokens(
    client_id text, account_id bigint, scopes text[], refresh_scopes text[], audience text, family_id uuid,
    access_token text, refresh_token text, access_ttl interval, refresh_ttl interval
) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
    v_access_expires timestamptz;
BEGIN
    INSERT INTO quarry.oauth_tokens AS t (token_hash, kind, client_id, account_id, scopes, audience, family_id, expires_at)
    VALUES (quarry._hash_token(access_token), 'access', client_id, account_id, scopes, audience, family_id,
            now() + access_ttl)
    ON CONFLICT ON CONSTRAINT oauth_tokens_pkey DO NOTHING;
    INSERT INTO quarry.oauth_tokens AS t (token_hash, kind, client_id, account_id, scopes, audience, family_id, expires_at)
    VALUES (quarry._hash_token(refresh_token), 'refresh', client_id, account_id, refresh_scopes, audience, family_id,
            now() + refresh_ttl)
    ON CONFLICT ON CONSTRAINT oauth_tokens_pkey DO NOTHING;
    SELECT t.expires_at INTO v_access_expires FROM quarry.oauth_tokens t WHERE t.token_hash = quarry._hash_token(access_token);
    RETURN jsonb_build_object(
        'access_token', access_token,
        'token_type', 'Bearer',
        'expires_in', greatest(0, extract(epoch FROM v_access_expires - now())::bigint),
        'refresh_token', refresh_token,
        'scope', array_to_string(scopes, ' '));
END $$;

CREATE FUNCTION _revoke_family(family_id uuid) RETURNS void
LANGUAGE sql AS $$
    UPDATE quarry.oauth_tokens t SET revoked_at = now()
     WHERE t.family_id = _revoke_family.family_id AND t.revoked_at IS NULL
$$;

-- Whether a PKCE code verifier (RFC 7636: 43 to 128 unreserved characters) hashes to the challenge.
CREATE FUNCTION _pkce_matches(verifier text, challenge text) RETURNS boolean
LANGUAGE sql IMMUTABLE AS $$
    SELECT verifier ~ '^[A-Za-z0-9._~-]{43,128}$'
       AND rtrim(translate(encode(pg_catalog.sha256(convert_to(verifier, 'UTF8')), 'base64'), '+/', '-_'), '=')
           = challenge
$$;

-- The authorization_code grant. Returns the token response, or {error, error_description}.
-- A code is good once: presented again, it revokes every token it produced.
CREATE FUNCTION redeem_code(
    code           text,
    client_id      text,
    client_secret  text,
    redirect_uri   text,
    code_verifier  text,
    resource       text,
    access_ttl     interval DEFAULT '1 hour',
    refresh_ttl    interval DEFAULT '30 days'
) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
    v_client quarry.oauth_clients := quarry._authenticated_client(client_id, client_secret);
    v_code quarry.oauth_codes;
    v_family uuid := gen_random_uuid();
BEGIN
    IF v_client.client_id IS NULL THEN
        RETURN quarry._oauth_error('invalid_client', 'client authentication failed');
    ELSIF code IS NULL OR code_verifier IS NULL THEN
        RETURN quarry._oauth_error('invalid_request', 'code and code_verifier are required');
    END IF;
    SELECT * INTO v_code FROM quarry.oauth_codes c WHERE c.code_hash = quarry._hash_token(code) FOR UPDATE;
    IF v_code.code_hash IS NULL THEN
        RETURN quarry._oauth_error('invalid_grant', 'unknown authorization code');
    ELSIF v_code.client_id <> v_client.client_id THEN
        RETURN quarry._oauth_error('invalid_grant', 'the authorization code was issued to another client');
    ELSIF v_code.redeemed_at IS NOT NULL THEN
        PERFORM quarry._revoke_family(v_code.family_id);
        RETURN quarry._oauth_error('invalid_grant', 'the authorization code was already used; the tokens issued for it are revoked');
    ELSIF v_code.expires_at < now() THEN
        RETURN quarry._oauth_error('invalid_grant', 'the authorization code has expired');
    ELSIF redirect_uri IS DISTINCT FROM v_code.redirect_uri
          AND NOT (redirect_uri IS NULL AND v_client.redirect_uris = ARRAY[v_code.redirect_uri]) THEN
        RETURN quarry._oauth_error('invalid_grant', 'redirect_uri does not match the authorization request');
    ELSIF NOT quarry._pkce_matches(code_verifier, v_code.code_challenge) THEN
        RETURN quarry._oauth_error('invalid_grant', 'code_verifier does not match the code_challenge');
    ELSIF resource IS NOT NULL AND resource <> v_code.resource THEN
        RETURN quarry._oauth_error('invalid_target', 'resource differs from the authorization request');
    ELSIF (SELECT a.disabled FROM quarry.accounts a WHERE a.id = v_code.account_id) THEN
        RETURN quarry._oauth_error('invalid_grant', 'the account is disabled');
    END IF;
    UPDATE quarry.oauth_codes c SET redeemed_at = now(), family_id = v_family WHERE c.code_hash = v_code.code_hash;
    RETURN quarry._issue_tokens(v_client.client_id, v_code.account_id, v_code.scopes, v_code.scopes, v_code.resource,
                                v_family, 'qat_' || quarry._random_token(32), 'qrt_' || quarry._random_token(32),
                                access_ttl, refresh_ttl);
END $$;

-- The refresh_token grant, with rotation. Returns the token response, or {error, error_description}.
-- A refresh token is exchanged once for a successor pair. Presented again within `grace` (two
-- requests of one client racing), it yields the very same pair; presented later, it is taken as
-- stolen and the whole grant family is revoked. The scope may narrow, never widen.
CREATE FUNCTION refresh_tokens(
    refresh_token  text,
    client_id      text,
    client_secret  text,
    scope          text,
    resource       text,
    access_ttl     interval DEFAULT '1 hour',
    refresh_ttl    interval DEFAULT '30 days',
    grace          interval DEFAULT '30 seconds'
) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
    v_client quarry.oauth_clients := quarry._authenticated_client(client_id, client_secret);
    v_token quarry.oauth_tokens;
    v_scopes text[];
    v_key bytea;
    v_successor text;
    v_access text;
BEGIN
    IF v_client.client_id IS NULL THEN
        RETURN quarry._oauth_error('invalid_client', 'client authentication failed');
    ELSIF refresh_token IS NULL THEN
        RETURN quarry._oauth_error('invalid_request', 'refresh_token is required');
    END IF;
    SELECT * INTO v_token FROM quarry.oauth_tokens t
     WHERE t.token_hash = quarry._hash_token(refresh_token) AND t.kind = 'refresh' FOR UPDATE;
    IF v_token.token_hash IS NULL THEN
        RETURN quarry._oauth_error('invalid_grant', 'unknown refresh token');
    ELSIF v_token.client_id <> v_client.client_id THEN
        RETURN quarry._oauth_error('invalid_grant', 'the refresh token was issued to another client');
    ELSIF v_token.revoked_at IS NOT NULL THEN
        RETURN quarry._oauth_error('invalid_grant', 'the refresh token has been revoked');
    ELSIF v_token.expires_at < now() THEN
        RETURN quarry._oauth_error('invalid_grant', 'the refresh token has expired');
    ELSIF resource IS NOT NULL AND resource <> v_token.audience THEN
        RETURN quarry._oauth_error('invalid_target', 'resource differs from the one the grant is for');
    ELSIF (SELECT a.disabled FROM quarry.accounts a WHERE a.id = v_token.account_id) THEN
        RETURN quarry._oauth_error('invalid_grant', 'the account is disabled');
    END IF;
    BEGIN
        v_scopes := coalesce(quarry._parse_scopes(nullif(btrim(scope), '')), v_token.scopes);
    EXCEPTION WHEN SQLSTATE 'QO006' THEN
        RETURN quarry._oauth_error('invalid_scope', SQLERRM);
    END;
    IF NOT v_scopes <@ v_token.scopes THEN
        RETURN quarry._oauth_error('invalid_scope', 'a refreshed token cannot have more scopes than the grant: '
                                                     || array_to_string(v_token.scopes, ' '));
    END IF;

    SELECT k.key INTO STRICT v_key FROM quarry.server_keys k WHERE k.purpose = 'refresh_successor';
    v_successor := 'qrt_' || quarry._hmac_token(v_key, 'refresh:' || refresh_token);
    v_access := 'qat_' || quarry._hmac_token(v_key, 'access:' || array_to_string(v_scopes, ' ') || ':' || refresh_token);
    IF v_token.rotated_at IS NOT NULL THEN
        IF now() - v_token.rotated_at > grace OR v_token.successor IS DISTINCT FROM quarry._hash_token(v_successor) THEN
            PERFORM quarry._revoke_family(v_token.family_id);
            RETURN quarry._oauth_error('invalid_grant',
                'the refresh token was already used; every token of this grant is revoked');
        END IF;
    ELSE
        UPDATE quarry.oauth_tokens t SET rotated_at = now(), successor = quarry._hash_token(v_successor), last_used_at = now()
         WHERE t.token_hash = v_token.token_hash;
    END IF;
    RETURN quarry._issue_tokens(v_client.client_id, v_token.account_id, v_scopes, v_token.scopes, v_token.audience,
                                v_token.family_id, v_access, v_successor, access_ttl, refresh_ttl);
END $$;

-- Token revocation (RFC 7009). A refresh token takes its whole grant family with it; an access
-- token only itself. Unknown tokens are not an error. Returns {} or {error, error_description}.
CREATE FUNCTION revoke_token(token text, client_id text, client_secret text) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
    v_client quarry.oauth_clients := quarry._authenticated_client(client_id, client_secret);
    v_token quarry.oauth_tokens;
BEGIN
    IF v_client.client_id IS NULL THEN
        RETURN quarry._oauth_error('invalid_client', 'client authentication failed');
    END IF;
    SELECT * INTO v_token FROM quarry.oauth_tokens t WHERE t.token_hash = quarry._hash_token(coalesce(token, ''));
    IF v_token.token_hash IS NULL THEN
        RETURN '{}';
    ELSIF v_token.client_id <> v_client.client_id THEN
        RETURN quarry._oauth_error('unauthorized_client', 'the token was issued to another client');
    ELSIF v_token.kind = 'refresh' THEN
        PERFORM quarry._revoke_family(v_token.family_id);
    ELSE
        UPDATE quarry.oauth_tokens t SET revoked_at = now() WHERE t.token_hash = v_token.token_hash AND t.revoked_at IS NULL;
    END IF;
    RETURN '{}';
END $$;

-- The access token with this hash, if it is live for this audience: not revoked, not expired, its
-- account and client not disabled. What makes a token good, in one place (check_token and
-- check_mcp_request). A plain SQL query, so it is inlined into its callers' planned queries.
CREATE FUNCTION _live_access_token(token_hash bytea, audience text) RETURNS SETOF quarry.oauth_tokens
LANGUAGE sql STABLE AS $$
    SELECT t.*
      FROM quarry.oauth_tokens t
      JOIN quarry.accounts a ON a.id = t.account_id
      JOIN quarry.oauth_clients c ON c.client_id = t.client_id
     WHERE t.token_hash = _live_access_token.token_hash AND t.kind = 'access' AND t.revoked_at IS NULL
       AND t.expires_at > now() AND t.audience = _live_access_token.audience AND NOT a.disabled AND NOT c.disabled
$$;

-- The per-request check of a bearer token: the account, client and scopes of a live access token
-- for this audience, or no row. Notes the use at most once a minute.
CREATE FUNCTION check_token(token text, audience text)
RETURNS TABLE (account_id bigint, client_id text, scopes text[], expires_at timestamptz)
LANGUAGE plpgsql AS $$
DECLARE
    v_hash bytea := quarry._hash_token(coalesce(token, ''));
BEGIN
    RETURN QUERY
    SELECT t.account_id, t.client_id, t.scopes, t.expires_at FROM quarry._live_access_token(v_hash, check_token.audience) t;
    IF FOUND THEN
        UPDATE quarry.oauth_tokens t SET last_used_at = now()
         WHERE t.token_hash = v_hash AND (t.last_used_at IS NULL OR t.last_used_at < now() - interval '1 minute');
    END IF;
END $$;

-- Which registrations are one app. A program registers anew on every machine and after every
-- reinstall: dynamic registration gives each registration its own client_id, and a loopback
-- redirect its own port. So registrations under the same name that send people back to the same
-- host (port aside) are taken as one app, which the settings page shows, and revokes, as one.
-- Opaque, so that a form can carry it back unchanged.
CREATE FUNCTION _app_key(client_name text, redirect_uri text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT pg_catalog.encode(pg_catalog.sha256(pg_catalog.convert_to(pg_catalog.jsonb_build_array(
               client_name,
               pg_catalog.lower(pg_catalog.substring(redirect_uri,
                   '^[a-zA-Z][a-zA-Z0-9+.-]*://(?:[^/?#@]*@)?(\[[^]/?#]*\]|[^/?#:]*)')))::text, 'UTF8')), 'hex')
$$;

-- The clients an account has granted access to, for its settings page and for DBAs: one row per
-- registration, `app` saying which rows are one app (see _app_key). The rows of an app come
-- together, apps with the newest grant first, and within an app the newest registration first.
CREATE FUNCTION account_grants(account_id bigint)
RETURNS TABLE (client_id text, client_name text, redirect_host text, scopes text[], granted_at timestamptz,
               last_used_at timestamptz, active_tokens bigint, app text)
LANGUAGE sql STABLE AS $$
    SELECT r.client_id, r.client_name, r.redirect_host, r.scopes, r.granted_at, r.last_used_at, r.active_tokens, r.app
      FROM (SELECT g.client_id, c.client_name,
                   substring(c.redirect_uris[1] from '^[a-zA-Z][a-zA-Z0-9+.-]*://([^/?#]*)') AS redirect_host,
                   g.scopes, g.granted_at,
                   (SELECT max(t.last_used_at) FROM quarry.oauth_tokens t
                     WHERE t.account_id = g.account_id AND t.client_id = g.client_id) AS last_used_at,
                   (SELECT count(*) FROM quarry.oauth_tokens t
                     WHERE t.account_id = g.account_id AND t.client_id = g.client_id
                       AND t.revoked_at IS NULL AND t.expires_at > now()) AS active_tokens,
                   quarry._app_key(c.client_name, c.redirect_uris[1]) AS app
              FROM quarry.oauth_consents g
              JOIN quarry.oauth_clients c ON c.client_id = g.client_id
             WHERE g.account_id = account_grants.account_id) r
     ORDER BY max(r.granted_at) OVER (PARTITION BY r.app) DESC, r.app, r.granted_at DESC, r.client_id
$$;

-- Ends an account's grant to a client: every token at once, and the remembered consent.
CREATE FUNCTION revoke_grant(account_id bigint, client_id text) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM quarry._account(account_id);
    UPDATE quarry.oauth_tokens t SET revoked_at = now()
     WHERE t.account_id = revoke_grant.account_id AND t.client_id = revoke_grant.client_id AND t.revoked_at IS NULL;
    DELETE FROM quarry.oauth_consents c
     WHERE c.account_id = revoke_grant.account_id AND c.client_id = revoke_grant.client_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'account % has no grant for client %', account_id, quote_literal(client_id)
            USING ERRCODE = 'undefined_object';
    END IF;
END $$;

-- Ends an account's grants to every registration of one app (`app` as account_grants gives it),
-- in one transaction; returns how many registrations lost their grant.
CREATE FUNCTION revoke_app(account_id bigint, app text) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    v_client text;
    v_count integer := 0;
BEGIN
    PERFORM quarry._account(account_id);
    FOR v_client IN SELECT g.client_id FROM quarry.account_grants(revoke_app.account_id) g
                     WHERE g.app = revoke_app.app LOOP
        PERFORM quarry.revoke_grant(revoke_app.account_id, v_client);
        v_count := v_count + 1;
    END LOOP;
    IF v_count = 0 THEN
        RAISE EXCEPTION 'account % has no grant for app %', account_id, quote_literal(left(app, 64))
            USING ERRCODE = 'undefined_object';
    END IF;
    RETURN v_count;
END $$;

-- Disables a client for everyone and ends its tokens (DBA).
CREATE FUNCTION disable_client(client_id text) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE quarry.oauth_clients c SET disabled = true WHERE c.client_id = disable_client.client_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'client % does not exist', quote_literal(client_id) USING ERRCODE = 'undefined_object';
    END IF;
    UPDATE quarry.oauth_tokens t SET revoked_at = now()
     WHERE t.client_id = disable_client.client_id AND t.revoked_at IS NULL;
END $$;

-- Every client with how many accounts granted it access and how many live tokens it holds (DBA).
CREATE FUNCTION clients()
RETURNS TABLE (client_id text, kind text, client_name text, redirect_uris text[], created_at timestamptz,
               disabled boolean, accounts bigint, active_tokens bigint)
LANGUAGE sql STABLE AS $$
    SELECT c.client_id, c.kind, c.client_name, c.redirect_uris, c.created_at, c.disabled,
           (SELECT count(*) FROM quarry.oauth_consents g WHERE g.client_id = c.client_id),
           (SELECT count(*) FROM quarry.oauth_tokens t
             WHERE t.client_id = c.client_id AND t.revoked_at IS NULL AND t.expires_at > now())
      FROM quarry.oauth_clients c
     ORDER BY c.created_at
$$;

-- Deletes what can no longer be used: old codes, tokens a week past expiry, ended sessions, MCP
-- sessions idle for a day, stale throttle counters, and chats of the SQLBot-compatible front that
-- nobody asked a question in for 30 days. Safe to run from any number of sidecars or from cron.
CREATE FUNCTION purge_expired() RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
    v_codes bigint; v_tokens bigint; v_sessions bigint; v_throttle bigint; v_chats bigint;
BEGIN
    DELETE FROM quarry.oauth_codes c WHERE c.expires_at < now() - interval '1 day';
    GET DIAGNOSTICS v_codes = ROW_COUNT;
    DELETE FROM quarry.oauth_tokens t WHERE t.expires_at < now() - interval '7 days';
    GET DIAGNOSTICS v_tokens = ROW_COUNT;
    DELETE FROM quarry.web_sessions s WHERE s.expires_at < now();
    GET DIAGNOSTICS v_sessions = ROW_COUNT;
    DELETE FROM quarry.sign_in_throttle t
     WHERE t.window_started_at < now() - interval '1 day' AND (t.locked_until IS NULL OR t.locked_until < now());
    GET DIAGNOSTICS v_throttle = ROW_COUNT;
    DELETE FROM quarry.mcp_sessions s WHERE s.last_seen_at < now() - interval '1 day' OR s.ended_at < now() - interval '1 hour';
    DELETE FROM quarry.sqlbot_chats c WHERE c.conversation_id IS NULL AND c.created_at < now() - interval '30 days';
    GET DIAGNOSTICS v_chats = ROW_COUNT;
    RETURN jsonb_build_object('codes', v_codes, 'tokens', v_tokens, 'sessions', v_sessions, 'throttle', v_throttle,
                              'chats', v_chats);
END $$;

INSERT INTO server_keys (purpose, key) VALUES ('refresh_successor', _random_bytes(32));
