-- The catalog: what a dataset holds, as seen by one account's database role. Privileges decide:
-- a collection appears only if the role may SELECT from it (at least one column), and a field only
-- if the role may SELECT that column. Each listing is one statement over the system catalogs, so
-- it stays fast on thousands of tables.

-- The relations a dataset covers that hold rows: one pass over pg_class, restricted to the
-- dataset's schemas. Partitions are reached through their parent.
-- A plain SQL query, so it is inlined into its callers' planned queries. (It was a PL/pgSQL
-- function returning an array of OIDs to probe pg_class with: the planner runs a stable function
-- while estimating, so that array was built twice per listing, and probing by OID then cost as
-- much again as this scan.) Whether a relation is a source is asked of two uncorrelated
-- subqueries, each hashed once per listing: as a correlated EXISTS, the generic plan PL/pgSQL
-- settles on after a few calls scanned dataset_sources again for every relation.
CREATE FUNCTION _dataset_relation_rows(dataset_id bigint)
RETURNS TABLE (relid oid, schema_oid oid, schema_name name, relation_name name, kind "char", reltuples real)
LANGUAGE sql STABLE AS $$
    SELECT c.oid, n.oid, n.nspname, c.relname, c.relkind, c.reltuples
      FROM pg_catalog.pg_namespace n
      JOIN pg_catalog.pg_class c ON c.relnamespace = n.oid
     WHERE n.nspname IN (SELECT s.schema_name FROM quarry.dataset_sources s
                          WHERE s.dataset_id = _dataset_relation_rows.dataset_id)
       -- The whole schema is a source, or this relation of it is.
       AND (n.nspname IN (SELECT s.schema_name FROM quarry.dataset_sources s
                           WHERE s.dataset_id = _dataset_relation_rows.dataset_id AND s.relation_name IS NULL)
            OR (n.nspname, c.relname) IN (SELECT s.schema_name, s.relation_name FROM quarry.dataset_sources s
                                           WHERE s.dataset_id = _dataset_relation_rows.dataset_id))
       AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
       AND NOT c.relispartition
$$;

-- Whether a relation (by schema and name) belongs to a dataset's sources. An index probe.
CREATE FUNCTION _in_dataset(dataset_id bigint, schema_name name, relation_name name) RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT EXISTS (SELECT 1 FROM quarry.dataset_sources s
                    WHERE s.dataset_id = _in_dataset.dataset_id AND s.schema_name = _in_dataset.schema_name
                      AND (s.relation_name IS NULL OR s.relation_name = _in_dataset.relation_name))
$$;

-- The dataset's relations the role may read, optionally filtered by a case-insensitive substring of
-- "schema.name", in name order, one page of them, with the total before paging.
CREATE FUNCTION _catalog_page(dataset_id bigint, role_oid oid, name_filter text, page_size integer, page_offset integer,
                              relations text[] DEFAULT NULL)
RETURNS TABLE (relid oid, schema_name name, relation_name name, kind "char", reltuples real, total bigint)
LANGUAGE sql STABLE AS $$
    SELECT r.relid, r.schema_name, r.relation_name, r.kind, r.reltuples, count(*) OVER ()
      FROM quarry._dataset_relation_rows(dataset_id) r
     WHERE pg_catalog.has_schema_privilege(role_oid, r.schema_oid, 'USAGE')
       AND pg_catalog.has_any_column_privilege(role_oid, r.relid, 'SELECT')
       AND (name_filter IS NULL OR strpos(lower(r.schema_name || '.' || r.relation_name), lower(name_filter)) > 0)
       AND (relations IS NULL OR (r.schema_name || '.' || r.relation_name) = ANY (relations))
     ORDER BY r.schema_name, r.relation_name
     LIMIT page_size OFFSET page_offset
$$;

CREATE FUNCTION _kind_name(kind "char") RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE kind WHEN 'r' THEN 'table' WHEN 'p' THEN 'partitioned_table' WHEN 'v' THEN 'view'
                     WHEN 'm' THEN 'materialized_view' WHEN 'f' THEN 'foreign_table' END
