-- Dashboards belong to a team; every member may see them, add pins and remove pins. A pin keeps
-- a question with the SQL that answers it, its analysis and its chart, and can be re-run under
-- whoever looks at it. The analysis and the chart hold data computed under the pinning account's
-- role, so they are shown only to accounts mapped to that same role; anyone else gets the pin
-- without them (and the sidecar runs it again under their own role).

CREATE FUNCTION _dashboard_for(account_id bigint, dashboard_id bigint) RETURNS quarry.dashboards
LANGUAGE plpgsql STABLE AS $$
DECLARE
    v quarry.dashboards;
BEGIN
    PERFORM quarry._require(dashboard_id, 'dashboard_id');
    SELECT d.* INTO v FROM quarry.dashboards d
      JOIN quarry.team_members m ON m.team_id = d.team_id AND m.account_id = _dashboard_for.account_id
     WHERE d.id = _dashboard_for.dashboard_id;
    IF v.id IS NULL THEN
        PERFORM quarry._account(account_id);
        RAISE EXCEPTION 'dashboard % does not exist', dashboard_id USING ERRCODE = 'undefined_object';
    END IF;
    PERFORM quarry._require_member(v.team_id, account_id);
    RETURN v;
END $$;

CREATE FUNCTION _color(color text) RETURNS text
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    v text := lower(btrim(color));
BEGIN
    IF v !~ '^#[0-9a-f]{6}$' THEN
        RAISE EXCEPTION 'color must look like #4f46e5, not %', quote_literal(left(color, 20))
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    RETURN v;
END $$;

-- Creates a dashboard for a team the account belongs to.
CREATE FUNCTION create_dashboard(account_id bigint, team_id bigint, name text, label text DEFAULT '',
                                 color text DEFAULT '#4f46e5') RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    v_name text := quarry._text_arg(name, 'name', 1, 200);
    v_id bigint;
BEGIN
    PERFORM quarry._team(team_id);
    PERFORM quarry._require_member(team_id, account_id);
    IF EXISTS (SELECT 1 FROM quarry.dashboards d WHERE d.team_id = create_dashboard.team_id AND d.name = v_name) THEN
        RAISE EXCEPTION 'team % already has a dashboard named %', team_id, quote_literal(v_name) USING ERRCODE = 'unique_violation';
    END IF;
    INSERT INTO quarry.dashboards AS d (team_id, name, label, color, created_by)
    VALUES (create_dashboard.team_id, v_name, quarry._text_arg(coalesce(label, ''), 'label', 0, 200),
            quarry._color(coalesce(color, '#4f46e5')), account_id)
    RETURNING id INTO v_id;
    RETURN v_id;
END $$;

-- The dashboards of the account's teams (or of one of them), with how many pins each has.
CREATE FUNCTION list_dashboards(account_id bigint, team_id bigint DEFAULT NULL) RETURNS jsonb
LANGUAGE plpgsql STABLE AS $$
BEGIN
    PERFORM quarry._account(account_id);
    IF list_dashboards.team_id IS NOT NULL THEN
        PERFORM quarry._team(list_dashboards.team_id);
        PERFORM quarry._require_member(list_dashboards.team_id, account_id);
    END IF;
    RETURN jsonb_build_object('dashboards', coalesce((
        SELECT jsonb_agg(jsonb_build_object(
                   'id', d.id, 'name', d.name, 'label', d.label, 'color', d.color,
                   'team', jsonb_build_object('id', t.id, 'name', t.name),
                   'pins', (SELECT count(*) FROM quarry.pins p WHERE p.dashboard_id = d.id),
                   'created_at', d.created_at, 'updated_at', d.updated_at) ORDER BY t.name, d.name)
          FROM quarry.dashboards d
          JOIN quarry.teams t ON t.id = d.team_id
          JOIN quarry.team_members m ON m.team_id = d.team_id AND m.account_id = list_dashboards.account_id
         WHERE list_dashboards.team_id IS NULL OR d.team_id = list_dashboards.team_id), '[]'));
END $$;

-- A dashboard's pins in order: question, SQL, position, and the stored analysis and chart
-- configuration when they were computed under the viewing account's role (computed_for_you);
-- otherwise those two are empty.
CREATE FUNCTION dashboard_pins(account_id bigint, dashboard_id bigint) RETURNS jsonb
LANGUAGE plpgsql STABLE AS $$
DECLARE
    v quarry.dashboards := quarry._dashboard_for(account_id, dashboard_id);
    v_role name := (SELECT a.db_role FROM quarry.accounts a WHERE a.id = dashboard_pins.account_id);
BEGIN
    RETURN jsonb_build_object(
        'dashboard', jsonb_build_object('id', v.id, 'name', v.name, 'label', v.label, 'color', v.color, 'team_id', v.team_id),
        'pins', coalesce((
            SELECT jsonb_agg(jsonb_build_object(
                       'id', p.id, 'position', p.position, 'question', p.question,
                       'analysis', CASE WHEN mine THEN p.analysis ELSE '' END,
                       'sql', p.sql, 'chart', CASE WHEN mine THEN p.chart ELSE '{}' END,
                       'computed_for_you', mine,
                       'dataset', jsonb_build_object('id', s.id, 'name', s.name),
                       'conversation_id', p.conversation_id, 'created_at', p.created_at) ORDER BY p.position, p.id)
              FROM quarry.pins p JOIN quarry.datasets s ON s.id = p.dataset_id
             CROSS JOIN LATERAL (SELECT coalesce(p.computed_as = v_role, false) AS mine) m
             WHERE p.dashboard_id = v.id), '[]'));
