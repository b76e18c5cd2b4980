-- Datasets: a team's named set of schemas and relations, with a glossary and example questions.

CREATE FUNCTION _dataset(dataset_id bigint) RETURNS quarry.datasets
LANGUAGE plpgsql STABLE AS $$
DECLARE
    v quarry.datasets;
BEGIN
    PERFORM quarry._require(dataset_id, 'dataset_id');
    SELECT * INTO v FROM quarry.datasets d WHERE d.id = _dataset.dataset_id;
    IF v.id IS NULL THEN
        RAISE EXCEPTION 'dataset % does not exist', dataset_id USING ERRCODE = 'undefined_object';
    END IF;
    RETURN v;
END $$;

-- Whether an account may use a dataset of its teams: any of them, except that an assistant's
-- account (sqlbot.sql) may use only the datasets registered for the assistant.
-- (PL/pgSQL, not SQL: a SQL function with a subquery is never inlined, so each call would plan it
-- anew; PL/pgSQL keeps the plan.)
CREATE FUNCTION _assistant_allows(account_id bigint, dataset_id bigint) RETURNS boolean
LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN NOT EXISTS (SELECT 1 FROM quarry.assistants a
                        WHERE a.account_id = _assistant_allows.account_id
                          AND NOT EXISTS (SELECT 1 FROM quarry.assistant_datasets x
                                           WHERE x.assistant_id = a.id AND x.dataset_id = _assistant_allows.dataset_id));
END $$;

-- The datasets an account may use: those of its teams that _assistant_allows. What "may use" means,
-- in one place (_dataset_for, _only_dataset, _execution_settings, list_datasets). A plain SQL
-- query, so it is inlined into its callers' planned queries.
CREATE FUNCTION _usable_datasets(account_id bigint) RETURNS SETOF quarry.datasets
LANGUAGE sql STABLE AS $$
    SELECT d.*
      FROM quarry.datasets d
      JOIN quarry.team_members m ON m.team_id = d.team_id AND m.account_id = _usable_datasets.account_id
     WHERE quarry._assistant_allows(_usable_datasets.account_id, d.id)
$$;

-- The dataset, provided the account may use it (an enabled member of the dataset's team; for an
-- assistant's account, one of the assistant's datasets).
CREATE FUNCTION _dataset_for(dataset_id bigint, account_id bigint) RETURNS quarry.datasets
LANGUAGE plpgsql STABLE AS $$
DECLARE
    r record;
BEGIN
    PERFORM quarry._require(dataset_id, 'dataset_id');
    -- One query, which PL/pgSQL plans once: every question runs this twice. It reads the
    -- membership and whether the account is disabled together (not through _require_member).
    SELECT d AS dataset, a.disabled INTO r
      FROM quarry._usable_datasets(_dataset_for.account_id) d
      JOIN quarry.accounts a ON a.id = _dataset_for.account_id
     WHERE d.id = _dataset_for.dataset_id;
    -- An unknown dataset and someone else's dataset look the same to the caller.
    IF NOT FOUND THEN
        PERFORM quarry._account(account_id);
        RAISE EXCEPTION 'dataset % does not exist or account % is not a member of its team', dataset_id, account_id
            USING ERRCODE = 'undefined_object';
    ELSIF r.disabled THEN
        RAISE EXCEPTION 'account % is disabled', account_id USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN r.dataset;
END $$;

-- The dataset of this name in a team; raises undefined_object when there is none.
CREATE FUNCTION dataset_id(team_id bigint, name text) RETURNS bigint
LANGUAGE plpgsql STABLE AS $$
DECLARE
    v_id bigint;
BEGIN
    PERFORM quarry._team(team_id);
    SELECT d.id INTO v_id FROM quarry.datasets d
     WHERE d.team_id = dataset_id.team_id AND d.name = btrim(quarry._require(dataset_id.name, 'name'));
    IF v_id IS NULL THEN
        RAISE EXCEPTION 'team % has no dataset named %', team_id, quote_literal(name) USING ERRCODE = 'undefined_object';
    END IF;
    RETURN v_id;
END $$;

-- Parses a source: 'schema' for a whole schema or 'schema.relation' for one table, view,
-- materialized view or foreign table (identifiers may be quoted), and checks that it exists.
CREATE FUNCTION _parse_source(source text, OUT schema_name name, OUT relation_name name)
LANGUAGE plpgsql STABLE AS $$
DECLARE
    v_parts text[];
    v_nsp oid;
    v_kind "char";
