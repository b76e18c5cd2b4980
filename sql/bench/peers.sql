-- The data `./dev bench peers` measures on: a shop with 1,000,000 orders over the year 2025 (so a
-- 30-day aggregate reads about 82,000 of them), and 500 more tables in five schemas of 100 (so the
-- catalog is the size of a real application's). Plain PostgreSQL; deterministic (the same rows
-- every time, fixed dates, so every run measures the same work).
--
-- Idempotent: does nothing when the data is already there at this size; otherwise drops what is
-- there and loads it all again in one transaction (about 10 seconds on 2 cores).
\set ON_ERROR_STOP on

SELECT to_regclass('shop.orders') IS NOT NULL AS has_orders \gset
\if :has_orders
SELECT (SELECT count(*) FROM shop.orders) = 1000000
   AND (SELECT count(*) FROM pg_tables WHERE schemaname ~ '^app_[1-5]$') = 500 AS loaded \gset
\else
\set loaded false
\endif
\if :loaded
\echo the benchmark data is already loaded
\quit
\endif

BEGIN;

-- Roles belong to the cluster, not the database: create them only once. peers_analyst is the
-- role Quarry's bench accounts map to; peers_reader logs in for the peer server with the same
-- privileges (the benchmark sets its password when it starts).
DO $$
BEGIN
    IF to_regrole('peers_analyst') IS NULL THEN
        CREATE ROLE peers_analyst NOLOGIN;
    END IF;
    IF to_regrole('peers_reader') IS NULL THEN
        CREATE ROLE peers_reader LOGIN IN ROLE peers_analyst;
    END IF;
END $$;

DROP SCHEMA IF EXISTS shop, app_1, app_2, app_3, app_4, app_5 CASCADE;

CREATE SCHEMA shop;
COMMENT ON SCHEMA shop IS 'Customers, products and a year of orders.';

CREATE TABLE shop.customers (
    id            integer PRIMARY KEY,
    name          text NOT NULL,
    country       text NOT NULL,
    segment       text NOT NULL,
    signed_up_on  date NOT NULL
);
COMMENT ON TABLE shop.customers IS 'People and companies who buy from the shop.';

CREATE TABLE shop.products (
    id          integer PRIMARY KEY,
    name        text NOT NULL,
    category    text NOT NULL,
    unit_price  numeric(10,2) NOT NULL
);
COMMENT ON TABLE shop.products IS 'Products for sale, with their list price.';

CREATE TABLE shop.orders (
    id            bigint PRIMARY KEY,
    customer_id   integer NOT NULL REFERENCES shop.customers,
    product_id    integer NOT NULL REFERENCES shop.products,
    ordered_at    timestamptz NOT NULL,
    status        text NOT NULL,
    quantity      integer NOT NULL,
    total_amount  numeric(12,2) NOT NULL
);
COMMENT ON TABLE shop.orders IS 'One order per row; total_amount is quantity times the price paid.';

INSERT INTO shop.customers
SELECT i,
       'Customer ' || i,
       (ARRAY['US', 'DE', 'FR', 'GB', 'JP', 'BR', 'IN', 'CA'])[1 + i % 8],
       (ARRAY['consumer', 'consumer', 'small business', 'enterprise'])[1 + (i * 7) % 4],
       date '2020-01-01' + (i * 37) % 1800
  FROM generate_series(1, 50000) AS i;

INSERT INTO shop.products
SELECT i,
       'Product ' || i,
       (ARRAY['books', 'electronics', 'garden', 'kitchen', 'toys', 'sports'])[1 + i % 6],
       round((3 + (i * 7919) % 400 + (i % 100) / 100.0)::numeric, 2)
  FROM generate_series(1, 1000) AS i;

-- Orders arrive in time order (about one every 31.5 seconds), as in a real append-only table,
-- so the rows of a time window sit together on disk.
INSERT INTO shop.orders
SELECT i,
       1 + (i * 7919) % 50000,
       1 + (i * 104729) % 1000,
       timestamptz '2025-01-01 00:00:00+00' + (i - 1) * interval '31.536 seconds',
       (ARRAY['delivered', 'delivered', 'delivered', 'delivered', 'delivered', 'delivered', 'shipped',
              'shipped', 'placed', 'returned', 'cancelled'])[1 + (i * 13) % 11],
       1 + (i * 31) % 5,
       (1 + (i * 31) % 5) * round((3 + (i * 104729) % 400 + (i % 100) / 100.0)::numeric, 2)
  FROM generate_series(1::bigint, 1000000) AS i;

CREATE INDEX orders_ordered_at_idx ON shop.orders (ordered_at);
CREATE INDEX orders_customer_idx ON shop.orders (customer_id);

-- 500 tables in five schemas, each with a key, a few typed columns and a comment.
DO $$
BEGIN
    FOR s IN 1..5 LOOP
        EXECUTE format('CREATE SCHEMA app_%s', s);
        EXECUTE format('COMMENT ON SCHEMA app_%s IS %L', s, 'Application module ' || s || '.');
        FOR t IN 1..100 LOOP
            EXECUTE format(
                'CREATE TABLE app_%1$s.table_%2$s (
                     id          bigint PRIMARY KEY,
                     name        text NOT NULL,
                     amount      numeric(12,2),
                     created_at  timestamptz NOT NULL DEFAULT now(),
                     parent_id   bigint
                 )', s, lpad(t::text, 3, '0'));
            EXECUTE format('COMMENT ON TABLE app_%1$s.table_%2$s IS %3$L',
                           s, lpad(t::text, 3, '0'), 'Records of kind ' || t || ' in module ' || s || '.');
        END LOOP;
    END LOOP;
END $$;

GRANT USAGE ON SCHEMA shop, app_1, app_2, app_3, app_4, app_5 TO peers_analyst;
GRANT SELECT ON ALL TABLES IN SCHEMA shop, app_1, app_2, app_3, app_4, app_5 TO peers_analyst;

COMMIT;

-- Statistics for the planner (the 500 tables' too: a catalog shows their counts), and hint bits
-- and the visibility map set now rather than by the first queries measured.
VACUUM (ANALYZE);
