-- A retailer's data for the demo: regions, customers, products, two years of orders with their
-- lines, a monthly revenue materialized view, and two roles that show the security model:
--   retail_analyst       reads everything
--   retail_emea_manager  reads only EMEA's customers, orders and order lines (row-level security)
--                        and not customers' email addresses (column privileges)
-- Plain PostgreSQL: nothing here needs Quarry. Deterministic: the same rows every time, with dates
-- counted back from the day it is loaded (so "last month" always has data).
\set ON_ERROR_STOP on
BEGIN;

-- Roles belong to the cluster, not the database: create them only once.
DO $$
BEGIN
    IF to_regrole('retail_analyst') IS NULL THEN
        CREATE ROLE retail_analyst NOLOGIN;
    END IF;
    IF to_regrole('retail_emea_manager') IS NULL THEN
        CREATE ROLE retail_emea_manager NOLOGIN;
    END IF;
END $$;

CREATE SCHEMA retail;
COMMENT ON SCHEMA retail IS 'Orders, customers and products of an online and in-store retailer.';

CREATE TABLE retail.regions (
    id    smallint PRIMARY KEY,
    code  text NOT NULL UNIQUE,
    name  text NOT NULL
);
COMMENT ON TABLE retail.regions IS 'Sales regions.';
COMMENT ON COLUMN retail.regions.code IS 'Short code: NA, EMEA, APAC or LATAM.';

CREATE TABLE retail.categories (
    id    smallint PRIMARY KEY,
    name  text NOT NULL UNIQUE
);
COMMENT ON TABLE retail.categories IS 'Product categories.';

CREATE TABLE retail.products (
    id           integer PRIMARY KEY,
    sku          text NOT NULL UNIQUE,
    name         text NOT NULL,
    category_id  smallint NOT NULL REFERENCES retail.categories,
    unit_price   numeric(10,2) NOT NULL CHECK (unit_price > 0),
    unit_cost    numeric(10,2) NOT NULL CHECK (unit_cost > 0),
    active       boolean NOT NULL DEFAULT true
);
CREATE INDEX products_category_idx ON retail.products (category_id);
COMMENT ON TABLE retail.products IS 'Products for sale, with list price and unit cost.';
COMMENT ON COLUMN retail.products.unit_price IS 'List price in USD.';
COMMENT ON COLUMN retail.products.unit_cost IS 'What one unit costs us, in USD.';

CREATE TABLE retail.customers (
    id            integer PRIMARY KEY,
    name          text NOT NULL,
    email         text NOT NULL UNIQUE,
    region_id     smallint NOT NULL REFERENCES retail.regions,
    city          text NOT NULL,
    segment       text NOT NULL CHECK (segment IN ('consumer', 'small business', 'enterprise')),
    signed_up_on  date NOT NULL
);
CREATE INDEX customers_region_idx ON retail.customers (region_id);
COMMENT ON TABLE retail.customers IS 'People and companies who buy from us.';
COMMENT ON COLUMN retail.customers.segment IS 'consumer, small business or enterprise.';

CREATE TABLE retail.orders (
    id            integer PRIMARY KEY,
    customer_id   integer NOT NULL REFERENCES retail.customers,
    region_id     smallint NOT NULL REFERENCES retail.regions,
    ordered_at    timestamptz NOT NULL,
    status        text NOT NULL CHECK (status IN ('placed', 'shipped', 'delivered', 'returned', 'cancelled')),
    channel       text NOT NULL CHECK (channel IN ('web', 'store', 'phone')),
    total_amount  numeric(12,2) NOT NULL DEFAULT 0
);
CREATE INDEX orders_customer_idx ON retail.orders (customer_id);
CREATE INDEX orders_ordered_at_idx ON retail.orders (ordered_at);
CREATE INDEX orders_region_idx ON retail.orders (region_id);
COMMENT ON TABLE retail.orders IS 'Orders; total_amount is the sum of the order''s lines after discounts.';
COMMENT ON COLUMN retail.orders.status IS 'placed, shipped, delivered, returned or cancelled.';
COMMENT ON COLUMN retail.orders.channel IS 'Where the order was placed: web, store or phone.';