BEGIN
    v_parts := pg_catalog.parse_ident(btrim(quarry._require(source, 'source')));
    IF cardinality(v_parts) NOT IN (1, 2) THEN
        RAISE EXCEPTION 'invalid dataset source %', quote_literal(source)
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'A source is a schema name or a schema-qualified relation, such as sales or sales.orders.';
    END IF;
    schema_name := v_parts[1];
    relation_name := v_parts[2];
    SELECT n.oid INTO v_nsp FROM pg_catalog.pg_namespace n WHERE n.nspname = schema_name;
    IF v_nsp IS NULL THEN
        RAISE EXCEPTION 'schema % does not exist', quote_ident(schema_name) USING ERRCODE = 'invalid_schema_name';
    ELSIF schema_name IN ('quarry', 'pg_catalog', 'information_schema', 'pg_toast') OR schema_name LIKE 'pg\_temp%'
          OR schema_name LIKE 'pg\_toast%' THEN
        RAISE EXCEPTION 'schema % cannot be part of a dataset', quote_ident(schema_name)
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF relation_name IS NOT NULL THEN
        SELECT c.relkind INTO v_kind FROM pg_catalog.pg_class c
         WHERE c.relnamespace = v_nsp AND c.relname = relation_name;
        IF v_kind IS NULL THEN
            RAISE EXCEPTION 'relation %.% does not exist', quote_ident(schema_name), quote_ident(relation_name)
                USING ERRCODE = 'undefined_table';
        ELSIF v_kind NOT IN ('r', 'p', 'v', 'm', 'f') THEN
            RAISE EXCEPTION '%.% is not a table, view, materialized view or foreign table',
                quote_ident(schema_name), quote_ident(relation_name)
                USING ERRCODE = 'wrong_object_type';
        END IF;
    END IF;
END $$;

CREATE FUNCTION add_dataset_source(dataset_id bigint, source text) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    v quarry.datasets := quarry._dataset(dataset_id);
    s record := quarry._parse_source(source);
BEGIN
    INSERT INTO quarry.dataset_sources (dataset_id, schema_name, relation_name)
    VALUES (v.id, s.schema_name, s.relation_name)
    ON CONFLICT DO NOTHING;
    UPDATE quarry.datasets d SET updated_at = now() WHERE d.id = v.id;
    PERFORM quarry._derive_semantic_model(v.id);
END $$;

CREATE FUNCTION remove_dataset_source(dataset_id bigint, source text) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    v quarry.datasets := quarry._dataset(dataset_id);
    v_parts text[] := pg_catalog.parse_ident(btrim(quarry._require(source, 'source')));
BEGIN
    DELETE FROM quarry.dataset_sources s
     WHERE s.dataset_id = v.id AND s.schema_name = v_parts[1]
       AND s.relation_name IS NOT DISTINCT FROM v_parts[2];
    IF NOT FOUND THEN
        RAISE EXCEPTION 'dataset % has no source %', v.id, quote_literal(source) USING ERRCODE = 'undefined_object';
    END IF;
    UPDATE quarry.datasets d SET updated_at = now() WHERE d.id = v.id;
    PERFORM quarry._derive_semantic_model(v.id);
END $$;

-- Creates a dataset for a team over the given sources (see _parse_source).
CREATE FUNCTION create_dataset(
    team_id      bigint,
    name         text,
    sources      text[],
    description  text DEFAULT '',
    row_limit    integer DEFAULT 1000
) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    v_team quarry.teams := quarry._team(team_id);
    v_name text := quarry._text_arg(name, 'name', 1, 200);
    v_id bigint;
    v_source text;
BEGIN
    IF sources IS NULL OR cardinality(sources) = 0 THEN
        RAISE EXCEPTION 'a dataset needs at least one source' USING ERRCODE = 'invalid_parameter_value',
            HINT = 'Pass schemas or relations, for example ARRAY[''sales'', ''finance.invoices''].';
    END IF;
    IF EXISTS (SELECT 1 FROM quarry.datasets d WHERE d.team_id = v_team.id AND d.name = v_name) THEN
        RAISE EXCEPTION 'team % already has a dataset named %', v_team.id, quote_literal(v_name)
            USING ERRCODE = 'unique_violation';
    END IF;
    INSERT INTO quarry.datasets (team_id, name, description, row_limit)
    VALUES (v_team.id, v_name, quarry._text_arg(coalesce(description, ''), 'description', 0, 10000),
            quarry._positive(row_limit, 'row_limit', 1000000))
    RETURNING id INTO v_id;
    FOREACH v_source IN ARRAY sources LOOP
        PERFORM quarry.add_dataset_source(v_id, v_source);
    END LOOP;
    RETURN v_id;
