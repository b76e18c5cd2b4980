-- Accounts: creation, changes, passwords (argon2id, hashed inside the extension) and the mapping of
-- an account to the database role its questions run as.

CREATE FUNCTION _normalize_email(email text) RETURNS text
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    v text := lower(btrim(quarry._require(email, 'email')));
BEGIN
    IF length(v) > 320 OR v !~ '^[^@\s]+@[^@\s]+$' THEN
        RAISE EXCEPTION 'invalid email address: %', quote_literal(left(email, 100))
            USING ERRCODE = 'invalid_parameter_value', HINT = 'An email address looks like name@example.com.';
    END IF;
    RETURN v;
END $$;

CREATE FUNCTION _check_password_policy(password text) RETURNS text
LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    PERFORM quarry._require(password, 'password');
    IF length(password) < 8 THEN
        RAISE EXCEPTION 'password is too short (at least 8 characters)' USING ERRCODE = 'invalid_parameter_value';
    ELSIF length(password) > 1024 THEN
        RAISE EXCEPTION 'password is too long (at most 1024 characters)' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    RETURN password;
END $$;

-- The account with this email; raises undefined_object when there is none.
CREATE FUNCTION account_id(email text) RETURNS bigint
LANGUAGE plpgsql STABLE AS $$
DECLARE
    v_id bigint;
BEGIN
    SELECT a.id INTO v_id FROM quarry.accounts a WHERE a.email = quarry._normalize_email(account_id.email);
    IF v_id IS NULL THEN
        RAISE EXCEPTION 'no account with email %', quote_literal(lower(btrim(account_id.email)))
            USING ERRCODE = 'undefined_object';
    END IF;
    RETURN v_id;
END $$;

-- Locks and returns an account row; raises undefined_object for an unknown id.
CREATE FUNCTION _account(account_id bigint, lock boolean DEFAULT false) RETURNS quarry.accounts
LANGUAGE plpgsql AS $$
DECLARE
    v quarry.accounts;
BEGIN
    PERFORM quarry._require(account_id, 'account_id');
    IF lock THEN
        SELECT * INTO v FROM quarry.accounts a WHERE a.id = _account.account_id FOR UPDATE;
    ELSE
        SELECT * INTO v FROM quarry.accounts a WHERE a.id = _account.account_id;
    END IF;
    IF v.id IS NULL THEN
        RAISE EXCEPTION 'account % does not exist', account_id USING ERRCODE = 'undefined_object';
    END IF;
    RETURN v;
END $$;

CREATE FUNCTION create_account(
    email         text,
    password      text DEFAULT NULL,
    display_name  text DEFAULT NULL,
    db_role       name DEFAULT NULL
) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    v_email text := quarry._normalize_email(email);
    v_name  text := coalesce(display_name, split_part(v_email, '@', 1));
    v_id    bigint;
BEGIN
    v_name := quarry._text_arg(v_name, 'display_name', 1, 200);
    IF password IS NOT NULL THEN
        PERFORM quarry._check_password_policy(password);
    END IF;
    IF db_role IS NOT NULL THEN
        PERFORM quarry.check_role(db_role);
    END IF;
    IF EXISTS (SELECT 1 FROM quarry.accounts a WHERE a.email = v_email) THEN
        RAISE EXCEPTION 'an account with email % already exists', quote_literal(v_email)
            USING ERRCODE = 'unique_violation';
    END IF;
    INSERT INTO quarry.accounts (email, display_name, password_hash, db_role)
    VALUES (v_email, v_name,
            CASE WHEN password IS NOT NULL THEN quarry._hash_password(password) END,
            create_account.db_role)
    RETURNING id INTO v_id;
    RETURN v_id;
END $$;

-- Changes an account's email and/or display name; NULL leaves a field as it is.
CREATE FUNCTION update_account(account_id bigint, email text DEFAULT NULL, display_name text DEFAULT NULL)
RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    v quarry.accounts := quarry._account(account_id, lock => true);
    v_email text := CASE WHEN email IS NOT NULL THEN quarry._normalize_email(email) ELSE v.email END;
    v_name  text := CASE WHEN display_name IS NOT NULL THEN quarry._text_arg(display_name, 'display_name', 1, 200)
                         ELSE v.display_name END;
BEGIN
    IF v_email <> v.email AND EXISTS (SELECT 1 FROM quarry.accounts a WHERE a.email = v_email) THEN
        RAISE EXCEPTION 'an account with email % already exists', quote_literal(v_email)
            USING ERRCODE = 'unique_violation';
    END IF;
    UPDATE quarry.accounts a SET email = v_email, display_name = v_name, updated_at = now()
     WHERE a.id = v.id;
END $$;

CREATE FUNCTION set_password(account_id bigint, password text) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    v quarry.accounts := quarry._account(account_id, lock => true);
BEGIN
    UPDATE quarry.accounts a
       SET password_hash = quarry._hash_password(quarry._check_password_policy(password)), updated_at = now()
     WHERE a.id = v.id;
END $$;

-- Disabling an account also ends every token it holds, at once.
CREATE FUNCTION disable_account(account_id bigint) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    v quarry.accounts := quarry._account(account_id, lock => true);
BEGIN
    UPDATE quarry.accounts a SET disabled = true, updated_at = now() WHERE a.id = v.id;
    UPDATE quarry.oauth_tokens t SET revoked_at = now()
     WHERE t.account_id = v.id AND t.revoked_at IS NULL;
END $$;

