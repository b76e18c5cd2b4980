-- Who may touch Quarry's state: nobody but its owner, except through the service API.

-- A role that answers questions can reach neither Quarry's tables nor its functions.
SET ROLE regress_reader;
SELECT regress.try($$SELECT count(*) FROM quarry.accounts$$);
SELECT regress.try($$SELECT quarry.version()$$);
SELECT regress.try($$SELECT quarry.create_account('mallory@example.com', 'password123')$$);
SELECT regress.try($$SELECT quarry._count_rows_as('shop.orders'::regclass, 'regress_reader'::regrole)$$);
RESET ROLE;

-- The service role: only NOINHERIT roles without superuser or BYPASSRLS qualify.
SELECT regress.try($$SELECT quarry.grant_service('regress_inheriting')$$);
SELECT regress.try($$SELECT quarry.grant_service('regress_super')$$);
SELECT regress.try($$SELECT quarry.grant_service('regress_reader')$$);
SELECT regress.try($$SELECT quarry.grant_service('nobody_at_all')$$);
SELECT quarry.grant_service('regress_service');
SELECT role_name FROM quarry.service_roles;
-- A service role cannot in turn answer questions.
SELECT regress.try($$SELECT quarry.set_account_role(2, 'regress_service')$$);

-- The service role calls the service API and nothing else; it reads no table of Quarry's.
SET ROLE regress_service;
SELECT quarry.version() IS NOT NULL AS version;
SELECT quarry.verify_password('ada@example.com', 'a brand new password') AS verified;
SELECT team_id, name FROM quarry.account_teams(1);
SELECT quarry.catalog(1, 1, 'names', page_size => 1)->'total' AS total;
SELECT regress.try($$SELECT count(*) FROM quarry.accounts$$);
SELECT regress.try($$SELECT quarry.create_account('mallory@example.com', 'password123')$$);
SELECT regress.try($$SELECT quarry.set_account_role(1, 'regress_limited')$$);
SELECT regress.try($$SELECT quarry.grant_service('regress_limited')$$);
SELECT regress.try($$SELECT quarry._hash_password('x')$$);
-- Least of all the executor that trusts the settings it is given (quarry.run_for's own).
SELECT regress.try($$SELECT * FROM quarry._execute_settled(1, 1, '{"role_oid": 10}', 'SELECT 1', 10, 10000, NULL)$$) AS forged_settings;
RESET ROLE;

-- Entry points run as the owner with a fixed search_path; nothing in the schema is granted to PUBLIC.
SELECT count(*) FILTER (WHERE NOT p.prosecdef) AS entry_points_not_definer,
       count(*) FILTER (WHERE p.proconfig IS NULL OR NOT 'search_path=pg_catalog, quarry, pg_temp' = ANY (p.proconfig))
           AS entry_points_without_search_path
  FROM pg_proc p WHERE p.pronamespace = 'quarry'::regnamespace AND p.proname !~ '^_';
SELECT count(*) AS public_grants
  FROM pg_proc p, aclexplode(coalesce(p.proacl, acldefault('f', p.proowner))) a
 WHERE p.pronamespace = 'quarry'::regnamespace AND a.grantee = 0;
SELECT count(*) AS public_table_grants
  FROM pg_class c, aclexplode(coalesce(c.relacl, acldefault('r', c.relowner))) a
 WHERE c.relnamespace = 'quarry'::regnamespace AND a.grantee = 0;
SELECT has_schema_privilege('public', 'quarry', 'USAGE') AS public_schema_usage;

SELECT quarry.revoke_service('regress_service');
SELECT has_schema_privilege('regress_service', 'quarry', 'USAGE') AS still_usage,
       has_function_privilege('regress_service', 'quarry.version()', 'EXECUTE') AS still_execute;
SELECT regress.try($$SELECT quarry.revoke_service('regress_service')$$);
