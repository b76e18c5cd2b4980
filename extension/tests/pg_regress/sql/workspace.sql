-- Conversations, dashboards and pins, model configurations and the audit log, as a DBA or another
-- program drives them without the sidecar. Account 1 (ada) is in teams 1 and 2; account 3 (sso)
-- in team 1; dataset 1 ("Shop") belongs to team 1, dataset 3 ("Odd") to team 2.

-- Conversations: started for a dataset, blocks appended in order, visible to their owner only.
SELECT quarry.start_conversation(1, 1, E'How many orders\nper day?') AS convo \gset
SELECT title FROM quarry.conversations WHERE id = :convo;
SELECT quarry.add_block(1, :convo, 'question', '{"text": "How many orders per day?"}') AS seq;
SELECT quarry.add_block(1, :convo, 'sql', '{"sql": "SELECT placed_on, count(*) FROM shop.orders GROUP BY 1", "attempt": 1}') AS seq;
SELECT quarry.add_block(1, :convo, 'result', '{"columns": [], "rows": [], "row_count": 60, "truncated": false}') AS seq;
SELECT quarry.add_block(1, :convo, 'chart', '{"type": "line", "spec": {"mark": "line"}}') AS seq;
SELECT quarry.add_block(1, :convo, 'analysis', '{"text": "About 7 orders a day."}') AS seq;
SELECT jsonb_path_query_array(quarry.get_conversation(1, :convo), '$.blocks[*].kind') AS kinds;
SELECT c - 'created_at' - 'updated_at' AS listed
  FROM jsonb_array_elements(quarry.list_conversations(1, 1)->'conversations') c;
SELECT quarry.conversation_history(1, :convo) AS history;
SELECT regress.try(format('SELECT quarry.get_conversation(3, %s)', :convo)) AS someone_elses;
SELECT regress.try(format('SELECT quarry.add_block(1, %s, %L, %L)', :convo, 'note', '{}')) AS bad_kind;
SELECT regress.try(format('SELECT quarry.add_block(1, %s, %L, %L)', :convo, 'analysis', '[1]')) AS bad_content;
SELECT regress.try($$SELECT quarry.start_conversation(3, 3, 'not my team')$$) AS other_team;
SELECT regress.try($$SELECT quarry.start_conversation(1, 1, '   ')$$) AS blank_title;
SELECT regress.try($$SELECT quarry.list_conversations(1, NULL, 500)$$) AS huge_page;
SELECT quarry.rename_conversation(1, :convo, 'Orders per day');
SELECT title FROM quarry.conversations WHERE id = :convo;

-- Dashboards belong to a team; members see them, pin to them and unpin from them.
SELECT quarry.create_dashboard(1, 1, 'Operations', 'Daily numbers', '#0EA5E9') AS board \gset
SELECT regress.try($$SELECT quarry.create_dashboard(1, 1, 'Operations')$$) AS duplicate;
SELECT regress.try($$SELECT quarry.create_dashboard(1, 1, 'Colorful', '', 'red')$$) AS bad_color;
SELECT regress.try($$SELECT quarry.create_dashboard(2, 1, 'Not mine')$$) AS member_without_a_role;
SELECT quarry.pin_conversation(1, :board, :convo) AS pin \gset
SELECT quarry.pin(3, :board, 1, 'Orders', 'SELECT count(*) FROM shop.orders', 'Four hundred.', '{"mark": "text"}') AS second_pin;
SELECT p - 'created_at' - 'id' - 'conversation_id' AS pins
  FROM jsonb_array_elements(quarry.dashboard_pins(3, :board)->'pins') p;
SELECT d - 'created_at' - 'updated_at' - 'id' AS dashboards
  FROM jsonb_array_elements(quarry.list_dashboards(3)->'dashboards') d;
SELECT regress.try(format('SELECT quarry.pin(1, %s, 3, %L, %L)', :board, 'q', 'SELECT 1')) AS other_teams_dataset;
SELECT regress.try(format('SELECT quarry.pin(1, %s, 1, %L, %L)', :board, 'q', 'DROP TABLE shop.orders')) AS not_a_query;
SELECT quarry.start_conversation(1, 1, 'Unanswered') AS empty \gset
SELECT regress.try(format('SELECT quarry.pin_conversation(1, %s, %s)', :board, :empty)) AS nothing_to_pin;
SELECT quarry.unpin(3, :pin);
SELECT regress.try(format('SELECT quarry.unpin(3, %s)', :pin)) AS already_gone;
-- Deleting a conversation keeps the pins made from it.
SELECT quarry.pin_conversation(1, :board, :convo) AS pin \gset
SELECT quarry.delete_conversation(1, :convo);
SELECT question, conversation_id FROM quarry.pins WHERE id = :pin;

-- Model configurations: a global built-in planner from the start; teams may add their own.
SELECT m - 'id' AS models FROM jsonb_array_elements(quarry.account_models(1)->'models') m;
SELECT quarry.create_model_config(1, 'Local Llama', 'openai', 'llama3.1', 'http://127.0.0.1:11434/v1', NULL, '{"temperature": 0}', true) AS llama \gset
SELECT quarry.dataset_model(1, 1)->>'name' AS team_default, quarry.dataset_model(1, 3)->>'name' AS global_default;
SELECT regress.try($$SELECT quarry.create_model_config(1, 'Keyed', 'openai', 'gpt-4o', NULL, 'sk-do-not-store-keys-here')$$) AS key_in_a_table;
SELECT regress.try($$SELECT quarry.create_model_config(1, 'Nameless', 'anthropic')$$) AS no_model;
SELECT regress.try($$SELECT quarry.create_model_config(NULL, 'Odd', 'gemini', 'x')$$) AS unknown_provider;
SELECT regress.try(format('SELECT quarry.set_dataset_model(3, %s)', :llama)) AS other_teams_model;

-- Datasets per account, and one in depth.
SELECT d->>'name' AS dataset, d->'collections_total' AS collections, d->>'unavailable' AS unavailable
  FROM jsonb_array_elements(quarry.list_datasets(1, 'names')->'datasets') d;
SELECT d->>'name' AS dataset, d->>'unavailable' AS unavailable
  FROM jsonb_array_elements(quarry.list_datasets(2, 'names')->'datasets') d;
SELECT jsonb_build_object('glossary', x->'glossary', 'examples', x->'examples', 'collections', x->'collections_total') AS described
  FROM (SELECT quarry.describe_dataset(1, 1, 'orders') AS x) y;
SELECT quarry.dataset_runtime(1, 1) AS runtime;

-- The audit log.
SELECT quarry.audit(1, 'qci_x', 'list_teams', '{"a": 1}', 'ok', 1.5);
SELECT regress.try($$SELECT quarry.audit(1, 'qci_x', 'list_teams', '{}', 'maybe', 1.5)$$) AS bad_outcome;
SELECT account_id, client_id, action, arguments, outcome, duration_ms FROM quarry.audit_log;