CREATE TABLE retail.order_lines (
    order_id    integer NOT NULL REFERENCES retail.orders ON DELETE CASCADE,
    line_no     smallint NOT NULL,
    product_id  integer NOT NULL REFERENCES retail.products,
    quantity    integer NOT NULL CHECK (quantity > 0),
    unit_price  numeric(10,2) NOT NULL,
    discount    numeric(4,2) NOT NULL DEFAULT 0 CHECK (discount >= 0 AND discount < 1),
    PRIMARY KEY (order_id, line_no)
);
CREATE INDEX order_lines_product_idx ON retail.order_lines (product_id);
COMMENT ON TABLE retail.order_lines IS 'The products in each order; revenue of a line is quantity * unit_price * (1 - discount).';
COMMENT ON COLUMN retail.order_lines.discount IS 'Fraction off the unit price, 0 to 0.3.';

-- The data ------------------------------------------------------------------------------------------
SELECT setseed(0.20261121);

INSERT INTO retail.regions VALUES
    (1, 'NA', 'North America'), (2, 'EMEA', 'Europe, Middle East and Africa'),
    (3, 'APAC', 'Asia Pacific'), (4, 'LATAM', 'Latin America');

INSERT INTO retail.categories VALUES
    (1, 'Electronics'), (2, 'Home & Kitchen'), (3, 'Books'), (4, 'Toys & Games'),
    (5, 'Sports & Outdoors'), (6, 'Beauty'), (7, 'Grocery'), (8, 'Clothing');

-- 200 products: 5 base products per category in 5 editions each.
INSERT INTO retail.products (id, sku, name, category_id, unit_price, unit_cost, active)
SELECT row_number() OVER (ORDER BY b.category_id, b.ord, e.ord),
       format('%s-%s%s', upper(left(c.name, 3)), b.ord, e.ord),
       b.name || ' ' || e.edition,
       b.category_id,
       round((b.base_price * e.factor)::numeric, 2),
       round((b.base_price * e.factor * (0.45 + random() * 0.25))::numeric, 2),
       random() > 0.05
  FROM (VALUES
        (1, 1, 'Wireless Earbuds', 79), (1, 2, 'Laptop Stand', 45), (1, 3, '4K Monitor', 329),
        (1, 4, 'Mechanical Keyboard', 119), (1, 5, 'Smart Speaker', 99),
        (2, 1, 'Chef''s Knife', 59), (2, 2, 'Cast Iron Skillet', 39), (2, 3, 'Espresso Machine', 249),
        (2, 4, 'Linen Sheet Set', 129), (2, 5, 'Air Purifier', 179),
        (3, 1, 'Data Science Handbook', 49), (3, 2, 'Mystery Novel', 15), (3, 3, 'Cookbook', 32),
        (3, 4, 'Travel Guide', 24), (3, 5, 'Children''s Atlas', 19),
        (4, 1, 'Building Blocks Set', 59), (4, 2, 'Board Game', 39), (4, 3, 'Jigsaw Puzzle', 19),
        (4, 4, 'Remote Control Car', 69), (4, 5, 'Plush Bear', 22),
        (5, 1, 'Yoga Mat', 35), (5, 2, 'Trail Running Shoes', 129), (5, 3, 'Camping Tent', 199),
        (5, 4, 'Water Bottle', 25), (5, 5, 'Cycling Helmet', 89),
        (6, 1, 'Face Serum', 42), (6, 2, 'Shampoo', 14), (6, 3, 'Perfume', 88),
        (6, 4, 'Electric Toothbrush', 69), (6, 5, 'Sunscreen', 18),
        (7, 1, 'Coffee Beans', 16), (7, 2, 'Olive Oil', 21), (7, 3, 'Green Tea', 9),
        (7, 4, 'Dark Chocolate', 6), (7, 5, 'Granola', 8),
        (8, 1, 'Rain Jacket', 149), (8, 2, 'Wool Sweater', 95), (8, 3, 'Denim Jeans', 79),
        (8, 4, 'Running Socks', 15), (8, 5, 'Leather Belt', 45)
       ) AS b(category_id, ord, name, base_price)
  JOIN retail.categories c ON c.id = b.category_id
  CROSS JOIN (VALUES (1, 'Mini', 0.7), (2, 'Basic', 0.85), (3, 'Classic', 1.0), (4, 'Plus', 1.25), (5, 'Pro', 1.6))
       AS e(ord, edition, factor)
 ORDER BY b.category_id, b.ord, e.ord;