$$;

-- The sum of the planner's estimates over a partitioned table's leaves (those analyzed).
CREATE FUNCTION _partitioned_rows(relid oid) RETURNS bigint
LANGUAGE sql STABLE AS $$
    SELECT sum(l.reltuples) FILTER (WHERE l.reltuples >= 0)::bigint
      FROM pg_catalog.pg_partition_tree(_partitioned_rows.relid) t
      JOIN pg_catalog.pg_class l ON l.oid = t.relid
     WHERE t.isleaf
$$;

-- The remote side's estimate of a source's foreign table's rows, as the source's tables list it.
CREATE FUNCTION _remote_rows(relid oid) RETURNS bigint
LANGUAGE sql STABLE AS $$
    SELECT t.remote_rows::bigint
      FROM pg_catalog.pg_class c
      JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
      JOIN quarry.sources s ON s.local_schema = n.nspname
      JOIN quarry.source_tables t ON t.source_id = s.id AND t.relation_name = c.relname
     WHERE c.oid = _remote_rows.relid
$$;

-- The planner's estimate of a relation's rows from its reltuples (for a partitioned table, the sum
-- over its leaves); NULL for views and for relations never analyzed. One expression, so that it is
-- inlined into the listing: with the subqueries of the rarer kinds written in it, it ran as a
-- function call of its own for every relation listed (about 10 µs each, the largest part of a
-- summary page).
CREATE FUNCTION _estimated_rows(relid oid, kind "char", reltuples real) RETURNS bigint
LANGUAGE sql STABLE AS $$
    SELECT CASE
        WHEN kind = 'v' THEN NULL
        WHEN kind = 'p' THEN quarry._partitioned_rows(relid)
        WHEN reltuples >= 0 THEN reltuples::bigint
        -- A source's foreign table a wrapper could not analyze: the remote side's own estimate.
        WHEN kind = 'f' THEN quarry._remote_rows(relid)
    END
$$;

-- The columns of a relation the role may SELECT, in their order. Column privileges are checked
-- one by one only when the role may not read the whole relation: checking each column costs two
-- catalog lookups, and most roles read whole tables. (OFFSET 0 keeps the table-wide check a
-- subquery of its own, evaluated once per relation, instead of merged into the per-column filter.)
CREATE FUNCTION _readable_attributes(relid oid, role_oid oid) RETURNS SETOF pg_catalog.pg_attribute
LANGUAGE sql STABLE AS $$
    SELECT a.*
      FROM (SELECT pg_catalog.has_table_privilege(_readable_attributes.role_oid, _readable_attributes.relid, 'SELECT')
                   AS whole OFFSET 0) t
      JOIN pg_catalog.pg_attribute a ON a.attrelid = _readable_attributes.relid
     WHERE a.attnum > 0 AND NOT a.attisdropped
       AND (t.whole OR pg_catalog.has_column_privilege(_readable_attributes.role_oid, _readable_attributes.relid,
                                                        a.attnum, 'SELECT'))
$$;

-- Keys of a foreign table of a source, for the catalog and the semantic model: (name, columns,
-- referenced relation or NULL for the primary key, referenced columns).
CREATE FUNCTION _source_keys_of(relid oid)
RETURNS TABLE (name text, primary_key boolean, columns text[], ref_relid oid, ref_columns text[])
LANGUAGE sql STABLE AS $$
    SELECT k.name, k.ref_relation IS NULL, k.columns,
           CASE WHEN k.ref_relation IS NOT NULL THEN pg_catalog.to_regclass(format('%I.%I', s.local_schema, k.ref_relation))::oid END,
           k.ref_columns
      FROM pg_catalog.pg_class c
      JOIN quarry.sources s ON s.local_schema = (SELECT n.nspname FROM pg_catalog.pg_namespace n WHERE n.oid = c.relnamespace)
      JOIN quarry.source_keys k ON k.source_id = s.id AND k.relation_name = c.relname
     WHERE c.oid = _source_keys_of.relid AND c.relkind = 'f'
