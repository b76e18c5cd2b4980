-- Quarry's state. Every table lives in the extension's schema, belongs to the extension (so
-- pg_dump, replicas and point-in-time recovery carry it) and is readable by no role but its owner:
-- everything else goes through the functions in the other files.
--
-- Identifiers are bigint identities; secrets (passwords, client secrets, codes, tokens) are stored
-- only as hashes.
--
-- Databases made by an earlier release reach this schema through an upgrade script, which takes
-- its table changes from extension/upgrade/<old>--<new>.pre.sql (README, "Upgrading"). Add new
-- columns at the end of their table: ALTER TABLE … ADD COLUMN appends, and an upgraded database
-- must have the same columns in the same order as a fresh install.

-- People ----------------------------------------------------------------------------------------

CREATE TABLE accounts (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    email          text NOT NULL UNIQUE
                   CHECK (email = lower(email) AND email ~ '^[^@\s]+@[^@\s]+$' AND length(email) <= 320),
    display_name   text NOT NULL CHECK (length(display_name) BETWEEN 1 AND 200),
    password_hash  text CHECK (password_hash LIKE '$argon2id$%'),   -- NULL: cannot sign in with a password
    db_role        name,                                            -- the role its questions run as
    disabled       boolean NOT NULL DEFAULT false,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE accounts IS 'People who sign in to Quarry; db_role is the database role their questions run as.';

CREATE TABLE teams (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name        text NOT NULL UNIQUE CHECK (length(name) BETWEEN 1 AND 200),
    created_at  timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE teams IS 'Workspaces: a team owns datasets, dashboards and model configurations.';

CREATE TABLE team_members (
    team_id     bigint NOT NULL REFERENCES teams ON DELETE CASCADE,
    account_id  bigint NOT NULL REFERENCES accounts ON DELETE CASCADE,
    role        text NOT NULL DEFAULT 'member' CHECK (role IN ('owner', 'member')),
    joined_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (team_id, account_id)
);
CREATE INDEX team_members_account_idx ON team_members (account_id);

-- Model configurations -------------------------------------------------------------------------------

CREATE TABLE model_configs (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    team_id      bigint REFERENCES teams ON DELETE CASCADE,          -- NULL: available to every team
    name         text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    -- sampling: the connected MCP client's own model (sampling/createMessage); no key, no URL.
    provider     text NOT NULL CONSTRAINT model_configs_provider_check CHECK (provider IN ('builtin', 'openai', 'anthropic', 'sampling')),
    model        text CHECK (length(model) <= 200),
    base_url     text CHECK (base_url ~ '^https?://'),
    -- The name of the sidecar's environment variable holding the API key. Keys never live in tables.
    api_key_env  text CHECK (api_key_env ~ '^[A-Z_][A-Z0-9_]*$'),
    options      jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(options) = 'object'),
    is_default   boolean NOT NULL DEFAULT false,
    created_at   timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT model_configs_check CHECK (provider IN ('builtin', 'sampling') OR model IS NOT NULL)
);
CREATE UNIQUE INDEX model_configs_name_key ON model_configs (coalesce(team_id, 0), lower(name));
CREATE UNIQUE INDEX model_configs_one_default ON model_configs (coalesce(team_id, 0)) WHERE is_default;

-- Datasets --------------------------------------------------------------------------------------------

CREATE TABLE datasets (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    team_id          bigint NOT NULL REFERENCES teams ON DELETE CASCADE,
    name             text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    description      text NOT NULL DEFAULT '' CHECK (length(description) <= 10000),
    row_limit        integer NOT NULL DEFAULT 1000 CHECK (row_limit BETWEEN 1 AND 1000000),
    timeout_ms       integer NOT NULL DEFAULT 15000 CHECK (timeout_ms BETWEEN 100 AND 600000),
    model_config_id  bigint REFERENCES model_configs ON DELETE SET NULL,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    -- What one question may use: work_mem (NULL: the server's configured value) and temporary
    -- files, in kB. The query cannot raise either.
    work_mem_kb         integer CHECK (work_mem_kb BETWEEN 64 AND 4194304),
    temp_file_limit_kb  integer NOT NULL DEFAULT 262144 CHECK (temp_file_limit_kb BETWEEN 0 AND 1073741824),
    -- Functions a question may call beyond the built-in allow list: signatures such as
    -- 'public.fiscal_quarter(date)', or 'schema.*' for every function of a schema.
    allowed_functions   text[] NOT NULL DEFAULT '{}',
    -- The cost gate: a question whose plan is estimated to cost more, or to read more rows in its
    -- scans, is refused before it runs (NULL: no limit).
    max_cost            double precision CHECK (max_cost > 0),
    max_rows_scanned    double precision CHECK (max_rows_scanned > 0),
    UNIQUE (team_id, name)
);
COMMENT ON TABLE datasets IS 'A team''s named set of schemas and relations that questions may be asked of.';

-- A dataset is defined by names, not OIDs, so it survives dump and restore. A source with no
-- relation_name stands for the whole schema.
CREATE TABLE dataset_sources (
    dataset_id     bigint NOT NULL REFERENCES datasets ON DELETE CASCADE,
    schema_name    name NOT NULL,
    relation_name  name,
    added_at       timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX dataset_sources_key ON dataset_sources (dataset_id, schema_name, coalesce(relation_name, ''));

CREATE TABLE glossary_terms (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    dataset_id  bigint NOT NULL REFERENCES datasets ON DELETE CASCADE,
    term        text NOT NULL CHECK (length(term) BETWEEN 1 AND 200),
    definition  text NOT NULL CHECK (length(definition) BETWEEN 1 AND 5000),
    synonyms    text[] NOT NULL DEFAULT '{}'
);
CREATE UNIQUE INDEX glossary_terms_key ON glossary_terms (dataset_id, lower(term));

CREATE TABLE example_queries (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    dataset_id  bigint NOT NULL REFERENCES datasets ON DELETE CASCADE,
    question    text NOT NULL CHECK (length(question) BETWEEN 1 AND 2000),
    sql         text NOT NULL CHECK (length(sql) BETWEEN 1 AND 100000),
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX example_queries_key ON example_queries (dataset_id, lower(question));

-- The semantic model of each dataset (see semantic.sql): what was derived from the catalog and what a
-- DBA set, kept apart so that a new derivation keeps the DBA's work.
CREATE TABLE semantic_items (
    dataset_id  bigint NOT NULL REFERENCES datasets ON DELETE CASCADE,
    kind        text NOT NULL CHECK (kind IN ('table', 'dimension', 'time_dimension', 'measure', 'filter', 'relationship')),
    table_name  text NOT NULL DEFAULT '',      -- the logical table an item belongs to ('' for tables and relationships)
    name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    spec        jsonb NOT NULL CHECK (jsonb_typeof(spec) = 'object'),
    origin      text NOT NULL CHECK (origin IN ('derived', 'dba')),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (dataset_id, kind, table_name, name, origin)
);

-- Sources: data in other databases, through PostgreSQL's foreign data wrappers (sources.sql). No
-- secret is kept here: passwords of user mappings live in PostgreSQL's pg_user_mapping.
CREATE TABLE sources (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name           text NOT NULL UNIQUE CHECK (name ~ '^[a-z][a-z0-9_]{0,39}$'),
    kind           text NOT NULL CHECK (kind IN ('postgres', 'mysql')),
    server_name    name NOT NULL UNIQUE,             -- the foreign server (same as name)
    local_schema   name NOT NULL UNIQUE,             -- where its tables are imported; datasets use it
    remote_schema  text NOT NULL,                    -- the remote schema (PostgreSQL) or database (MySQL)
    options        jsonb NOT NULL CHECK (jsonb_typeof(options) = 'object'),   -- host, port, database, TLS
    created_at     timestamptz NOT NULL DEFAULT now(),
    refreshed_at   timestamptz NOT NULL DEFAULT now()
);
-- Which remote user each account role reaches a source as (the password is in the user mapping).
CREATE TABLE source_mappings (
    source_id    bigint NOT NULL REFERENCES sources ON DELETE CASCADE,
    role_name    name NOT NULL,
    remote_user  text NOT NULL,
    mapped_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (source_id, role_name)
);
-- A source's imported tables: the remote's row estimate and keys (from the remote catalog, or
-- declared by a DBA), which foreign tables cannot carry as constraints.
CREATE TABLE source_keys (
    source_id       bigint NOT NULL REFERENCES sources ON DELETE CASCADE,
    relation_name   name NOT NULL,
    name            text NOT NULL,
    columns         text[] NOT NULL,
    ref_relation    name,            -- NULL: the primary key
    ref_columns     text[],
    origin          text NOT NULL CHECK (origin IN ('remote', 'declared')),
    PRIMARY KEY (source_id, relation_name, name)
);
CREATE TABLE source_tables (
    source_id       bigint NOT NULL REFERENCES sources ON DELETE CASCADE,
    relation_name   name NOT NULL,
    remote_rows     bigint,
    PRIMARY KEY (source_id, relation_name)
);

-- OAuth 2.1 ------------------------------------------------------------------------------------------

CREATE TABLE oauth_clients (
    -- Random for registered clients; the https URL itself for Client ID Metadata Documents.
    client_id                   text PRIMARY KEY CHECK (length(client_id) BETWEEN 1 AND 2048),
    -- builtin: a client of Quarry's own (the SQLBot-compatible front), never one of the OAuth flow.
    -- The constraint keeps the name PostgreSQL gave it in 0.1.0.
    kind                        text NOT NULL CONSTRAINT oauth_clients_kind_check
                                CHECK (kind IN ('dynamic', 'metadata_document', 'preregistered', 'builtin')),
    client_name                 text NOT NULL CHECK (length(client_name) BETWEEN 1 AND 200),
    redirect_uris               text[] NOT NULL CHECK (cardinality(redirect_uris) BETWEEN 1 AND 20),
    grant_types                 text[] NOT NULL DEFAULT '{authorization_code,refresh_token}',
    scope                       text,
    token_endpoint_auth_method  text NOT NULL DEFAULT 'none'
                                CHECK (token_endpoint_auth_method IN ('none', 'client_secret_post')),
    secret_hash                 bytea,                         -- sha256 of the client secret
    metadata                    jsonb NOT NULL DEFAULT '{}',   -- what the client registered or published
    fetched_at                  timestamptz,                   -- metadata documents: when cached
    created_at                  timestamptz NOT NULL DEFAULT now(),
    disabled                    boolean NOT NULL DEFAULT false,
    CHECK ((token_endpoint_auth_method = 'client_secret_post') = (secret_hash IS NOT NULL))
);

CREATE TABLE oauth_codes (
    code_hash       bytea PRIMARY KEY,
    client_id       text NOT NULL REFERENCES oauth_clients ON DELETE CASCADE,
    account_id      bigint NOT NULL REFERENCES accounts ON DELETE CASCADE,
    redirect_uri    text NOT NULL,
    scopes          text[] NOT NULL,
    resource        text NOT NULL,
    code_challenge  text NOT NULL CHECK (code_challenge ~ '^[A-Za-z0-9_-]{43}$'),   -- S256 only
    created_at      timestamptz NOT NULL DEFAULT now(),
    expires_at      timestamptz NOT NULL,
    redeemed_at     timestamptz,
    family_id       uuid            -- the token family it was redeemed for (revoked on replay)
);
CREATE INDEX oauth_codes_expiry_idx ON oauth_codes (expires_at);

CREATE TABLE oauth_tokens (
    token_hash    bytea PRIMARY KEY,
    kind          text NOT NULL CHECK (kind IN ('access', 'refresh')),
    client_id     text NOT NULL REFERENCES oauth_clients ON DELETE CASCADE,
    account_id    bigint NOT NULL REFERENCES accounts ON DELETE CASCADE,
    scopes        text[] NOT NULL,
    audience      text NOT NULL,
    family_id     uuid NOT NULL,    -- every token descended from one authorization
    issued_at     timestamptz NOT NULL DEFAULT now(),
    expires_at    timestamptz NOT NULL,
    last_used_at  timestamptz,
    revoked_at    timestamptz,
    rotated_at    timestamptz,      -- refresh tokens: when exchanged for a successor
    successor     bytea             -- refresh tokens: the hash of the token that replaced it
);
CREATE INDEX oauth_tokens_family_idx ON oauth_tokens (family_id);
CREATE INDEX oauth_tokens_account_idx ON oauth_tokens (account_id, client_id);
CREATE INDEX oauth_tokens_expiry_idx ON oauth_tokens (expires_at);

CREATE TABLE oauth_consents (
    account_id    bigint NOT NULL REFERENCES accounts ON DELETE CASCADE,
    client_id     text NOT NULL REFERENCES oauth_clients ON DELETE CASCADE,
    scopes        text[] NOT NULL,
    granted_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (account_id, client_id)
);

-- Browser sessions of the sign-in, consent and settings pages. The cookie holds the token; the
-- table holds its hash.
CREATE TABLE web_sessions (
    token_hash    bytea PRIMARY KEY,
    account_id    bigint NOT NULL REFERENCES accounts ON DELETE CASCADE,
    csrf_token    text NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    expires_at    timestamptz NOT NULL,
    last_seen_at  timestamptz NOT NULL DEFAULT now(),
    client_ip     inet,
    user_agent    text CHECK (length(user_agent) <= 500)
);
CREATE INDEX web_sessions_account_idx ON web_sessions (account_id);
CREATE INDEX web_sessions_expiry_idx ON web_sessions (expires_at);

-- Counters of failed sign-ins (and of sign-ups) per email and per address, so that several
-- sidecars throttle as one.
CREATE TABLE sign_in_throttle (
    key                text PRIMARY KEY,                 -- 'email:<address>', 'ip:<address>', 'signup:<address>'
    failures           integer NOT NULL DEFAULT 0,
    window_started_at  timestamptz NOT NULL DEFAULT now(),
    locked_until       timestamptz
);

-- Keys the extension keeps for itself (never returned to anyone): the HMAC key that derives a
-- rotated refresh token's successor from the token itself, so that a retry within the grace
-- period gets the very same successor without anything secret being stored in plain text.
CREATE TABLE server_keys (
    purpose     text PRIMARY KEY,
    key         bytea NOT NULL CHECK (length(key) >= 32),
    created_at  timestamptz NOT NULL DEFAULT now()
);

-- MCP sessions (protocol 2025-11-25 and earlier): who owns each session id, and the client's
-- initialize request, so that any sidecar can serve any session.
CREATE TABLE mcp_sessions (
    session_id         text PRIMARY KEY CHECK (length(session_id) BETWEEN 16 AND 128),
    account_id         bigint REFERENCES accounts ON DELETE CASCADE,     -- set when the session opens
    client_id          text REFERENCES oauth_clients ON DELETE CASCADE,
    initialize_params  jsonb,
    created_at         timestamptz NOT NULL DEFAULT now(),
    last_seen_at       timestamptz NOT NULL DEFAULT now(),
    ended_at           timestamptz
);
CREATE INDEX mcp_sessions_account_idx ON mcp_sessions (account_id);
CREATE INDEX mcp_sessions_seen_idx ON mcp_sessions (last_seen_at);

-- Conversations ----------------------------------------------------------------------------------------

CREATE TABLE conversations (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    dataset_id  bigint NOT NULL REFERENCES datasets ON DELETE CASCADE,
    account_id  bigint NOT NULL REFERENCES accounts ON DELETE CASCADE,
    title       text NOT NULL CHECK (length(title) BETWEEN 1 AND 300),
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    -- The MCP session whose run_sql calls this conversation collects (see save_turn).
    mcp_session_id text REFERENCES mcp_sessions ON DELETE SET NULL
);
-- Not on updated_at: every turn sets it, and an indexed column would make each of those updates
-- write a new entry in every index of the table (no HOT update). A listing counts all of the
-- account's conversations anyway, then sorts them.
CREATE INDEX conversations_listing_idx ON conversations (dataset_id, account_id);
CREATE INDEX conversations_session_idx ON conversations (mcp_session_id, dataset_id) WHERE mcp_session_id IS NOT NULL;
CREATE INDEX conversations_account_idx ON conversations (account_id);

CREATE TABLE conversation_blocks (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    conversation_id  bigint NOT NULL REFERENCES conversations ON DELETE CASCADE,
    seq              integer NOT NULL CHECK (seq >= 1),
    kind             text NOT NULL CHECK (kind IN ('question', 'sql', 'result', 'chart', 'analysis', 'error')),
    content          jsonb NOT NULL CHECK (jsonb_typeof(content) = 'object'),
    created_at       timestamptz NOT NULL DEFAULT now(),
    UNIQUE (conversation_id, seq)
);

-- Dashboards ---------------------------------------------------------------------------------------------

CREATE TABLE dashboards (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    team_id     bigint NOT NULL REFERENCES teams ON DELETE CASCADE,
    name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    label       text NOT NULL DEFAULT '' CHECK (length(label) <= 200),
    color       text NOT NULL DEFAULT '#4f46e5' CHECK (color ~ '^#[0-9a-f]{6}$'),
    created_by  bigint REFERENCES accounts ON DELETE SET NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (team_id, name)
);

CREATE TABLE pins (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    dashboard_id     bigint NOT NULL REFERENCES dashboards ON DELETE CASCADE,
    dataset_id       bigint NOT NULL REFERENCES datasets ON DELETE CASCADE,
    conversation_id  bigint REFERENCES conversations ON DELETE SET NULL,
    question         text NOT NULL CHECK (length(question) BETWEEN 1 AND 2000),
    analysis         text NOT NULL DEFAULT '',
    sql              text NOT NULL CHECK (length(sql) BETWEEN 1 AND 100000),
    chart            jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(chart) = 'object'),
    position         integer NOT NULL CHECK (position >= 0),
    created_by       bigint REFERENCES accounts ON DELETE SET NULL,
    created_at       timestamptz NOT NULL DEFAULT now(),
    -- The database role the stored analysis and chart (which hold result data) were computed
    -- under: they are shown only to accounts mapped to the same role.
    computed_as      name
);
CREATE INDEX pins_dashboard_idx ON pins (dashboard_id, position);
CREATE INDEX pins_dataset_idx ON pins (dataset_id);
CREATE INDEX pins_conversation_idx ON pins (conversation_id);

-- Audit -------------------------------------------------------------------------------------------------

CREATE TABLE audit_log (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at           timestamptz NOT NULL DEFAULT now(),
    account_id   bigint REFERENCES accounts ON DELETE SET NULL,
    client_id    text,
    action       text NOT NULL CHECK (length(action) BETWEEN 1 AND 100),   -- a tool name or an API event
    arguments    jsonb NOT NULL DEFAULT '{}',
    question     text,
    sql          text,
    row_count    bigint,
    duration_ms  double precision,
    outcome      text NOT NULL CHECK (outcome IN ('ok', 'error', 'denied')),
    error        text
);
CREATE INDEX audit_log_at_idx ON audit_log USING brin (at);
CREATE INDEX audit_log_account_idx ON audit_log (account_id, at DESC);
COMMENT ON TABLE audit_log IS 'One row per tool call and security event: who, through which client, what, how long, outcome.';

-- The SQLBot-compatible front (sqlbot.sql) -------------------------------------------------------------

-- A chat that SQLBot's mcp_start opened: it becomes a conversation with its first question, once
-- the question's dataset is known.
CREATE TABLE sqlbot_chats (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account_id       bigint NOT NULL REFERENCES accounts ON DELETE CASCADE,
    team_id          bigint REFERENCES teams ON DELETE SET NULL,           -- the workspace chosen at the start
    conversation_id  bigint REFERENCES conversations ON DELETE SET NULL,
    created_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX sqlbot_chats_account_idx ON sqlbot_chats (account_id);
CREATE INDEX sqlbot_chats_conversation_idx ON sqlbot_chats (conversation_id);

-- Applications that embed Quarry and ask through SQLBot's mcp_assistant: each asks through an
-- account of its own (its database role, its conversations, its audit rows), only about the
-- datasets registered for it, and is recognized by the URL it names and its secret (a hash).
CREATE TABLE assistants (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name             text NOT NULL UNIQUE CHECK (length(name) BETWEEN 1 AND 200),
    team_id          bigint NOT NULL REFERENCES teams ON DELETE CASCADE,
    account_id       bigint NOT NULL UNIQUE REFERENCES accounts ON DELETE CASCADE,
    url              text NOT NULL UNIQUE CHECK (url ~ '^https?://[^\s]+$' AND length(url) <= 2048),
    secret_hash      text NOT NULL CHECK (secret_hash LIKE '$argon2id$%'),
    model_config_id  bigint REFERENCES model_configs ON DELETE SET NULL,   -- NULL: each dataset's own
    lang             text NOT NULL DEFAULT 'zh-CN' CHECK (lang IN ('zh-CN', 'zh-TW', 'en', 'ko-KR')),
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE assistants IS 'Embedding applications that ask through the SQLBot-compatible front, each as an account of its own.';

CREATE TABLE assistant_datasets (
    assistant_id  bigint NOT NULL REFERENCES assistants ON DELETE CASCADE,
    dataset_id    bigint NOT NULL REFERENCES datasets ON DELETE CASCADE,
    PRIMARY KEY (assistant_id, dataset_id)
);
CREATE INDEX assistant_datasets_dataset_idx ON assistant_datasets (dataset_id);

-- Roles allowed to call the service API (see quarry.grant_service); remembered so that upgrades can
-- grant new functions to them.
CREATE TABLE service_roles (
    role_name   name PRIMARY KEY,
    granted_at  timestamptz NOT NULL DEFAULT now()
);

-- Mark every table's rows (and its identity sequence) as data to dump: pg_dump then carries
-- Quarry's state along with the extension. One call per statement: each one updates pg_extension.
DO $$
DECLARE
    v_relation regclass;
BEGIN
    FOR v_relation IN SELECT c.oid FROM pg_catalog.pg_class c
                       WHERE c.relnamespace = 'quarry'::regnamespace AND c.relkind IN ('r', 'S')
                       ORDER BY c.relkind, c.relname LOOP
        PERFORM pg_catalog.pg_extension_config_dump(v_relation, '');
    END LOOP;
END $$;
