-- The semantic model of a dataset: what its questions are about, in business terms.
--
--   tables          logical tables over the dataset's relations (primary key, the column that names
--                   a row, the default time dimension, synonyms)
--   measures        aggregates (`count(*)`, `sum(order_lines.quantity)`), or facts: numeric
--                   row-level expressions the question's words aggregate (sum, average, min, max);
--                   a measure may carry a filter that always applies (revenue without cancelled
--                   orders), a unit and a format
--   dimensions      what answers may be grouped or filtered by; their values are read under the
--                   asker's role when a question needs them; values may have synonyms
--   time_dimensions dates and timestamps, with their grains and the fiscal year's first month
--   filters         named conditions ("cancelled", "active customer"), possibly through another table
--   relationships   join paths, many-to-one (from foreign keys, or declared)
--   verified queries the dataset's example questions (quarry.add_example)
--
-- A model is derived from the catalog when a dataset is created or its sources change (a count per
-- table, facts of number columns, foreign keys as relationships, small text and boolean columns as
-- dimensions, dates and timestamps as time dimensions). A DBA refines it through the functions
-- below; refinements are kept apart from what is derived (origin 'dba'), survive a new derivation
-- and take precedence over a derived item of the same kind, table and name. Expressions name
-- columns as table.column, with the logical table names of the model; a bare column name means
-- the item's own table.