-- 20,000 customers, weighted towards North America and EMEA.
INSERT INTO retail.customers (id, name, email, region_id, city, segment, signed_up_on)
SELECT g, first_name || ' ' || last_name,
       lower(first_name || '.' || last_name || '.' || g || '@example.com'),
       region_id,
       (ARRAY[ARRAY['New York', 'Toronto', 'Chicago', 'Austin', 'Seattle'],
              ARRAY['London', 'Berlin', 'Paris', 'Madrid', 'Dubai'],
              ARRAY['Tokyo', 'Singapore', 'Sydney', 'Seoul', 'Mumbai'],
              ARRAY['São Paulo', 'Mexico City', 'Buenos Aires', 'Bogotá', 'Lima']])[region_id][1 + floor(random() * 5)::int],
       CASE WHEN r_seg < 0.78 THEN 'consumer' WHEN r_seg < 0.95 THEN 'small business' ELSE 'enterprise' END,
       (current_date - 1100 + floor(random() * 1000)::int)
  FROM (SELECT g,
               (ARRAY['Ava', 'Liam', 'Mia', 'Noah', 'Sofia', 'Lucas', 'Amara', 'Kenji', 'Priya', 'Mateo',
                      'Chloe', 'Omar', 'Hana', 'Diego', 'Elena', 'Yusuf', 'Ingrid', 'Wei', 'Zara', 'Tomás'])[1 + floor(random() * 20)::int] AS first_name,
               (ARRAY['Smith', 'Garcia', 'Müller', 'Kim', 'Rossi', 'Nakamura', 'Singh', 'Silva', 'Dubois', 'Cohen',
                      'Okafor', 'Larsen', 'Chen', 'Novak', 'Haddad', 'Murphy', 'Costa', 'Ivanova', 'Tanaka', 'Brown'])[1 + floor(random() * 20)::int] AS last_name,
               CASE WHEN r < 0.40 THEN 1 WHEN r < 0.70 THEN 2 WHEN r < 0.90 THEN 3 ELSE 4 END AS region_id,
               random() AS r_seg
          FROM (SELECT g, random() AS r FROM generate_series(1, 20000) g) s) c;

-- 120,000 orders over the last two years; volume grows over time and peaks in November and December.
INSERT INTO retail.orders (id, customer_id, region_id, ordered_at, status, channel)
SELECT o.id, o.customer_id, c.region_id, o.ordered_at,
       CASE WHEN o.ordered_at > now() - interval '3 days' AND o.r_status < 0.5 THEN 'placed'
            WHEN o.ordered_at > now() - interval '10 days' AND o.r_status < 0.8 THEN 'shipped'
            WHEN o.r_status < 0.06 THEN 'cancelled'
            WHEN o.r_status < 0.11 THEN 'returned'
            ELSE 'delivered' END,
       CASE WHEN o.r_channel < 0.62 THEN 'web' WHEN o.r_channel < 0.92 THEN 'store' ELSE 'phone' END
  FROM (SELECT g AS id,
               1 + floor(random() * 20000)::int AS customer_id,
               date_trunc('day', now()) - make_interval(days => d.back) + make_interval(secs => floor(random() * 86400))
                   AS ordered_at,
               random() AS r_status, random() AS r_channel
          FROM generate_series(1, 120000) g
          CROSS JOIN LATERAL (
              -- More recent days are likelier (steady growth); the holiday season adds a third more.
              SELECT CASE WHEN extract(month FROM current_date - b.back) IN (11, 12) AND b.back > 30 AND random() < 0.25
                          THEN b.back - 30 ELSE b.back END AS back
                FROM (SELECT 1 + floor(730 * (1 - sqrt(0.3 + 0.7 * random())) / (1 - sqrt(0.3)))::int AS back
                       WHERE g > 0) b) d
       ) o
  JOIN retail.customers c ON c.id = o.customer_id
 ORDER BY o.id;

