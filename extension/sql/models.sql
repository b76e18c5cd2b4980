-- Model configurations: which model answers a team's (or a dataset's) questions. API keys are
-- never stored: a configuration names the sidecar's environment variable that holds one. The
-- sampling provider is the asking MCP client's own model, reached through the client itself
-- (sampling/createMessage); options.fallback says what answers a client without sampling.

CREATE FUNCTION create_model_config(
    team_id      bigint,
    name         text,
    provider     text,
    model        text DEFAULT NULL,
    base_url     text DEFAULT NULL,
    api_key_env  text DEFAULT NULL,
    options      jsonb DEFAULT '{}',
    is_default   boolean DEFAULT false
) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    v_id bigint;
BEGIN
    IF team_id IS NOT NULL THEN
        PERFORM quarry._team(team_id);
    END IF;
    IF provider IS NULL OR provider NOT IN ('builtin', 'openai', 'anthropic', 'sampling') THEN
        RAISE EXCEPTION 'provider must be builtin, openai, anthropic or sampling' USING ERRCODE = 'invalid_parameter_value';
    ELSIF provider NOT IN ('builtin', 'sampling') AND nullif(btrim(model), '') IS NULL THEN
        RAISE EXCEPTION 'provider % needs a model name', provider USING ERRCODE = 'invalid_parameter_value';
    ELSIF base_url IS NOT NULL AND base_url !~ '^https?://[^\s/]+' THEN
        RAISE EXCEPTION 'base_url must be an http or https URL' USING ERRCODE = 'invalid_parameter_value';
    ELSIF api_key_env IS NOT NULL AND api_key_env !~ '^[A-Z_][A-Z0-9_]*$' THEN
        RAISE EXCEPTION 'api_key_env names an environment variable, like OPENAI_API_KEY (the key itself never goes in the database)'
            USING ERRCODE = 'invalid_parameter_value';
    ELSIF options IS NULL OR jsonb_typeof(options) <> 'object' THEN
        RAISE EXCEPTION 'options must be a JSON object' USING ERRCODE = 'invalid_parameter_value';
    ELSIF provider = 'sampling' AND (base_url IS NOT NULL OR api_key_env IS NOT NULL) THEN
        RAISE EXCEPTION 'the sampling provider is the MCP client''s own model: it takes no base_url or api_key_env'
            USING ERRCODE = 'invalid_parameter_value';
    ELSIF coalesce(options->>'fallback', 'builtin') NOT IN ('builtin', 'none') THEN
        RAISE EXCEPTION 'options.fallback must be builtin (the built-in planner answers clients without sampling) or none'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF is_default THEN
        UPDATE quarry.model_configs m SET is_default = false
         WHERE m.team_id IS NOT DISTINCT FROM create_model_config.team_id AND m.is_default;
    END IF;
    INSERT INTO quarry.model_configs AS m (team_id, name, provider, model, base_url, api_key_env, options, is_default)
    VALUES (create_model_config.team_id, quarry._text_arg(name, 'name', 1, 200), provider, nullif(btrim(model), ''),
            base_url, api_key_env, options, coalesce(is_default, false))
    RETURNING id INTO v_id;
    RETURN v_id;
END $$;

-- Chooses the model configuration a dataset's questions use (NULL: its team's default).
CREATE FUNCTION set_dataset_model(dataset_id bigint, model_config_id bigint) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    v quarry.datasets := quarry._dataset(dataset_id);
BEGIN
    IF model_config_id IS NOT NULL AND NOT EXISTS (
        SELECT 1 FROM quarry.model_configs m
         WHERE m.id = set_dataset_model.model_config_id AND (m.team_id IS NULL OR m.team_id = v.team_id)) THEN
        RAISE EXCEPTION 'model configuration % does not exist or belongs to another team', model_config_id
            USING ERRCODE = 'undefined_object';
    END IF;
    UPDATE quarry.datasets d SET model_config_id = set_dataset_model.model_config_id, updated_at = now() WHERE d.id = v.id;
END $$;

CREATE FUNCTION _model_json(m quarry.model_configs) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object(
        'id', m.id, 'name', m.name, 'provider', m.provider, 'model', m.model, 'base_url', m.base_url,
        'api_key_env', m.api_key_env, 'options', m.options, 'is_default', m.is_default,
        'team', (SELECT jsonb_build_object('id', t.id, 'name', t.name) FROM quarry.teams t WHERE t.id = m.team_id))
$$;

-- The model configurations an account's teams may use: their own and the global ones.
CREATE FUNCTION account_models(account_id bigint) RETURNS jsonb
LANGUAGE plpgsql STABLE AS $$
BEGIN
    PERFORM quarry._account(account_id);
    RETURN jsonb_build_object('models', coalesce((
        SELECT jsonb_agg(quarry._model_json(m) ORDER BY m.team_id NULLS FIRST, m.name)
          FROM quarry.model_configs m
         WHERE m.team_id IS NULL
            OR m.team_id IN (SELECT tm.team_id FROM quarry.team_members tm WHERE tm.account_id = account_models.account_id)), '[]'));
END $$;

-- The configuration that answers a dataset's questions: the model of the asking assistant (see
-- sqlbot.sql) if it has one, else the dataset's own choice, else its team's default, else the
-- global default (the built-in planner unless a DBA changed it).
CREATE FUNCTION dataset_model(account_id bigint, dataset_id bigint) RETURNS jsonb
LANGUAGE plpgsql STABLE AS $$
DECLARE
    v quarry.datasets := quarry._dataset_for(dataset_id, account_id);
    v_chosen bigint := coalesce((SELECT a.model_config_id FROM quarry.assistants a WHERE a.account_id = dataset_model.account_id),
                                v.model_config_id);
BEGIN
    RETURN (SELECT quarry._model_json(m) FROM quarry.model_configs m
             WHERE m.id = v_chosen
                OR (v_chosen IS NULL AND m.is_default AND (m.team_id = v.team_id OR m.team_id IS NULL))
             ORDER BY (m.id = v_chosen) DESC, m.team_id NULLS LAST
             LIMIT 1);
END $$;

INSERT INTO model_configs (team_id, name, provider, is_default)
VALUES (NULL, 'Built-in planner', 'builtin', true);