$$;

-- Exact counts are offered for stored relations up to this size; larger ones keep their estimate.
CREATE FUNCTION _exact_count_limit_bytes() RETURNS bigint
LANGUAGE sql IMMUTABLE AS $$ SELECT 64 * 1024 * 1024::bigint $$;

-- An exact row count as the role sees it (row-level security applies), for small stored relations;
-- NULL when the relation is a view, a foreign table or too large to count on request.
CREATE FUNCTION _exact_rows(relid oid, kind "char", role_oid oid) RETURNS bigint
LANGUAGE sql VOLATILE AS $$
    SELECT CASE WHEN kind IN ('r', 'm', 'p')
                 AND CASE WHEN kind = 'p'
                          THEN (SELECT coalesce(sum(pg_catalog.pg_relation_size(t.relid)), 0)
                                  FROM pg_catalog.pg_partition_tree(relid) t WHERE t.isleaf)
                          ELSE pg_catalog.pg_relation_size(relid) END <= quarry._exact_count_limit_bytes()
                THEN quarry._count_rows_as(relid, role_oid) END
$$;

-- What catalog lists (see there), for catalog and list_datasets: the dataset, the total and the
-- page's collections, built as json text. Nesting one jsonb value in another rebuilds it token by
-- token, so a page built as jsonb was built again by every object it was put in; as json it is
-- pasted in, and whoever returns it casts it to jsonb once.
CREATE FUNCTION _catalog_listing(
    dataset_id    bigint,
    account_id    bigint,
    detail        text,
    name_filter   text,
    page_size     integer,
    page_offset   integer,
    exact_counts  boolean,
    relations     text[]
) RETURNS TABLE (dataset_json json, collections_total bigint, collections_json json)
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    v quarry.datasets;
    v_role oid;
    v_filter text := nullif(btrim(name_filter), '');
    v_collections json;
    v_total bigint;
