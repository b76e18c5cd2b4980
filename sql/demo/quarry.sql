-- Quarry's side of the demo: two accounts mapped to the retail roles, two teams, two datasets with
-- a glossary and example questions. Everything goes through the extension's SQL API, as a DBA would
-- do it. Passwords are set by the setup script (psql variables demo_password and emea_password).
\set ON_ERROR_STOP on
BEGIN;

SELECT quarry.create_account('demo@quarry.local', :'demo_password', 'Demo Analyst', 'retail_analyst') AS demo \gset
SELECT quarry.create_account('emea@quarry.local', :'emea_password', 'EMEA Sales Manager', 'retail_emea_manager') AS emea \gset

SELECT quarry.create_team('Analytics', :demo) AS analytics \gset
SELECT quarry.add_team_member(:analytics, :emea, 'member');
SELECT quarry.create_team('Finance', :demo) AS finance \gset

SELECT quarry.create_dataset(:analytics, 'Retail', ARRAY['retail'],
    'Two years of orders of an online and in-store retailer: customers, products, orders and order lines.')
    AS retail \gset
SELECT quarry.create_dataset(:finance, 'Revenue', ARRAY['retail.monthly_revenue', 'retail.regions'],
    'Monthly revenue and order counts per region.') AS revenue \gset

SELECT quarry.set_glossary_term(:retail, 'revenue',
    'Money from an order line: quantity * unit_price * (1 - discount). Order revenue is orders.total_amount. Cancelled and returned orders do not count.',
    ARRAY['sales', 'turnover', 'income']);
SELECT quarry.set_glossary_term(:retail, 'average order value',
    'Revenue divided by the number of orders that were not cancelled or returned.', ARRAY['AOV', 'basket size']);
SELECT quarry.set_glossary_term(:retail, 'active customer',
    'A customer with at least one order in the last 90 days.', ARRAY['active buyer']);
SELECT quarry.set_glossary_term(:retail, 'margin',
    'Revenue minus quantity * products.unit_cost.', ARRAY['profit', 'gross margin']);

SELECT quarry.add_example(:retail, 'Revenue by region last month',
$sql$SELECT r.name AS region, sum(o.total_amount) AS revenue
  FROM retail.orders o JOIN retail.regions r ON r.id = o.region_id
 WHERE o.status NOT IN ('cancelled', 'returned')
   AND o.ordered_at >= date_trunc('month', now()) - interval '1 month'
   AND o.ordered_at < date_trunc('month', now())
 GROUP BY r.name ORDER BY revenue DESC$sql$);
SELECT quarry.add_example(:retail, 'Top 10 products by units sold',
$sql$SELECT p.name, sum(l.quantity) AS units
  FROM retail.order_lines l JOIN retail.products p ON p.id = l.product_id
 GROUP BY p.name ORDER BY units DESC LIMIT 10$sql$);
SELECT quarry.add_example(:retail, 'Orders per month',
$sql$SELECT date_trunc('month', ordered_at)::date AS month, count(*) AS orders
  FROM retail.orders GROUP BY 1 ORDER BY 1$sql$);

COMMIT;
