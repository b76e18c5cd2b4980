-- Accounts: creation, lookup, changes, passwords, disabling, and mapping to database roles.

SELECT quarry.create_account('Ada@Example.com ', 'correct horse battery', 'Ada Lovelace') AS ada;
SELECT quarry.create_account('grace@example.com', 'another long password') AS grace;
SELECT id, email, display_name, password_hash LIKE '$argon2id$v=19$%' AS argon2id, db_role, disabled
  FROM quarry.accounts ORDER BY id;
SELECT quarry.account_id('ADA@example.com');

-- Bad input: each is refused with a clear message and a proper SQLSTATE.
SELECT regress.try($$SELECT quarry.create_account('ada@example.com', 'whatever12')$$);
SELECT regress.try($$SELECT quarry.create_account('not an email', 'whatever12')$$);
SELECT regress.try($$SELECT quarry.create_account(NULL, 'whatever12')$$);
SELECT regress.try($$SELECT quarry.create_account('short@example.com', 'short')$$);
SELECT regress.try($$SELECT quarry.create_account('long@example.com', repeat('x', 1025))$$);
SELECT regress.try($$SELECT quarry.create_account('blank@example.com', 'whatever12', '   ')$$);
SELECT regress.try($$SELECT quarry.create_account('x@example.com', 'whatever12', repeat('n', 201))$$);
SELECT regress.try($$SELECT quarry.account_id('nobody@example.com')$$);
SELECT regress.try($$SELECT quarry.update_account(999, 'x@example.com')$$);
SELECT regress.try($$SELECT quarry.update_account(2, 'ada@example.com')$$);
SELECT regress.try($$SELECT quarry.set_password(1, NULL)$$);
SELECT regress.try($$SELECT quarry.create_account('bad@example.com', 'whatever12', 'Bad', 'no_such_role')$$);
-- Nothing was stored by any of them.
SELECT count(*) AS accounts FROM quarry.accounts;

-- Changes.
SELECT quarry.update_account(2, display_name => 'Grace Hopper');
SELECT quarry.update_account(2, email => 'Grace.Hopper@example.com');
SELECT id, email, display_name FROM quarry.accounts WHERE id = 2;

-- Passwords: right, wrong, unknown account, case of the email, changed password.
SELECT quarry.verify_password('ada@example.com', 'correct horse battery') AS right_password;
SELECT quarry.verify_password('ADA@EXAMPLE.COM', 'correct horse battery') AS any_case_email;
SELECT quarry.verify_password('ada@example.com', 'wrong horse battery') AS wrong_password;
SELECT quarry.verify_password('nobody@example.com', 'correct horse battery') AS unknown_email;
SELECT quarry.verify_password(NULL, NULL) AS nothing;
SELECT quarry.set_password(1, 'a brand new password');
SELECT quarry.verify_password('ada@example.com', 'correct horse battery') AS old_password,
       quarry.verify_password('ada@example.com', 'a brand new password') AS new_password;
-- An account without a password cannot sign in with one.
SELECT quarry.create_account('sso@example.com') AS sso;
SELECT quarry.verify_password('sso@example.com', '') AS empty, quarry.verify_password('sso@example.com', 'anything at all') AS any;

-- Disabling: no sign-in, and every token ends at once.
INSERT INTO quarry.oauth_clients (client_id, kind, client_name, redirect_uris)
VALUES ('regress-client', 'dynamic', 'Regress', '{http://127.0.0.1/cb}');
INSERT INTO quarry.oauth_tokens (token_hash, kind, client_id, account_id, scopes, audience, family_id, expires_at)
VALUES ('\x01', 'access', 'regress-client', 1, '{read}', 'http://localhost/mcp', gen_random_uuid(), now() + interval '1 hour');
SELECT quarry.disable_account(1);
SELECT quarry.verify_password('ada@example.com', 'a brand new password') AS while_disabled;
SELECT revoked_at IS NOT NULL AS token_revoked FROM quarry.oauth_tokens WHERE token_hash = '\x01';
SELECT quarry.enable_account(1);
SELECT quarry.verify_password('ada@example.com', 'a brand new password') AS enabled_again;
SELECT regress.try($$SELECT quarry.disable_account(42)$$);

-- Roles: an account's questions run under its role, so the role must be one that privileges and
-- row-level security bind.
SELECT regress.try($$SELECT quarry.set_account_role(1, 'regress_reader')$$);
SELECT db_role FROM quarry.accounts WHERE id = 1;
SELECT regress.try($$SELECT quarry.set_account_role(2, 'regress_super')$$);
SELECT regress.try($$SELECT quarry.set_account_role(2, 'regress_bypass')$$);
SELECT regress.try($$SELECT quarry.set_account_role(2, 'regress_climber')$$);
SELECT regress.try($$SELECT quarry.set_account_role(2, 'regress_filereader')$$);
SELECT regress.try($$SELECT quarry.set_account_role(2, 'postgres')$$);
SELECT regress.try($$SELECT quarry.set_account_role(2, 'no_such_role')$$);
SELECT regress.try($$SELECT quarry.set_account_role(999, 'regress_reader')$$);
SELECT db_role IS NULL AS still_unmapped FROM quarry.accounts WHERE id = 2;
SELECT quarry.account_role(1);
SELECT regress.try($$SELECT quarry.account_role(2)$$);
-- A role that became dangerous after it was mapped is refused when it is used.
ALTER ROLE regress_reader BYPASSRLS;
SELECT regress.try($$SELECT quarry.account_role(1)$$);
ALTER ROLE regress_reader NOBYPASSRLS;
SELECT quarry.set_account_role(1, NULL);
SELECT regress.try($$SELECT quarry.account_role(1)$$);
SELECT quarry.set_account_role(1, 'regress_reader');
