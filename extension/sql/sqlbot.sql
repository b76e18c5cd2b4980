-- The SQLBot-compatible front (README, "SQLBot-compatible front"). SQLBot's clients sign in with a
-- user name and password, carry the token they get in every call's arguments, open a chat before
-- any dataset is chosen, and embedding applications ask as an "assistant". Each of those is a piece
-- of Quarry's own model here:
-- - the tokens are access tokens of Quarry's built-in client 'sqlbot': they are among an account's
--   grants (the settings page, account_grants), revocable like any other, carry the scopes the DBA
--   allows the front (configure_sqlbot; read and write unless changed) and are bound to the
--   front's URL, so that they open nothing else;
-- - a chat (sqlbot_chats) becomes a conversation with its first question, once its dataset is known;
-- - an assistant asks through an account of its own (a role, conversations, audit rows), about the
--   datasets registered for it only, and is recognized by the URL it names and its secret.

-- Quarry's client for the front, made with its defaults when first needed.
CREATE FUNCTION _sqlbot_client() RETURNS quarry.oauth_clients
LANGUAGE plpgsql AS $$
DECLARE
    v quarry.oauth_clients;
BEGIN
    SELECT * INTO v FROM quarry.oauth_clients c WHERE c.client_id = 'sqlbot';
    IF v.client_id IS NULL THEN
        INSERT INTO quarry.oauth_clients AS c (client_id, kind, client_name, redirect_uris, grant_types, scope)
        VALUES ('sqlbot', 'builtin', 'SQLBot-compatible clients', ARRAY['urn:quarry:sqlbot'], '{}', 'read write')
        ON CONFLICT ON CONSTRAINT oauth_clients_pkey DO NOTHING;
        SELECT * INTO STRICT v FROM quarry.oauth_clients c WHERE c.client_id = 'sqlbot';
    END IF;
    RETURN v;
END $$;

-- What the DBA allows the front: whether it is on, and the scopes of the tokens it issues (NULL
-- leaves either as it is). Narrower scopes apply at once, to the tokens issued before too; turning
-- the front off ends every token it issued. Returns the settings, with how many accounts have used
-- the front and how many live tokens it holds.
CREATE FUNCTION configure_sqlbot(scopes text DEFAULT NULL, enabled boolean DEFAULT NULL) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
    v quarry.oauth_clients := quarry._sqlbot_client();
    v_scopes text[] := quarry._parse_scopes(scopes, '22023');
BEGIN
    IF scopes IS NOT NULL AND coalesce(cardinality(v_scopes), 0) = 0 THEN
        RAISE EXCEPTION 'the SQLBot-compatible front needs at least one scope' USING ERRCODE = 'invalid_parameter_value',
            HINT = 'Its clients need read to list teams, datasets and models, and write to ask questions.';
    END IF;
    UPDATE quarry.oauth_clients c
       SET scope = coalesce(array_to_string(v_scopes, ' '), c.scope),
           disabled = coalesce(NOT configure_sqlbot.enabled, c.disabled)
     WHERE c.client_id = v.client_id
    RETURNING * INTO v;
    IF v.disabled THEN
        UPDATE quarry.oauth_tokens t SET revoked_at = now() WHERE t.client_id = v.client_id AND t.revoked_at IS NULL;
    END IF;
    RETURN jsonb_build_object(
        'enabled', NOT v.disabled,
        'scopes', to_jsonb(quarry._parse_scopes(v.scope)),
        'accounts', (SELECT count(*) FROM quarry.oauth_consents g WHERE g.client_id = v.client_id),
        'active_tokens', (SELECT count(*) FROM quarry.oauth_tokens t
                           WHERE t.client_id = v.client_id AND t.revoked_at IS NULL AND t.expires_at > now()));
END $$;