BEGIN
    IF detail IS NULL OR detail NOT IN ('names', 'summary', 'full') THEN
        RAISE EXCEPTION 'detail must be ''names'', ''summary'' or ''full'', not %', coalesce(quote_literal(detail), 'NULL')
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    PERFORM quarry._positive(page_size, 'page_size', 1000);
    IF page_offset IS NULL OR page_offset < 0 THEN
        RAISE EXCEPTION 'page_offset must be zero or more' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF length(v_filter) > 200 THEN
        RAISE EXCEPTION 'name_filter is too long (at most 200 characters)' USING ERRCODE = 'string_data_right_truncation';
    END IF;
    v := quarry._dataset_for(dataset_id, account_id);
    v_role := pg_catalog.to_regrole(quote_ident(quarry.account_role(account_id)));

    IF detail = 'names' THEN
        SELECT json_agg(json_build_object('schema', p.schema_name, 'name', p.relation_name,
                                          'kind', quarry._kind_name(p.kind)) ORDER BY p.schema_name, p.relation_name),
               max(p.total)
          INTO v_collections, v_total
          FROM quarry._catalog_page(v.id, v_role, v_filter, page_size, page_offset, relations) p;
    ELSIF detail = 'summary' THEN
        SELECT json_agg(json_strip_nulls(json_build_object(
                   'schema', p.schema_name, 'name', p.relation_name, 'kind', quarry._kind_name(p.kind),
                   'comment', d.description,
                   'record_count', coalesce(x.exact, quarry._estimated_rows(p.relid, p.kind, p.reltuples)),
                   'record_count_exact', x.exact IS NOT NULL,
                   'fields', f.names)) ORDER BY p.schema_name, p.relation_name),
               max(p.total)
          INTO v_collections, v_total
          FROM quarry._catalog_page(v.id, v_role, v_filter, page_size, page_offset, relations) p
          LEFT JOIN pg_catalog.pg_description d
                 ON d.objoid = p.relid AND d.classoid = 'pg_catalog.pg_class'::regclass AND d.objsubid = 0
          LEFT JOIN LATERAL (SELECT CASE WHEN exact_counts THEN quarry._exact_rows(p.relid, p.kind, v_role) END AS exact) x ON true
          LEFT JOIN LATERAL (
                SELECT json_agg(a.attname ORDER BY a.attnum) AS names
                  FROM quarry._readable_attributes(p.relid, v_role) a) f ON true;
    ELSE
        SELECT json_agg(json_strip_nulls(json_build_object(
                   'schema', p.schema_name, 'name', p.relation_name, 'kind', quarry._kind_name(p.kind),
                   'comment', d.description,
                   'record_count', coalesce(x.exact, quarry._estimated_rows(p.relid, p.kind, p.reltuples)),
                   'record_count_exact', x.exact IS NOT NULL,
                   'fields', coalesce(f.fields, '[]'),
                   'primary_key', coalesce(pk.columns, spk.columns),
                   'foreign_keys', coalesce(fk.keys, sfk.keys),
                   'indexes', coalesce(ix.indexes, '[]'))) ORDER BY p.schema_name, p.relation_name),
               max(p.total)
          INTO v_collections, v_total
          FROM quarry._catalog_page(v.id, v_role, v_filter, page_size, page_offset, relations) p
          LEFT JOIN pg_catalog.pg_description d
                 ON d.objoid = p.relid AND d.classoid = 'pg_catalog.pg_class'::regclass AND d.objsubid = 0
          LEFT JOIN LATERAL (SELECT CASE WHEN exact_counts THEN quarry._exact_rows(p.relid, p.kind, v_role) END AS exact) x ON true
          LEFT JOIN LATERAL (
                SELECT c.conkey,
                       jsonb_agg(a.attname ORDER BY k.ord) AS columns
                  FROM pg_catalog.pg_constraint c
                  CROSS JOIN LATERAL unnest(c.conkey) WITH ORDINALITY AS k(attnum, ord)
                  JOIN pg_catalog.pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.attnum
                 WHERE c.conrelid = p.relid AND c.contype = 'p'
                 GROUP BY c.oid, c.conkey) pk ON true
          -- Keys of a source's foreign table, from the remote catalog or declared (see sources.sql).
          LEFT JOIN LATERAL (
                SELECT to_jsonb(k.columns) AS columns, k.columns AS names
                  FROM quarry._source_keys_of(p.relid) k WHERE k.primary_key LIMIT 1) spk ON true
          LEFT JOIN LATERAL (
                SELECT jsonb_agg(jsonb_build_object(
                           'name', k.name, 'columns', to_jsonb(k.columns),
                           'references', jsonb_build_object('schema', rn.nspname, 'name', r.relname,
                                                            'columns', to_jsonb(k.ref_columns))) ORDER BY k.name) AS keys,
                       jsonb_object_agg(k.columns[1], jsonb_build_object('schema', rn.nspname, 'name', r.relname,
                                                                         'column', k.ref_columns[1]))
                           FILTER (WHERE cardinality(k.columns) = 1) AS by_column
                  FROM quarry._source_keys_of(p.relid) k
                  JOIN pg_catalog.pg_class r ON r.oid = k.ref_relid
                  JOIN pg_catalog.pg_namespace rn ON rn.oid = r.relnamespace
                 WHERE NOT k.primary_key
                   AND quarry._in_dataset(v.id, rn.nspname, r.relname)
                   AND pg_catalog.has_schema_privilege(v_role, rn.oid, 'USAGE')
                   AND pg_catalog.has_any_column_privilege(v_role, r.oid, 'SELECT')) sfk ON true
          LEFT JOIN LATERAL (
                SELECT jsonb_agg(jsonb_build_object(
                           'name', c.conname,
                           'columns', (SELECT jsonb_agg(a.attname ORDER BY k.ord)
                                         FROM unnest(c.conkey) WITH ORDINALITY AS k(attnum, ord)
                                         JOIN pg_catalog.pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.attnum),
                           'references', jsonb_build_object(
                               'schema', rn.nspname, 'name', r.relname,
                               'columns', (SELECT jsonb_agg(a.attname ORDER BY k.ord)
                                             FROM unnest(c.confkey) WITH ORDINALITY AS k(attnum, ord)
                                             JOIN pg_catalog.pg_attribute a ON a.attrelid = c.confrelid AND a.attnum = k.attnum)))
                           ORDER BY c.conname) AS keys,
                       -- Single-column keys again, by column, for the fields below.
                       jsonb_object_agg(a1.attname, jsonb_build_object(
                           'schema', rn.nspname, 'name', r.relname, 'column', r1.attname))
                           FILTER (WHERE cardinality(c.conkey) = 1) AS by_column
                  FROM pg_catalog.pg_constraint c
                  JOIN pg_catalog.pg_attribute a1 ON a1.attrelid = c.conrelid AND a1.attnum = c.conkey[1]
                  JOIN pg_catalog.pg_attribute r1 ON r1.attrelid = c.confrelid AND r1.attnum = c.confkey[1]
                  JOIN pg_catalog.pg_class r ON r.oid = c.confrelid
                  JOIN pg_catalog.pg_namespace rn ON rn.oid = r.relnamespace
                 WHERE c.conrelid = p.relid AND c.contype = 'f'
                   -- Only keys to relations this role can also see in this dataset.
                   AND quarry._in_dataset(v.id, rn.nspname, r.relname)
                   AND pg_catalog.has_schema_privilege(v_role, rn.oid, 'USAGE')
                   AND pg_catalog.has_any_column_privilege(v_role, r.oid, 'SELECT')) fk ON true
          LEFT JOIN LATERAL (
                SELECT json_agg(json_strip_nulls(json_build_object(
                           'name', a.attname,
                           'type', pg_catalog.format_type(a.atttypid, a.atttypmod),
                           'nullable', NOT a.attnotnull,
                           'comment', ad.description,
                           'primary_key', CASE WHEN a.attnum = ANY (pk.conkey) OR a.attname::text = ANY (spk.names) THEN true END,
                           'references', coalesce(fk.by_column, sfk.by_column) -> a.attname::text,
                           -- ANALYZE's estimate of distinct values (negative: a fraction of the rows).
                           -- Statistics ignore row-level security, so this is for the question
                           -- pipeline (which reads the values themselves as the role); the sidecar
                           -- never shows it to the account, as pg_stats would not either.
                           'distinct_values', (SELECT CASE WHEN st.stadistinct >= 0 THEN st.stadistinct
                                                           ELSE -st.stadistinct * greatest(p.reltuples, 0) END::bigint
                                                 FROM pg_catalog.pg_statistic st
                                                WHERE st.starelid = a.attrelid AND st.staattnum = a.attnum
                                                  AND NOT st.stainherit))) ORDER BY a.attnum) AS fields
                  FROM quarry._readable_attributes(p.relid, v_role) a
                  LEFT JOIN pg_catalog.pg_description ad
                         ON ad.objoid = a.attrelid AND ad.classoid = 'pg_catalog.pg_class'::regclass
                        AND ad.objsubid = a.attnum) f ON true
          LEFT JOIN LATERAL (
                SELECT json_agg(json_strip_nulls(json_build_object(
                           'name', ic.relname,
                           'columns', (SELECT jsonb_agg(CASE WHEN i.indkey[k - 1] = 0
                                                             THEN pg_catalog.pg_get_indexdef(i.indexrelid, k, true)
                                                             ELSE (SELECT a.attname FROM pg_catalog.pg_attribute a
                                                                    WHERE a.attrelid = i.indrelid AND a.attnum = i.indkey[k - 1])
                                                        END ORDER BY k)
                                         FROM generate_series(1, i.indnkeyatts) k),
                           'unique', i.indisunique,
                           'primary', i.indisprimary,
                           'method', am.amname,
                           'predicate', pg_catalog.pg_get_expr(i.indpred, i.indrelid, true)))
                           ORDER BY ic.relname) AS indexes
                  FROM pg_catalog.pg_index i
                  JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid
                  JOIN pg_catalog.pg_am am ON am.oid = ic.relam
                 WHERE i.indrelid = p.relid) ix ON true;
    END IF;

    IF v_total IS NULL THEN
        -- An empty page: count what there is, so a client paging past the end learns the total.
        SELECT count(*) INTO v_total FROM quarry._catalog_page(v.id, v_role, v_filter, 2147483647, 0, relations);
    END IF;

    dataset_json := json_build_object('id', v.id, 'name', v.name, 'description', v.description, 'team_id', v.team_id);
    collections_total := v_total;
    collections_json := coalesce(v_collections, '[]');
    RETURN NEXT;