END $$;

-- Changes a dataset; NULL leaves a field as it is.
CREATE FUNCTION update_dataset(
    dataset_id   bigint,
    name         text DEFAULT NULL,
    description  text DEFAULT NULL,
    row_limit    integer DEFAULT NULL,
    timeout_ms   integer DEFAULT NULL,
    work_mem_kb  integer DEFAULT NULL,
    temp_file_limit_kb integer DEFAULT NULL,
    max_cost     double precision DEFAULT NULL,
    max_rows_scanned double precision DEFAULT NULL
) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    v quarry.datasets := quarry._dataset(dataset_id);
    v_name text := CASE WHEN name IS NULL THEN v.name ELSE quarry._text_arg(name, 'name', 1, 200) END;
BEGIN
    IF v_name <> v.name AND EXISTS (SELECT 1 FROM quarry.datasets d WHERE d.team_id = v.team_id AND d.name = v_name) THEN
        RAISE EXCEPTION 'team % already has a dataset named %', v.team_id, quote_literal(v_name)
            USING ERRCODE = 'unique_violation';
    END IF;
    IF timeout_ms IS NOT NULL AND timeout_ms NOT BETWEEN 100 AND 600000 THEN
        RAISE EXCEPTION 'timeout_ms must be between 100 and 600000' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF work_mem_kb IS NOT NULL AND work_mem_kb NOT BETWEEN 64 AND 4194304 THEN
        RAISE EXCEPTION 'work_mem_kb must be between 64 and 4194304 (4 GB)' USING ERRCODE = 'invalid_parameter_value';
    ELSIF temp_file_limit_kb IS NOT NULL AND temp_file_limit_kb NOT BETWEEN 0 AND 1073741824 THEN
        RAISE EXCEPTION 'temp_file_limit_kb must be between 0 and 1073741824 (1 TB)' USING ERRCODE = 'invalid_parameter_value';
    ELSIF max_cost < 0 OR max_rows_scanned < 0 OR max_cost = 'NaN' OR max_rows_scanned = 'NaN' THEN
        RAISE EXCEPTION 'max_cost and max_rows_scanned are positive (0 removes the limit)' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    UPDATE quarry.datasets d
       SET name = v_name,
           description = CASE WHEN update_dataset.description IS NULL THEN d.description
                              ELSE quarry._text_arg(update_dataset.description, 'description', 0, 10000) END,
           row_limit = coalesce(quarry._positive(update_dataset.row_limit, 'row_limit', 1000000, nullable => true), d.row_limit),
           timeout_ms = coalesce(update_dataset.timeout_ms, d.timeout_ms),
           work_mem_kb = coalesce(update_dataset.work_mem_kb, d.work_mem_kb),
           temp_file_limit_kb = coalesce(update_dataset.temp_file_limit_kb, d.temp_file_limit_kb),
           -- 0 removes a limit; NULL leaves it as it is.
           max_cost = CASE WHEN update_dataset.max_cost IS NULL THEN d.max_cost ELSE nullif(update_dataset.max_cost, 0) END,
           max_rows_scanned = CASE WHEN update_dataset.max_rows_scanned IS NULL THEN d.max_rows_scanned
                                   ELSE nullif(update_dataset.max_rows_scanned, 0) END,
           updated_at = now()
     WHERE d.id = v.id;
END $$;

-- Drops a dataset with its glossary, examples, conversations and pins.
CREATE FUNCTION drop_dataset(dataset_id bigint) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    v quarry.datasets := quarry._dataset(dataset_id);
BEGIN
    DELETE FROM quarry.datasets d WHERE d.id = v.id;
END $$;

-- Defines (or redefines) a glossary term of a dataset; returns its id.
CREATE FUNCTION set_glossary_term(dataset_id bigint, term text, definition text, synonyms text[] DEFAULT '{}')
RETURNS bigint
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    v quarry.datasets := quarry._dataset(set_glossary_term.dataset_id);
    v_term text := quarry._text_arg(set_glossary_term.term, 'term', 1, 200);
    v_definition text := quarry._text_arg(set_glossary_term.definition, 'definition', 1, 5000);
    v_synonyms text[] := ARRAY(SELECT DISTINCT btrim(s) FROM unnest(coalesce(set_glossary_term.synonyms, '{}')) s
                                WHERE btrim(s) <> '' ORDER BY 1);
    v_id bigint;
