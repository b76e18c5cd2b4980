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
-- The statement timeout stops a slow query (the error ends the transaction).
BEGIN READ ONLY;
SET LOCAL statement_timeout = '200ms';
SELECT quarry.execute_as(1, 'SELECT pg_sleep(5)', 10, 10000);
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
