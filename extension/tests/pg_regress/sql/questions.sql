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

-- A question's steps are recorded in one transaction: a new conversation, or one continued.
SELECT quarry.save_turn(1, 1, NULL, E'How many orders?\nPlease.', '[{"kind": "question", "content": {"text": "How many orders?"}},
    {"kind": "sql", "content": {"sql": "SELECT count(*) FROM shop.orders", "attempt": 1}},
    {"kind": "result", "content": {"columns": [], "rows": [[400]], "row_count": 1, "truncated": false}}]') AS turn \gset
SELECT title, (SELECT array_agg(kind ORDER BY seq) FROM quarry.conversation_blocks b WHERE b.conversation_id = c.id) AS kinds
  FROM quarry.conversations c WHERE c.id = :turn;
SELECT quarry.save_turn(1, 1, :turn, 'ignored', '[{"kind": "question", "content": {"text": "And by day?"}}]') = :turn AS continued;
SELECT count(*) AS blocks FROM quarry.conversation_blocks WHERE conversation_id = :turn;
-- Bad turns change nothing: a bad block undoes the whole turn.
SELECT regress.try(format('SELECT quarry.save_turn(1, 1, %s, %L, %L)', :turn, 'x', '[{"kind": "question", "content": {"text": "ok"}}, {"kind": "nonsense", "content": {}}]')) AS bad_block;
SELECT regress.try(format('SELECT quarry.save_turn(1, 3, %s, %L, %L)', :turn, 'x', '[]')) AS other_dataset;
SELECT regress.try($$SELECT quarry.save_turn(1, 1, NULL, 'x', '{"kind": "question"}')$$) AS not_an_array;
SELECT regress.try($$SELECT quarry.save_turn(3, 3, NULL, 'x', '[]')$$) AS not_a_member;
SELECT count(*) AS blocks FROM quarry.conversation_blocks WHERE conversation_id = :turn;

-- A call and its turn are recorded in one transaction (record_call): the blocks and the audit row
-- together; a turn that cannot be saved writes neither. Without a turn, only the audit row.
SELECT quarry.record_call(1, 'qci_x', 'run_sql', '{"sql": "SELECT 1"}', 'ok', 2.5, NULL, 'One?', 'SELECT 1', 1,
    format('{"dataset_id": 1, "conversation_id": %s, "title": "x", "blocks": [{"kind": "question", "content": {"text": "One?"}}]}', :turn)::jsonb) = :turn AS recorded;
SELECT (SELECT count(*) FROM quarry.conversation_blocks WHERE conversation_id = :turn) AS blocks,
       (SELECT b.xmin::text FROM quarry.conversation_blocks b WHERE b.conversation_id = :turn ORDER BY seq DESC LIMIT 1)
     = (SELECT a.xmin::text FROM quarry.audit_log a WHERE a.action = 'run_sql' ORDER BY id DESC LIMIT 1) AS one_transaction;
SELECT regress.try(format($$SELECT quarry.record_call(1, 'qci_x', 'run_sql', '{}', 'ok', 1, NULL, NULL, NULL, NULL, %L)$$,
    format('{"dataset_id": 1, "conversation_id": %s, "title": "x", "blocks": [{"kind": "nonsense", "content": {}}]}', :turn))) AS bad_turn;
SELECT regress.try($$SELECT quarry.record_call(1, 'qci_x', 'run_sql', '{}', 'ok', 1, NULL, NULL, NULL, NULL, '[1]')$$) AS turn_not_an_object;
SELECT regress.try($$SELECT quarry.record_call(1, 'qci_x', 'run_sql', '{}', 'ok', 1, NULL, NULL, NULL, NULL, '{"title": "x", "blocks": []}')$$) AS turn_without_dataset;
SELECT count(*) AS run_sql_rows FROM quarry.audit_log WHERE action = 'run_sql';
SELECT quarry.record_call(1, 'qci_x', 'list_teams', '{}', 'ok', 1, NULL, NULL, NULL, NULL, NULL) IS NULL AS no_turn;
-- record_call does not check the account's access to the dataset again (the call's question or
-- run has just done it), but the conversation continued must still be the account's and about
-- the turn's dataset.
SELECT regress.try(format($$SELECT quarry.record_call(3, 'qci_x', 'run_sql', '{}', 'ok', 1, NULL, NULL, NULL, NULL, %L)$$,
    format('{"dataset_id": 1, "conversation_id": %s, "title": "x", "blocks": [{"kind": "question", "content": {"text": "Mine?"}}]}', :turn))) AS someone_elses_conversation;