-- The account behind a live token of the front for `audience`, with the scopes it was issued that
-- the DBA still allows; no row for any other token.
CREATE FUNCTION _sqlbot_token(token text, audience text)
RETURNS TABLE (account_id bigint, scopes text[], expires_at timestamptz)
LANGUAGE sql AS $$
    SELECT t.account_id,
           ARRAY(SELECT s FROM unnest(t.scopes) s WHERE s = ANY (quarry._parse_scopes(c.scope))),
           t.expires_at
      FROM quarry.check_token(token, audience) t
      JOIN quarry.oauth_clients c ON c.client_id = t.client_id
     WHERE t.client_id = 'sqlbot'
$$;

-- SQLBot's mcp_start: signs in with email and password (with the sign-in page's throttling, see
-- _check_sign_in) or takes a live token of the front, checks the workspace (when team_id is given,
-- a team of the account's), issues an access token for `audience` on a sign-in (no refresh token:
-- SQLBot's clients sign in again), and opens a chat. Returns {ok: true, access_token, token_type,
-- expires_in, scope, account_id, chat_id} or {ok: false, reason}: 'invalid' (wrong email or
-- password, or a disabled account), 'throttled' (with retry_after), 'token' (a token that is
-- unknown, expired, revoked or not the front's), 'disabled' (the DBA turned the front off),
-- 'no_team' (the account is in no team) or 'not_member' (not in team_id). Nothing is issued or
-- opened unless the answer is ok.
CREATE FUNCTION sqlbot_start(email text, password text, token text, audience text, client_ip inet,
                             access_ttl interval DEFAULT '1 hour', team_id bigint DEFAULT NULL) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
    v_client quarry.oauth_clients := quarry._sqlbot_client();
    v_checked jsonb;
    v_account bigint;
    v_scopes text[];
    v_token text := token;
    v_expires timestamptz;
    v_chat bigint;
BEGIN
    PERFORM quarry._require(nullif(audience, ''), 'audience');
    IF v_client.disabled THEN
        RETURN jsonb_build_object('ok', false, 'reason', 'disabled');
    END IF;
    IF v_token IS NOT NULL THEN
        SELECT t.account_id, t.scopes, t.expires_at INTO v_account, v_scopes, v_expires
          FROM quarry._sqlbot_token(v_token, audience) t;
        IF v_account IS NULL THEN
            RETURN jsonb_build_object('ok', false, 'reason', 'token');
        END IF;
    ELSE
        v_checked := quarry._check_sign_in(email, password, client_ip);
        IF NOT (v_checked->>'ok')::boolean THEN
            RETURN v_checked;
        END IF;
        v_account := (v_checked->>'account_id')::bigint;
        v_scopes := quarry._parse_scopes(v_client.scope);
    END IF;
    IF NOT EXISTS (SELECT 1 FROM quarry.team_members m WHERE m.account_id = v_account) THEN
        RETURN jsonb_build_object('ok', false, 'reason', 'no_team');
    ELSIF sqlbot_start.team_id IS NOT NULL AND NOT EXISTS (
        SELECT 1 FROM quarry.team_members m WHERE m.account_id = v_account AND m.team_id = sqlbot_start.team_id) THEN
        RETURN jsonb_build_object('ok', false, 'reason', 'not_member');
    END IF;
    IF v_token IS NULL THEN
        v_token := 'qat_' || quarry._random_token(32);
        v_expires := now() + coalesce(access_ttl, interval '1 hour');
        INSERT INTO quarry.oauth_tokens (token_hash, kind, client_id, account_id, scopes, audience, family_id, expires_at)
        VALUES (quarry._hash_token(v_token), 'access', v_client.client_id, v_account, v_scopes, audience,
                gen_random_uuid(), v_expires);
        -- The grant is listed among the account's connected apps; revoking it there ends its tokens.
        INSERT INTO quarry.oauth_consents AS g (account_id, client_id, scopes)
        VALUES (v_account, v_client.client_id, v_scopes)
        ON CONFLICT ON CONSTRAINT oauth_consents_pkey DO UPDATE SET scopes = excluded.scopes, granted_at = now();
    END IF;
    INSERT INTO quarry.sqlbot_chats (account_id, team_id) VALUES (v_account, sqlbot_start.team_id) RETURNING id INTO v_chat;
    RETURN jsonb_build_object(
        'ok', true, 'access_token', v_token, 'token_type', 'Bearer',
        'expires_in', greatest(0, extract(epoch FROM v_expires - now())::bigint),
        'scope', array_to_string(v_scopes, ' '), 'account_id', v_account, 'chat_id', v_chat);
END $$;

-- Who calls the front with a token, in one call per request: {account_id, scopes, in_team, chat}
-- for a live token of the front for `audience`, NULL for any other. With team_id, in_team says
-- whether the account is a member of that team (else it is null). With chat_id, chat is
-- {id, team_id, conversation_id, dataset_id} when the chat is the account's (conversation_id and
-- dataset_id are null until its first question), else null.
CREATE FUNCTION sqlbot_caller(token text, audience text, chat_id bigint DEFAULT NULL, team_id bigint DEFAULT NULL)
RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
    v record;