END $$;

-- The catalog query's estimated cost is high enough to trigger JIT compilation, which costs far more
-- (hundreds of milliseconds) than running it takes. It never pays off here.
ALTER FUNCTION _catalog_listing(bigint, bigint, text, text, integer, integer, boolean, text[]) SET jit = off;

-- Lists a dataset's collections as the account's role may see them, as JSON.
--   detail:      'names' (schema, name, kind), 'summary' (plus comment, record count, field names)
--                or 'full' (plus fields with types, nullability, comments and keys, and indexes)
--   name_filter: keep collections whose "schema.name" contains this text (case-insensitive)
--   page_size, page_offset: paging over collections in name order
--   exact_counts: count rows exactly, as the role sees them, for relations up to 64 MB
--   relations:    only these relations ("schema.name"), e.g. the ones a question needs
CREATE FUNCTION catalog(
    dataset_id    bigint,
    account_id    bigint,
    detail        text DEFAULT 'full',
    name_filter   text DEFAULT NULL,
    page_size     integer DEFAULT 100,
    page_offset   integer DEFAULT 0,
    exact_counts  boolean DEFAULT false,
    relations     text[] DEFAULT NULL
) RETURNS jsonb
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    RETURN (SELECT json_build_object('dataset', l.dataset_json, 'detail', detail, 'total', l.collections_total,
                                     'page_offset', page_offset, 'page_size', page_size,
                                     'collections', l.collections_json)::jsonb
              FROM quarry._catalog_listing(dataset_id, account_id, detail, name_filter, page_size, page_offset,
                                           exact_counts, relations) l);
