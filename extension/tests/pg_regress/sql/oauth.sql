-- OAuth 2.1 state: clients, consent, codes, tokens, rotation, revocation. Secrets are random, so
-- they are kept in psql variables and only compared, never printed.

-- Registration: a public client and a confidential one.
SELECT quarry.register_client('Claude', ARRAY['http://127.0.0.1:33418/callback'], scope => 'read datasets') AS r \gset pub_
SELECT (:'pub_r'::jsonb) - 'client_id' - 'client_id_issued_at' AS public_client,
       (:'pub_r'::jsonb)->>'client_id' ~ '^qci_[A-Za-z0-9_-]{22}$' AS random_id;
SELECT (:'pub_r'::jsonb)->>'client_id' AS pub \gset
SELECT quarry.register_client('Server app', ARRAY['https://app.example/cb', 'https://app.example/cb2'], 'client_secret_post',
                              metadata => '{"client_uri": "https://app.example"}') AS r \gset conf_
SELECT (:'conf_r'::jsonb)->>'client_id' AS conf, (:'conf_r'::jsonb)->>'client_secret' AS conf_secret \gset
SELECT (:'conf_r'::jsonb) - 'client_id' - 'client_id_issued_at' - 'client_secret' AS confidential_client,
       :'conf_secret' ~ '^qcs_' AS secret_shown_once,
       (SELECT secret_hash = sha256(convert_to(:'conf_secret', 'UTF8')) FROM quarry.oauth_clients WHERE client_id = :'conf')
           AS only_its_hash_is_stored;

-- Bad registrations.
SELECT regress.try($$SELECT quarry.register_client('x', ARRAY[]::text[])$$);
SELECT regress.try($$SELECT quarry.register_client('x', ARRAY['http://evil.example/cb'])$$);
SELECT regress.try($$SELECT quarry.register_client('x', ARRAY['javascript:alert(1)'])$$);
SELECT regress.try($$SELECT quarry.register_client('x', ARRAY['https://app.example/cb#fragment'])$$);
SELECT regress.try($$SELECT quarry.register_client('x', ARRAY['relative/cb'])$$);
SELECT regress.try($$SELECT quarry.register_client('x', ARRAY['https://app.example/cb'], 'client_secret_basic')$$);
SELECT regress.try($$SELECT quarry.register_client('x', ARRAY['https://app.example/cb'], scope => 'read admin')$$);
SELECT regress.try($$SELECT quarry.register_client('x', ARRAY['https://app.example/cb'], grant_types => ARRAY['client_credentials'])$$);
SELECT regress.try($$SELECT quarry.register_client('x', ARRAY['https://app.example/cb'], metadata => '[1]')$$);
SELECT regress.try($$SELECT quarry.register_client(repeat('x', 201), ARRAY['https://app.example/cb'])$$);
SELECT quarry.register_client(NULL, ARRAY['cursor://anysphere.cursor-retrieval/oauth/callback'])->>'client_name' AS native_app;

-- Client ID Metadata Documents are cached as clients whose id is their URL.
SELECT quarry.cache_client_metadata('https://client.example/meta.json',
    '{"client_id": "https://client.example/meta.json", "client_name": "Metadata client",
      "redirect_uris": ["http://127.0.0.1/cb"], "token_endpoint_auth_method": "none"}')
    - 'client_id_issued_at' AS cimd_client;
SELECT regress.try($$SELECT quarry.cache_client_metadata('https://client.example/meta.json', '{"client_id": "https://other.example/x", "redirect_uris": ["http://127.0.0.1/cb"]}')$$);
SELECT regress.try($$SELECT quarry.cache_client_metadata('https://client.example/meta.json', '{"client_id": "https://client.example/meta.json", "redirect_uris": ["http://127.0.0.1/cb"], "token_endpoint_auth_method": "private_key_jwt"}')$$);
SELECT regress.try($$SELECT quarry.cache_client_metadata('https://client.example/meta.json', '{"client_id": "https://client.example/meta.json"}')$$);
SELECT regress.try($$SELECT quarry.cache_client_metadata('http://client.example/meta.json', '{}')$$);