END $$;

-- Pins a question with its SQL (and analysis and chart) to a dashboard; the dataset must be one
-- of the dashboard's team. At the end unless a position is given.
CREATE FUNCTION pin(account_id bigint, dashboard_id bigint, dataset_id bigint, question text, sql text,
                    analysis text DEFAULT '', chart jsonb DEFAULT '{}', at_position integer DEFAULT NULL,
                    conversation_id bigint DEFAULT NULL) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    v quarry.dashboards := quarry._dashboard_for(account_id, dashboard_id);
    v_dataset quarry.datasets := quarry._dataset_for(dataset_id, account_id);
    v_sql text := quarry._text_arg(sql, 'sql', 1, 100000);
    v_position integer := at_position;
    v_id bigint;
BEGIN
    IF v_dataset.team_id <> v.team_id THEN
        RAISE EXCEPTION 'dataset % belongs to another team than dashboard %', v_dataset.id, v.id
            USING ERRCODE = 'invalid_parameter_value';
    ELSIF chart IS NULL OR jsonb_typeof(chart) <> 'object' THEN
        RAISE EXCEPTION 'chart must be a JSON object' USING ERRCODE = 'invalid_parameter_value';
    ELSIF v_position < 0 THEN
        RAISE EXCEPTION 'position must be zero or more' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    PERFORM quarry._check_query(v_sql);
    -- Positions of one dashboard are handed out in order even when two pins arrive at once.
    PERFORM 1 FROM quarry.dashboards d WHERE d.id = v.id FOR UPDATE;
    IF v_position IS NULL THEN
        SELECT coalesce(max(p.position) + 1, 0) INTO v_position FROM quarry.pins p WHERE p.dashboard_id = v.id;
    END IF;
    INSERT INTO quarry.pins (dashboard_id, dataset_id, conversation_id, question, analysis, sql, chart, position, created_by,
                             computed_as)
    VALUES (v.id, v_dataset.id, conversation_id, quarry._text_arg(question, 'question', 1, 2000),
            coalesce(analysis, ''), v_sql, chart, v_position, account_id,
            (SELECT a.db_role FROM quarry.accounts a WHERE a.id = pin.account_id))
    RETURNING id INTO v_id;
    UPDATE quarry.dashboards d SET updated_at = now() WHERE d.id = v.id;
    RETURN v_id;
END $$;

-- Pins a conversation's latest answer: its last question with the SQL, analysis and chart that
-- followed it.
CREATE FUNCTION pin_conversation(account_id bigint, dashboard_id bigint, conversation_id bigint,
                                 at_position integer DEFAULT NULL) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    v quarry.conversations := quarry._conversation_for(account_id, conversation_id);
    v_question quarry.conversation_blocks;
    v_sql text;
    v_analysis text;
    v_chart jsonb;
BEGIN
    SELECT * INTO v_question FROM quarry.conversation_blocks b
     WHERE b.conversation_id = v.id AND b.kind = 'question' ORDER BY b.seq DESC LIMIT 1;
    SELECT b.content->>'sql' INTO v_sql FROM quarry.conversation_blocks b
     WHERE b.conversation_id = v.id AND b.kind = 'sql' AND b.seq > coalesce(v_question.seq, 0)
       AND EXISTS (SELECT 1 FROM quarry.conversation_blocks r
                    WHERE r.conversation_id = v.id AND r.kind = 'result' AND r.seq > b.seq)
     ORDER BY b.seq DESC LIMIT 1;
    IF v_question.seq IS NULL OR v_sql IS NULL THEN
        RAISE EXCEPTION 'conversation % has no answered question to pin yet', v.id USING ERRCODE = 'invalid_parameter_value';
    END IF;
    SELECT b.content->>'text' INTO v_analysis FROM quarry.conversation_blocks b
     WHERE b.conversation_id = v.id AND b.kind = 'analysis' AND b.seq > v_question.seq ORDER BY b.seq DESC LIMIT 1;
    SELECT b.content->'spec' INTO v_chart FROM quarry.conversation_blocks b
     WHERE b.conversation_id = v.id AND b.kind = 'chart' AND b.seq > v_question.seq ORDER BY b.seq DESC LIMIT 1;
    RETURN quarry.pin(account_id, dashboard_id, v.dataset_id, v_question.content->>'text', v_sql,
                      coalesce(v_analysis, ''), coalesce(v_chart, '{}'), at_position, v.id);
END $$;

CREATE FUNCTION unpin(account_id bigint, pin_id bigint) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    v_dashboard bigint;
BEGIN
    SELECT p.dashboard_id INTO v_dashboard FROM quarry.pins p WHERE p.id = quarry._require(pin_id, 'pin_id');
    IF v_dashboard IS NULL THEN
        RAISE EXCEPTION 'pin % does not exist', pin_id USING ERRCODE = 'undefined_object';
    END IF;
    BEGIN
        PERFORM quarry._dashboard_for(account_id, v_dashboard);
    EXCEPTION WHEN undefined_object THEN
        RAISE EXCEPTION 'pin % does not exist', pin_id USING ERRCODE = 'undefined_object';
    END;
    DELETE FROM quarry.pins p WHERE p.id = pin_id;
    UPDATE quarry.dashboards d SET updated_at = now() WHERE d.id = v_dashboard;
END $$;
