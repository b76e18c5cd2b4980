-- The question executor: one read-only query, as the account's role, inside a security-restricted
-- operation, with row and byte caps. Account 1 maps to regress_reader, which sees only northern
-- customers (row-level security, from catalog.sql).

-- It refuses to run outside a read-only transaction.
SELECT regress.try($$SELECT quarry.execute_as(1, 'SELECT 1', 10, 10000)$$);

BEGIN READ ONLY;
-- Row-level security applies: 20 of the 40 customers.
SELECT quarry.execute_as(1, 'SELECT count(*) AS customers FROM shop.customers', 10, 10000);
-- Who the query runs as, and the identity settings policies may read.
SELECT quarry.execute_as(1, $$SELECT current_user, session_user = current_user AS same,
                                     current_setting('quarry.account_id') AS account_id,
                                     current_setting('quarry.account_email') AS email$$, 10, 10000)->'rows';
-- Values keep their JSON types; numerics too precise for a double stay strings.
SELECT quarry.execute_as(1, $$SELECT 1::int AS i, 2.5::numeric AS n, 123456789012345678901234::numeric AS big,
                                     true AS b, 'x'::text AS t, '{"a": [1, 2]}'::jsonb AS j, NULL::int AS nothing,
                                     'NaN'::float8 AS nan, date '2026-01-02' AS d$$, 10, 10000);