-- One to five lines per order, with occasional discounts.
INSERT INTO retail.order_lines (order_id, line_no, product_id, quantity, unit_price, discount)
SELECT o.id, l.line_no, p.id, l.quantity, p.unit_price, l.discount
  FROM retail.orders o
  CROSS JOIN LATERAL (
      SELECT n AS line_no,
             1 + floor(random() * 200)::int AS product_id,
             CASE WHEN random() < 0.8 THEN 1 ELSE 2 + floor(random() * 4)::int END AS quantity,
             CASE WHEN random() < 0.15 THEN round((0.05 + random() * 0.25)::numeric, 2) ELSE 0 END AS discount
        FROM generate_series(1, 1 + floor(random() * 4.2)::int + (o.id * 0)) n) l
  JOIN retail.products p ON p.id = l.product_id
 ORDER BY o.id, l.line_no;

UPDATE retail.orders o SET total_amount = t.amount
  FROM (SELECT order_id, sum(round(quantity * unit_price * (1 - discount), 2)) AS amount
          FROM retail.order_lines GROUP BY order_id) t
 WHERE t.order_id = o.id;

-- Monthly revenue per region, for finance (delivered and shipped orders).
CREATE MATERIALIZED VIEW retail.monthly_revenue AS
SELECT date_trunc('month', o.ordered_at)::date AS month,
       r.code AS region,
       count(*) AS orders,
       sum(o.total_amount) AS revenue
  FROM retail.orders o
  JOIN retail.regions r ON r.id = o.region_id
 WHERE o.status IN ('shipped', 'delivered', 'placed')
 GROUP BY 1, 2;
CREATE UNIQUE INDEX monthly_revenue_key ON retail.monthly_revenue (month, region);
COMMENT ON MATERIALIZED VIEW retail.monthly_revenue IS 'Revenue and order count per month and region, excluding cancelled and returned orders.';

-- A view that joins what analysts ask about most.
CREATE VIEW retail.order_details AS
SELECT o.id AS order_id, o.ordered_at, o.status, o.channel, r.code AS region, c.segment,
       p.name AS product, cat.name AS category, l.quantity,
       round(l.quantity * l.unit_price * (1 - l.discount), 2) AS revenue
  FROM retail.order_lines l
  JOIN retail.orders o ON o.id = l.order_id
  JOIN retail.customers c ON c.id = o.customer_id
  JOIN retail.regions r ON r.id = o.region_id
  JOIN retail.products p ON p.id = l.product_id
  JOIN retail.categories cat ON cat.id = p.category_id;
-- Row-level security of the underlying tables applies to whoever queries the view.
ALTER VIEW retail.order_details SET (security_invoker = true);
COMMENT ON VIEW retail.order_details IS 'One row per order line with region, segment, product, category and revenue.';

-- Who sees what ---------------------------------------------------------------------------------------
GRANT USAGE ON SCHEMA retail TO retail_analyst, retail_emea_manager;
GRANT SELECT ON ALL TABLES IN SCHEMA retail TO retail_analyst;
GRANT SELECT ON retail.regions, retail.categories, retail.products, retail.orders, retail.order_lines,
                retail.order_details TO retail_emea_manager;
-- The regional manager may not read customers' email addresses.
GRANT SELECT (id, name, region_id, city, segment, signed_up_on) ON retail.customers TO retail_emea_manager;

ALTER TABLE retail.customers ENABLE ROW LEVEL SECURITY;
ALTER TABLE retail.orders ENABLE ROW LEVEL SECURITY;
ALTER TABLE retail.order_lines ENABLE ROW LEVEL SECURITY;

CREATE POLICY analysts_see_all ON retail.customers FOR SELECT TO retail_analyst USING (true);
CREATE POLICY analysts_see_all ON retail.orders FOR SELECT TO retail_analyst USING (true);
CREATE POLICY analysts_see_all ON retail.order_lines FOR SELECT TO retail_analyst USING (true);

CREATE POLICY emea_only ON retail.customers FOR SELECT TO retail_emea_manager
    USING (region_id = (SELECT r.id FROM retail.regions r WHERE r.code = 'EMEA'));
CREATE POLICY emea_only ON retail.orders FOR SELECT TO retail_emea_manager
    USING (region_id = (SELECT r.id FROM retail.regions r WHERE r.code = 'EMEA'));
CREATE POLICY emea_only ON retail.order_lines FOR SELECT TO retail_emea_manager
    USING (EXISTS (SELECT 1 FROM retail.orders o WHERE o.id = order_id));

COMMIT;
ANALYZE retail.regions, retail.categories, retail.products, retail.customers, retail.orders,
        retail.order_lines, retail.monthly_revenue;