-- Authorization requests: client, redirect URI (loopback on any port), scopes.
SELECT quarry.check_authorization_request(:'pub', 'http://127.0.0.1:50123/callback', NULL) - 'client_id' AS defaulted;
SELECT quarry.check_authorization_request(:'conf', 'https://app.example/cb2', 'write read') - 'client_id' AS chosen;
SELECT regress.try($$SELECT quarry.check_authorization_request('qci_nobody', 'https://app.example/cb', NULL)$$);
SELECT regress.try(format('SELECT quarry.check_authorization_request(%L, %L, NULL)', :'conf', 'https://app.example/other'));
SELECT regress.try(format('SELECT quarry.check_authorization_request(%L, %L, NULL)', :'conf', 'https://app.example/cb/'));
SELECT regress.try(format('SELECT quarry.check_authorization_request(%L, NULL, NULL)', :'conf'));
SELECT regress.try(format('SELECT quarry.check_authorization_request(%L, %L, NULL)', :'pub', 'http://127.0.0.1:50123/other'));
SELECT regress.try(format('SELECT quarry.check_authorization_request(%L, %L, %L)', :'pub', 'http://127.0.0.1/callback', 'read write'));
SELECT regress.try(format('SELECT quarry.check_authorization_request(%L, %L, %L)', :'pub', 'http://127.0.0.1/callback', 'read sudo'));

-- The RFC 7636 example verifier and its S256 challenge.
\set verifier dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk
\set challenge E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM
\set resource 'http://127.0.0.1:8080/mcp'
SELECT quarry.authorize(1, :'pub', 'http://127.0.0.1:50123/callback', ARRAY['read', 'datasets'], :'resource', :'challenge') AS code \gset
SELECT :'code' ~ '^qac_' AS code_issued, quarry.consented_scopes(1, :'pub') AS remembered_consent;
SELECT regress.try(format('SELECT quarry.authorize(1, %L, %L, ARRAY[''read''], %L, ''plain-challenge'')', :'pub', 'http://127.0.0.1/callback', :'resource'));
SELECT regress.try(format('SELECT quarry.authorize(1, %L, %L, ARRAY[]::text[], %L, %L)', :'pub', 'http://127.0.0.1/callback', :'resource', :'challenge'));

-- Redeeming: every mistake is refused without using the code up.
SELECT quarry.redeem_code(:'code', :'conf', :'conf_secret', 'http://127.0.0.1:50123/callback', :'verifier', NULL) AS other_client;
SELECT quarry.redeem_code(:'code', :'pub', NULL, 'http://127.0.0.1:50124/callback', :'verifier', NULL) AS other_redirect;
SELECT quarry.redeem_code(:'code', :'pub', NULL, 'http://127.0.0.1:50123/callback', repeat('x', 43), NULL) AS wrong_verifier;
SELECT quarry.redeem_code(:'code', :'pub', NULL, 'http://127.0.0.1:50123/callback', 'short', NULL) AS malformed_verifier;
SELECT quarry.redeem_code(:'code', :'pub', NULL, 'http://127.0.0.1:50123/callback', :'verifier', 'https://elsewhere.example/mcp') AS other_resource;
SELECT quarry.redeem_code('qac_nonsense', :'pub', NULL, 'http://127.0.0.1:50123/callback', :'verifier', NULL) AS unknown_code;
SELECT quarry.redeem_code(:'code', 'qci_nobody', NULL, 'http://127.0.0.1:50123/callback', :'verifier', NULL) AS unknown_client;
-- Then the right request gets tokens.
SELECT quarry.redeem_code(:'code', :'pub', NULL, 'http://127.0.0.1:50123/callback', :'verifier', :'resource') AS t \gset
SELECT (:'t'::jsonb) - 'access_token' - 'refresh_token' AS token_response,
       (:'t'::jsonb)->>'access_token' ~ '^qat_[A-Za-z0-9_-]{43}$' AS access_ok,
       (:'t'::jsonb)->>'refresh_token' ~ '^qrt_[A-Za-z0-9_-]{43}$' AS refresh_ok;
SELECT (:'t'::jsonb)->>'access_token' AS access, (:'t'::jsonb)->>'refresh_token' AS refresh \gset
SELECT account_id, client_id = :'pub' AS right_client, scopes FROM quarry.check_token(:'access', :'resource');
SELECT count(*) AS for_another_audience FROM quarry.check_token(:'access', 'https://elsewhere.example/mcp');
SELECT count(*) AS plaintext_tokens_stored FROM quarry.oauth_tokens
 WHERE token_hash IN (convert_to(:'access', 'UTF8'), convert_to(:'refresh', 'UTF8'));
-- A replayed code is refused and takes the tokens it produced with it.
SELECT quarry.redeem_code(:'code', :'pub', NULL, 'http://127.0.0.1:50123/callback', :'verifier', NULL) AS replay;
SELECT count(*) AS access_after_replay FROM quarry.check_token(:'access', :'resource');
SELECT quarry.refresh_tokens(:'refresh', :'pub', NULL, NULL, NULL) AS refresh_after_replay;