BEGIN
    SELECT * INTO v FROM quarry._sqlbot_token(token, audience);
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;
    RETURN jsonb_build_object(
        'account_id', v.account_id,
        'scopes', to_jsonb(v.scopes),
        'in_team', CASE WHEN sqlbot_caller.team_id IS NOT NULL THEN EXISTS (
                       SELECT 1 FROM quarry.team_members m WHERE m.account_id = v.account_id AND m.team_id = sqlbot_caller.team_id) END,
        'chat', (SELECT jsonb_build_object('id', c.id, 'team_id', c.team_id, 'conversation_id', c.conversation_id,
                                           'dataset_id', k.dataset_id)
                   FROM quarry.sqlbot_chats c
                   LEFT JOIN quarry.conversations k ON k.id = c.conversation_id
                  WHERE c.id = sqlbot_caller.chat_id AND c.account_id = v.account_id));
END $$;

-- Makes the conversation a chat's first question started the chat's conversation. Should two
-- first questions of one chat run at once, the first bound wins (the other keeps its own
-- conversation). Returns the chat's conversation.
CREATE FUNCTION sqlbot_bind_chat(account_id bigint, chat_id bigint, conversation_id bigint) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    v quarry.conversations := quarry._conversation_for(account_id, conversation_id);
    v_bound bigint;
BEGIN
    UPDATE quarry.sqlbot_chats c SET conversation_id = v.id
     WHERE c.id = sqlbot_bind_chat.chat_id AND c.account_id = v.account_id AND c.conversation_id IS NULL;
    SELECT c.conversation_id INTO v_bound FROM quarry.sqlbot_chats c
     WHERE c.id = sqlbot_bind_chat.chat_id AND c.account_id = v.account_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'chat % does not exist', chat_id USING ERRCODE = 'undefined_object';
    END IF;
    RETURN v_bound;
END $$;

-- Assistants ------------------------------------------------------------------------------------------

-- The assistant with this name; raises undefined_object when there is none.
CREATE FUNCTION assistant_id(name text) RETURNS bigint
LANGUAGE plpgsql STABLE AS $$
DECLARE
    v_id bigint;
BEGIN
    SELECT a.id INTO v_id FROM quarry.assistants a WHERE a.name = btrim(quarry._require(assistant_id.name, 'name'));
    IF v_id IS NULL THEN
        RAISE EXCEPTION 'no assistant named %', quote_literal(name) USING ERRCODE = 'undefined_object';
    END IF;
    RETURN v_id;
END $$;

CREATE FUNCTION _assistant(assistant_id bigint, lock boolean DEFAULT false) RETURNS quarry.assistants
LANGUAGE plpgsql AS $$
DECLARE
    v quarry.assistants;
BEGIN
    PERFORM quarry._require(assistant_id, 'assistant_id');
    IF lock THEN
        SELECT * INTO v FROM quarry.assistants a WHERE a.id = _assistant.assistant_id FOR UPDATE;
    ELSE
        SELECT * INTO v FROM quarry.assistants a WHERE a.id = _assistant.assistant_id;
    END IF;
    IF v.id IS NULL THEN
        RAISE EXCEPTION 'assistant % does not exist', assistant_id USING ERRCODE = 'undefined_object';
    END IF;
    RETURN v;
END $$;

