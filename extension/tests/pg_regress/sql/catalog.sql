-- The catalog: a dataset's collections as one account's role may see them.

INSERT INTO shop.regions VALUES (1, 'North'), (2, 'South');
INSERT INTO shop.customers SELECT g, 'customer ' || g, 'c' || g || '@example.com', 1 + g % 2 FROM generate_series(1, 40) g;
INSERT INTO shop.orders SELECT g, 1 + g % 40, g * 7 % 300, date '2026-01-01' + g % 60 FROM generate_series(1, 400) g;
INSERT INTO shop.events SELECT date '2025-06-01' + g, 'visit' FROM generate_series(1, 300) g;
REFRESH MATERIALIZED VIEW shop.daily;
ANALYZE shop.regions, shop.customers, shop.orders, shop.events, shop.daily;

-- regress_reader sees the shop but only northern customers; regress_limited sees orders and two
-- columns of customers.
GRANT USAGE ON SCHEMA shop TO regress_reader, regress_limited;
GRANT SELECT ON shop.regions, shop.customers, shop.orders, shop.big_orders, shop.daily, shop.events
   TO regress_reader;
GRANT SELECT ON shop.orders TO regress_limited;
GRANT SELECT (id, name) ON shop.customers TO regress_limited;
ALTER TABLE shop.customers ENABLE ROW LEVEL SECURITY;
CREATE POLICY north ON shop.customers TO regress_reader USING (region_id = 1);
CREATE POLICY everyone ON shop.customers TO regress_limited USING (true);
SELECT quarry.set_account_role(3, 'regress_limited');
SELECT quarry.add_team_member(1, 3);

-- Names only: one page, in name order, with the total. Partitions appear through their parent;
-- sequences, indexes, the foreign table and anything without privileges do not.
SELECT jsonb_pretty(quarry.catalog(1, 1, 'names'));
SELECT c->>'name' AS name, c->>'kind' AS kind
  FROM jsonb_array_elements(quarry.catalog(1, 3, 'names')->'collections') c;

-- Summary: comments, estimated record counts and field names; columns without privilege are left out.
SELECT c->>'name' AS name, c->>'record_count' AS records, c->'record_count_exact' AS exact, c->'fields' AS fields,
       c->>'comment' AS comment
  FROM jsonb_array_elements(quarry.catalog(1, 1, 'summary')->'collections') c;
SELECT c->>'name' AS name, c->'fields' AS fields
  FROM jsonb_array_elements(quarry.catalog(1, 3, 'summary')->'collections') c;

-- Exact counts are counted as the role: row-level security applies (20 northern customers of 40).
SELECT c->>'name' AS name, c->>'record_count' AS records, c->'record_count_exact' AS exact
  FROM jsonb_array_elements(quarry.catalog(1, 1, 'summary', exact_counts => true)->'collections') c;

-- Full: types, nullability, comments, keys, indexes.
SELECT jsonb_pretty(quarry.catalog(1, 1, 'full', 'customers'));
SELECT jsonb_pretty(quarry.catalog(1, 1, 'full', 'shop.orders')->'collections'->0);
-- A foreign key to a collection the role cannot see is left out (regress_limited cannot read regions).
SELECT jsonb_pretty(quarry.catalog(1, 3, 'full', 'customers')->'collections'->0);

-- Only some relations (what a question needs), by "schema.name"; unknown names are ignored.
SELECT c->>'name' AS name
  FROM jsonb_array_elements(quarry.catalog(1, 1, 'names', relations => ARRAY['shop.orders', 'shop.regions', 'shop.nope'])->'collections') c;

-- Filtering and paging.
SELECT quarry.catalog(1, 1, 'names', 'ORD')->'collections' AS filtered;
SELECT quarry.catalog(1, 1, 'names', NULL, 2, 2)->'collections' AS second_page,
       quarry.catalog(1, 1, 'names', NULL, 2, 2)->'total' AS total;
SELECT quarry.catalog(1, 1, 'names', NULL, 10, 100) - 'dataset' AS past_the_end;
SELECT quarry.catalog(1, 1, 'names', 'no such thing') - 'dataset' AS nothing_matches;

-- A dataset of single relations, one of them a view; the odd names survive quoting.
SELECT c->>'name' AS name, c->>'kind' AS kind
  FROM jsonb_array_elements(quarry.catalog(2, 1, 'names')->'collections') c;
GRANT USAGE ON SCHEMA "Mixed Case" TO regress_reader;
GRANT SELECT ON "Mixed Case"."Odd Table" TO regress_reader;
SELECT quarry.add_team_member(2, 1);
SELECT quarry.catalog(3, 1, 'full', page_size => 5, exact_counts => true)->'collections' AS odd;

-- A relation dropped after the dataset was defined simply disappears from the listing.
DROP VIEW shop.big_orders;
SELECT c->>'name' AS name FROM jsonb_array_elements(quarry.catalog(2, 1, 'names')->'collections') c;

-- The DBA's view of the same thing.
SELECT * FROM quarry.collections(1, 3);

-- Refusals.
SELECT regress.try($$SELECT quarry.catalog(1, 1, 'everything')$$);
SELECT regress.try($$SELECT quarry.catalog(1, 1, NULL)$$);
SELECT regress.try($$SELECT quarry.catalog(1, 1, 'names', NULL, 0)$$);
SELECT regress.try($$SELECT quarry.catalog(1, 1, 'names', NULL, 1001)$$);
SELECT regress.try($$SELECT quarry.catalog(1, 1, 'names', NULL, 10, -1)$$);
SELECT regress.try($$SELECT quarry.catalog(1, 1, 'names', repeat('x', 201))$$);
SELECT regress.try($$SELECT quarry.catalog(999, 1)$$);
SELECT regress.try($$SELECT quarry.catalog(3, 3)$$);
SELECT regress.try($$SELECT quarry.catalog(1, 999)$$);
SELECT regress.try($$SELECT quarry.catalog(1, 2)$$);
SELECT quarry.disable_account(3);
SELECT regress.try($$SELECT quarry.catalog(1, 3)$$);
SELECT quarry.enable_account(3);