SELECT regress.try(format($$SELECT quarry.record_call(1, 'qci_x', 'run_sql', '{}', 'ok', 1, NULL, NULL, NULL, NULL, %L)$$,
    format('{"dataset_id": 3, "conversation_id": %s, "title": "x", "blocks": [{"kind": "question", "content": {"text": "Other?"}}]}', :turn))) AS about_another_dataset;

-- run_sql in one call (run_for): the role checked, the dataset given (or the account's only one),
-- the rows capped by the caller and never beyond the dataset's limit; what went wrong with the
-- query (refused by the guard, failed, timed out) comes back as data, while errors of the call
-- itself (a dataset the account may not use, no SQL) raise.
SELECT quarry.run_for(1, 1, 'SELECT g FROM generate_series(1, 5) g', 3, 10000)::jsonb - 'dataset' AS given;
SELECT quarry.run_for(1, 1, 'SELECT 1 AS one', NULL, 10000)::jsonb->'dataset' ?& ARRAY['id', 'name', 'row_limit', 'timeout_ms'] AS with_runtime;
SELECT quarry.update_dataset(1, row_limit => 2) IS NOT NULL AS limited;
SELECT (quarry.run_for(1, 1, 'SELECT g FROM generate_series(1, 5) g', 100, 10000)::jsonb->'result') - 'columns' AS dataset_row_limit;
SELECT quarry.update_dataset(1, row_limit => 1000) IS NOT NULL AS unlimited;
SELECT quarry.run_for(1, NULL, 'SELECT 1 AS one', NULL, 10000)::jsonb AS several_datasets;
SELECT quarry.create_account('only@example.com', 'a long password', 'Only', 'regress_reader') AS only_one \gset
SELECT quarry.add_team_member(2, :only_one);
SELECT quarry.run_for(:only_one, NULL, 'SELECT 1 AS one', NULL, 10000)::jsonb #> '{result,rows}' AS its_only_dataset,
       quarry.run_for(:only_one, NULL, 'SELECT 1 AS one', NULL, 10000)::jsonb->>'choice' AS choice;
SELECT quarry.remove_team_member(2, :only_one);
SELECT regress.try(format('SELECT quarry.run_for(%s, NULL, %L, NULL, 10000)', :only_one, 'SELECT 1')) AS no_dataset;
SELECT quarry.run_for(1, 1, 'SELECT 1/0', NULL, 10000)::jsonb->'failed' AS query_failed;
SELECT quarry.run_for(1, 1, 'DELETE FROM shop.orders', NULL, 10000)::jsonb->'failed'->>'code' AS refused;
SELECT quarry.run_for(1, 1, 'SELECT count(*) FROM generate_series(1, 100000) a, generate_series(1, 100000) b', NULL, 10000, 100)::jsonb->'failed' AS timed_out;
SELECT regress.try($$SELECT quarry.run_for(3, 3, 'SELECT 1', 10, 10000)$$) AS not_a_member;
SELECT regress.try($$SELECT quarry.run_for(1, 999, 'SELECT 1', 10, 10000)$$) AS unknown_dataset;
SELECT regress.try($$SELECT quarry.run_for(1, 1, NULL, 10, 10000)$$) AS no_sql;
SELECT current_setting('transaction_read_only') AS read_only_after, current_user = session_user AS ourselves;