-- A URL as assistants are recognized by it: without surrounding spaces and trailing slashes.
-- Quarry never fetches it.
CREATE FUNCTION _assistant_url(url text) RETURNS text
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    v text := rtrim(btrim(quarry._require(url, 'url')), '/');
BEGIN
    IF v !~ '^https?://[^\s/]+' OR v ~ '\s' OR length(v) > 2048 THEN
        RAISE EXCEPTION 'url must be the http or https URL the application names when it asks, not %',
            quote_literal(left(url, 100)) USING ERRCODE = 'invalid_parameter_value';
    END IF;
    RETURN v;
END $$;

-- The secret an assistant gets: the one given (16 to 1024 characters), or a new random one.
CREATE FUNCTION _assistant_secret(secret text) RETURNS text
LANGUAGE plpgsql AS $$
BEGIN
    IF secret IS NULL THEN
        RETURN 'qas_' || quarry._random_token(32);
    ELSIF length(secret) < 16 OR length(secret) > 1024 THEN
        RAISE EXCEPTION 'an assistant''s secret has 16 to 1024 characters' USING ERRCODE = 'invalid_parameter_value',
            HINT = 'Leave it out, and Quarry makes a strong one.';
    END IF;
    RETURN secret;
END $$;

-- An assistant's datasets, checked: at least one, each of the assistant's team.
CREATE FUNCTION _assistant_datasets(team_id bigint, datasets bigint[]) RETURNS bigint[]
LANGUAGE plpgsql STABLE AS $$
DECLARE
    v_bad text;
BEGIN
    IF datasets IS NULL OR cardinality(datasets) = 0 THEN
        RAISE EXCEPTION 'an assistant needs at least one dataset' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    SELECT coalesce(x::text, 'NULL') INTO v_bad FROM unnest(datasets) x
     WHERE x IS NULL OR NOT EXISTS (SELECT 1 FROM quarry.datasets d WHERE d.id = x AND d.team_id = _assistant_datasets.team_id)
     LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'dataset % does not exist or is not team %''s', v_bad, team_id USING ERRCODE = 'undefined_object',
            HINT = 'An assistant asks about datasets of its own team only.';
    END IF;
    RETURN ARRAY(SELECT DISTINCT x FROM unnest(datasets) x ORDER BY x);
END $$;

-- An assistant's model configuration, checked: one its team may use (or NULL).
CREATE FUNCTION _assistant_model(team_id bigint, model_config_id bigint) RETURNS bigint
LANGUAGE plpgsql STABLE AS $$
BEGIN
    IF model_config_id IS NOT NULL AND NOT EXISTS (
        SELECT 1 FROM quarry.model_configs m
         WHERE m.id = _assistant_model.model_config_id AND (m.team_id IS NULL OR m.team_id = _assistant_model.team_id)) THEN
        RAISE EXCEPTION 'model configuration % does not exist or belongs to another team', model_config_id
            USING ERRCODE = 'undefined_object';
    END IF;
    RETURN model_config_id;
END $$;

CREATE FUNCTION _assistant_lang(lang text) RETURNS text
LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    IF lang IS NULL OR lang NOT IN ('zh-CN', 'zh-TW', 'en', 'ko-KR') THEN
        RAISE EXCEPTION 'lang must be zh-CN, zh-TW, en or ko-KR, not %', coalesce(quote_literal(lang), 'NULL')
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    RETURN lang;
END $$;

