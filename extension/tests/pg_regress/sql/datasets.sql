-- Datasets over schemas, tables, views, materialized views, partitioned and foreign tables.

CREATE SCHEMA shop;
COMMENT ON SCHEMA shop IS 'A small shop';
CREATE TABLE shop.regions (id int PRIMARY KEY, name text NOT NULL);
CREATE TABLE shop.customers (
    id int PRIMARY KEY, name text NOT NULL, email text, region_id int REFERENCES shop.regions);
COMMENT ON TABLE shop.customers IS 'People who buy';
COMMENT ON COLUMN shop.customers.email IS 'Private';
CREATE TABLE shop.orders (
    id int PRIMARY KEY, customer_id int NOT NULL REFERENCES shop.customers, amount numeric(10,2),
    placed_on date NOT NULL);
CREATE INDEX orders_placed_on_idx ON shop.orders (placed_on) WHERE amount > 0;
CREATE VIEW shop.big_orders AS SELECT * FROM shop.orders WHERE amount > 100;
CREATE MATERIALIZED VIEW shop.daily AS SELECT placed_on, sum(amount) AS amount FROM shop.orders GROUP BY 1;
CREATE TABLE shop.events (at date NOT NULL, kind text) PARTITION BY RANGE (at);
CREATE TABLE shop.events_2025 PARTITION OF shop.events FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
CREATE TABLE shop.events_2026 PARTITION OF shop.events FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');
CREATE SEQUENCE shop.ticket_seq;
CREATE FOREIGN DATA WRAPPER regress_fdw;
CREATE SERVER regress_server FOREIGN DATA WRAPPER regress_fdw;
CREATE FOREIGN TABLE shop.supplier_stock (sku text, stock int) SERVER regress_server;
CREATE SCHEMA "Mixed Case";
CREATE TABLE "Mixed Case"."Odd Table" ("Odd Column" int);

SELECT quarry.create_dataset(1, 'Shop', ARRAY['shop'], 'Everything in the shop') AS shop;
SELECT quarry.create_dataset(1, 'Orders only', ARRAY['shop.orders', 'shop.customers', 'shop.big_orders',
                                                     'shop.daily', 'shop.supplier_stock']) AS orders_only;
SELECT quarry.create_dataset(2, 'Odd', ARRAY['"Mixed Case"."Odd Table"'], row_limit => 50) AS odd;
SELECT dataset_id, schema_name, relation_name FROM quarry.dataset_sources ORDER BY 1, 2, 3;
SELECT quarry.dataset_id(1, 'Orders only');

-- Bad sources and arguments.
SELECT regress.try($$SELECT quarry.create_dataset(1, 'Bad', ARRAY['shop.nope'])$$);
SELECT regress.try($$SELECT quarry.create_dataset(1, 'Bad', ARRAY['nowhere'])$$);
SELECT regress.try($$SELECT quarry.create_dataset(1, 'Bad', ARRAY['nowhere.table'])$$);
SELECT regress.try($$SELECT quarry.create_dataset(1, 'Bad', ARRAY['shop.ticket_seq'])$$);
SELECT regress.try($$SELECT quarry.create_dataset(1, 'Bad', ARRAY['shop.orders_pkey'])$$);
SELECT regress.try($$SELECT quarry.create_dataset(1, 'Bad', ARRAY['quarry'])$$);
SELECT regress.try($$SELECT quarry.create_dataset(1, 'Bad', ARRAY['quarry.accounts'])$$);
SELECT regress.try($$SELECT quarry.create_dataset(1, 'Bad', ARRAY['pg_catalog.pg_authid'])$$);
SELECT regress.try($$SELECT quarry.create_dataset(1, 'Bad', ARRAY['a.b.c'])$$);
SELECT regress.try($$SELECT quarry.create_dataset(1, 'Bad', ARRAY['"unterminated'])$$);
SELECT regress.try($$SELECT quarry.create_dataset(1, 'Bad', ARRAY[]::text[])$$);
SELECT regress.try($$SELECT quarry.create_dataset(1, 'Bad', NULL)$$);
SELECT regress.try($$SELECT quarry.create_dataset(1, 'Shop', ARRAY['shop'])$$);
SELECT regress.try($$SELECT quarry.create_dataset(99, 'Bad', ARRAY['shop'])$$);
SELECT regress.try($$SELECT quarry.create_dataset(1, 'Bad', ARRAY['shop'], row_limit => 0)$$);
SELECT regress.try($$SELECT quarry.dataset_id(1, 'Nope')$$);
-- None of them left anything behind.
SELECT count(*) AS datasets FROM quarry.datasets;