END $$;

-- The same listing as rows, for a DBA at psql: what this account would see of this dataset.
CREATE FUNCTION collections(dataset_id bigint, account_id bigint)
RETURNS TABLE (schema_name name, relation_name name, kind text, record_count bigint, fields bigint, comment text)
LANGUAGE sql VOLATILE AS $$
    SELECT c->>'schema', c->>'name', c->>'kind', (c->>'record_count')::bigint,
           jsonb_array_length(c->'fields'), c->>'comment'
      FROM jsonb_array_elements(quarry.catalog(dataset_id, account_id, 'summary', NULL, 1000, 0)->'collections') c
$$;

-- Every dataset of the account's teams, each with one page of its collections at the given
-- detail (see catalog). A dataset the account cannot list (no database role yet, say) is still
-- named, with the reason instead of its collections.
CREATE FUNCTION list_datasets(account_id bigint, detail text DEFAULT 'summary', name_filter text DEFAULT NULL,
                              page_size integer DEFAULT 50, page_offset integer DEFAULT 0) RETURNS jsonb
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    d record;
    v_collections json;
    v_total bigint;
    v_unavailable text;
    v_entry json;
    v_datasets json[] := '{}';
BEGIN
    PERFORM quarry._account(account_id);
    FOR d IN SELECT s.id, s.name, s.description, s.row_limit, t.id AS team_id, t.name AS team_name
               FROM quarry._usable_datasets(list_datasets.account_id) s
               JOIN quarry.teams t ON t.id = s.team_id
              ORDER BY t.name, s.name LOOP
        v_unavailable := NULL;
        BEGIN
            SELECT l.collections_json, l.collections_total INTO v_collections, v_total
              FROM quarry._catalog_listing(d.id, account_id, detail, name_filter, page_size, page_offset, false, NULL) l;
        EXCEPTION WHEN insufficient_privilege THEN
            v_collections := '[]'; v_total := 0; v_unavailable := SQLERRM;
        END;
        -- As json, so that the collections are pasted in, not rebuilt (see _catalog_listing).
        v_entry := json_build_object(
            'id', d.id, 'name', d.name, 'description', d.description, 'row_limit', d.row_limit,
            'team', json_build_object('id', d.team_id, 'name', d.team_name),
            'collections', v_collections, 'collections_total', v_total);
        IF v_unavailable IS NOT NULL THEN
            v_entry := (v_entry::jsonb || jsonb_build_object('unavailable', v_unavailable))::json;
        END IF;
        v_datasets := v_datasets || v_entry;
    END LOOP;
    RETURN json_build_object('datasets', array_to_json(v_datasets), 'detail', detail, 'page_offset', page_offset,
                             'page_size', page_size)::jsonb;
