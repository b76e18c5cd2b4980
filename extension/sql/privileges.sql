-- Who may touch what. Nothing in the quarry schema belongs to anyone but the extension's owner:
-- the roles that answer questions can neither read its tables nor call its functions. The sidecar's
-- login role is given exactly the service API (grant_service); DBAs use the rest as superusers.

-- The functions the sidecar calls. Everything else is for DBAs, or internal (a leading underscore).
CREATE FUNCTION _service_api() RETURNS text[]
LANGUAGE sql IMMUTABLE AS $$
    SELECT ARRAY[
        'version()',
        'verify_password(text, text)',
        'account_teams(bigint)',
        'account_role(bigint)',
        'catalog(bigint, bigint, text, text, integer, integer, boolean, text[])',
        'list_datasets(bigint, text, text, integer, integer)',
        'describe_dataset(bigint, bigint, text, integer, integer)',
        'dataset_id(bigint, text)',
        'dataset_runtime(bigint, bigint)',
        'question_context(bigint, bigint)',
        'question_model(bigint, bigint)',
        'dimension_values(bigint, bigint)',
        'check_query(text)',
        'save_turn(bigint, bigint, bigint, text, jsonb, text)',
        'question_start(bigint, bigint, bigint, integer)',
        -- Conversations, dashboards, models, audit
        'start_conversation(bigint, bigint, text)',
        'add_block(bigint, bigint, text, jsonb)',
        'list_conversations(bigint, bigint, integer, integer)',
        'get_conversation(bigint, bigint)',
        'rename_conversation(bigint, bigint, text)',
        'delete_conversation(bigint, bigint)',
        'conversation_history(bigint, bigint, integer)',
        'create_dashboard(bigint, bigint, text, text, text)',
        'list_dashboards(bigint, bigint)',
        'dashboard_pins(bigint, bigint)',
        'pin(bigint, bigint, bigint, text, text, text, jsonb, integer, bigint)',
        'pin_conversation(bigint, bigint, bigint, integer)',
        'unpin(bigint, bigint)',
        'account_models(bigint)',
        'dataset_model(bigint, bigint)',
        'audit(bigint, text, text, jsonb, text, double precision, text, text, text, bigint)',
        'record_call(bigint, text, text, jsonb, text, double precision, text, text, text, bigint, jsonb)',
        -- OAuth
        'scopes()',
        'register_client(text, text[], text, text[], text, jsonb, text, inet, integer)',
        'cache_client_metadata(text, jsonb)',
        'client(text)',
        'check_authorization_request(text, text, text)',
        'consented_scopes(bigint, text)',
        'authorize(bigint, text, text, text[], text, text, interval)',
        'redeem_code(text, text, text, text, text, text, interval, interval)',
        'refresh_tokens(text, text, text, text, text, interval, interval, interval)',
        'revoke_token(text, text, text)',
        'check_token(text, text)',
        'account_grants(bigint)',
        'revoke_grant(bigint, text)',
        'revoke_app(bigint, text)',
        'purge_expired()',
        -- Browser sessions
        'sign_in(text, text, inet, text, interval)',
        'sign_up(text, text, text, inet, text, interval)',
        'session(text)',
        'sign_out(text)',
        'change_password(bigint, text, text, text)',
        -- MCP
        'execute_as(bigint, text, integer, integer, text)',
        'execute_for(bigint, bigint, text, integer, integer, integer)',
        'run_for(bigint, bigint, text, integer, integer, integer)',
        'check_mcp_request(text, text, text)',
        'open_mcp_session(text, bigint, text)',
        'store_mcp_session(text, jsonb)',
        'load_mcp_session(text)',
        'end_mcp_session(text)',
        -- The SQLBot-compatible front
        'sqlbot_start(text, text, text, text, inet, interval, bigint)',
        'sqlbot_caller(text, text, bigint, bigint)',
        'sqlbot_bind_chat(bigint, bigint, bigint)',
        'assistant_for(text, text, inet)'
    ]
$$;