-- Sources can be added and removed; adding one twice is harmless.
SELECT quarry.add_dataset_source(2, 'shop.regions');
SELECT quarry.add_dataset_source(2, 'shop.regions');
SELECT quarry.remove_dataset_source(2, 'shop.supplier_stock');
SELECT regress.try($$SELECT quarry.remove_dataset_source(2, 'shop.supplier_stock')$$);
SELECT relation_name FROM quarry.dataset_sources WHERE dataset_id = 2 ORDER BY 1;

SELECT quarry.update_dataset(2, description => 'Orders and their customers', row_limit => 500);
SELECT regress.try($$SELECT quarry.update_dataset(2, name => 'Shop')$$);
SELECT regress.try($$SELECT quarry.update_dataset(2, timeout_ms => 5)$$);
SELECT id, team_id, name, description, row_limit, timeout_ms FROM quarry.datasets ORDER BY id;

-- Glossary: terms are unique per dataset whatever their case; redefining one replaces it.
SELECT quarry.set_glossary_term(1, 'Revenue', 'Sum of order amounts', ARRAY['sales', ' sales ', '', 'turnover']);
SELECT term, synonyms FROM quarry.glossary_terms;
SELECT quarry.set_glossary_term(1, 'revenue', 'Sum of order amounts, excluding refunds');
SELECT dataset_id, term, definition, synonyms FROM quarry.glossary_terms ORDER BY id;
SELECT regress.try($$SELECT quarry.set_glossary_term(1, '', 'x')$$);
SELECT regress.try($$SELECT quarry.set_glossary_term(1, 'x', NULL)$$);
SELECT regress.try($$SELECT quarry.remove_glossary_term(1, 'nothing')$$);
SELECT quarry.remove_glossary_term(1, 'REVENUE');
SELECT count(*) AS terms FROM quarry.glossary_terms;

-- Examples: the SQL must parse as one read-only query.
SELECT quarry.add_example(1, 'Orders per day', 'SELECT placed_on, count(*) FROM shop.orders GROUP BY 1');
SELECT regress.try($$SELECT quarry.add_example(1, 'Broken', 'SELEC 1')$$);
SELECT regress.try($$SELECT quarry.add_example(1, 'Two', 'SELECT 1; SELECT 2')$$);
SELECT regress.try($$SELECT quarry.add_example(1, 'Write', 'DELETE FROM shop.orders')$$);
SELECT regress.try($$SELECT quarry.add_example(1, 'Sneaky', 'WITH d AS (DELETE FROM shop.orders RETURNING *) SELECT * FROM d')$$);
SELECT regress.try($$SELECT quarry.add_example(1, 'Into', 'SELECT * INTO shop.copy FROM shop.orders')$$);
SELECT regress.try($$SELECT quarry.add_example(1, 'Lock', 'SELECT * FROM shop.orders FOR UPDATE')$$);
SELECT regress.try($$SELECT quarry.add_example(1, '', 'SELECT 1')$$);
SELECT regress.try($$SELECT quarry.remove_example(999)$$);
SELECT id, dataset_id, question, sql FROM quarry.example_queries ORDER BY id;

-- Dropping a dataset takes its sources, glossary and examples with it.
SELECT quarry.create_dataset(2, 'Temporary', ARRAY['shop.orders']) AS temporary \gset
SELECT quarry.set_glossary_term(:temporary, 'gone', 'soon');
SELECT quarry.drop_dataset(:temporary);
SELECT count(*) AS leftovers FROM quarry.dataset_sources WHERE dataset_id = :temporary;
SELECT regress.try(format('SELECT quarry.drop_dataset(%s)', :temporary));
