-- Browser sessions: sign-in with throttling, sign-up, sign-out, password changes.

SELECT quarry.sign_in('ada@example.com', 'a brand new password', '10.0.0.1', 'regress') AS s \gset
SELECT (:'s'::jsonb) - 'session' - 'csrf' - 'expires_at' AS signed_in, (:'s'::jsonb)->>'session' ~ '^qss_' AS cookie;
SELECT (:'s'::jsonb)->>'session' AS ada_session \gset
SELECT (quarry.session(:'ada_session')) - 'csrf' - 'expires_at' AS session;
SELECT quarry.session('qss_unknown') AS unknown, quarry.session(NULL) AS none;

-- Five failures for one email lock it for a while, whatever the address; the right password
-- does not help during the lock. Other emails are not affected.
SELECT quarry.sign_in('ada@example.com', 'wrong ' || g, ('10.0.0.' || g)::inet, 'regress')->>'reason' AS attempt
  FROM generate_series(1, 5) g;
SELECT quarry.sign_in('ada@example.com', 'a brand new password', '10.0.0.9', 'regress') - 'retry_after' AS locked,
       (quarry.sign_in('ada@example.com', 'a brand new password', '10.0.0.9', 'regress')->>'retry_after')::int BETWEEN 800 AND 900
           AS about_fifteen_minutes;
SELECT quarry.sign_in('grace.hopper@example.com', 'another long password', '10.0.0.9', 'regress')->>'ok' AS others_fine;
-- One address guessing across many emails is throttled too.
SELECT count(*) FILTER (WHERE r->>'reason' = 'throttled') AS throttled_of_60
  FROM (SELECT quarry.sign_in('user' || g || '@example.com', 'guess', '192.0.2.7', 'regress') AS r
          FROM generate_series(1, 60) g) x;
UPDATE quarry.sign_in_throttle SET locked_until = now() - interval '1 second';
SELECT quarry.sign_in('ada@example.com', 'a brand new password', '10.0.0.9', 'regress')->>'ok' AS after_the_lock;

-- Sign-out ends the session.
SELECT quarry.sign_out(:'ada_session');
SELECT quarry.session(:'ada_session') AS after_sign_out;

-- Sign-up: a new account with no role and no team, signed in; a taken email; bad input.
SELECT quarry.sign_up('New.Person@example.com', 'a good password', 'New Person', '198.51.100.1', 'regress') - 'session' - 'csrf' - 'expires_at' - 'account_id' AS signed_up;
SELECT email, display_name, db_role, (SELECT count(*) FROM quarry.team_members m WHERE m.account_id = a.id) AS teams
  FROM quarry.accounts a WHERE email = 'new.person@example.com';
SELECT quarry.sign_up('new.person@example.com', 'a good password', NULL, '198.51.100.1', 'regress') AS taken;
SELECT regress.try($$SELECT quarry.sign_up('x@example.com', 'short', NULL, '198.51.100.1', 'regress')$$);
SELECT regress.try($$SELECT quarry.sign_up('not-an-email', 'a good password', NULL, '198.51.100.1', 'regress')$$);
SELECT count(*) FILTER (WHERE r->>'reason' = 'throttled') AS throttled_of_12
  FROM (SELECT quarry.sign_up('bulk' || g || '@example.com', 'a good password', NULL, '198.51.100.2', 'regress') AS r
          FROM generate_series(1, 12) g) x;

-- Password change: the current password is checked; other sessions end, this one stays.
SELECT quarry.sign_in('grace.hopper@example.com', 'another long password', '10.0.0.2', 'one')->>'session' AS one \gset
SELECT quarry.sign_in('grace.hopper@example.com', 'another long password', '10.0.0.2', 'two')->>'session' AS two \gset
SELECT quarry.change_password(2, 'not it', 'a third password', :'one') AS wrong_current;
SELECT quarry.change_password(2, 'another long password', 'a third password', :'one') AS changed;
SELECT quarry.session(:'one') IS NOT NULL AS this_session, quarry.session(:'two') IS NOT NULL AS other_session;
SELECT quarry.sign_in('grace.hopper@example.com', 'a third password', NULL, NULL)->>'ok' AS new_password_works;
SELECT regress.try(format('SELECT quarry.change_password(2, %L, %L, NULL)', 'a third password', 'short'));