-- A name usable as a logical table name and SQL alias: lower case letters, digits, underscores.
CREATE FUNCTION _semantic_name(name text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT left(regexp_replace(regexp_replace(lower(name), '[^a-z0-9_]+', '_', 'g'), '^([0-9])', '_\1'), 63)
$$;

-- The logical table names of a dataset's relations: the relation's name, or schema_name when two
-- schemas of the dataset hold relations of the same name.
CREATE FUNCTION _semantic_tables(dataset_id bigint)
RETURNS TABLE (relid oid, logical text, schema_name name, relation_name name, kind "char")
LANGUAGE sql STABLE AS $$
    SELECT r.relid,
           CASE WHEN count(*) OVER (PARTITION BY quarry._semantic_name(r.relation_name)) > 1
                THEN quarry._semantic_name(r.schema_name || '_' || r.relation_name)
                ELSE quarry._semantic_name(r.relation_name) END,
           r.schema_name, r.relation_name, r.kind
      FROM quarry._dataset_relation_rows(dataset_id) r
$$;

-- Whether a numeric column is better averaged than summed (prices, rates, discounts, scores).
CREATE FUNCTION _averaged_column(column_name text) RETURNS boolean
LANGUAGE sql IMMUTABLE AS $$
    SELECT column_name ~* '(price|rate|ratio|percent|pct|discount|score|rating|age|cost_per|per_unit|margin_pct|latitude|longitude)'
$$;

-- Derives a dataset's model from the catalog again, replacing what was derived before. What a DBA
-- set is kept.
CREATE FUNCTION _derive_semantic_model(dataset_id bigint) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    v quarry.datasets := quarry._dataset(dataset_id);
BEGIN
    DELETE FROM quarry.semantic_items i WHERE i.dataset_id = v.id AND i.origin = 'derived';

    CREATE TEMP TABLE _semantic_columns ON COMMIT DROP AS
    SELECT t.logical, t.relid, t.kind, a.attnum, a.attname::text AS column_name,
           pg_catalog.format_type(a.atttypid, a.atttypmod) AS data_type,
           ty.typcategory AS category,
           col_description(t.relid, a.attnum) AS comment,
           EXISTS (SELECT 1 FROM pg_catalog.pg_index i
                    WHERE i.indrelid = t.relid AND i.indisprimary AND a.attnum = ANY (i.indkey))
           OR EXISTS (SELECT 1 FROM quarry._source_keys_of(t.relid) sk
                       WHERE sk.primary_key AND a.attname::text = ANY (sk.columns)) AS in_key,
           EXISTS (SELECT 1 FROM pg_catalog.pg_constraint k
                    WHERE k.conrelid = t.relid AND k.contype = 'f' AND a.attnum = ANY (k.conkey))
           OR EXISTS (SELECT 1 FROM quarry._source_keys_of(t.relid) sk
                       WHERE NOT sk.primary_key AND a.attname::text = ANY (sk.columns)) AS references_other,
           -- Distinct values by the statistics (a negative n_distinct is a fraction of the rows).
           (SELECT CASE WHEN s.n_distinct >= 0 THEN s.n_distinct
                        ELSE -s.n_distinct * greatest((SELECT r.reltuples FROM pg_catalog.pg_class r WHERE r.oid = t.relid), 0) END
              FROM pg_catalog.pg_stats s
             WHERE s.schemaname = t.schema_name AND s.tablename = t.relation_name AND s.attname = a.attname
             LIMIT 1) AS n_distinct,
           EXISTS (SELECT 1 FROM pg_catalog.pg_constraint k
                    WHERE k.conrelid = t.relid AND k.contype = 'c' AND k.conkey = ARRAY[a.attnum]
                      AND pg_catalog.pg_get_constraintdef(k.oid) ~* ' = ANY \(ARRAY\[') AS enumerated,
           t.schema_name, t.relation_name
      FROM quarry._semantic_tables(v.id) t
      JOIN pg_catalog.pg_attribute a ON a.attrelid = t.relid AND a.attnum > 0 AND NOT a.attisdropped
      JOIN pg_catalog.pg_type ty ON ty.oid = a.atttypid;

    -- Tables: the key, the column that names a row, the first time dimension.
    INSERT INTO quarry.semantic_items (dataset_id, kind, table_name, name, spec, origin)
    SELECT v.id, 'table', '', t.logical, jsonb_strip_nulls(jsonb_build_object(
               'base_table', quote_ident(t.schema_name) || '.' || quote_ident(t.relation_name),
               'kind', quarry._kind_name(t.kind),
               'primary_key', (SELECT jsonb_agg(c.column_name ORDER BY c.attnum) FROM _semantic_columns c
                                WHERE c.relid = t.relid AND c.in_key),
               'label', (SELECT c.column_name FROM _semantic_columns c
                          WHERE c.relid = t.relid AND c.category = 'S' AND NOT c.in_key
                            AND c.column_name ~ '^(name|title|label|code|full_name|display_name)$|_name$'
                          ORDER BY CASE c.column_name WHEN 'name' THEN 0 WHEN 'title' THEN 1 WHEN 'label' THEN 2
                                                      WHEN 'full_name' THEN 3 WHEN 'display_name' THEN 4 ELSE 5 END,
                                   c.column_name = 'code', c.attnum
                          LIMIT 1),
               'time_dimension', (SELECT c.column_name FROM _semantic_columns c
                                   WHERE c.relid = t.relid AND c.category = 'D' ORDER BY c.attnum LIMIT 1),
               'description', obj_description(t.relid, 'pg_class'),
               'synonyms', '[]'::jsonb)), 'derived'
      FROM quarry._semantic_tables(v.id) t;

    -- A count per table; facts of number columns that are neither keys nor references.
    INSERT INTO quarry.semantic_items (dataset_id, kind, table_name, name, spec, origin)
    SELECT v.id, 'measure', t.logical, t.logical,
           jsonb_build_object('expr', 'count(*)', 'description', 'How many ' || replace(t.logical, '_', ' ')),
           'derived'
      FROM quarry._semantic_tables(v.id) t
    UNION ALL
    SELECT v.id, 'measure', c.logical, c.column_name, jsonb_strip_nulls(jsonb_build_object(
               'expr', quote_ident(c.logical) || '.' || quote_ident(c.column_name),
               'fact', true,
               'default_aggregation', CASE WHEN quarry._averaged_column(c.column_name) THEN 'avg' ELSE 'sum' END,
               'data_type', c.data_type, 'description', c.comment)), 'derived'
      FROM _semantic_columns c
     WHERE c.category = 'N' AND NOT c.in_key AND NOT c.references_other AND c.column_name !~ '(^id$|_id$)'
    ON CONFLICT DO NOTHING;

    -- Dimensions: text columns with few distinct values (by the statistics, or a CHECK listing
    -- them), and booleans (also named filters). Other text columns are dimensions without values.
    INSERT INTO quarry.semantic_items (dataset_id, kind, table_name, name, spec, origin)
    SELECT v.id, 'dimension', c.logical, c.column_name, jsonb_strip_nulls(jsonb_build_object(
               'expr', quote_ident(c.logical) || '.' || quote_ident(c.column_name),
               'data_type', c.data_type, 'description', c.comment,
               'values', c.category = 'B' OR c.enumerated
                         OR (c.n_distinct IS NOT NULL AND c.n_distinct BETWEEN 1 AND 100))), 'derived'
      FROM _semantic_columns c
     WHERE c.category IN ('S', 'B') AND NOT c.in_key AND NOT c.references_other;
    INSERT INTO quarry.semantic_items (dataset_id, kind, table_name, name, spec, origin)
    SELECT v.id, 'filter', c.logical, c.column_name, jsonb_strip_nulls(jsonb_build_object(
               'expr', quote_ident(c.logical) || '.' || quote_ident(c.column_name), 'description', c.comment)), 'derived'
      FROM _semantic_columns c
     WHERE c.category = 'B';

    -- Time dimensions: dates and timestamps.
    INSERT INTO quarry.semantic_items (dataset_id, kind, table_name, name, spec, origin)
    SELECT v.id, 'time_dimension', c.logical, c.column_name, jsonb_strip_nulls(jsonb_build_object(
               'expr', quote_ident(c.logical) || '.' || quote_ident(c.column_name),
               'data_type', c.data_type, 'description', c.comment,
               'grains', CASE WHEN c.data_type = 'date' THEN '["day", "week", "month", "quarter", "year"]'::jsonb
                              ELSE '["hour", "day", "week", "month", "quarter", "year"]'::jsonb END,
               'fiscal_year_start', 1)), 'derived'
      FROM _semantic_columns c
     WHERE c.category = 'D' AND c.data_type IN ('date', 'timestamp without time zone', 'timestamp with time zone');

    -- Relationships: foreign keys between relations of the dataset, many-to-one.
    INSERT INTO quarry.semantic_items (dataset_id, kind, table_name, name, spec, origin)
    SELECT v.id, 'relationship', '',
           CASE WHEN count(*) OVER (PARTITION BY f.logical, r.logical) > 1
                THEN f.logical || '_' || k.conname ELSE f.logical || '_' || r.logical END,
           jsonb_build_object(
               'from', f.logical, 'to', r.logical, 'type', 'many_to_one',
               'columns', (SELECT jsonb_agg(jsonb_build_array(fa.attname, ra.attname) ORDER BY u.n)
                             FROM unnest(k.conkey, k.confkey) WITH ORDINALITY AS u(fk, rk, n)
                             JOIN pg_catalog.pg_attribute fa ON fa.attrelid = k.conrelid AND fa.attnum = u.fk
                             JOIN pg_catalog.pg_attribute ra ON ra.attrelid = k.confrelid AND ra.attnum = u.rk)),
           'derived'
      FROM pg_catalog.pg_constraint k
      JOIN quarry._semantic_tables(v.id) f ON f.relid = k.conrelid
      JOIN quarry._semantic_tables(v.id) r ON r.relid = k.confrelid
     WHERE k.contype = 'f';
    -- And keys of sources' foreign tables (from the remote catalog, or declared).
    INSERT INTO quarry.semantic_items (dataset_id, kind, table_name, name, spec, origin)
    SELECT v.id, 'relationship', '',
           CASE WHEN count(*) OVER (PARTITION BY f.logical, r.logical) > 1
                THEN f.logical || '_' || quarry._semantic_name(k.name) ELSE f.logical || '_' || r.logical END,
           jsonb_build_object(
               'from', f.logical, 'to', r.logical, 'type', 'many_to_one',
               'columns', (SELECT jsonb_agg(jsonb_build_array(u.fc, u.rc) ORDER BY u.n)
                             FROM unnest(k.columns, k.ref_columns) WITH ORDINALITY AS u(fc, rc, n))),
           'derived'
      FROM quarry._semantic_tables(v.id) f
      CROSS JOIN LATERAL quarry._source_keys_of(f.relid) k
      JOIN quarry._semantic_tables(v.id) r ON r.relid = k.ref_relid
     WHERE NOT k.primary_key
    ON CONFLICT DO NOTHING;
    DROP TABLE _semantic_columns;
END $$;

-- Derives the dataset's model from the catalog again (after its tables changed); keeps what a DBA
-- set.
CREATE FUNCTION refresh_semantic_model(dataset_id bigint) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM quarry._derive_semantic_model(dataset_id);
END $$;

-- Whether an expression aggregates (calls an aggregate function); otherwise it is a row-level fact.
CREATE FUNCTION _is_aggregate(expr text) RETURNS boolean
LANGUAGE sql IMMUTABLE AS $$
    SELECT expr ~* '(^|[^a-z0-9_.])(sum|avg|count|min|max|string_agg|array_agg|bool_and|bool_or|every|stddev|variance|percentile_cont|percentile_disc|mode)\s*\('
$$;

-- Checks an expression of the model: one SQL expression, nothing else.
CREATE FUNCTION _semantic_expr(expr text, argument text) RETURNS text
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    v text := quarry._text_arg(expr, argument, 1, 4000);
BEGIN
    IF v ~ ';' AND v !~ '''[^'']*;[^'']*''' THEN
        RAISE EXCEPTION '% must be one SQL expression', argument USING ERRCODE = 'invalid_parameter_value';
    END IF;
    BEGIN
        PERFORM quarry._check_query('SELECT ' || v);
    EXCEPTION WHEN syntax_error OR invalid_parameter_value THEN
        RAISE EXCEPTION '% is not an SQL expression: %', argument, SQLERRM USING ERRCODE = 'invalid_parameter_value';
    END;
    RETURN v;
END $$;

-- The logical table of a dataset's model, or an error naming the ones there are.
CREATE FUNCTION _semantic_table(dataset_id bigint, table_name text) RETURNS text
LANGUAGE plpgsql STABLE AS $$
DECLARE
    v_name text := lower(btrim(quarry._require(table_name, 'table_name')));
BEGIN
    IF NOT EXISTS (SELECT 1 FROM quarry.semantic_items i
                    WHERE i.dataset_id = _semantic_table.dataset_id AND i.kind = 'table' AND i.name = v_name) THEN
        RAISE EXCEPTION 'the model of dataset % has no table %', dataset_id, quote_literal(v_name)
            USING ERRCODE = 'undefined_object',
                  HINT = 'Its tables: ' || coalesce((SELECT string_agg(DISTINCT i.name, ', ') FROM quarry.semantic_items i
                                                      WHERE i.dataset_id = _semantic_table.dataset_id AND i.kind = 'table'), 'none');
    END IF;
    RETURN v_name;
END $$;

-- Sets a DBA's item (insert or replace).
CREATE FUNCTION _set_semantic_item(dataset_id bigint, kind text, table_name text, name text, spec jsonb) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    v quarry.datasets := quarry._dataset(dataset_id);
    v_name text := lower(quarry._text_arg(name, 'name', 1, 200));
BEGIN
    INSERT INTO quarry.semantic_items AS i (dataset_id, kind, table_name, name, spec, origin)
    VALUES (v.id, kind, coalesce(table_name, ''), v_name, jsonb_strip_nulls(spec), 'dba')
    ON CONFLICT ON CONSTRAINT semantic_items_pkey DO UPDATE SET spec = EXCLUDED.spec, updated_at = now();
    UPDATE quarry.datasets d SET updated_at = now() WHERE d.id = v.id;
END $$;

CREATE FUNCTION _synonyms(synonyms text[]) RETURNS jsonb
LANGUAGE sql IMMUTABLE AS $$
    SELECT coalesce(jsonb_agg(DISTINCT btrim(s)) FILTER (WHERE btrim(s) <> ''), '[]') FROM unnest(synonyms) s
$$;

-- A measure: an aggregate expression over a table (count(*), sum(order_lines.quantity), or a ratio
-- of aggregates), with a filter that always applies, a unit ('USD', 'percent'), a format
-- ('currency', 'number', 'percent') and the time dimension its periods apply to ('table.column';
-- the table's default when NULL).
CREATE FUNCTION set_measure(dataset_id bigint, table_name text, name text, expr text, filter text DEFAULT NULL,
                            synonyms text[] DEFAULT '{}', description text DEFAULT NULL,
                            unit text DEFAULT NULL, format text DEFAULT NULL, time_dimension text DEFAULT NULL) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    IF format IS NOT NULL AND format NOT IN ('number', 'integer', 'currency', 'percent') THEN
        RAISE EXCEPTION 'format must be number, integer, currency or percent' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    PERFORM quarry._set_semantic_item(dataset_id, 'measure', quarry._semantic_table(dataset_id, table_name), name,
        jsonb_build_object('expr', quarry._semantic_expr(expr, 'expr'),
                           -- No aggregate in it: a fact, aggregated as the question says.
                           'fact', CASE WHEN NOT quarry._is_aggregate(expr) THEN true END,
                           'default_aggregation', CASE WHEN NOT quarry._is_aggregate(expr)
                                                       THEN CASE WHEN quarry._averaged_column(name) THEN 'avg' ELSE 'sum' END END,
                           'filter', CASE WHEN filter IS NOT NULL THEN quarry._semantic_expr(filter, 'filter') END,
                           'synonyms', quarry._synonyms(synonyms), 'description', description, 'unit', unit, 'format', format,
                           'time_dimension', time_dimension));
END $$;

-- A dimension: a column or expression of a table to group or filter by. values: whether its
-- distinct values are read (under the asker's role) so that questions may name them;
-- value_synonyms: {"placed": ["waiting to be shipped", "pending"]}.
CREATE FUNCTION set_dimension(dataset_id bigint, table_name text, name text, expr text, synonyms text[] DEFAULT '{}',
                              description text DEFAULT NULL, "values" boolean DEFAULT true,
                              value_synonyms jsonb DEFAULT NULL) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    IF value_synonyms IS NOT NULL AND (jsonb_typeof(value_synonyms) <> 'object' OR EXISTS (
           SELECT 1 FROM jsonb_each(value_synonyms) e WHERE jsonb_typeof(e.value) <> 'array')) THEN
        RAISE EXCEPTION 'value_synonyms must be an object of arrays, like {"placed": ["pending"]}'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    PERFORM quarry._set_semantic_item(dataset_id, 'dimension', quarry._semantic_table(dataset_id, table_name), name,
        jsonb_build_object('expr', quarry._semantic_expr(expr, 'expr'), 'synonyms', quarry._synonyms(synonyms),
                           'description', description, 'values', coalesce("values", true), 'value_synonyms', value_synonyms));
END $$;

-- A time dimension, with the grains it may be bucketed by and the first month of the fiscal year.
CREATE FUNCTION set_time_dimension(dataset_id bigint, table_name text, name text, expr text, synonyms text[] DEFAULT '{}',
                                   description text DEFAULT NULL,
                                   grains text[] DEFAULT ARRAY['day', 'week', 'month', 'quarter', 'year'],
                                   fiscal_year_start integer DEFAULT 1) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    IF grains IS NULL OR cardinality(grains) = 0 OR NOT grains <@ ARRAY['hour', 'day', 'week', 'month', 'quarter', 'year'] THEN
        RAISE EXCEPTION 'grains must be some of hour, day, week, month, quarter, year' USING ERRCODE = 'invalid_parameter_value';
    ELSIF fiscal_year_start IS NULL OR fiscal_year_start NOT BETWEEN 1 AND 12 THEN
        RAISE EXCEPTION 'fiscal_year_start must be a month, 1 to 12' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    PERFORM quarry._set_semantic_item(dataset_id, 'time_dimension', quarry._semantic_table(dataset_id, table_name), name,
        jsonb_build_object('expr', quarry._semantic_expr(expr, 'expr'), 'synonyms', quarry._synonyms(synonyms),
                           'description', description, 'grains', to_jsonb(grains), 'fiscal_year_start', fiscal_year_start));
END $$;

-- A named filter: a condition on a table's rows, possibly through another table
-- ("EXISTS (SELECT 1 FROM retail.orders o WHERE o.customer_id = customers.id AND …)").
CREATE FUNCTION set_filter(dataset_id bigint, table_name text, name text, expr text, synonyms text[] DEFAULT '{}',
                           description text DEFAULT NULL) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM quarry._set_semantic_item(dataset_id, 'filter', quarry._semantic_table(dataset_id, table_name), name,
        jsonb_build_object('expr', quarry._semantic_expr(expr, 'expr'), 'synonyms', quarry._synonyms(synonyms),
                           'description', description));
END $$;

-- A join path: many rows of from_table to one of to_table, on column pairs [["customer_id", "id"]].
CREATE FUNCTION set_relationship(dataset_id bigint, name text, from_table text, to_table text, columns jsonb) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    IF columns IS NULL OR jsonb_typeof(columns) <> 'array' OR jsonb_array_length(columns) = 0 OR EXISTS (
           SELECT 1 FROM jsonb_array_elements(columns) p
            WHERE jsonb_typeof(p) <> 'array' OR jsonb_array_length(p) <> 2
               OR jsonb_typeof(p->0) <> 'string' OR jsonb_typeof(p->1) <> 'string') THEN
        RAISE EXCEPTION 'columns must be pairs of column names, like [["customer_id", "id"]]' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    PERFORM quarry._set_semantic_item(dataset_id, 'relationship', '', name,
        jsonb_build_object('from', quarry._semantic_table(dataset_id, from_table), 'to', quarry._semantic_table(dataset_id, to_table),
                           'type', 'many_to_one', 'columns', columns));
END $$;

-- Refines a logical table: synonyms, a description, the column that names a row, its default time
-- dimension.
CREATE FUNCTION set_semantic_table(dataset_id bigint, name text, synonyms text[] DEFAULT '{}', description text DEFAULT NULL,
                                   label text DEFAULT NULL, time_dimension text DEFAULT NULL) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    v_name text := quarry._semantic_table(dataset_id, name);
    v_derived jsonb := (SELECT i.spec FROM quarry.semantic_items i
                         WHERE i.dataset_id = set_semantic_table.dataset_id AND i.kind = 'table' AND i.name = v_name
                         ORDER BY i.origin = 'dba' DESC LIMIT 1);
BEGIN
    PERFORM quarry._set_semantic_item(dataset_id, 'table', '', v_name, v_derived || jsonb_strip_nulls(jsonb_build_object(
        'synonyms', quarry._synonyms(synonyms), 'description', description, 'label', label, 'time_dimension', time_dimension)));
END $$;

-- Removes a DBA's item; for a derived item, hides it (the model then has no such item).
CREATE FUNCTION remove_semantic_item(dataset_id bigint, kind text, table_name text, name text) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    v quarry.datasets := quarry._dataset(dataset_id);
    v_table text := lower(coalesce(table_name, ''));
    v_name text := lower(btrim(quarry._require(name, 'name')));
BEGIN
    IF kind IS NULL OR kind NOT IN ('table', 'dimension', 'time_dimension', 'measure', 'filter', 'relationship') THEN
        RAISE EXCEPTION 'kind must be table, dimension, time_dimension, measure, filter or relationship'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF kind IN ('table', 'relationship') THEN v_table := ''; END IF;
    IF NOT EXISTS (SELECT 1 FROM quarry.semantic_items i WHERE i.dataset_id = v.id AND i.kind = remove_semantic_item.kind
                      AND i.table_name = v_table AND i.name = v_name) THEN
        RAISE EXCEPTION 'the model of dataset % has no % %', v.id, kind, quote_literal(v_name) USING ERRCODE = 'undefined_object';
    END IF;
    DELETE FROM quarry.semantic_items i WHERE i.dataset_id = v.id AND i.kind = remove_semantic_item.kind
       AND i.table_name = v_table AND i.name = v_name AND i.origin = 'dba';
    IF EXISTS (SELECT 1 FROM quarry.semantic_items i WHERE i.dataset_id = v.id AND i.kind = remove_semantic_item.kind
                  AND i.table_name = v_table AND i.name = v_name AND i.origin = 'derived') THEN
        INSERT INTO quarry.semantic_items (dataset_id, kind, table_name, name, spec, origin)
        VALUES (v.id, kind, v_table, v_name, '{"hidden": true}', 'dba');
    END IF;
END $$;

-- The effective items of a model: a DBA's item where there is one, else the derived one; hidden
-- ones left out.
CREATE FUNCTION _semantic_effective(dataset_id bigint)
RETURNS TABLE (kind text, table_name text, name text, spec jsonb, origin text)
LANGUAGE sql STABLE AS $$
    SELECT e.kind, e.table_name, e.name, e.spec, e.origin
      FROM (SELECT DISTINCT ON (i.kind, i.table_name, i.name) i.*
              FROM quarry.semantic_items i
             WHERE i.dataset_id = _semantic_effective.dataset_id
             ORDER BY i.kind, i.table_name, i.name, i.origin = 'dba' DESC) e
     WHERE NOT coalesce((e.spec->>'hidden')::boolean, false)
$$;

-- A model as one document (close to Snowflake Cortex Analyst's semantic model): tables with their
-- dimensions, time dimensions, measures and filters; relationships; verified queries. Each item
-- says whether it was derived or set by a DBA. `roles` limits it to the tables a role may read.
-- (PL/pgSQL, not SQL: a SQL function that is not inlined is planned anew on every call, which
-- cost as much as running it; every question reads the model.)
CREATE FUNCTION _semantic_document(dataset_id bigint, role_oid oid DEFAULT NULL) RETURNS jsonb
LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN (
        WITH items AS (SELECT * FROM quarry._semantic_effective(dataset_id)),
             visible AS (
                 SELECT t.name, t.spec, t.origin FROM items t
                  WHERE t.kind = 'table'
                    AND (role_oid IS NULL OR coalesce(pg_catalog.has_any_column_privilege(role_oid,
                             pg_catalog.to_regclass(t.spec->>'base_table'), 'SELECT'), false)))
        SELECT jsonb_build_object(
            'name', (SELECT d.name FROM quarry.datasets d WHERE d.id = _semantic_document.dataset_id),
            'description', (SELECT d.description FROM quarry.datasets d WHERE d.id = _semantic_document.dataset_id),
            'tables', coalesce((
                SELECT jsonb_agg(t.spec || jsonb_build_object('name', t.name, 'origin', t.origin,
                           'columns', coalesce((SELECT jsonb_agg(a.attname ORDER BY a.attnum) FROM pg_catalog.pg_attribute a
                                                 WHERE a.attrelid = pg_catalog.to_regclass(t.spec->>'base_table') AND a.attnum > 0
                                                   AND NOT a.attisdropped
                                                   AND (role_oid IS NULL OR pg_catalog.has_column_privilege(role_oid, a.attrelid, a.attnum, 'SELECT'))), '[]'),
                           'dimensions', coalesce((SELECT jsonb_agg(i.spec || jsonb_build_object('name', i.name, 'origin', i.origin) ORDER BY i.name)
                                                     FROM items i WHERE i.kind = 'dimension' AND i.table_name = t.name), '[]'),
                           'time_dimensions', coalesce((SELECT jsonb_agg(i.spec || jsonb_build_object('name', i.name, 'origin', i.origin) ORDER BY i.name)
                                                          FROM items i WHERE i.kind = 'time_dimension' AND i.table_name = t.name), '[]'),
                           'measures', coalesce((SELECT jsonb_agg(i.spec || jsonb_build_object('name', i.name, 'origin', i.origin) ORDER BY i.name)
                                                   FROM items i WHERE i.kind = 'measure' AND i.table_name = t.name), '[]'),
                           'filters', coalesce((SELECT jsonb_agg(i.spec || jsonb_build_object('name', i.name, 'origin', i.origin) ORDER BY i.name)
                                                  FROM items i WHERE i.kind = 'filter' AND i.table_name = t.name), '[]'))
                       ORDER BY t.name)
                  FROM visible t), '[]'),
            'relationships', coalesce((
                SELECT jsonb_agg(i.spec || jsonb_build_object('name', i.name, 'origin', i.origin) ORDER BY i.name)
                  FROM items i
                 WHERE i.kind = 'relationship'
                   AND EXISTS (SELECT 1 FROM visible t WHERE t.name = i.spec->>'from')
                   AND EXISTS (SELECT 1 FROM visible t WHERE t.name = i.spec->>'to')), '[]'),
            'verified_queries', quarry._examples_json(dataset_id)));
END $$;

-- Exports a dataset's model as one JSON document (see _semantic_document); import_semantic_model
-- reads the same document back.
CREATE FUNCTION export_semantic_model(dataset_id bigint) RETURNS jsonb
LANGUAGE plpgsql STABLE AS $$
DECLARE
    v quarry.datasets := quarry._dataset(dataset_id);
BEGIN
    RETURN quarry._semantic_document(v.id);
END $$;

-- Makes a dataset's model what a document says: every item of the document that differs from what
-- is derived becomes a DBA's item, derived items the document leaves out are hidden, and earlier
-- DBA items are replaced. Verified queries are added (an existing question keeps its SQL).
-- Returns how many items the DBA now sets.
CREATE FUNCTION import_semantic_model(dataset_id bigint, document jsonb) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    v quarry.datasets := quarry._dataset(dataset_id);
    v_table jsonb;
    v_item jsonb;
    v_kind text;
    v_count integer;
BEGIN
    IF document IS NULL OR jsonb_typeof(document) <> 'object' OR jsonb_typeof(document->'tables') <> 'array' THEN
        RAISE EXCEPTION 'a semantic model document is an object with a tables array (see export_semantic_model)'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    CREATE TEMP TABLE _imported (kind text, table_name text, name text, spec jsonb) ON COMMIT DROP;
    FOR v_table IN SELECT t FROM jsonb_array_elements(document->'tables') t LOOP
        IF jsonb_typeof(v_table) <> 'object' OR coalesce(v_table->>'name', '') = '' OR coalesce(v_table->>'base_table', '') = '' THEN
            RAISE EXCEPTION 'every table needs a name and a base_table' USING ERRCODE = 'invalid_parameter_value';
        ELSIF pg_catalog.to_regclass(v_table->>'base_table') IS NULL THEN
            RAISE EXCEPTION 'table % is over %, which does not exist', v_table->>'name', v_table->>'base_table'
                USING ERRCODE = 'undefined_table';
        END IF;
        INSERT INTO _imported VALUES ('table', '', quarry._semantic_name(v_table->>'name'),
            v_table - 'name' - 'origin' - 'dimensions' - 'time_dimensions' - 'measures' - 'filters');
        FOREACH v_kind IN ARRAY ARRAY['dimension', 'time_dimension', 'measure', 'filter'] LOOP
            FOR v_item IN SELECT i FROM jsonb_array_elements(coalesce(v_table->(v_kind || 's'), '[]')) i LOOP
                IF coalesce(v_item->>'name', '') = '' OR coalesce(v_item->>'expr', '') = '' THEN
                    RAISE EXCEPTION 'every % of table % needs a name and an expr', v_kind, v_table->>'name'
                        USING ERRCODE = 'invalid_parameter_value';
                END IF;
                PERFORM quarry._semantic_expr(v_item->>'expr', v_kind || ' ' || (v_item->>'name'));
                INSERT INTO _imported VALUES (v_kind, quarry._semantic_name(v_table->>'name'), lower(v_item->>'name'),
                                              v_item - 'name' - 'origin');
            END LOOP;
        END LOOP;
    END LOOP;
    FOR v_item IN SELECT r FROM jsonb_array_elements(coalesce(document->'relationships', '[]')) r LOOP
        IF coalesce(v_item->>'name', '') = '' OR v_item->>'from' IS NULL OR v_item->>'to' IS NULL
           OR jsonb_typeof(v_item->'columns') <> 'array' THEN
            RAISE EXCEPTION 'every relationship needs a name, from, to and columns' USING ERRCODE = 'invalid_parameter_value';
        END IF;
        INSERT INTO _imported VALUES ('relationship', '', lower(v_item->>'name'), v_item - 'name' - 'origin');
    END LOOP;

    DELETE FROM quarry.semantic_items i WHERE i.dataset_id = v.id AND i.origin = 'dba';
    INSERT INTO quarry.semantic_items (dataset_id, kind, table_name, name, spec, origin)
    SELECT v.id, m.kind, m.table_name, m.name, m.spec, 'dba'
      FROM _imported m
     WHERE NOT EXISTS (SELECT 1 FROM quarry.semantic_items d
                        WHERE d.dataset_id = v.id AND d.origin = 'derived' AND d.kind = m.kind
                          AND d.table_name = m.table_name AND d.name = m.name AND d.spec = m.spec);
    INSERT INTO quarry.semantic_items (dataset_id, kind, table_name, name, spec, origin)
    SELECT v.id, d.kind, d.table_name, d.name, '{"hidden": true}', 'dba'
      FROM quarry.semantic_items d
     WHERE d.dataset_id = v.id AND d.origin = 'derived'
       AND NOT EXISTS (SELECT 1 FROM _imported m WHERE m.kind = d.kind AND m.table_name = d.table_name AND m.name = d.name);
    FOR v_item IN SELECT q FROM jsonb_array_elements(coalesce(document->'verified_queries', '[]')) q LOOP
        IF NOT EXISTS (SELECT 1 FROM quarry.example_queries e
                        WHERE e.dataset_id = v.id AND lower(e.question) = lower(v_item->>'question')) THEN
            PERFORM quarry.add_example(v.id, v_item->>'question', v_item->>'sql');
        END IF;
    END LOOP;
    SELECT count(*) INTO v_count FROM quarry.semantic_items i WHERE i.dataset_id = v.id AND i.origin = 'dba';
    DROP TABLE _imported;
    UPDATE quarry.datasets d SET updated_at = now() WHERE d.id = v.id;
    RETURN v_count;
END $$;

-- What the planner needs about a dataset for one account, in one call: its limits and search path
-- (dataset_runtime), description, glossary, example questions, and its semantic model as the
-- account's role may see it (tables and columns it may read).
CREATE FUNCTION question_model(account_id bigint, dataset_id bigint) RETURNS jsonb
LANGUAGE plpgsql STABLE AS $$
DECLARE
    v quarry.datasets := quarry._dataset_for(dataset_id, account_id);
    v_role oid := pg_catalog.to_regrole(quote_ident(quarry.account_role(account_id)));
BEGIN
    RETURN quarry.dataset_runtime(account_id, v.id) || jsonb_build_object(
        'description', v.description,
        'glossary', quarry._glossary_json(v.id),
        'examples', quarry._examples_json(v.id),
        'model', quarry._semantic_document(v.id, v_role));
END $$;

-- The values of the model's dimensions that have them (at most 101 each, so that a caller can tell
-- a dimension with more than 100), read as the account's role: only values of rows it may see.
-- Returns rows of [table, dimension, value].
CREATE FUNCTION dimension_values(account_id bigint, dataset_id bigint) RETURNS json
LANGUAGE plpgsql AS $$
DECLARE
    v quarry.datasets := quarry._dataset_for(dataset_id, account_id);
    v_role oid := pg_catalog.to_regrole(quote_ident(quarry.account_role(account_id)));
    v_sql text;
    v_message text;
    r record;
BEGIN
    SELECT string_agg(format(
               '(SELECT %L AS table_name, %L AS dimension, value::text FROM (SELECT DISTINCT %s AS value FROM %s AS %I WHERE %s IS NOT NULL LIMIT 101) d)',
               t.name, d.name, d.spec->>'expr', t.spec->>'base_table', t.name, d.spec->>'expr'), E'\nUNION ALL ')
      INTO v_sql
      FROM quarry._semantic_effective(v.id) t
      JOIN quarry._semantic_effective(v.id) d ON d.kind = 'dimension' AND d.table_name = t.name
     WHERE t.kind = 'table' AND coalesce((d.spec->>'values')::boolean, false)
       AND coalesce(pg_catalog.has_any_column_privilege(v_role, pg_catalog.to_regclass(t.spec->>'base_table'), 'SELECT'), false)
       -- Only expressions over the table itself (no other table named in them).
       AND NOT EXISTS (SELECT 1 FROM quarry._semantic_effective(v.id) o
                        WHERE o.kind = 'table' AND o.name <> t.name AND d.spec->>'expr' ~ ('(^|[^a-z0-9_])' || o.name || '\.'));
    IF v_sql IS NULL THEN
        RETURN '{"columns": [], "rows": [], "row_count": 0, "truncated": false}'::json;
    END IF;
    -- Quarry's own bounded reads, not the asker's question: not weighed by the cost gate.
    BEGIN
        SELECT * INTO r FROM quarry._execute(account_id, v.id, v_sql, 50000, 4194304, NULL, 10000, cost_gate => false);
    EXCEPTION WHEN OTHERS THEN
        GET STACKED DIAGNOSTICS v_message = MESSAGE_TEXT;
        -- A source's remote side failing (see sources.sql): no values; the question itself then
        -- fails with the error that names the source.
        IF v_message LIKE 'source ''%' THEN
            RETURN '{"columns": [], "rows": [], "row_count": 0, "truncated": false}'::json;
        END IF;
        RAISE;
    END;
    IF r.refused_code IS NOT NULL THEN
        RAISE EXCEPTION USING ERRCODE = r.refused_code, MESSAGE = r.refused_message, HINT = r.refused_hint;
    END IF;
    RETURN r.result;
END $$;
