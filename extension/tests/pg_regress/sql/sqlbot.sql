-- The SQLBot-compatible front (sqlbot.sql): mcp_start's sign-in and its tokens, what the DBA
-- allows the front, chats, and assistants. Account 1 (ada) is in teams 1 and 2; dataset 1
-- belongs to team 1, dataset 3 to team 2.

-- A sign-in issues an access token of the built-in client 'sqlbot' for the front's URL, lists the
-- grant among the account's, and opens a chat.
SELECT j->>'access_token' AS token, (j->>'chat_id')::bigint AS chat, j - 'access_token' - 'chat_id' - 'account_id' AS started
  FROM (SELECT quarry.sqlbot_start('ada@example.com', 'a brand new password', NULL, 'http://q/sqlbot/mcp', '10.9.0.1') j) x \gset
SELECT :'started' AS started, :'token' LIKE 'qat\_%' AS access_token;
SELECT kind, client_name, redirect_uris, grant_types FROM quarry.oauth_clients WHERE client_id = 'sqlbot';
SELECT client_name, scopes, active_tokens FROM quarry.account_grants(1) WHERE client_id = 'sqlbot';
SELECT account_id, team_id, conversation_id FROM quarry.sqlbot_chats WHERE id = :chat;
-- The front's client never takes part in the OAuth flow.
SELECT regress.try($$SELECT quarry.check_authorization_request('sqlbot', 'urn:quarry:sqlbot', 'read')$$) AS authorize;

-- Who calls with the token: the account, its scopes, the team and chat checked.
SELECT c - 'chat' AS caller, (c->'chat'->>'id')::bigint = :chat AS own_chat
  FROM quarry.sqlbot_caller(:'token', 'http://q/sqlbot/mcp', :chat, 2) c;
SELECT quarry.sqlbot_caller(:'token', 'http://q/sqlbot/mcp', NULL, 99)->'in_team' AS not_in_team_99;
SELECT quarry.sqlbot_caller(:'token', 'http://q/sqlbot/mcp', :chat + 1000)->'chat' AS unknown_chat;
SELECT quarry.sqlbot_caller(:'token', 'http://q/mcp') IS NULL AS other_audience;
SELECT quarry.sqlbot_caller('qat_nothing', 'http://q/sqlbot/mcp') IS NULL AS unknown_token;

-- A token instead of a password: a new chat, the same token.
SELECT j->>'access_token' = :'token' AS same_token, (j->>'chat_id')::bigint > :chat AS new_chat
  FROM quarry.sqlbot_start(NULL, NULL, :'token', 'http://q/sqlbot/mcp', '10.9.0.1') j;
-- Refusals: nothing issued.
SELECT count(*) AS tokens_before FROM quarry.oauth_tokens WHERE client_id = 'sqlbot' \gset
SELECT quarry.sqlbot_start('ada@example.com', 'wrong password', NULL, 'http://q/sqlbot/mcp', '10.9.0.2') AS wrong_password;
SELECT quarry.sqlbot_start('nobody@example.com', 'whatever', NULL, 'http://q/sqlbot/mcp', '10.9.0.2') AS unknown_email;
SELECT quarry.sqlbot_start('ada@example.com', 'a brand new password', NULL, 'http://q/sqlbot/mcp', '10.9.0.2', '1 hour', 99) AS not_member;
SELECT quarry.sqlbot_start(NULL, NULL, 'qat_nothing', 'http://q/sqlbot/mcp', '10.9.0.2') AS bad_token;
SELECT count(*) = :tokens_before AS nothing_issued FROM quarry.oauth_tokens WHERE client_id = 'sqlbot';

-- The DBA's settings: narrower scopes apply at once; turned off, every token of the front ends.
SELECT quarry.configure_sqlbot(scopes => 'read') AS read_only;
SELECT c->'scopes' AS scopes FROM quarry.sqlbot_caller(:'token', 'http://q/sqlbot/mcp') c;
SELECT regress.try($$SELECT quarry.configure_sqlbot(scopes => '')$$) AS no_scope;
SELECT regress.try($$SELECT quarry.configure_sqlbot(scopes => 'read admin')$$) AS unknown_scope;
SELECT quarry.configure_sqlbot(scopes => 'read write', enabled => false) AS turned_off;
SELECT quarry.sqlbot_caller(:'token', 'http://q/sqlbot/mcp') IS NULL AS token_ended;
SELECT quarry.sqlbot_start('ada@example.com', 'a brand new password', NULL, 'http://q/sqlbot/mcp', '10.9.0.1') AS while_off;
SELECT quarry.configure_sqlbot(enabled => true) - 'accounts' AS turned_on;