-- Registers an application that asks through mcp_assistant (DBA): its name; its team; the datasets
-- it may ask about (its team's); the database role its questions run as (checked as an account's
-- role is); the URL it names when it asks; its secret (16 to 1024 characters, or NULL for Quarry to
-- make one); a model configuration (NULL: each dataset's own); the language of its answers. It asks
-- through an account of its own made here: a member of the team, mapped to the role, without a
-- password (nobody can sign in as it). Returns {id, account_id, secret}: the secret Quarry made,
-- shown this once (null when one was given); only its argon2id hash is kept.
CREATE FUNCTION create_assistant(name text, team_id bigint, datasets bigint[], db_role name, url text,
                                 secret text DEFAULT NULL, model_config_id bigint DEFAULT NULL,
                                 lang text DEFAULT 'zh-CN') RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
    v_name text := quarry._text_arg(name, 'name', 1, 200);
    v_team quarry.teams := quarry._team(team_id);
    v_datasets bigint[] := quarry._assistant_datasets(v_team.id, datasets);
    v_url text := quarry._assistant_url(url);
    v_secret text := quarry._assistant_secret(secret);
    v_model bigint := quarry._assistant_model(v_team.id, model_config_id);
    v_lang text := quarry._assistant_lang(lang);
    v_account bigint;
    v_id bigint;
BEGIN
    PERFORM quarry._require(db_role, 'db_role');
    IF EXISTS (SELECT 1 FROM quarry.assistants a WHERE a.name = v_name) THEN
        RAISE EXCEPTION 'an assistant named % already exists', quote_literal(v_name) USING ERRCODE = 'unique_violation';
    ELSIF EXISTS (SELECT 1 FROM quarry.assistants a WHERE a.url = v_url) THEN
        RAISE EXCEPTION 'an assistant is registered for % already', v_url USING ERRCODE = 'unique_violation',
            HINT = 'An assistant is recognized by the URL it names: give each its own.';
    END IF;
    v_account := quarry.create_account('assistant-' || lower(quarry._random_token(16)) || '@assistants.quarry.invalid',
                                       NULL, left('Assistant ' || v_name, 200), db_role);
    INSERT INTO quarry.team_members (team_id, account_id, role) VALUES (v_team.id, v_account, 'member');
    INSERT INTO quarry.assistants AS a (name, team_id, account_id, url, secret_hash, model_config_id, lang)
    VALUES (v_name, v_team.id, v_account, v_url, quarry._hash_password(v_secret), v_model, v_lang)
    RETURNING a.id INTO v_id;
    INSERT INTO quarry.assistant_datasets (assistant_id, dataset_id) SELECT v_id, d FROM unnest(v_datasets) d;
    RETURN jsonb_build_object('id', v_id, 'account_id', v_account,
                              'secret', CASE WHEN create_assistant.secret IS NULL THEN v_secret END);
END $$;

-- Changes an assistant (DBA). NULL leaves a field as it is; model_config_id 0 lets each dataset's
-- own model answer again.
CREATE FUNCTION update_assistant(assistant_id bigint, datasets bigint[] DEFAULT NULL, db_role name DEFAULT NULL,
                                 url text DEFAULT NULL, model_config_id bigint DEFAULT NULL, lang text DEFAULT NULL)
RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    v quarry.assistants := quarry._assistant(assistant_id, lock => true);
    v_url text := CASE WHEN update_assistant.url IS NULL THEN v.url ELSE quarry._assistant_url(update_assistant.url) END;
BEGIN
    IF v_url <> v.url AND EXISTS (SELECT 1 FROM quarry.assistants a WHERE a.url = v_url) THEN
        RAISE EXCEPTION 'an assistant is registered for % already', v_url USING ERRCODE = 'unique_violation';
    END IF;
    IF db_role IS NOT NULL THEN
        PERFORM quarry.set_account_role(v.account_id, db_role);
    END IF;
    IF datasets IS NOT NULL THEN
        DELETE FROM quarry.assistant_datasets x WHERE x.assistant_id = v.id;
        INSERT INTO quarry.assistant_datasets (assistant_id, dataset_id)
        SELECT v.id, d FROM unnest(quarry._assistant_datasets(v.team_id, datasets)) d;
    END IF;
    UPDATE quarry.assistants a
       SET url = v_url,
           model_config_id = CASE WHEN update_assistant.model_config_id IS NULL THEN a.model_config_id
                                  WHEN update_assistant.model_config_id = 0 THEN NULL
                                  ELSE quarry._assistant_model(v.team_id, update_assistant.model_config_id) END,
           lang = CASE WHEN update_assistant.lang IS NULL THEN a.lang ELSE quarry._assistant_lang(update_assistant.lang) END,
           updated_at = now()
     WHERE a.id = v.id;
END $$;

-- Gives an assistant a new secret (DBA): the one given, or a new random one. Returns it; the old
-- one stops working at once.
CREATE FUNCTION reset_assistant_secret(assistant_id bigint, secret text DEFAULT NULL) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    v quarry.assistants := quarry._assistant(assistant_id, lock => true);
    v_secret text := quarry._assistant_secret(secret);
BEGIN
    UPDATE quarry.assistants a SET secret_hash = quarry._hash_password(v_secret), updated_at = now() WHERE a.id = v.id;
    RETURN v_secret;
END $$;

-- Removes an assistant (DBA), with its account and the conversations it had.
CREATE FUNCTION drop_assistant(assistant_id bigint) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    v quarry.assistants := quarry._assistant(assistant_id, lock => true);
BEGIN
    DELETE FROM quarry.accounts a WHERE a.id = v.account_id;
END $$;

-- Every assistant, for DBAs (never a secret or its hash).
CREATE FUNCTION assistants()
RETURNS TABLE (id bigint, name text, team text, datasets text[], db_role name, url text, model text, lang text,
               account_id bigint, created_at timestamptz)
LANGUAGE sql STABLE AS $$
    SELECT a.id, a.name, t.name,
           ARRAY(SELECT d.name FROM quarry.assistant_datasets x JOIN quarry.datasets d ON d.id = x.dataset_id
                  WHERE x.assistant_id = a.id ORDER BY d.name),
           u.db_role, a.url, m.name, a.lang, a.account_id, a.created_at
      FROM quarry.assistants a
      JOIN quarry.teams t ON t.id = a.team_id
      JOIN quarry.accounts u ON u.id = a.account_id
      LEFT JOIN quarry.model_configs m ON m.id = a.model_config_id
     ORDER BY a.name
$$;

-- The assistant an mcp_assistant call is for: the one registered for `url` (spaces and trailing
-- slashes aside), provided `secret` is its secret. Returns {ok: true, assistant_id, account_id,
-- name, lang, datasets}; or {ok: false, reason: 'invalid'} for an unknown URL or a wrong secret
-- (the same answer, after the same hashing work); or {ok: false, reason: 'throttled', retry_after}
-- once the address has failed too often (failures count with the address's failed sign-ins, 50 in
-- 15 minutes); or {ok: false, reason: 'disabled'} when a DBA disabled the assistant's account.
CREATE FUNCTION assistant_for(url text, secret text, client_ip inet) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
    v_key text := 'ip:' || host(client_ip);
    v_wait integer := quarry._locked_for(v_key);
    v quarry.assistants;
    v_matches boolean;
BEGIN
    IF v_wait IS NOT NULL THEN
        RETURN jsonb_build_object('ok', false, 'reason', 'throttled', 'retry_after', v_wait);
    END IF;
    SELECT * INTO v FROM quarry.assistants a WHERE a.url = rtrim(btrim(coalesce(assistant_for.url, '')), '/');
    -- Hashed whether or not the URL is known (an unknown one against a throwaway hash).
    v_matches := quarry._verify_password(v.secret_hash, left(coalesce(secret, ''), 1025)) IS TRUE;
    IF v.id IS NULL OR NOT v_matches OR secret IS NULL OR length(secret) > 1024 THEN
        IF v_key IS NOT NULL THEN
            PERFORM quarry._count_failure(v_key);
        END IF;
        RETURN jsonb_build_object('ok', false, 'reason', 'invalid');
    ELSIF (SELECT u.disabled FROM quarry.accounts u WHERE u.id = v.account_id) THEN
        RETURN jsonb_build_object('ok', false, 'reason', 'disabled');
    END IF;
    RETURN jsonb_build_object(
        'ok', true, 'assistant_id', v.id, 'account_id', v.account_id, 'name', v.name, 'lang', v.lang,
        'datasets', (SELECT coalesce(jsonb_agg(x.dataset_id ORDER BY x.dataset_id), '[]')
                       FROM quarry.assistant_datasets x WHERE x.assistant_id = v.id));
END $$;