-- A fresh grant for the refresh tests; an expired code on the way.
SELECT quarry.authorize(1, :'pub', 'http://127.0.0.1/callback', ARRAY['read', 'datasets'], :'resource', :'challenge', '-1 second') AS code \gset
SELECT quarry.redeem_code(:'code', :'pub', NULL, 'http://127.0.0.1/callback', :'verifier', NULL) AS expired_code;
SELECT quarry.authorize(1, :'pub', 'http://127.0.0.1/callback', ARRAY['read', 'datasets'], :'resource', :'challenge') AS code \gset
SELECT quarry.redeem_code(:'code', :'pub', NULL, 'http://127.0.0.1/callback', :'verifier', NULL)->>'refresh_token' AS refresh \gset

-- Rotation: a new pair; the same token again within the grace gets the same pair (two requests
-- racing both succeed); narrowing the scope works, widening it does not.
SELECT quarry.refresh_tokens(:'refresh', :'pub', NULL, NULL, :'resource') AS first \gset
SELECT quarry.refresh_tokens(:'refresh', :'pub', NULL, NULL, NULL) AS second \gset
SELECT (:'first'::jsonb) - 'access_token' - 'refresh_token' AS rotated,
       (:'first'::jsonb)->>'refresh_token' <> :'refresh' AS new_refresh_token,
       :'first'::jsonb = :'second'::jsonb AS retry_in_grace_gets_the_same_pair;
SELECT (:'first'::jsonb)->>'refresh_token' AS refresh2 \gset
SELECT quarry.refresh_tokens(:'refresh2', :'pub', NULL, 'read datasets write', NULL) AS escalation;
SELECT quarry.refresh_tokens(:'refresh2', :'pub', NULL, 'read sudo', NULL) AS unknown_scope;
SELECT quarry.refresh_tokens(:'refresh2', :'pub', NULL, 'read', NULL) AS narrowed \gset
SELECT (:'narrowed'::jsonb)->>'scope' AS narrowed_scope,
       (SELECT scopes FROM quarry.oauth_tokens WHERE token_hash = sha256(convert_to((:'narrowed'::jsonb)->>'refresh_token', 'UTF8')))
           AS refresh_keeps_the_grant;
SELECT quarry.refresh_tokens(:'refresh2', :'conf', :'conf_secret', NULL, NULL) AS other_client;
SELECT quarry.refresh_tokens(:'refresh2', :'pub', NULL, NULL, 'https://elsewhere.example/mcp') AS other_resource;
-- Presented after the grace, an old refresh token is taken as stolen: the whole family goes.
UPDATE quarry.oauth_tokens SET rotated_at = now() - interval '5 minutes'
 WHERE token_hash = sha256(convert_to(:'refresh', 'UTF8'));
SELECT quarry.refresh_tokens(:'refresh', :'pub', NULL, NULL, NULL) AS reuse_after_grace;
SELECT count(*) FILTER (WHERE revoked_at IS NULL) AS live, count(*) AS family
  FROM quarry.oauth_tokens WHERE family_id = (SELECT family_id FROM quarry.oauth_tokens
                                               WHERE token_hash = sha256(convert_to(:'refresh', 'UTF8')));
SELECT quarry.refresh_tokens((:'narrowed'::jsonb)->>'refresh_token', :'pub', NULL, NULL, NULL) AS successor_too;

-- Expired and disabled: the per-request check refuses them.
SELECT quarry.authorize(2, :'conf', 'https://app.example/cb', ARRAY['read'], :'resource', :'challenge') AS code \gset
SELECT quarry.redeem_code(:'code', :'conf', 'wrong secret', 'https://app.example/cb', :'verifier', NULL) AS wrong_secret;
SELECT quarry.redeem_code(:'code', :'conf', NULL, 'https://app.example/cb', :'verifier', NULL) AS missing_secret;
SELECT quarry.redeem_code(:'code', :'conf', :'conf_secret', 'https://app.example/cb', :'verifier', NULL) AS t \gset
SELECT (:'t'::jsonb)->>'access_token' AS access, (:'t'::jsonb)->>'refresh_token' AS refresh \gset
SELECT count(*) AS valid FROM quarry.check_token(:'access', :'resource');
SELECT quarry.disable_account(2);
SELECT count(*) AS while_disabled FROM quarry.check_token(:'access', :'resource');
SELECT quarry.enable_account(2);
SELECT count(*) AS revoked_by_disabling FROM quarry.check_token(:'access', :'resource');

