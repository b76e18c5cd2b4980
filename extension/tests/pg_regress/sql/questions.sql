-- What the question pipeline asks of the extension: whether SQL would run, and a dataset's context.

-- One plain query that only reads passes; anything else comes back with the reason.
SELECT quarry.check_query('SELECT count(*) FROM shop.orders') AS plain;
SELECT quarry.check_query('WITH o AS (SELECT * FROM shop.orders) SELECT count(*) FROM o') AS with_select;
SELECT quarry.check_query('VALUES (1), (2)') AS values_list;
SELECT quarry.check_query('SELECT 1; SELECT 2') AS two_statements;
SELECT quarry.check_query('DELETE FROM shop.orders') AS a_write;
SELECT quarry.check_query('DROP TABLE shop.orders') AS ddl;
SELECT quarry.check_query('WITH d AS (DELETE FROM shop.orders RETURNING *) SELECT * FROM d') AS writable_cte;
SELECT quarry.check_query('SELECT * INTO shop.copy FROM shop.orders') AS select_into;
SELECT quarry.check_query('SELECT * FROM shop.orders FOR UPDATE') AS row_locks;
SELECT quarry.check_query('SET ROLE postgres') AS set_role;
SELECT quarry.check_query('RESET ROLE') AS reset_role;
SELECT quarry.check_query('COPY shop.orders TO STDOUT') AS copy;
SELECT quarry.check_query('SELEC 1') AS syntax;
SELECT quarry.check_query('') AS empty;
SELECT quarry.check_query(NULL) AS null_sql;

-- A dataset's context: limits, search path, description, glossary and examples, for its team only.
SELECT quarry.question_context(1, 1) - 'description' AS context;
SELECT regress.try($$SELECT quarry.question_context(1, 999)$$) AS unknown_dataset;
SELECT regress.try($$SELECT quarry.question_context(3, 3)$$) AS other_team;
