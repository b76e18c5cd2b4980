-- Sources: data that lives in another database (a managed PostgreSQL, MySQL or MariaDB), brought
-- in through PostgreSQL's own foreign data wrappers (postgres_fdw, mysql_fdw). A source is a
-- foreign server, its tables imported into a local schema that datasets use like any other, and a
-- user mapping per account role: each asker reaches the remote side as a remote user the DBA
-- chose, so the remote side's own privileges and row-level security apply too.
--
-- Passwords of remote users are kept only in the user mappings (PostgreSQL's pg_user_mapping,
-- readable by superusers and, for its own mapping, by the server's owner), never in Quarry's tables.
-- Everything here is for DBAs (superusers); each function does all or nothing.

-- The schema the wrappers' own objects and the catalog lookups live in. Nobody but its owner uses it.
CREATE FUNCTION _sources_schema() RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    IF pg_catalog.to_regnamespace('quarry_sources') IS NULL THEN
        CREATE SCHEMA quarry_sources;
        REVOKE ALL ON SCHEMA quarry_sources FROM PUBLIC;
        COMMENT ON SCHEMA quarry_sources IS 'Quarry''s foreign data wrappers and remote catalog lookups (see quarry.sources).';
    END IF;
END $$;

CREATE FUNCTION _source(name text) RETURNS quarry.sources
LANGUAGE plpgsql STABLE AS $$
DECLARE
    v quarry.sources;
BEGIN
    SELECT * INTO v FROM quarry.sources s WHERE s.name = btrim(quarry._require(_source.name, 'source'));
    IF v.id IS NULL THEN
        RAISE EXCEPTION 'source % does not exist', quote_literal(name) USING ERRCODE = 'undefined_object';
    END IF;
    RETURN v;
END $$;

CREATE FUNCTION _source_wrapper(kind text) RETURNS name
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE kind WHEN 'postgres' THEN 'postgres_fdw' WHEN 'mysql' THEN 'mysql_fdw' END::name
$$;

-- The foreign server's options from the source's: host, port, database and TLS.
CREATE FUNCTION _source_server_options(kind text, options jsonb) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT string_agg(format('%I %L', o.key, o.value), ', ' ORDER BY o.key)
      FROM (SELECT CASE WHEN kind = 'postgres' AND e.key = 'database' THEN 'dbname' ELSE e.key END AS key, e.value
              FROM jsonb_each_text(options) e
             WHERE NOT (kind = 'mysql' AND e.key = 'database')) o
$$;

CREATE FUNCTION _source_mapping_options(kind text, remote_user text, remote_password text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE kind WHEN 'postgres' THEN format('user %L, password %L', remote_user, remote_password)
                     ELSE format('username %L, password %L', remote_user, remote_password) END
$$;

-- Imports the remote schema's tables into the local schema. Errors name the source.
CREATE FUNCTION _source_import(v quarry.sources, limit_to text DEFAULT NULL, into_schema name DEFAULT NULL) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    v_message text;
    v_detail text;
BEGIN
    EXECUTE format('IMPORT FOREIGN SCHEMA %I %s FROM SERVER %I INTO %I OPTIONS (%s)',
                   v.remote_schema,
                   CASE WHEN limit_to IS NOT NULL THEN format('LIMIT TO (%I)', limit_to) ELSE '' END,
                   v.server_name, coalesce(into_schema, v.local_schema),
                   CASE v.kind WHEN 'postgres' THEN 'import_default ''false'', import_collate ''false'', import_not_null ''true'''
                               ELSE 'import_default ''false'', import_not_null ''true'', import_enum_as_text ''true''' END);
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS v_message = MESSAGE_TEXT, v_detail = PG_EXCEPTION_DETAIL;
    -- (A throwaway server checking credentials is the source, to whoever reads this.)
    v_message := replace(v_message, format('"%s"', v.server_name), format('"%s"', v.name));
    RAISE EXCEPTION 'source %: cannot read the tables of % % on %:%: %', quote_literal(v.name),
        CASE v.kind WHEN 'postgres' THEN 'schema' ELSE 'database' END, quote_literal(v.remote_schema),
        v.options ->> 'host', v.options ->> 'port', v_message ||
        CASE WHEN coalesce(v_detail, '') <> '' THEN ': ' || replace(btrim(v_detail), E'\n', ' ') ELSE '' END
        USING ERRCODE = 'sqlclient_unable_to_establish_sqlconnection',
              HINT = 'Check the host, port, database, TLS options and the remote user''s name, password and privileges.';
END $$;

-- Checks that the remote side accepts a user and password, through a throwaway server with the
-- source's options. Changes nothing that outlives the call.
CREATE FUNCTION _source_probe(v quarry.sources, remote_user text, remote_password text) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    v_probe quarry.sources := v;
BEGIN
    v_probe.server_name := 'quarry_probe_' || pg_catalog.pg_backend_pid();
    v_probe.local_schema := v_probe.server_name;
    EXECUTE format('CREATE SERVER %I FOREIGN DATA WRAPPER %I OPTIONS (%s)', v_probe.server_name,
                   quarry._source_wrapper(v.kind), quarry._source_server_options(v.kind, v.options));
    EXECUTE format('CREATE USER MAPPING FOR CURRENT_USER SERVER %I OPTIONS (%s)', v_probe.server_name,
                   quarry._source_mapping_options(v.kind, remote_user, remote_password));
    EXECUTE format('CREATE SCHEMA %I', v_probe.local_schema);
    -- Importing one table that does not exist still logs in and reads the remote catalog.
    PERFORM quarry._source_import(v_probe, 'quarry no such table', v_probe.local_schema);
    EXECUTE format('DROP SCHEMA %I', v_probe.local_schema);
    EXECUTE format('DROP USER MAPPING FOR CURRENT_USER SERVER %I', v_probe.server_name);
    EXECUTE format('DROP SERVER %I', v_probe.server_name);
END $$;

-- Reads row estimates and keys of the imported tables from the remote catalog, and gathers local
-- statistics (ANALYZE) where the wrapper can.
CREATE FUNCTION _source_catalog(v quarry.sources) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    v_prefix text := v.server_name || '__';
    v_relation name;
BEGIN
    DELETE FROM quarry.source_tables t WHERE t.source_id = v.id;
    DELETE FROM quarry.source_keys k WHERE k.source_id = v.id AND k.origin = 'remote';
    IF v.kind = 'postgres' THEN
        EXECUTE format($q$
            INSERT INTO quarry.source_tables (source_id, relation_name, remote_rows)
            SELECT $1, c.relname, CASE WHEN c.reltuples >= 0 THEN c.reltuples::bigint END
              FROM quarry_sources.%I c JOIN quarry_sources.%I n ON n.oid = c.relnamespace
             WHERE n.nspname = $2 AND c.relkind IN ('r', 'p', 'v', 'm', 'f')$q$, v_prefix || 'class', v_prefix || 'namespace')
        USING v.id, v.remote_schema;
        EXECUTE format($q$
            CREATE TEMP TABLE _source_constraints AS
            SELECT c.relname, k.conname, k.contype, k.conrelid, k.confrelid, k.conkey, k.confkey, rc.relname AS ref_relname
              FROM quarry_sources.%I k
              JOIN quarry_sources.%I c ON c.oid = k.conrelid
              JOIN quarry_sources.%I n ON n.oid = c.relnamespace
              LEFT JOIN quarry_sources.%I rc ON rc.oid = k.confrelid
             WHERE n.nspname = $1 AND k.contype IN ('p', 'f')$q$,
            v_prefix || 'constraint', v_prefix || 'class', v_prefix || 'namespace', v_prefix || 'class')
        USING v.remote_schema;
        EXECUTE format($q$
            CREATE TEMP TABLE _source_attributes AS
            SELECT a.attrelid, a.attnum, a.attname FROM quarry_sources.%I a
             WHERE a.attnum > 0 AND a.attrelid IN (SELECT x.conrelid FROM pg_temp._source_constraints x
                                                   UNION SELECT x.confrelid FROM pg_temp._source_constraints x)$q$,
            v_prefix || 'attribute');
        INSERT INTO quarry.source_keys (source_id, relation_name, name, columns, ref_relation, ref_columns, origin)
        SELECT v.id, k.relname, k.conname,
               ARRAY(SELECT a.attname::text FROM unnest(k.conkey) WITH ORDINALITY u(n, o)
                       JOIN pg_temp._source_attributes a ON a.attrelid = k.conrelid AND a.attnum = u.n ORDER BY u.o),
               CASE WHEN k.contype = 'f' THEN k.ref_relname END,
               CASE WHEN k.contype = 'f' THEN
                    ARRAY(SELECT a.attname::text FROM unnest(k.confkey) WITH ORDINALITY u(n, o)
                            JOIN pg_temp._source_attributes a ON a.attrelid = k.confrelid AND a.attnum = u.n ORDER BY u.o) END,
               'remote'
          FROM pg_temp._source_constraints k
        ON CONFLICT DO NOTHING;
        DROP TABLE pg_temp._source_constraints, pg_temp._source_attributes;
    ELSE
        EXECUTE format($q$
            INSERT INTO quarry.source_tables (source_id, relation_name, remote_rows)
            SELECT $1, t.table_name, t.table_rows FROM quarry_sources.%I t WHERE t.table_schema = $2$q$, v_prefix || 'tables')
        USING v.id, v.remote_schema;
        EXECUTE format($q$
            INSERT INTO quarry.source_keys (source_id, relation_name, name, columns, ref_relation, ref_columns, origin)
            SELECT $1, k.table_name, CASE WHEN k.constraint_name = 'PRIMARY' THEN k.table_name || '_pkey' ELSE k.constraint_name END,
                   array_agg(k.column_name ORDER BY k.ordinal_position),
                   min(k.referenced_table_name),
                   CASE WHEN min(k.referenced_table_name) IS NOT NULL
                        THEN array_agg(k.referenced_column_name ORDER BY k.ordinal_position) END,
                   'remote'
              FROM quarry_sources.%I k
             WHERE k.table_schema = $2 AND (k.constraint_name = 'PRIMARY' OR k.referenced_table_name IS NOT NULL)
             GROUP BY k.table_name, k.constraint_name
            ON CONFLICT DO NOTHING$q$, v_prefix || 'keys')
        USING v.id, v.remote_schema;
    END IF;
    -- Only tables that were imported.
    DELETE FROM quarry.source_tables t WHERE t.source_id = v.id
       AND pg_catalog.to_regclass(format('%I.%I', v.local_schema, t.relation_name)) IS NULL;
    DELETE FROM quarry.source_keys k WHERE k.source_id = v.id AND k.origin = 'remote'
       AND (pg_catalog.to_regclass(format('%I.%I', v.local_schema, k.relation_name)) IS NULL
            OR (k.ref_relation IS NOT NULL AND pg_catalog.to_regclass(format('%I.%I', v.local_schema, k.ref_relation)) IS NULL));
    -- Statistics for the planner and the semantic model (distinct values of columns).
    -- (mysql_fdw cannot sample: its tables keep the remote's estimate above.)
    FOR v_relation IN SELECT c.relname FROM pg_catalog.pg_class c
                       WHERE c.relnamespace = v.local_schema::regnamespace AND c.relkind = 'f' AND v.kind = 'postgres'
                       ORDER BY c.relname LOOP
        BEGIN
            EXECUTE format('ANALYZE %I.%I', v.local_schema, v_relation);
        EXCEPTION WHEN OTHERS THEN
            NULL;   -- a wrapper that cannot sample: the remote's estimate above stands
        END;
    END LOOP;
END $$;

-- The remote catalog lookups, one set per source, created with it (foreign tables over the remote
-- side's own catalog, which any user may read there).
CREATE FUNCTION _source_catalog_tables(v quarry.sources) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    p text := v.server_name || '__';
BEGIN
    IF v.kind = 'postgres' THEN
        EXECUTE format('CREATE FOREIGN TABLE quarry_sources.%I (oid oid, relname name, relnamespace oid, relkind "char", reltuples real) '
                       'SERVER %I OPTIONS (schema_name ''pg_catalog'', table_name ''pg_class'')', p || 'class', v.server_name);
        EXECUTE format('CREATE FOREIGN TABLE quarry_sources.%I (oid oid, nspname name) '
                       'SERVER %I OPTIONS (schema_name ''pg_catalog'', table_name ''pg_namespace'')', p || 'namespace', v.server_name);
        EXECUTE format('CREATE FOREIGN TABLE quarry_sources.%I (attrelid oid, attnum int2, attname name) '
                       'SERVER %I OPTIONS (schema_name ''pg_catalog'', table_name ''pg_attribute'')', p || 'attribute', v.server_name);
        EXECUTE format('CREATE FOREIGN TABLE quarry_sources.%I (conname name, contype "char", conrelid oid, confrelid oid, conkey int2[], confkey int2[]) '
                       'SERVER %I OPTIONS (schema_name ''pg_catalog'', table_name ''pg_constraint'')', p || 'constraint', v.server_name);
    ELSE
        EXECUTE format('CREATE FOREIGN TABLE quarry_sources.%I (table_schema text, table_name text, table_rows bigint) '
                       'SERVER %I OPTIONS (dbname ''information_schema'', table_name ''TABLES'')', p || 'tables', v.server_name);
        EXECUTE format('CREATE FOREIGN TABLE quarry_sources.%I (constraint_name text, table_schema text, table_name text, column_name text, '
                       'ordinal_position bigint, referenced_table_schema text, referenced_table_name text, referenced_column_name text) '
                       'SERVER %I OPTIONS (dbname ''information_schema'', table_name ''KEY_COLUMN_USAGE'')', p || 'keys', v.server_name);
    END IF;
END $$;

-- Creates a source: the wrapper (once), the foreign server, the catalog user's mapping (for the
-- extension's owner, which imports the tables and reads the remote catalog), the local schema and
-- its tables. Returns the source's id.
CREATE FUNCTION create_source(
    name             text,
    kind             text,
    host             text,
    port             integer,
    database         text,
    remote_user      text,
    remote_password  text,
    remote_schema    text DEFAULT NULL,   -- PostgreSQL: 'public' by default; MySQL: the database
    local_schema     text DEFAULT NULL,   -- the source's name by default
    tls              jsonb DEFAULT '{}'   -- PostgreSQL: sslmode, sslrootcert, sslcert, sslkey, sslcrl;
                                          -- MySQL: ssl_ca, ssl_capath, ssl_cert, ssl_key, ssl_cipher
) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    v quarry.sources;
    v_name text := btrim(quarry._require(create_source.name, 'name'));
    v_tls_keys text[] := CASE kind WHEN 'postgres' THEN ARRAY['sslmode', 'sslrootcert', 'sslcert', 'sslkey', 'sslcrl']
                                   WHEN 'mysql' THEN ARRAY['ssl_ca', 'ssl_capath', 'ssl_cert', 'ssl_key', 'ssl_cipher'] END;
    v_bad text;
BEGIN
    -- One source made at a time (the wrappers and the quarry_sources schema are made on first use).
    PERFORM pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtext('quarry.create_source'));
    IF v_name !~ '^[a-z][a-z0-9_]{0,39}$' THEN
        RAISE EXCEPTION 'invalid source name %', quote_literal(v_name) USING ERRCODE = 'invalid_parameter_value',
            HINT = 'A source name is 1 to 40 lowercase letters, digits and underscores, starting with a letter.';
    ELSIF quarry._require(kind, 'kind') NOT IN ('postgres', 'mysql') THEN
        RAISE EXCEPTION 'unknown source kind %', quote_literal(kind) USING ERRCODE = 'invalid_parameter_value',
            HINT = 'A source is of kind postgres (through postgres_fdw) or mysql (through mysql_fdw, also for MariaDB).';
    ELSIF EXISTS (SELECT 1 FROM quarry.sources s WHERE s.name = v_name) THEN
        RAISE EXCEPTION 'a source named % exists already', quote_literal(v_name) USING ERRCODE = 'duplicate_object';
    ELSIF EXISTS (SELECT 1 FROM pg_catalog.pg_foreign_server f WHERE f.srvname = v_name) THEN
        RAISE EXCEPTION 'a foreign server named % exists already', quote_ident(v_name) USING ERRCODE = 'duplicate_object';
    ELSIF btrim(coalesce(host, '')) = '' THEN
        RAISE EXCEPTION 'a source needs a host' USING ERRCODE = 'invalid_parameter_value';
    ELSIF port IS NULL OR port NOT BETWEEN 1 AND 65535 THEN
        RAISE EXCEPTION 'invalid port %', coalesce(port::text, 'NULL') USING ERRCODE = 'invalid_parameter_value';
    ELSIF btrim(coalesce(database, '')) = '' THEN
        RAISE EXCEPTION 'a source needs a database' USING ERRCODE = 'invalid_parameter_value';
    ELSIF jsonb_typeof(coalesce(tls, '{}')) <> 'object' THEN
        RAISE EXCEPTION 'tls must be a JSON object' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    SELECT string_agg(k, ', ') INTO v_bad FROM jsonb_object_keys(coalesce(tls, '{}')) k WHERE k <> ALL (v_tls_keys);
    IF v_bad IS NOT NULL THEN
        RAISE EXCEPTION 'unknown TLS option % for a % source', v_bad, kind USING ERRCODE = 'invalid_parameter_value',
            HINT = 'Allowed: ' || array_to_string(v_tls_keys, ', ') || '.';
    END IF;
    v.name := v_name;
    v.kind := kind;
    v.server_name := v_name;
    v.local_schema := coalesce(nullif(btrim(local_schema), ''), v_name);
    v.remote_schema := coalesce(nullif(btrim(remote_schema), ''), CASE kind WHEN 'postgres' THEN 'public' ELSE database END);
    v.options := jsonb_build_object('host', btrim(host), 'port', port::text, 'database', btrim(database)) || coalesce(tls, '{}');
    IF kind = 'postgres' THEN
        v.options := v.options || '{"connect_timeout": "10"}';
    END IF;
    IF pg_catalog.to_regnamespace(quote_ident(v.local_schema)) IS NOT NULL THEN
        RAISE EXCEPTION 'schema % exists already', quote_ident(v.local_schema) USING ERRCODE = 'duplicate_schema',
            HINT = 'A source imports its tables into a schema of its own: choose another local_schema.';
    ELSIF v.local_schema IN ('quarry', 'quarry_sources', 'public') OR v.local_schema LIKE 'pg\_%' THEN
        RAISE EXCEPTION 'schema % cannot hold a source''s tables', quote_ident(v.local_schema) USING ERRCODE = 'invalid_parameter_value';
    END IF;

    PERFORM quarry._sources_schema();
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_extension e WHERE e.extname = quarry._source_wrapper(kind)) THEN
        EXECUTE format('CREATE EXTENSION %I WITH SCHEMA quarry_sources', quarry._source_wrapper(kind));
    END IF;
    EXECUTE format('CREATE SERVER %I FOREIGN DATA WRAPPER %I OPTIONS (%s)', v.server_name,
                   quarry._source_wrapper(kind), quarry._source_server_options(kind, v.options));
    EXECUTE format('COMMENT ON SERVER %I IS %L', v.server_name, 'Quarry source ' || v.name);
    EXECUTE format('CREATE USER MAPPING FOR CURRENT_USER SERVER %I OPTIONS (%s)', v.server_name,
                   quarry._source_mapping_options(kind, remote_user, remote_password));
    EXECUTE format('CREATE SCHEMA %I', v.local_schema);
    EXECUTE format('COMMENT ON SCHEMA %I IS %L', v.local_schema,
                   format('Tables of Quarry source %s (%s %s on %s)', v.name, kind, v.remote_schema, v.options ->> 'host'));
    PERFORM quarry._source_import(v);
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_class c WHERE c.relnamespace = v.local_schema::regnamespace) THEN
        RAISE EXCEPTION 'source %: % % has no tables that user % can see', quote_literal(v.name),
            CASE kind WHEN 'postgres' THEN 'schema' ELSE 'database' END, quote_literal(v.remote_schema), quote_literal(remote_user)
            USING ERRCODE = 'undefined_table';
    END IF;
    INSERT INTO quarry.sources (name, kind, server_name, local_schema, remote_schema, options)
    VALUES (v.name, v.kind, v.server_name, v.local_schema, v.remote_schema, v.options)
    RETURNING * INTO v;
    PERFORM quarry._source_catalog_tables(v);
    PERFORM quarry._source_catalog(v);
    RETURN v.id;
END $$;

-- Every source with its tables and the roles mapped to it (no passwords).
CREATE FUNCTION sources()
RETURNS TABLE (name text, kind text, host text, port integer, database text, remote_schema text,
               local_schema name, tls jsonb, tables name[], mappings jsonb, created_at timestamptz, refreshed_at timestamptz)
LANGUAGE sql STABLE AS $$
    SELECT s.name, s.kind, s.options ->> 'host', (s.options ->> 'port')::integer, s.options ->> 'database',
           s.remote_schema, s.local_schema,
           s.options - ARRAY['host', 'port', 'database', 'connect_timeout'],
           ARRAY(SELECT c.relname FROM pg_catalog.pg_class c
                  WHERE c.relnamespace = pg_catalog.to_regnamespace(quote_ident(s.local_schema)) AND c.relkind = 'f'
                  ORDER BY c.relname),
           coalesce((SELECT jsonb_agg(jsonb_build_object('role', m.role_name, 'remote_user', m.remote_user,
                                                         'mapped_at', m.mapped_at) ORDER BY m.role_name)
                       FROM quarry.source_mappings m WHERE m.source_id = s.id), '[]'),
           s.created_at, s.refreshed_at
      FROM quarry.sources s
     ORDER BY s.name
$$;

-- Lets an account's role reach a source as the given remote user: checks the credentials on the
-- remote side first, refuses roles that would bypass row-level security, then creates (or
-- replaces) the user mapping and grants the role reading the source's tables. The remote side's
-- privileges and row-level security for that user decide what the role sees.
CREATE FUNCTION map_source_role(source text, role name, remote_user text, remote_password text) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    v quarry.sources := quarry._source(source);
    r pg_catalog.pg_roles;
BEGIN
    SELECT * INTO r FROM pg_catalog.pg_roles x WHERE x.rolname = quarry._require(role, 'role');
    IF r.oid IS NULL THEN
        RAISE EXCEPTION 'role % does not exist', quote_ident(role) USING ERRCODE = 'undefined_object';
    ELSIF r.rolsuper OR r.rolbypassrls THEN
        RAISE EXCEPTION 'role % is a superuser or has BYPASSRLS and cannot be mapped to a source', quote_ident(role)
            USING ERRCODE = 'insufficient_privilege',
                  HINT = 'Map the roles of accounts, which must not bypass row-level security.';
    ELSIF EXISTS (SELECT 1 FROM quarry.service_roles s WHERE s.role_name = role) THEN
        RAISE EXCEPTION 'role % is a service role and cannot be mapped to a source', quote_ident(role)
            USING ERRCODE = 'insufficient_privilege';
    ELSIF btrim(coalesce(remote_user, '')) = '' THEN
        RAISE EXCEPTION 'a mapping needs a remote user' USING ERRCODE = 'invalid_parameter_value';
    ELSIF coalesce(remote_password, '') = '' THEN
        RAISE EXCEPTION 'a mapping needs the remote user''s password' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    PERFORM quarry._source_probe(v, remote_user, remote_password);
    IF EXISTS (SELECT 1 FROM pg_catalog.pg_user_mappings m WHERE m.srvname = v.server_name AND m.usename = role) THEN
        EXECUTE format('DROP USER MAPPING FOR %I SERVER %I', role, v.server_name);
    END IF;
    EXECUTE format('CREATE USER MAPPING FOR %I SERVER %I OPTIONS (%s)', role, v.server_name,
                   quarry._source_mapping_options(v.kind, remote_user, remote_password));
    EXECUTE format('GRANT USAGE ON SCHEMA %I TO %I', v.local_schema, role);
    EXECUTE format('GRANT SELECT ON ALL TABLES IN SCHEMA %I TO %I', v.local_schema, role);
    INSERT INTO quarry.source_mappings (source_id, role_name, remote_user) VALUES (v.id, role, remote_user)
    ON CONFLICT (source_id, role_name) DO UPDATE SET remote_user = EXCLUDED.remote_user, mapped_at = now();
END $$;

CREATE FUNCTION unmap_source_role(source text, role name) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    v quarry.sources := quarry._source(source);
BEGIN
    DELETE FROM quarry.source_mappings m WHERE m.source_id = v.id AND m.role_name = quarry._require(role, 'role');
    IF NOT FOUND THEN
        RAISE EXCEPTION 'role % is not mapped to source %', quote_ident(role), quote_literal(v.name)
            USING ERRCODE = 'undefined_object';
    END IF;
    IF pg_catalog.to_regrole(quote_ident(role)) IS NOT NULL THEN
        EXECUTE format('DROP USER MAPPING IF EXISTS FOR %I SERVER %I', role, v.server_name);
        EXECUTE format('REVOKE SELECT ON ALL TABLES IN SCHEMA %I FROM %I', v.local_schema, role);
        EXECUTE format('REVOKE USAGE ON SCHEMA %I FROM %I', v.local_schema, role);
    END IF;
END $$;

-- Imports the source's tables again (after the remote schema changed): tables that appeared are
-- added, tables that disappeared are dropped, changed columns follow; mapped roles keep reading,
-- and the semantic models of datasets over the source are derived again. Returns what changed.
CREATE FUNCTION refresh_source(source text) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
    v quarry.sources := quarry._source(source);
    v_before jsonb;
    v_after jsonb;
    v_relation name;
    m record;
    d record;
BEGIN
    SELECT coalesce(jsonb_object_agg(t.relname, t.columns), '{}') INTO v_before FROM quarry._source_shape(v) t;
    FOR v_relation IN SELECT c.relname FROM pg_catalog.pg_class c
                       WHERE c.relnamespace = v.local_schema::regnamespace AND c.relkind = 'f' LOOP
        EXECUTE format('DROP FOREIGN TABLE %I.%I CASCADE', v.local_schema, v_relation);
    END LOOP;
    PERFORM quarry._source_import(v);
    FOR m IN SELECT * FROM quarry.source_mappings x WHERE x.source_id = v.id
               AND pg_catalog.to_regrole(quote_ident(x.role_name)) IS NOT NULL LOOP
        EXECUTE format('GRANT SELECT ON ALL TABLES IN SCHEMA %I TO %I', v.local_schema, m.role_name);
    END LOOP;
    PERFORM quarry._source_catalog(v);
    DELETE FROM quarry.source_keys k WHERE k.source_id = v.id AND k.origin = 'declared'
       AND (pg_catalog.to_regclass(format('%I.%I', v.local_schema, k.relation_name)) IS NULL
            OR (k.ref_relation IS NOT NULL AND pg_catalog.to_regclass(format('%I.%I', v.local_schema, k.ref_relation)) IS NULL));
    UPDATE quarry.sources s SET refreshed_at = now() WHERE s.id = v.id;
    FOR d IN SELECT DISTINCT ds.dataset_id FROM quarry.dataset_sources ds WHERE ds.schema_name = v.local_schema ORDER BY 1 LOOP
        PERFORM quarry._derive_semantic_model(d.dataset_id);
    END LOOP;
    SELECT coalesce(jsonb_object_agg(t.relname, t.columns), '{}') INTO v_after FROM quarry._source_shape(v) t;
    RETURN jsonb_build_object(
        'added', coalesce((SELECT jsonb_agg(k ORDER BY k) FROM jsonb_object_keys(v_after) k WHERE NOT v_before ? k), '[]'),
        'removed', coalesce((SELECT jsonb_agg(k ORDER BY k) FROM jsonb_object_keys(v_before) k WHERE NOT v_after ? k), '[]'),
        'changed', coalesce((SELECT jsonb_agg(k ORDER BY k) FROM jsonb_object_keys(v_after) k
                              WHERE v_before ? k AND v_before -> k <> v_after -> k), '[]'));
END $$;

CREATE FUNCTION _source_shape(v quarry.sources) RETURNS TABLE (relname name, columns jsonb)
LANGUAGE sql STABLE AS $$
    SELECT c.relname, jsonb_agg(jsonb_build_array(a.attname, pg_catalog.format_type(a.atttypid, a.atttypmod)) ORDER BY a.attnum)
      FROM pg_catalog.pg_class c
      JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
     WHERE c.relnamespace = pg_catalog.to_regnamespace(quote_ident(v.local_schema)) AND c.relkind = 'f'
     GROUP BY c.relname
$$;

-- Declares a key the remote catalog does not give (a view's, or one MySQL does not enforce): the
-- primary key of a source's table when references_relation is NULL, else a foreign key to another
-- of its tables. Kept across refreshes while both tables exist.
CREATE FUNCTION declare_source_key(source text, relation text, columns text[], references_relation text DEFAULT NULL,
                                   references_columns text[] DEFAULT NULL) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    v quarry.sources := quarry._source(source);
    v_rel regclass := pg_catalog.to_regclass(format('%I.%I', v.local_schema, quarry._require(relation, 'relation')));
    v_ref regclass := CASE WHEN references_relation IS NOT NULL
                           THEN pg_catalog.to_regclass(format('%I.%I', v.local_schema, references_relation)) END;
    v_missing text;
BEGIN
    IF v_rel IS NULL THEN
        RAISE EXCEPTION 'source % has no table %', quote_literal(v.name), quote_ident(relation) USING ERRCODE = 'undefined_table';
    ELSIF references_relation IS NOT NULL AND v_ref IS NULL THEN
        RAISE EXCEPTION 'source % has no table %', quote_literal(v.name), quote_ident(references_relation) USING ERRCODE = 'undefined_table';
    ELSIF cardinality(coalesce(columns, '{}')) = 0
          OR (references_relation IS NOT NULL AND cardinality(coalesce(references_columns, '{}')) <> cardinality(columns)) THEN
        RAISE EXCEPTION 'a key needs columns, and as many referenced columns' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    SELECT string_agg(x.col, ', ') INTO v_missing
      FROM (SELECT c AS col, v_rel AS rel FROM unnest(columns) c
            UNION ALL SELECT c, v_ref FROM unnest(references_columns) c) x
     WHERE NOT EXISTS (SELECT 1 FROM pg_catalog.pg_attribute a
                        WHERE a.attrelid = x.rel AND a.attname = x.col AND a.attnum > 0 AND NOT a.attisdropped);
    IF v_missing IS NOT NULL THEN
        RAISE EXCEPTION 'no such column: %', v_missing USING ERRCODE = 'undefined_column';
    END IF;
    INSERT INTO quarry.source_keys (source_id, relation_name, name, columns, ref_relation, ref_columns, origin)
    VALUES (v.id, relation, CASE WHEN references_relation IS NULL THEN relation || '_pkey'
                                 ELSE relation || '_' || array_to_string(columns, '_') || '_fkey' END,
            columns, references_relation, references_columns, 'declared')
    ON CONFLICT (source_id, relation_name, name)
    DO UPDATE SET columns = EXCLUDED.columns, ref_relation = EXCLUDED.ref_relation, ref_columns = EXCLUDED.ref_columns,
                  origin = 'declared';
    PERFORM quarry._derive_semantic_model(ds.dataset_id)
       FROM (SELECT DISTINCT x.dataset_id FROM quarry.dataset_sources x WHERE x.schema_name = v.local_schema) ds;
END $$;

-- Drops a source: its tables, mappings and server. Refused while a dataset uses its schema.
CREATE FUNCTION drop_source(source text) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    v quarry.sources := quarry._source(source);
    v_users text;
BEGIN
    SELECT string_agg(DISTINCT quote_literal(d.name), ', ') INTO v_users
      FROM quarry.dataset_sources ds JOIN quarry.datasets d ON d.id = ds.dataset_id
     WHERE ds.schema_name = v.local_schema;
    IF v_users IS NOT NULL THEN
        RAISE EXCEPTION 'source % is used by dataset %', quote_literal(v.name), v_users USING ERRCODE = 'dependent_objects_still_exist',
            HINT = 'Remove it from those datasets first (quarry.remove_dataset_source).';
    END IF;
    EXECUTE format('DROP SCHEMA IF EXISTS %I CASCADE', v.local_schema);
    EXECUTE format('DROP SERVER IF EXISTS %I CASCADE', v.server_name);
    DELETE FROM quarry.sources s WHERE s.id = v.id;
END $$;