-- Lets a role (the sidecar's login role) call the service API, and remembers it so that upgrades
-- can grant it new functions. The role should be NOINHERIT and own no data privileges.
CREATE FUNCTION grant_service(role name) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    r pg_catalog.pg_roles;
    v_function text;
BEGIN
    SELECT * INTO r FROM pg_catalog.pg_roles WHERE rolname = quarry._require(role, 'role');
    IF r.oid IS NULL THEN
        RAISE EXCEPTION 'role % does not exist', quote_ident(role) USING ERRCODE = 'undefined_object';
    ELSIF EXISTS (SELECT 1 FROM quarry.accounts a WHERE a.db_role = role) THEN
        RAISE EXCEPTION 'role % answers questions for an account and cannot also be a service role', quote_ident(role)
            USING ERRCODE = 'insufficient_privilege';
    ELSIF r.rolsuper OR r.rolbypassrls THEN
        RAISE EXCEPTION 'role % is a superuser or has BYPASSRLS; the service role must hold no data privileges',
            quote_ident(role) USING ERRCODE = 'insufficient_privilege';
    ELSIF r.rolinherit THEN
        -- It will be a member of every account's role (to SET ROLE to it) and must not inherit their rights.
        RAISE EXCEPTION 'role % inherits the privileges of the roles it belongs to', quote_ident(role)
            USING ERRCODE = 'insufficient_privilege', HINT = format('ALTER ROLE %I NOINHERIT;', role);
    END IF;
    INSERT INTO quarry.service_roles (role_name) VALUES (role) ON CONFLICT DO NOTHING;
    EXECUTE format('GRANT USAGE ON SCHEMA quarry TO %I', role);
    FOREACH v_function IN ARRAY quarry._service_api() LOOP
        EXECUTE format('GRANT EXECUTE ON FUNCTION quarry.%s TO %I', v_function, role);
    END LOOP;
END $$;

CREATE FUNCTION revoke_service(role name) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM quarry.service_roles s WHERE s.role_name = quarry._require(role, 'role');
    IF NOT FOUND THEN
        RAISE EXCEPTION 'role % is not a service role', quote_ident(role) USING ERRCODE = 'undefined_object';
    END IF;
    IF pg_catalog.to_regrole(quote_ident(role)) IS NOT NULL THEN
        EXECUTE format('REVOKE ALL ON ALL FUNCTIONS IN SCHEMA quarry FROM %I', role);
        EXECUTE format('REVOKE USAGE ON SCHEMA quarry FROM %I', role);
    END IF;
END $$;

-- Grants the current service API to every remembered service role (upgrade scripts call this).
CREATE FUNCTION _regrant_services() RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    v_role name;
BEGIN
    FOR v_role IN SELECT s.role_name FROM quarry.service_roles s
                   WHERE pg_catalog.to_regrole(quote_ident(s.role_name)) IS NOT NULL LOOP
        PERFORM quarry.grant_service(v_role);
    END LOOP;
END $$;

REVOKE ALL ON SCHEMA quarry FROM PUBLIC;
REVOKE ALL ON ALL TABLES IN SCHEMA quarry FROM PUBLIC;
REVOKE ALL ON ALL SEQUENCES IN SCHEMA quarry FROM PUBLIC;
REVOKE EXECUTE ON ALL FUNCTIONS IN SCHEMA quarry FROM PUBLIC;

-- Entry points run with the owner's rights and a fixed search_path, so their callers need no
-- privileges on the tables and cannot redirect any name they use. Internal helpers are left
-- inlinable; they only ever run inside an entry point.
DO $$
DECLARE
    v_function regprocedure;
BEGIN
    FOR v_function IN SELECT p.oid::regprocedure FROM pg_catalog.pg_proc p
                       WHERE p.pronamespace = 'quarry'::regnamespace AND p.proname !~ '^_' LOOP
        EXECUTE format('ALTER FUNCTION %s SECURITY DEFINER SET search_path = pg_catalog, quarry, pg_temp', v_function);
    END LOOP;
END $$;