END $$;

-- A dataset's glossary, alphabetically, and its example questions, oldest first.
-- A dataset's glossary and example questions, as JSON. (PL/pgSQL, so that their plans are kept:
-- see _semantic_document, which every question reads with them.)
CREATE FUNCTION _glossary_json(dataset_id bigint) RETURNS jsonb
LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN (SELECT coalesce(jsonb_agg(jsonb_build_object('term', g.term, 'definition', g.definition,
                                                         'synonyms', to_jsonb(g.synonyms))
                                      ORDER BY lower(g.term)), '[]')
              FROM quarry.glossary_terms g WHERE g.dataset_id = _glossary_json.dataset_id);
END $$;

CREATE FUNCTION _examples_json(dataset_id bigint) RETURNS jsonb
LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN (SELECT coalesce(jsonb_agg(jsonb_build_object('question', e.question, 'sql', e.sql) ORDER BY e.id), '[]')
              FROM quarry.example_queries e WHERE e.dataset_id = _examples_json.dataset_id);
END $$;

-- One dataset in depth: its collections in full detail (paged), glossary and example questions.
CREATE FUNCTION describe_dataset(account_id bigint, dataset_id bigint, name_filter text DEFAULT NULL,
                                 page_size integer DEFAULT 50, page_offset integer DEFAULT 0) RETURNS jsonb
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    v quarry.datasets := quarry._dataset_for(dataset_id, account_id);
    v_listing jsonb := quarry.catalog(v.id, account_id, 'full', name_filter, page_size, page_offset);
BEGIN
    RETURN jsonb_build_object(
        'id', v.id, 'name', v.name, 'description', v.description, 'row_limit', v.row_limit, 'timeout_ms', v.timeout_ms,
        'team', (SELECT jsonb_build_object('id', t.id, 'name', t.name) FROM quarry.teams t WHERE t.id = v.team_id),
        'collections', v_listing->'collections', 'collections_total', v_listing->'total',
        'page_offset', page_offset, 'page_size', page_size,
        'glossary', quarry._glossary_json(v.id),
        'examples', quarry._examples_json(v.id),
        -- The semantic model as the account's role sees it; none for an account without a role.
        'semantic_model', (SELECT quarry._semantic_document(v.id, r.oid)
                             FROM quarry.accounts a JOIN pg_catalog.pg_roles r ON r.rolname = a.db_role
                            WHERE a.id = describe_dataset.account_id));
END $$;

-- What running a question against a dataset needs: its row limit, statement timeout and the
-- search path of its schemas (so unqualified names resolve there).
CREATE FUNCTION dataset_runtime(account_id bigint, dataset_id bigint) RETURNS jsonb
LANGUAGE plpgsql STABLE AS $$
DECLARE
    v quarry.datasets := quarry._dataset_for(dataset_id, account_id);
BEGIN
    RETURN jsonb_build_object(
        'id', v.id, 'name', v.name, 'team_id', v.team_id, 'row_limit', v.row_limit, 'timeout_ms', v.timeout_ms,
        'search_path', (SELECT string_agg(DISTINCT quote_ident(s.schema_name), ', ')
                          FROM quarry.dataset_sources s WHERE s.dataset_id = v.id));
END $$;
