-- Quarry's side of `./dev bench peers`, through the extension's SQL API: two teams, each with one
-- dataset, so that an account in one team sees exactly what a call is meant to measure.
--   Peers shop     dataset Shop over the schema shop (run_sql of SELECT 1 and the aggregate)
--   Peers catalog  dataset Module 1 over the schema app_1 (listing its 100 tables)
-- The benchmark makes its own accounts (with the role peers_analyst) and adds them to a team.
-- Idempotent: skips what exists.
\set ON_ERROR_STOP on
BEGIN;

SELECT NOT EXISTS (SELECT 1 FROM quarry.teams WHERE name = 'Peers shop') AS missing \gset
\if :missing
SELECT quarry.create_dataset(quarry.create_team('Peers shop'), 'Shop', ARRAY['shop'],
    'Customers, products and a year of orders (1,000,000).');
\endif

SELECT NOT EXISTS (SELECT 1 FROM quarry.teams WHERE name = 'Peers catalog') AS missing \gset
\if :missing
SELECT quarry.create_dataset(quarry.create_team('Peers catalog'), 'Module 1', ARRAY['app_1'],
    'One application module: 100 tables.');
\endif

COMMIT;
