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
-- question) unless one is given, then appends the turn's blocks ([{kind, content}, ...]) in order,
-- in one statement. With `mcp_session_id` and no conversation, the turn goes to the conversation
-- that session keeps for the dataset (started by its first turn): run_sql's calls of one MCP
-- session make one thread. Returns the conversation's id.
CREATE FUNCTION save_turn(account_id bigint, dataset_id bigint, conversation_id bigint, title text, blocks jsonb,
                          mcp_session_id text DEFAULT NULL)
RETURNS bigint
LANGUAGE plpgsql AS $$
BEGIN
    RETURN quarry._save_turn(account_id, dataset_id, conversation_id, title, blocks, mcp_session_id, access_checked => false);
END $$;

-- save_turn's work. With `access_checked`, the caller has just checked, in the same call, that the
-- account may use the dataset (record_call: the call's question or run did), so a continued
-- conversation is not checked for it again; its owner and dataset still are.
CREATE FUNCTION _save_turn(account_id bigint, dataset_id bigint, conversation_id bigint, title text, blocks jsonb,
                           mcp_session_id text, access_checked boolean)
RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    v_id bigint := conversation_id;
    v_seq integer := 0;
    v_bad text;
    v_not_object boolean;
    v_too_big boolean;
    v_dataset bigint;
BEGIN
    IF blocks IS NULL OR jsonb_typeof(blocks) <> 'array' THEN
        RAISE EXCEPTION 'blocks must be a JSON array of {kind, content}' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    -- Every block checked in one pass (this runs on every question).
    SELECT (array_agg(coalesce(quote_literal(b->>'kind'), 'NULL'))
                FILTER (WHERE b->>'kind' IS NULL OR b->>'kind' NOT IN ('question', 'sql', 'result', 'chart', 'analysis', 'error')))[1],
           bool_or(jsonb_typeof(b->'content') IS DISTINCT FROM 'object'),
           bool_or(pg_column_size(b->'content') > 4 * 1024 * 1024)
      INTO v_bad, v_not_object, v_too_big
      FROM jsonb_array_elements(blocks) b;
    IF v_bad IS NOT NULL THEN
        RAISE EXCEPTION 'a block is a question, sql, result, chart, analysis or error, not %', v_bad USING ERRCODE = 'invalid_parameter_value';
    ELSIF v_not_object THEN
        RAISE EXCEPTION 'block content must be a JSON object' USING ERRCODE = 'invalid_parameter_value';
    ELSIF v_too_big THEN
        RAISE EXCEPTION 'block content is larger than 4 MB' USING ERRCODE = 'program_limit_exceeded';
    END IF;
    IF v_id IS NULL AND mcp_session_id IS NOT NULL THEN
        SELECT c.id INTO v_id FROM quarry.conversations c
         WHERE c.mcp_session_id = _save_turn.mcp_session_id AND c.dataset_id = _save_turn.dataset_id
           AND c.account_id = _save_turn.account_id
         ORDER BY c.id DESC LIMIT 1;
    END IF;
    IF v_id IS NULL THEN
        v_id := quarry.start_conversation(account_id, dataset_id, title);
        IF mcp_session_id IS NOT NULL THEN
            UPDATE quarry.conversations c SET mcp_session_id = s.session_id
              FROM quarry.mcp_sessions s
             WHERE c.id = v_id AND s.session_id = _save_turn.mcp_session_id AND s.account_id = _save_turn.account_id;
        END IF;
    ELSE
        -- The account may still use the dataset, and the conversation is its own and about it.
        -- The UPDATE locks the conversation's row, so that blocks of one conversation are
        -- numbered in order even when two turns end at once.
        IF NOT access_checked THEN
            PERFORM quarry._dataset_for(dataset_id, account_id);
        END IF;
        UPDATE quarry.conversations c SET updated_at = now()
         WHERE c.id = v_id AND c.account_id = _save_turn.account_id
        RETURNING c.dataset_id INTO v_dataset;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'conversation % does not exist', v_id USING ERRCODE = 'undefined_object';
        ELSIF v_dataset IS DISTINCT FROM dataset_id THEN
            RAISE EXCEPTION 'conversation % is about another dataset', v_id USING ERRCODE = 'invalid_parameter_value';
        END IF;
        SELECT coalesce(max(b.seq), 0) INTO v_seq FROM quarry.conversation_blocks b WHERE b.conversation_id = v_id;
    END IF;
    INSERT INTO quarry.conversation_blocks (conversation_id, seq, kind, content)
    SELECT v_id, v_seq + x.n::integer, x.b->>'kind', x.b->'content'
      FROM jsonb_array_elements(blocks) WITH ORDINALITY AS x(b, n);
    RETURN v_id;
END $$;

-- Records a call that produced a turn of a conversation, in one transaction: the turn, when there
-- is one (as save_turn; `turn` is {dataset_id, conversation_id, title, blocks, mcp_session_id}),
-- and the call's audit row (as audit), so that an answered call's row is committed with what the
-- call wrote. Returns the conversation's id (NULL without a turn). A turn that cannot be saved
-- raises as save_turn does and writes nothing: the caller then records the failure on its own.
-- The sidecar calls it at the end of a call whose question or run has just checked that the
-- account may use the turn's dataset (question_start, run_for, execute_for), so that is not
-- checked a second time here; the conversation continued must still be the account's and about
-- that dataset.
CREATE FUNCTION record_call(account_id bigint, client_id text, action text, arguments jsonb, outcome text,
                            duration_ms double precision, error text, question text, sql text, row_count bigint,
                            turn jsonb)
RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    v_id bigint;
BEGIN
    IF turn IS NOT NULL THEN
        IF jsonb_typeof(turn) <> 'object' THEN
            RAISE EXCEPTION 'turn must be a JSON object {dataset_id, conversation_id, title, blocks, mcp_session_id}'
                USING ERRCODE = 'invalid_parameter_value';
        END IF;
        v_id := quarry._save_turn(account_id, quarry._require((turn->>'dataset_id')::bigint, 'turn.dataset_id'),
                                  (turn->>'conversation_id')::bigint, turn->>'title', turn->'blocks',
                                  turn->>'mcp_session_id', access_checked => true);
    END IF;
    PERFORM quarry.audit(account_id, client_id, action, arguments, outcome, duration_ms, error, question, sql, row_count);
    RETURN v_id;
END $$;

-- The account's only dataset (one it may ask about); NULL when it has several, and an error
-- saying what to do when it has none.
CREATE FUNCTION _only_dataset(account_id bigint) RETURNS bigint
LANGUAGE plpgsql STABLE AS $$
DECLARE
    v_count integer;
    v_dataset bigint;
BEGIN
    SELECT count(*), min(s.id) INTO v_count, v_dataset FROM quarry._usable_datasets(_only_dataset.account_id) s;
    IF v_count = 0 THEN
        RAISE EXCEPTION 'You have no dataset you can ask about: ask your administrator to add you to a team with one.'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN CASE WHEN v_count = 1 THEN v_dataset END;
END $$;

-- What starting a question (or a run of SQL) needs, in one call: that the account may ask (its
-- role is checked, or this raises with the reason), the conversation continued (its latest
-- turns), and the dataset: the one given, else the conversation's, else the account's only one,
-- with its runtime. With none of these, `dataset` is null and the caller matches the question
-- against the account's datasets.
CREATE FUNCTION question_start(account_id bigint, dataset_id bigint, conversation_id bigint, max_turns integer DEFAULT 5)
RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
    v_history jsonb;
    v_dataset bigint := dataset_id;
    v_choice text;
BEGIN
    PERFORM quarry.account_role(account_id);
    IF conversation_id IS NOT NULL THEN
        v_history := quarry.conversation_history(account_id, conversation_id, max_turns);
        IF dataset_id IS NOT NULL AND dataset_id <> (v_history->>'dataset_id')::bigint THEN
            RAISE EXCEPTION 'conversation is about dataset %, not dataset %; leave dataset_id out or start a new conversation',
                v_history->>'dataset_id', dataset_id USING ERRCODE = 'invalid_parameter_value';
        END IF;
    END IF;
    IF dataset_id IS NOT NULL THEN
        v_choice := 'given';
    ELSIF v_history IS NOT NULL THEN
        v_dataset := (v_history->>'dataset_id')::bigint;
        v_choice := 'conversation';
    ELSE
        v_dataset := quarry._only_dataset(account_id);
        v_choice := CASE WHEN v_dataset IS NOT NULL THEN 'only' END;
    END IF;
    RETURN jsonb_build_object('history', v_history, 'choice', v_choice,
                              'dataset', CASE WHEN v_dataset IS NOT NULL THEN quarry.dataset_runtime(account_id, v_dataset) END);
END $$;

-- What running a question needs to know, read once per question by quarry._execute (or by
-- quarry.run_for, for _execute_settled): the role (checked again now: a disabled or unmapped
-- account and a role that became unsafe are refused), the account's email, and, for a dataset the
-- account may use, its id, name, team, row limit, search path, limits and the functions it allows
-- beyond the built-in allow list (as OIDs).
--
-- One query reads it all when everything is in order (this runs on every question, and each
-- statement PL/pgSQL runs costs its executor start-up); when it finds nothing, account_role and
-- _dataset_for run to raise the reason, as they say it everywhere else.
CREATE FUNCTION _execution_settings(account_id bigint, dataset_id bigint) RETURNS jsonb
LANGUAGE plpgsql STABLE AS $$
DECLARE
    v_settings jsonb;
    v_dataset jsonb;
BEGIN
    SELECT jsonb_build_object('role_oid', r.oid::bigint, 'email', a.email),
           (SELECT jsonb_build_object(
                       'id', d.id, 'name', d.name, 'team_id', d.team_id, 'row_limit', d.row_limit,
                       'search_path', (SELECT string_agg(DISTINCT quote_ident(s.schema_name), ', ')
                                         FROM quarry.dataset_sources s WHERE s.dataset_id = d.id),
                       'timeout_ms', d.timeout_ms,
                       'work_mem_kb', d.work_mem_kb,
                       'temp_file_limit_kb', d.temp_file_limit_kb,
                       'max_cost', d.max_cost,
                       'max_rows_scanned', d.max_rows_scanned,
                       'functions', (SELECT coalesce(jsonb_agg(pg_catalog.to_regprocedure(f)::oid::bigint), '[]')
                                       FROM unnest(d.allowed_functions) f
                                      WHERE f !~ '\.\*$' AND pg_catalog.to_regprocedure(f) IS NOT NULL),
                       'schemas', (SELECT coalesce(jsonb_agg(pg_catalog.to_regnamespace(left(f, -2))::oid::bigint), '[]')
                                     FROM unnest(d.allowed_functions) f
                                    WHERE f ~ '\.\*$' AND pg_catalog.to_regnamespace(left(f, -2)) IS NOT NULL))
              FROM quarry._usable_datasets(a.id) d
             WHERE d.id = _execution_settings.dataset_id)
      INTO v_settings, v_dataset
      FROM quarry.accounts a
      CROSS JOIN LATERAL (SELECT pg_catalog.to_regrole(quote_ident(a.db_role))::oid AS oid) r
     WHERE a.id = _execution_settings.account_id AND NOT a.disabled AND r.oid IS NOT NULL
       AND quarry._role_problem(r.oid) IS NULL;
    IF v_settings IS NULL OR (dataset_id IS NOT NULL AND v_dataset IS NULL) THEN
        PERFORM quarry.account_role(account_id);
        IF dataset_id IS NOT NULL THEN
            PERFORM quarry._dataset_for(dataset_id, account_id);
        END IF;
        RAISE EXCEPTION 'the settings of account % in dataset % cannot be read', account_id, dataset_id
            USING ERRCODE = 'internal_error';
    END IF;
    RETURN v_settings || coalesce(v_dataset, '{}');
END $$;

-- Runs a question's SQL for an account in one of its datasets, as the account's role, and returns
-- {columns, rows, row_count, truncated, truncated_by}: at most max_rows rows and about max_bytes
-- bytes of values. The dataset's search path, statement timeout (or timeout_ms when shorter),
-- work_mem, temp_file_limit and allowed functions apply. It runs in a read-only subtransaction that is always rolled back, so it
-- may be called in any transaction. Refusals by the guard raise QG001 (a function that is not
-- allowed), QG002 (not one plain SELECT) or QG003 (a plan over the dataset's cost limits); the
-- query's own errors raise as PostgreSQL raised them.
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

-- SQL the caller wrote, run for an account in one call (what run_sql needs when it continues no
-- conversation): the account may ask (its role is checked, or this raises with the reason, as
-- question_start does), the dataset is the one given or else the account's only one, and the
-- query runs as execute_for runs it, with at most max_rows rows (NULL: the dataset's row limit,
-- which is never exceeded). The account and the dataset are read and checked once, for both the
-- choice and the run (_execute_settled). Returns
--   {"choice": "given"|"only", "dataset": <as dataset_runtime>, "result": <execute_for's result>}
-- or, when the query was refused or failed, "failed": {"code", "message", "hint"} (its SQLSTATE
-- and PostgreSQL's words) in place of "result": what went wrong with the query is an answer, not
-- an error of this call. With no dataset given and several to choose from, {"choice": null}: the
-- caller picks one (question_start and execute_for). Errors of this call itself (an account that
-- may not ask, a dataset it may not use, bad arguments) raise.
CREATE FUNCTION run_for(account_id bigint, dataset_id bigint, sql text, max_rows integer, max_bytes integer,
                        timeout_ms integer DEFAULT NULL)
RETURNS json
LANGUAGE plpgsql AS $$
DECLARE
    v_dataset bigint := dataset_id;
    v_choice text := 'given';
    v_settings jsonb;
    v_runtime json;
    v_rows integer;
    r record;
    v_code text;
    v_message text;
    v_hint text;
BEGIN
    PERFORM quarry._require(sql, 'sql');
    IF v_dataset IS NULL THEN
        v_dataset := quarry._only_dataset(account_id);
        IF v_dataset IS NULL THEN
            PERFORM quarry.account_role(account_id);
            RETURN json_build_object('choice', NULL);
        END IF;
        v_choice := 'only';
    END IF;
    v_settings := quarry._execution_settings(account_id, quarry._require(v_dataset, 'dataset_id'));
    v_runtime := json_build_object('id', v_settings->'id', 'name', v_settings->'name', 'team_id', v_settings->'team_id',
                                   'row_limit', v_settings->'row_limit', 'timeout_ms', v_settings->'timeout_ms',
                                   'search_path', v_settings->'search_path');
    v_rows := least(coalesce(max_rows, (v_settings->>'row_limit')::integer), (v_settings->>'row_limit')::integer, 100000);
    BEGIN
        SELECT * INTO r FROM quarry._execute_settled(account_id, v_dataset, v_settings, sql, greatest(v_rows, 1), max_bytes, timeout_ms);
    EXCEPTION WHEN OTHERS OR query_canceled THEN
        -- (An internal error, class XX or 58, is returned too: the caller shows it and, since the
        -- backend itself may be in a bad state, closes the connection.)
        GET STACKED DIAGNOSTICS v_code = RETURNED_SQLSTATE, v_message = MESSAGE_TEXT, v_hint = PG_EXCEPTION_HINT;
    END;
    IF v_code IS NULL THEN
        IF r.refused_code IS NULL THEN
            RETURN json_build_object('choice', v_choice, 'dataset', v_runtime, 'result', r.result);
        END IF;
        v_code := r.refused_code; v_message := r.refused_message; v_hint := r.refused_hint;
    END IF;
    RETURN json_build_object('choice', v_choice, 'dataset', v_runtime,
                             'failed', json_build_object('code', v_code, 'message', v_message, 'hint', nullif(v_hint, '')));
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
