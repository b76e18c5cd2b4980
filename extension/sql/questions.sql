-- What the question pipeline asks of the extension besides the catalog and the executor: whether
-- SQL would be accepted, what a dataset says about itself to whoever writes its SQL, and recording
-- a question's steps in one go.

-- NULL when `sql` has the shape of a question (exactly one plain query that only reads), otherwise
-- the reason. It is the first check quarry.execute_for applies (what the query may call is decided
-- from its analysis, as the asker's role, when it runs); offered on its own so that a DBA can try
-- SQL before pinning it.
CREATE FUNCTION check_query(sql text) RETURNS text
LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    PERFORM quarry._check_query(sql);
    RETURN NULL;
EXCEPTION WHEN OTHERS THEN
    RETURN SQLERRM;
END $$;

-- A dataset as the question pipeline reads it: its limits and search path (dataset_runtime), its
-- description, glossary and example questions.
CREATE FUNCTION question_context(account_id bigint, dataset_id bigint) RETURNS jsonb
LANGUAGE plpgsql STABLE AS $$
DECLARE
    v quarry.datasets := quarry._dataset_for(dataset_id, account_id);
BEGIN
    RETURN quarry.dataset_runtime(account_id, v.id) || jsonb_build_object(
        'description', v.description,
        'glossary', quarry._glossary_json(v.id),
        'examples', quarry._examples_json(v.id));
END $$;

-- Records one turn of a conversation in one transaction: starts the conversation (titled after the
-- question) unless one is given, then appends the turn's blocks ([{kind, content}, ...]) in order.
-- Returns the conversation's id.
CREATE FUNCTION save_turn(account_id bigint, dataset_id bigint, conversation_id bigint, title text, blocks jsonb)
RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    v_id bigint := conversation_id;
    v_block jsonb;
BEGIN
    IF blocks IS NULL OR jsonb_typeof(blocks) <> 'array' THEN
        RAISE EXCEPTION 'blocks must be a JSON array of {kind, content}' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF v_id IS NULL THEN
        v_id := quarry.start_conversation(account_id, dataset_id, title);
    ELSIF (quarry._conversation_for(account_id, v_id)).dataset_id IS DISTINCT FROM dataset_id THEN
        RAISE EXCEPTION 'conversation % is about another dataset', v_id USING ERRCODE = 'invalid_parameter_value';
    END IF;
    FOR v_block IN SELECT b FROM jsonb_array_elements(blocks) b LOOP
        PERFORM quarry.add_block(account_id, v_id, v_block->>'kind', v_block->'content');
    END LOOP;
    RETURN v_id;
END $$;

-- What running a question needs to know, read once per question by quarry._execute: the role
-- (checked again now: quarry.account_role raises for a disabled or unmapped account and for a
-- role that became unsafe), the account's email, and, for a dataset the account may use, its
-- search path, limits and the functions it allows beyond the built-in allow list (as OIDs).
CREATE FUNCTION _execution_settings(account_id bigint, dataset_id bigint) RETURNS jsonb
LANGUAGE plpgsql STABLE AS $$
DECLARE
    v_role name := quarry.account_role(account_id);
    v quarry.datasets;
    v_settings jsonb;
BEGIN
    v_settings := jsonb_build_object(
        'role_oid', pg_catalog.to_regrole(quote_ident(v_role))::oid::bigint,
        'email', (SELECT a.email FROM quarry.accounts a WHERE a.id = _execution_settings.account_id));
    IF dataset_id IS NULL THEN
        RETURN v_settings;
    END IF;
    v := quarry._dataset_for(dataset_id, account_id);
    RETURN v_settings || jsonb_build_object(
        'search_path', (SELECT string_agg(DISTINCT quote_ident(s.schema_name), ', ')
                          FROM quarry.dataset_sources s WHERE s.dataset_id = v.id),
        'timeout_ms', v.timeout_ms,
        'work_mem_kb', v.work_mem_kb,
        'temp_file_limit_kb', v.temp_file_limit_kb,
        'functions', (SELECT coalesce(jsonb_agg(pg_catalog.to_regprocedure(f)::oid::bigint), '[]')
                        FROM unnest(v.allowed_functions) f
                       WHERE f !~ '\.\*$' AND pg_catalog.to_regprocedure(f) IS NOT NULL),
        'schemas', (SELECT coalesce(jsonb_agg(pg_catalog.to_regnamespace(left(f, -2))::oid::bigint), '[]')
                      FROM unnest(v.allowed_functions) f
                     WHERE f ~ '\.\*$' AND pg_catalog.to_regnamespace(left(f, -2)) IS NOT NULL));
END $$;

-- Runs a question's SQL for an account in one of its datasets, as the account's role, and returns
-- {columns, rows, row_count, truncated, truncated_by}: at most max_rows rows and about max_bytes
-- bytes of values. The dataset's search path, statement timeout (or timeout_ms when shorter),
-- work_mem, temp_file_limit and allowed functions apply. It runs in a read-only subtransaction that is always rolled back, so it
-- may be called in any transaction. Refusals by the guard raise QG001 (a function that is not
-- allowed) or QG002 (not one plain SELECT); the query's own errors raise as PostgreSQL raised them.
CREATE FUNCTION execute_for(account_id bigint, dataset_id bigint, sql text, max_rows integer, max_bytes integer,
                            timeout_ms integer DEFAULT NULL)
RETURNS json
LANGUAGE plpgsql AS $$
DECLARE
    r record;
BEGIN
    SELECT * INTO r FROM quarry._execute(account_id, quarry._require(dataset_id, 'dataset_id'),
                                         quarry._require(sql, 'sql'), max_rows, max_bytes, NULL, timeout_ms);
    IF r.refused_code IS NOT NULL THEN
        RAISE EXCEPTION USING ERRCODE = r.refused_code, MESSAGE = r.refused_message, HINT = r.refused_hint;
    END IF;
    RETURN r.result;
END $$;

-- The same for a DBA trying a query as an account would run it, outside any dataset: in the
-- given search path, with the default limits (15 s). Kept to a read-only transaction, as in 0.1.0.
CREATE FUNCTION execute_as(account_id bigint, sql text, max_rows integer, max_bytes integer, search_path text DEFAULT NULL)
RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
    r record;
BEGIN
    IF NOT pg_catalog.current_setting('transaction_read_only')::boolean THEN
        RAISE EXCEPTION 'quarry.execute_as must run inside a read-only transaction' USING ERRCODE = 'read_only_sql_transaction',
            HINT = 'BEGIN READ ONLY; SELECT quarry.execute_as(…); ROLLBACK;';
    END IF;
    SELECT * INTO r FROM quarry._execute(account_id, NULL, quarry._require(sql, 'sql'), max_rows, max_bytes, search_path, NULL);
    IF r.refused_code IS NOT NULL THEN
        RAISE EXCEPTION USING ERRCODE = r.refused_code, MESSAGE = r.refused_message, HINT = r.refused_hint;
    END IF;
    RETURN r.result::jsonb;
END $$;