-- A chat becomes the conversation its first question started; the first bound wins.
SELECT quarry.start_conversation(1, 1, 'First question') AS convo \gset
SELECT quarry.start_conversation(1, 1, 'Another') AS other \gset
SELECT quarry.sqlbot_bind_chat(1, :chat, :convo) = :convo AS bound;
SELECT quarry.sqlbot_bind_chat(1, :chat, :other) = :convo AS first_wins;
SELECT regress.try(format('SELECT quarry.sqlbot_bind_chat(3, %s, %s)', :chat, :convo)) AS someone_elses;

-- Assistants: registered by a DBA, each asking through an account of its own about its datasets.
SELECT a - 'id' - 'account_id' AS registered, (a->>'account_id')::bigint AS assistant_account
  FROM quarry.create_assistant('CRM', 1, ARRAY[1], 'regress_reader', ' https://crm.example.com/embed/ ',
                               'a secret of more than sixteen', NULL, 'en') a \gset
SELECT :'registered' AS registered;
SELECT name, team, datasets, db_role, url, model, lang FROM quarry.assistants();
SELECT email LIKE 'assistant-%@assistants.quarry.invalid' AS own_account, password_hash IS NULL AS no_password
  FROM quarry.accounts WHERE id = :assistant_account;
SELECT jsonb_path_query_array(quarry.list_datasets(:assistant_account, 'names'), '$.datasets[*].id') AS its_datasets;
SELECT regress.try(format('SELECT quarry.dataset_runtime(%s, 2)', :assistant_account)) AS not_its_dataset;
SELECT regress.try($$SELECT quarry.create_assistant('Other', 1, ARRAY[3], 'regress_reader', 'https://o.example.com')$$) AS other_teams_dataset;
SELECT regress.try($$SELECT quarry.create_assistant('Other', 1, ARRAY[]::bigint[], 'regress_reader', 'https://o.example.com')$$) AS no_dataset;
SELECT regress.try($$SELECT quarry.create_assistant('Other', 1, ARRAY[1], 'regress_super', 'https://o.example.com')$$) AS superuser_role;
SELECT regress.try($$SELECT quarry.create_assistant('Other', 1, ARRAY[1], 'regress_reader', 'https://crm.example.com/embed')$$) AS same_url;
SELECT regress.try($$SELECT quarry.create_assistant('Other', 1, ARRAY[1], 'regress_reader', 'ftp://o.example.com')$$) AS not_http;
SELECT regress.try($$SELECT quarry.create_assistant('Other', 1, ARRAY[1], 'regress_reader', 'https://o.example.com', 'short')$$) AS short_secret;
SELECT regress.try($$SELECT quarry.create_assistant('Other', 1, ARRAY[1], 'regress_reader', 'https://o.example.com', NULL, NULL, 'fr')$$) AS bad_lang;
SELECT length(s->>'secret') > 30 AS made_secret
  FROM quarry.create_assistant('Made', 1, ARRAY[1], 'regress_reader', 'https://made.example.com') s;

-- A call is for the assistant registered for its URL, with its secret; anything else is the same
-- 'invalid', and failures count against the address.
SELECT a - 'assistant_id' - 'account_id' AS called FROM quarry.assistant_for('https://crm.example.com/embed', 'a secret of more than sixteen', '10.9.0.3') a;
SELECT quarry.assistant_for('https://crm.example.com/embed', 'a wrong secret, long enough', '10.9.0.3') AS wrong_secret;
SELECT quarry.assistant_for('https://elsewhere.example.com', 'a secret of more than sixteen', '10.9.0.3') AS wrong_url;
SELECT quarry.assistant_for('https://crm.example.com/embed', NULL, '10.9.0.3') AS no_secret;
SELECT failures FROM quarry.sign_in_throttle WHERE key = 'ip:10.9.0.3';
SELECT quarry.reset_assistant_secret(quarry.assistant_id('CRM'), 'the next secret, long enough') AS new_secret;
SELECT quarry.assistant_for('https://crm.example.com/embed', 'a secret of more than sixteen', '10.9.0.4')->'ok' AS old_secret;
SELECT quarry.assistant_for('https://crm.example.com/embed', 'the next secret, long enough', '10.9.0.4')->'ok' AS next_secret;
SELECT quarry.update_assistant(quarry.assistant_id('CRM'), url => 'https://crm2.example.com', lang => 'ko-KR');
SELECT url, lang FROM quarry.assistants() WHERE name = 'CRM';
SELECT quarry.drop_assistant(quarry.assistant_id('Made'));
SELECT quarry.drop_assistant(quarry.assistant_id('CRM'));
SELECT count(*) AS assistants_left, (SELECT count(*) FROM quarry.accounts WHERE id = :assistant_account) AS its_account
  FROM quarry.assistants;
