-- Tables and data, 0.1.0 to 0.2.0: written by hand, the first part of quarry--0.1.0--0.2.0.sql
-- (scripts/upgrade-script.sh adds the functions). Runs inside ALTER EXTENSION UPDATE, with the
-- extension's schema first on the search_path; it must leave the tables exactly as a fresh 0.2.0
-- install of extension/sql/schema.sql makes them (the upgrade test compares the two).

-- Model configurations: the client's own model through MCP sampling is a provider too, and needs
-- no model name. The constraints keep the names PostgreSQL gave them in 0.1.0, which 0.2.0 states.
ALTER TABLE model_configs
    DROP CONSTRAINT model_configs_provider_check,
    ADD CONSTRAINT model_configs_provider_check
        CHECK (provider IN ('builtin', 'openai', 'anthropic', 'sampling')),
    DROP CONSTRAINT model_configs_check,
    ADD CONSTRAINT model_configs_check CHECK (provider IN ('builtin', 'sampling') OR model IS NOT NULL);

-- Datasets: per-question limits and the function allow list. Existing datasets get what a new one
-- gets: the server's work_mem, 256 MB of temporary files, and only the built-in allow list (all
-- that 0.1.0 allowed).
ALTER TABLE datasets
    ADD COLUMN work_mem_kb         integer CHECK (work_mem_kb BETWEEN 64 AND 4194304),
    ADD COLUMN temp_file_limit_kb  integer NOT NULL DEFAULT 262144 CHECK (temp_file_limit_kb BETWEEN 0 AND 1073741824),
    ADD COLUMN allowed_functions   text[] NOT NULL DEFAULT '{}',
    ADD COLUMN max_cost            double precision CHECK (max_cost > 0),
    ADD COLUMN max_rows_scanned    double precision CHECK (max_rows_scanned > 0);

-- The semantic model of each dataset. Empty after the upgrade: it is derived from the catalog
-- when a dataset is first asked about, as for a dataset made in 0.2.0.
CREATE TABLE semantic_items (
    dataset_id  bigint NOT NULL REFERENCES datasets ON DELETE CASCADE,
    kind        text NOT NULL CHECK (kind IN ('table', 'dimension', 'time_dimension', 'measure', 'filter', 'relationship')),
    table_name  text NOT NULL DEFAULT '',
    name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    spec        jsonb NOT NULL CHECK (jsonb_typeof(spec) = 'object'),
    origin      text NOT NULL CHECK (origin IN ('derived', 'dba')),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (dataset_id, kind, table_name, name, origin)
);
-- Its rows are state to dump with the extension, like every other table's (schema.sql).
SELECT pg_catalog.pg_extension_config_dump('semantic_items', '');

-- Conversations: the MCP session whose run_sql calls one collects. Conversations of 0.1.0 were
-- each started on purpose, not collected from a session: none.
ALTER TABLE conversations ADD COLUMN mcp_session_id text REFERENCES mcp_sessions ON DELETE SET NULL;
CREATE INDEX conversations_session_idx ON conversations (mcp_session_id, dataset_id) WHERE mcp_session_id IS NOT NULL;
-- The listing index leaves out updated_at, which every turn sets (see schema.sql).
DROP INDEX conversations_listing_idx;
CREATE INDEX conversations_listing_idx ON conversations (dataset_id, account_id);

-- Pins: the role their stored analysis and chart were computed under; 0.2.0 shows those only to
-- accounts mapped to the same role. A 0.1.0 pin was computed as its creator, under the role the
-- creator is mapped to (the best record there is; 0.1.0 showed them to the whole team). Pins whose
-- creator is gone keep NULL: their analysis and chart are shown to no one, their SQL still is.
ALTER TABLE pins ADD COLUMN computed_as name;
UPDATE pins p SET computed_as = a.db_role FROM accounts a WHERE a.id = p.created_by;

-- OAuth clients: Quarry's own client of the SQLBot-compatible front is of a kind of its own (it
-- never takes part in the OAuth flow). It is created when first used, so no row is added here.
ALTER TABLE oauth_clients
    DROP CONSTRAINT oauth_clients_kind_check,
    ADD CONSTRAINT oauth_clients_kind_check
        CHECK (kind IN ('dynamic', 'metadata_document', 'preregistered', 'builtin'));

-- The SQLBot-compatible front: chats opened by mcp_start, and the assistants a DBA registers.
-- Both new in 0.2.0, so empty.
CREATE TABLE sqlbot_chats (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account_id       bigint NOT NULL REFERENCES accounts ON DELETE CASCADE,
    team_id          bigint REFERENCES teams ON DELETE SET NULL,
    conversation_id  bigint REFERENCES conversations ON DELETE SET NULL,
    created_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX sqlbot_chats_account_idx ON sqlbot_chats (account_id);
CREATE INDEX sqlbot_chats_conversation_idx ON sqlbot_chats (conversation_id);
SELECT pg_catalog.pg_extension_config_dump('sqlbot_chats', '');
SELECT pg_catalog.pg_extension_config_dump('sqlbot_chats_id_seq', '');

CREATE TABLE assistants (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name             text NOT NULL UNIQUE CHECK (length(name) BETWEEN 1 AND 200),
    team_id          bigint NOT NULL REFERENCES teams ON DELETE CASCADE,
    account_id       bigint NOT NULL UNIQUE REFERENCES accounts ON DELETE CASCADE,
    url              text NOT NULL UNIQUE CHECK (url ~ '^https?://[^\s]+$' AND length(url) <= 2048),
    secret_hash      text NOT NULL CHECK (secret_hash LIKE '$argon2id$%'),
    model_config_id  bigint REFERENCES model_configs ON DELETE SET NULL,
    lang             text NOT NULL DEFAULT 'zh-CN' CHECK (lang IN ('zh-CN', 'zh-TW', 'en', 'ko-KR')),
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE assistants IS 'Embedding applications that ask through the SQLBot-compatible front, each as an account of its own.';
SELECT pg_catalog.pg_extension_config_dump('assistants', '');
SELECT pg_catalog.pg_extension_config_dump('assistants_id_seq', '');

CREATE TABLE assistant_datasets (
    assistant_id  bigint NOT NULL REFERENCES assistants ON DELETE CASCADE,
    dataset_id    bigint NOT NULL REFERENCES datasets ON DELETE CASCADE,
    PRIMARY KEY (assistant_id, dataset_id)
);
CREATE INDEX assistant_datasets_dataset_idx ON assistant_datasets (dataset_id);
SELECT pg_catalog.pg_extension_config_dump('assistant_datasets', '');

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
SELECT pg_catalog.pg_extension_config_dump('sources', '');
SELECT pg_catalog.pg_extension_config_dump('source_mappings', '');
SELECT pg_catalog.pg_extension_config_dump('source_keys', '');
SELECT pg_catalog.pg_extension_config_dump('source_tables', '');
SELECT pg_catalog.pg_extension_config_dump('sources_id_seq', '');