-- Revocation: an access token alone; a refresh token with its family; not someone else's.
SELECT quarry.authorize(2, :'conf', 'https://app.example/cb', ARRAY['read'], :'resource', :'challenge') AS code \gset
SELECT quarry.redeem_code(:'code', :'conf', :'conf_secret', 'https://app.example/cb', :'verifier', NULL) AS t \gset
SELECT (:'t'::jsonb)->>'access_token' AS access, (:'t'::jsonb)->>'refresh_token' AS refresh \gset
SELECT quarry.revoke_token(:'access', :'pub', NULL) AS someone_elses;
SELECT quarry.revoke_token(:'access', :'conf', 'wrong') AS bad_client_auth;
SELECT quarry.revoke_token('qat_unknown', :'conf', :'conf_secret') AS unknown_token;
SELECT quarry.revoke_token(:'access', :'conf', :'conf_secret') AS revoked;
SELECT count(*) AS access_left FROM quarry.check_token(:'access', :'resource');
SELECT (quarry.refresh_tokens(:'refresh', :'conf', :'conf_secret', NULL, NULL) ? 'access_token') AS refresh_still_works;
SELECT quarry.revoke_token(:'refresh', :'conf', :'conf_secret') AS revoked_family;
SELECT count(*) FILTER (WHERE revoked_at IS NULL) AS live_in_family FROM quarry.oauth_tokens
 WHERE family_id = (SELECT family_id FROM quarry.oauth_tokens WHERE token_hash = sha256(convert_to(:'refresh', 'UTF8')));

-- Grants as an account's settings page and a DBA see them; revoking one ends its tokens at once.
SELECT quarry.authorize(1, :'conf', 'https://app.example/cb', ARRAY['read', 'write'], :'resource', :'challenge') AS code \gset
SELECT quarry.redeem_code(:'code', :'conf', :'conf_secret', 'https://app.example/cb', :'verifier', NULL)->>'access_token' AS access \gset
SELECT client_name, redirect_host, scopes, active_tokens FROM quarry.account_grants(1) ORDER BY client_name;
SELECT quarry.revoke_grant(1, :'conf');
SELECT count(*) AS after_revoking_the_grant FROM quarry.check_token(:'access', :'resource');
SELECT client_name FROM quarry.account_grants(1);
SELECT regress.try(format('SELECT quarry.revoke_grant(1, %L)', :'conf'));
SELECT client_name, kind, accounts, active_tokens FROM quarry.clients() ORDER BY created_at;
SELECT quarry.disable_client(:'pub');
SELECT regress.try(format('SELECT quarry.check_authorization_request(%L, NULL, NULL)', :'pub'));
SELECT regress.try($$SELECT quarry.disable_client('qci_nobody')$$);

-- A program that registers again on each machine (a new client_id, a new loopback port) is one
-- app: account_grants gives its registrations one key, lists them together (the app with the
-- newest grant first), and revoke_app ends them all. The same name elsewhere is another app.
SELECT quarry.register_client('Claude', ARRAY['http://127.0.0.1:40001/callback'])->>'client_id' AS pub2 \gset
SELECT quarry.register_client('Claude', ARRAY['http://127.0.0.1:40002/callback'])->>'client_id' AS pub3 \gset
SELECT quarry.register_client('Claude', ARRAY['https://claude.example/cb'])->>'client_id' AS elsewhere \gset
SELECT quarry.authorize(1, :'pub2', 'http://127.0.0.1:40001/callback', ARRAY['read'], :'resource', :'challenge') IS NOT NULL AS granted;
SELECT quarry.authorize(1, :'elsewhere', 'https://claude.example/cb', ARRAY['read'], :'resource', :'challenge') IS NOT NULL AS granted;
SELECT quarry.authorize(1, :'pub3', 'http://127.0.0.1:40002/callback', ARRAY['write'], :'resource', :'challenge') IS NOT NULL AS granted;
SELECT client_name, redirect_host, scopes, count(*) OVER (PARTITION BY app) AS registrations_of_its_app,
       app = quarry._app_key('Claude', 'http://127.0.0.1:9/other/path') AS loopback_claude
  FROM quarry.account_grants(1);
SELECT quarry.revoke_app(1, app) AS revoked_registrations FROM quarry.account_grants(1) WHERE client_id = :'pub2';
SELECT client_name, redirect_host FROM quarry.account_grants(1);
SELECT regress.try(format('SELECT quarry.revoke_app(1, %L)', quarry._app_key('Claude', 'http://127.0.0.1:33418/callback')));
SELECT regress.try('SELECT quarry.revoke_app(1, ''not a key'')');

-- Housekeeping.
UPDATE quarry.oauth_codes SET expires_at = now() - interval '2 days';
SELECT (quarry.purge_expired()->>'codes')::int > 0 AS purged_codes;
SELECT count(*) AS codes_left FROM quarry.oauth_codes;