BEGIN
    INSERT INTO quarry.glossary_terms AS g (dataset_id, term, definition, synonyms)
    VALUES (v.id, v_term, v_definition, v_synonyms)
    ON CONFLICT (dataset_id, lower(term))
    DO UPDATE SET term = excluded.term, definition = excluded.definition, synonyms = excluded.synonyms
    RETURNING id INTO v_id;
    RETURN v_id;
END $$;

CREATE FUNCTION remove_glossary_term(dataset_id bigint, term text) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    v quarry.datasets := quarry._dataset(dataset_id);
BEGIN
    DELETE FROM quarry.glossary_terms g
     WHERE g.dataset_id = v.id AND lower(g.term) = lower(btrim(quarry._require(remove_glossary_term.term, 'term')));
    IF NOT FOUND THEN
        RAISE EXCEPTION 'dataset % has no glossary term %', v.id, quote_literal(term) USING ERRCODE = 'undefined_object';
    END IF;
END $$;

-- Adds an example question with the SQL that answers it. The SQL must parse as a single query.
CREATE FUNCTION add_example(dataset_id bigint, question text, sql text) RETURNS bigint
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    v quarry.datasets := quarry._dataset(add_example.dataset_id);
    v_question text := quarry._text_arg(add_example.question, 'question', 1, 2000);
    v_sql text := quarry._text_arg(add_example.sql, 'sql', 1, 100000);
    v_id bigint;
BEGIN
    PERFORM quarry._check_query(v_sql);
    INSERT INTO quarry.example_queries AS e (dataset_id, question, sql)
    VALUES (v.id, v_question, v_sql)
    ON CONFLICT (dataset_id, lower(question)) DO UPDATE SET sql = excluded.sql
    RETURNING id INTO v_id;
    RETURN v_id;
END $$;

CREATE FUNCTION remove_example(example_id bigint) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM quarry.example_queries e WHERE e.id = quarry._require(example_id, 'example_id');
    IF NOT FOUND THEN
        RAISE EXCEPTION 'example % does not exist', example_id USING ERRCODE = 'undefined_object';
    END IF;
END $$;

-- Lets questions of a dataset call a function beyond the built-in allow list (see the guard in the
-- README): a signature such as 'public.fiscal_quarter(date)', or 'schema.*' for every function of
-- a schema. What an allowed function runs in SQL is checked again while it runs.
CREATE FUNCTION allow_function(dataset_id bigint, function text) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    v quarry.datasets := quarry._dataset(dataset_id);
    v_entry text := btrim(quarry._require(function, 'function'));
BEGIN
    IF v_entry ~ '\.\*$' THEN
        IF pg_catalog.to_regnamespace(left(v_entry, -2)) IS NULL THEN
            RAISE EXCEPTION 'schema % does not exist', left(v_entry, -2) USING ERRCODE = 'invalid_schema_name';
        END IF;
    ELSIF pg_catalog.to_regprocedure(v_entry) IS NULL THEN
        RAISE EXCEPTION 'function % does not exist', quote_literal(v_entry) USING ERRCODE = 'undefined_function',
            HINT = 'Name it with its argument types, for example public.fiscal_quarter(date), or allow a whole schema with public.*.';
    ELSE
        v_entry := pg_catalog.to_regprocedure(v_entry)::oid::regprocedure::text;
    END IF;
    UPDATE quarry.datasets d SET allowed_functions = array_append(array_remove(d.allowed_functions, v_entry), v_entry),
                                 updated_at = now()
     WHERE d.id = v.id;
END $$;

-- Takes back what allow_function allowed (the entry as it was allowed, or the same function).
CREATE FUNCTION disallow_function(dataset_id bigint, function text) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    v quarry.datasets := quarry._dataset(dataset_id);
    v_entry text := btrim(quarry._require(function, 'function'));
BEGIN
    IF v_entry !~ '\.\*$' AND pg_catalog.to_regprocedure(v_entry) IS NOT NULL THEN
        v_entry := pg_catalog.to_regprocedure(v_entry)::oid::regprocedure::text;
    END IF;
    IF NOT v_entry = ANY (v.allowed_functions) THEN
        RAISE EXCEPTION 'dataset % does not allow %', v.id, quote_literal(v_entry) USING ERRCODE = 'undefined_object';
    END IF;
    UPDATE quarry.datasets d SET allowed_functions = array_remove(d.allowed_functions, v_entry), updated_at = now()
     WHERE d.id = v.id;
END $$;