CREATE FUNCTION enable_account(account_id bigint) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    v quarry.accounts := quarry._account(account_id, lock => true);
BEGIN
    UPDATE quarry.accounts a SET disabled = false, updated_at = now() WHERE a.id = v.id;
END $$;

-- Checks a sign-in. Returns the account id, or NULL for a wrong password, an unknown email or a
-- disabled account: the caller cannot tell which, and an unknown email costs the same hashing time.
CREATE FUNCTION verify_password(email text, password text) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    v quarry.accounts;
BEGIN
    IF email IS NULL OR password IS NULL OR length(password) > 1024 THEN
        RETURN NULL;
    END IF;
    SELECT * INTO v FROM quarry.accounts a WHERE a.email = lower(btrim(verify_password.email));
    IF NOT quarry._verify_password(v.password_hash, password) OR v.disabled THEN
        RETURN NULL;
    END IF;
    RETURN v.id;
END $$;

-- Why an existing role may not answer questions, or NULL when it may. A question must run under a
-- role that privileges and row-level security bind, and that reaches neither Quarry's own state nor
-- the server's files, processes or other sessions.
CREATE FUNCTION _role_problem(role_oid oid) RETURNS text
LANGUAGE plpgsql STABLE AS $$
DECLARE
    -- Roles whose members reach beyond the data they should answer from, in the order named.
    c_reaching CONSTANT text[] := ARRAY['pg_read_server_files', 'pg_write_server_files', 'pg_execute_server_program',
        'pg_read_all_data', 'pg_write_all_data', 'pg_signal_backend', 'pg_read_all_stats', 'pg_read_all_settings',
        'pg_monitor', 'pg_checkpoint'];
    r record;
BEGIN
    -- One query (every question checks its role twice).
    SELECT a.rolsuper, a.rolbypassrls,
           (SELECT p.rolname FROM pg_catalog.pg_roles p
             WHERE (p.rolsuper OR p.rolbypassrls) AND p.oid <> a.oid AND pg_catalog.pg_has_role(a.oid, p.oid, 'MEMBER')
             LIMIT 1) AS bypassing,
           (SELECT p.rolname FROM pg_catalog.pg_roles p
             WHERE p.rolname = ANY (c_reaching) AND pg_catalog.pg_has_role(a.oid, p.oid, 'MEMBER')
             ORDER BY pg_catalog.array_position(c_reaching, p.rolname::text) LIMIT 1) AS reaching,
           pg_catalog.has_schema_privilege(a.oid, 'quarry', 'USAGE') AS uses_quarry
      INTO r FROM pg_catalog.pg_roles a WHERE a.oid = role_oid;
    IF r.rolsuper THEN
        RETURN 'it is a superuser, which bypasses privileges and row-level security';
    ELSIF r.rolbypassrls THEN
        RETURN 'it has BYPASSRLS, which bypasses row-level security';
    ELSIF r.bypassing IS NOT NULL THEN
        RETURN format('it is a member of %I, which is a superuser or has BYPASSRLS', r.bypassing);
    ELSIF r.reaching IS NOT NULL THEN
        RETURN format('it is a member of %I, which reaches beyond the data it should answer from', r.reaching);
    ELSIF r.uses_quarry THEN
        RETURN 'it can use the quarry schema (it is a service or administration role)';
    END IF;
    RETURN NULL;
END $$;

-- Raises a clear error when a role does not exist or may not answer questions (see _role_problem).
CREATE FUNCTION check_role(role name) RETURNS void
LANGUAGE plpgsql STABLE AS $$
DECLARE
    v_oid oid := pg_catalog.to_regrole(quote_ident(quarry._require(role, 'role')));
    v_problem text;
BEGIN
    IF v_oid IS NULL THEN
        RAISE EXCEPTION 'role % does not exist', quote_ident(role) USING ERRCODE = 'undefined_object';
    END IF;
    v_problem := quarry._role_problem(v_oid);
    IF v_problem IS NOT NULL THEN
        RAISE EXCEPTION 'role % cannot answer questions: %', quote_ident(role), v_problem
            USING ERRCODE = 'insufficient_privilege',
                  HINT = 'Map the account to a role that holds only the privileges its questions need.';
    END IF;
END $$;

-- Maps an account to the database role its questions run as (NULL removes the mapping).
CREATE FUNCTION set_account_role(account_id bigint, role name) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    v quarry.accounts := quarry._account(account_id, lock => true);
BEGIN
    IF role IS NOT NULL THEN
        PERFORM quarry.check_role(role);
    END IF;
    UPDATE quarry.accounts a SET db_role = set_account_role.role, updated_at = now() WHERE a.id = v.id;
END $$;

-- The role an enabled account's questions run as, checked again now (a role may have changed since
-- it was mapped). Raises when the account cannot ask questions. (_execution_settings reads the
-- same conditions in its one query and comes here for the reason when they fail: change both.)
CREATE FUNCTION account_role(account_id bigint) RETURNS name
LANGUAGE plpgsql STABLE AS $$
DECLARE
    v quarry.accounts := quarry._account(account_id);
BEGIN
    IF v.disabled THEN
        RAISE EXCEPTION 'account % is disabled', v.id USING ERRCODE = 'insufficient_privilege';
    ELSIF v.db_role IS NULL THEN
        RAISE EXCEPTION 'account % has no database role', v.id USING ERRCODE = 'insufficient_privilege',
            HINT = 'A DBA maps it with SELECT quarry.set_account_role(account_id, ''role_name'');';
    END IF;
    PERFORM quarry.check_role(v.db_role);
    RETURN v.db_role;
END $$;
