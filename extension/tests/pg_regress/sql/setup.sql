-- Runs first, in a freshly created database.
CREATE EXTENSION quarry;

-- try(sql): runs a statement and shows its outcome as one line: 'ok', or the SQLSTATE, the
-- message and any hint of the error it raised. The error is caught, so the session goes on.
CREATE SCHEMA regress;
CREATE FUNCTION regress.try(sql text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    v_state text; v_message text; v_hint text;
BEGIN
    EXECUTE sql;
    RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS v_state = RETURNED_SQLSTATE, v_message = MESSAGE_TEXT, v_hint = PG_EXCEPTION_HINT;
    -- Random identifiers (client ids, tokens) are masked so that the output is the same every run.
    RETURN regexp_replace(v_state || ': ' || v_message || CASE WHEN v_hint <> '' THEN ' (hint: ' || v_hint || ')' ELSE '' END,
                          '(q[a-z]{2}_)[A-Za-z0-9_-]{16,}', '\1…', 'g');
END $$;
GRANT USAGE ON SCHEMA regress TO PUBLIC;

-- Roles belong to the cluster and outlive this database: recreate them from scratch.
DO $$
DECLARE
    r text;
BEGIN
    FOREACH r IN ARRAY ARRAY['regress_reader', 'regress_limited', 'regress_super', 'regress_bypass',
                             'regress_climber', 'regress_filereader', 'regress_service', 'regress_inheriting']
    LOOP
        IF to_regrole(r) IS NOT NULL THEN
            EXECUTE format('DROP OWNED BY %I', r);
            EXECUTE format('DROP ROLE %I', r);
        END IF;
    END LOOP;
END $$;
CREATE ROLE regress_reader NOLOGIN;
CREATE ROLE regress_limited NOLOGIN;
CREATE ROLE regress_super NOLOGIN SUPERUSER;
CREATE ROLE regress_bypass NOLOGIN BYPASSRLS;
CREATE ROLE regress_climber NOLOGIN IN ROLE regress_super;
CREATE ROLE regress_filereader NOLOGIN IN ROLE pg_read_server_files;
CREATE ROLE regress_service LOGIN NOINHERIT;
CREATE ROLE regress_inheriting LOGIN INHERIT;