-- Unqualified names resolve in the search path the caller gives (the dataset's schemas).
SELECT quarry.execute_as(1, 'SELECT count(*) FROM customers', 10, 10000, 'shop')->'rows' AS with_search_path;
SELECT regress.try($$SELECT quarry.execute_as(1, 'SELECT count(*) FROM customers', 10, 10000)$$) AS without_it;
-- Caps: rows, then bytes; both report truncation.
SELECT q - 'rows' AS capped_rows, jsonb_array_length(q->'rows') AS returned
  FROM (SELECT quarry.execute_as(1, 'SELECT g FROM generate_series(1, 100000) g', 25, 1000000) AS q) x;
SELECT q - 'rows' AS capped_bytes, jsonb_array_length(q->'rows') AS returned
  FROM (SELECT quarry.execute_as(1, $$SELECT repeat('x', 1000) FROM generate_series(1, 100) g$$, 1000, 10240) AS q) x;
-- A huge cross join stops at the cap instead of running to the end.
SELECT (quarry.execute_as(1, 'SELECT a.g, b.g FROM generate_series(1, 100000) a(g), generate_series(1, 100000) b(g)', 100, 100000))->>'truncated' AS cross_join_truncated;
-- The query cannot change role, forge the identity settings, write, or read server files.
SELECT regress.try($$SELECT quarry.execute_as(1, $q$SELECT set_config('role', 'postgres', true)$q$, 10, 10000)$$);
SELECT regress.try($$SELECT quarry.execute_as(1, $q$SELECT set_config('role', 'regress_service', false)$q$, 10, 10000)$$);
SELECT regress.try($$SELECT quarry.execute_as(1, $q$SELECT set_config('session_authorization', 'postgres', true)$q$, 10, 10000)$$);
SELECT regress.try($$SELECT quarry.execute_as(1, $q$SELECT set_config('quarry.account_id', '2', true)$q$, 10, 10000)$$);
SELECT regress.try($$SELECT quarry.execute_as(1, 'RESET ROLE', 10, 10000)$$);
SELECT regress.try($$SELECT quarry.execute_as(1, 'SET ROLE postgres', 10, 10000)$$);
SELECT regress.try($$SELECT quarry.execute_as(1, 'DELETE FROM shop.orders', 10, 10000)$$);
SELECT regress.try($$SELECT quarry.execute_as(1, 'WITH d AS (DELETE FROM shop.orders RETURNING *) SELECT count(*) FROM d', 10, 10000)$$);
SELECT regress.try($$SELECT quarry.execute_as(1, 'SELECT 1; SELECT 2', 10, 10000)$$);
SELECT regress.try($$SELECT quarry.execute_as(1, 'COPY shop.orders TO STDOUT', 10, 10000)$$);
SELECT regress.try($$SELECT quarry.execute_as(1, $q$SELECT pg_read_file('/etc/passwd')$q$, 10, 10000)$$);
SELECT regress.try($$SELECT quarry.execute_as(1, $q$SELECT count(*) FROM quarry.accounts$q$, 10, 10000)$$);
SELECT regress.try($$SELECT quarry.execute_as(1, $q$SELECT nextval('shop.ticket_seq')$q$, 10, 10000)$$);
SELECT regress.try($$SELECT quarry.execute_as(1, 'SELECT * FROM shop.nope', 10, 10000)$$);
SELECT regress.try($$SELECT quarry.execute_as(1, 'SELEC 1', 10, 10000)$$);
-- Accounts that may not ask: unmapped, unknown; bad caps.
SELECT regress.try($$SELECT quarry.execute_as(2, 'SELECT 1', 10, 10000)$$);
SELECT regress.try($$SELECT quarry.execute_as(999, 'SELECT 1', 10, 10000)$$);
SELECT regress.try($$SELECT quarry.execute_as(1, 'SELECT 1', 0, 10000)$$);
SELECT regress.try($$SELECT quarry.execute_as(1, 'SELECT 1', 10, 10)$$);
-- Afterwards we are ourselves again, and the identity settings are the transaction's only.
SELECT current_user = session_user AS switched_back;
ROLLBACK;
-- The caller's statement timeout stops a slow query (the error ends the transaction).
BEGIN READ ONLY;
SET LOCAL statement_timeout = '200ms';
SELECT quarry.execute_as(1, 'SELECT count(*) FROM generate_series(1, 100000) a, generate_series(1, 100000) b', 10, 10000);
ROLLBACK;
SELECT current_setting('quarry.account_id', true) IS NULL OR current_setting('quarry.account_id', true) = '' AS not_kept;

-- Row-level security keyed on the account (not the role): a policy reading quarry.account_id.
CREATE TABLE shop.notes (account_id bigint, note text);
INSERT INTO shop.notes VALUES (1, 'for ada'), (3, 'for sso'), (1, 'also for ada');
ALTER TABLE shop.notes ENABLE ROW LEVEL SECURITY;
CREATE POLICY own_notes ON shop.notes USING (account_id = current_setting('quarry.account_id', true)::bigint);
GRANT SELECT ON shop.notes TO regress_reader, regress_limited;
BEGIN READ ONLY;
SELECT quarry.execute_as(1, 'SELECT note FROM shop.notes ORDER BY note', 10, 10000)->'rows' AS ada_sees;
SELECT quarry.execute_as(3, 'SELECT note FROM shop.notes ORDER BY note', 10, 10000)->'rows' AS sso_sees;
-- Users cannot set the setting outside the executor either.
SET LOCAL ROLE regress_reader;
SELECT regress.try($$SELECT set_config('quarry.account_id', '1', true)$$) AS forge_outside;
ROLLBACK;

-- The guard: what a question may call is decided from PostgreSQL's analysis of it. Built-in
-- immutable and stable functions pass, and a few harmless volatile ones; everything else is
-- refused by name, also when reached through a view, a function in FROM, a cast or an operator.
BEGIN READ ONLY;
SELECT quarry.execute_as(1, $$SELECT upper('a') AS up, length('abc') AS len, date_trunc('month', date '2026-03-05')::date AS month,
                                     random() < 2 AS random, clock_timestamp() IS NOT NULL AS clock, gen_random_uuid() IS NOT NULL AS uuid$$,
                         10, 10000)->'rows' AS allowed;
SELECT regress.try($$SELECT quarry.execute_as(1, 'SELECT pg_advisory_lock(1)', 10, 10000)$$) AS advisory_lock;
SELECT regress.try($$SELECT quarry.execute_as(1, 'SELECT pg_try_advisory_xact_lock(1)', 10, 10000)$$) AS xact_lock;
SELECT regress.try($$SELECT quarry.execute_as(1, 'SELECT setseed(0.5)', 10, 10000)$$) AS seed;
SELECT regress.try($$SELECT quarry.execute_as(1, $q$SELECT pg_logical_emit_message(false, 'x', 'y')$q$, 10, 10000)$$) AS wal_message;
SELECT regress.try($$SELECT quarry.execute_as(1, $q$SELECT lo_from_bytea(0, 'x')$q$, 10, 10000)$$) AS large_object;
SELECT regress.try($$SELECT quarry.execute_as(1, $q$SELECT pg_notify('c', 'x')$q$, 10, 10000)$$) AS notify;
SELECT regress.try($$SELECT quarry.execute_as(1, 'SELECT txid_current()', 10, 10000)$$) AS assigns_an_xid;
SELECT regress.try($$SELECT quarry.execute_as(1, 'SELECT pg_sleep(0.01)', 10, 10000)$$) AS sleep;
SELECT regress.try($$SELECT quarry.execute_as(1, $q$SELECT * FROM pg_advisory_lock(1) x$q$, 10, 10000)$$) AS in_from;
SELECT regress.try($$SELECT quarry.execute_as(1, $q$SELECT 1 WHERE EXISTS (SELECT setseed(0.1))$q$, 10, 10000)$$) AS in_a_subquery;
SELECT regress.try($$SELECT quarry.execute_as(1, $q$WITH x AS (SELECT set_config('work_mem', '8GB', true)) SELECT * FROM x$q$, 10, 10000)$$) AS in_a_cte;
SELECT regress.try($$SELECT quarry.execute_as(1, $q$SELECT query_to_xml('SELECT 1', true, false, '')$q$, 10, 10000)$$) AS dynamic_sql;
SELECT regress.try($$SELECT quarry.execute_as(1, $q$SELECT now() + random() * interval '1 day' > now() - interval '1 day' AS ok$q$, 10, 10000)$$) AS through_operators;
ROLLBACK;
-- A view is read as what it is defined as.
CREATE FUNCTION shop.touch() RETURNS integer LANGUAGE sql VOLATILE AS 'SELECT 1';
CREATE VIEW shop.touchy AS SELECT 1 AS t, pg_catalog.pg_try_advisory_lock(42) AS locked;
GRANT SELECT ON shop.touchy TO regress_reader;
GRANT EXECUTE ON FUNCTION shop.touch() TO regress_reader;
BEGIN READ ONLY;
SELECT regress.try($$SELECT quarry.execute_as(1, 'SELECT t FROM shop.touchy', 10, 10000)$$) AS through_a_view;
ROLLBACK;

-- In a dataset (quarry.execute_for): its search path, limits and the functions it allows. Any
-- transaction will do: the question runs in a read-only subtransaction that is rolled back.
SELECT quarry.execute_for(1, 1, 'SELECT count(*) FROM customers', 10, 10000)->'rows' AS dataset_search_path;
SELECT quarry.execute_for(1, 1, $$SELECT current_setting('work_mem') AS work_mem, current_setting('temp_file_limit') AS temp_files,
                                          current_setting('transaction_read_only') AS read_only$$, 10, 10000)->'rows' AS pinned;
SELECT quarry.update_dataset(1, work_mem_kb => 2048, temp_file_limit_kb => 1024);
SELECT quarry.execute_for(1, 1, $$SELECT current_setting('work_mem'), current_setting('temp_file_limit')$$, 10, 10000)->'rows' AS pinned_per_dataset;
SELECT regress.try($$SELECT quarry.execute_for(1, 1, 'SELECT g FROM generate_series(1, 2000000) g ORDER BY g DESC', 10, 10000)$$) AS temp_files_capped;
SELECT quarry.update_dataset(1, work_mem_kb => 4096, temp_file_limit_kb => 262144);
SELECT quarry.update_dataset(1, timeout_ms => 200);
\set VERBOSITY terse
SELECT quarry.execute_for(1, 1, 'SELECT count(*) FROM generate_series(1, 100000) a, generate_series(1, 100000) b', 10, 10000) AS dataset_timeout;
\set VERBOSITY default
SELECT quarry.update_dataset(1, timeout_ms => 15000);
SELECT regress.try($$SELECT quarry.execute_for(1, 1, 'SELECT shop.touch()', 10, 10000)$$) AS not_allowed_yet;
SELECT quarry.allow_function(1, 'shop.touch()');
SELECT regress.try($$SELECT quarry.execute_for(1, 1, 'SELECT shop.touch()', 10, 10000)$$) AS allowed_now;
SELECT regress.try($$SELECT quarry.execute_for(1, 1, 'SELECT t FROM shop.touchy', 10, 10000)$$) AS the_view_still_locks;
SELECT regress.try($$SELECT quarry.allow_function(1, 'shop.nope(int)')$$) AS unknown_function;
SELECT regress.try($$SELECT quarry.allow_function(1, 'nope.*')$$) AS unknown_schema;
SELECT quarry.allow_function(1, 'shop.*');
SELECT allowed_functions FROM quarry.datasets WHERE id = 1;
SELECT quarry.disallow_function(1, 'shop.*');
SELECT quarry.disallow_function(1, 'shop.touch()');
SELECT regress.try($$SELECT quarry.disallow_function(1, 'shop.touch()')$$) AS not_allowed_anymore;
SELECT regress.try($$SELECT quarry.execute_for(3, 3, 'SELECT 1', 10, 10000)$$) AS not_a_member;
-- Nothing outlives a question: the settings, the identity, the role, session advisory locks.
SELECT current_setting('transaction_read_only') AS read_only_after, current_setting('work_mem') AS work_mem_after,
       coalesce(current_setting('quarry.account_id', true), '') AS identity_after, current_user = session_user AS ourselves;
SELECT count(*) AS advisory_locks FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid();
