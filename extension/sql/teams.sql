-- Teams (workspaces) and their members.

CREATE FUNCTION _team(team_id bigint) RETURNS quarry.teams
LANGUAGE plpgsql STABLE AS $$
DECLARE
    v quarry.teams;
BEGIN
    PERFORM quarry._require(team_id, 'team_id');
    SELECT * INTO v FROM quarry.teams t WHERE t.id = _team.team_id;
    IF v.id IS NULL THEN
        RAISE EXCEPTION 'team % does not exist', team_id USING ERRCODE = 'undefined_object';
    END IF;
    RETURN v;
END $$;

-- The team with this name; raises undefined_object when there is none.
CREATE FUNCTION team_id(name text) RETURNS bigint
LANGUAGE plpgsql STABLE AS $$
DECLARE
    v_id bigint;
BEGIN
    SELECT t.id INTO v_id FROM quarry.teams t WHERE t.name = btrim(quarry._require(team_id.name, 'name'));
    IF v_id IS NULL THEN
        RAISE EXCEPTION 'no team named %', quote_literal(name) USING ERRCODE = 'undefined_object';
    END IF;
    RETURN v_id;
END $$;

-- Creates a team; the given account (if any) becomes its owner.
CREATE FUNCTION create_team(name text, owner_id bigint DEFAULT NULL) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    v_name text := quarry._text_arg(name, 'name', 1, 200);
    v_id bigint;
BEGIN
    IF owner_id IS NOT NULL THEN
        PERFORM quarry._account(owner_id);
    END IF;
    IF EXISTS (SELECT 1 FROM quarry.teams t WHERE t.name = v_name) THEN
        RAISE EXCEPTION 'a team named % already exists', quote_literal(v_name) USING ERRCODE = 'unique_violation';
    END IF;
    INSERT INTO quarry.teams (name) VALUES (v_name) RETURNING id INTO v_id;
    IF owner_id IS NOT NULL THEN
        INSERT INTO quarry.team_members (team_id, account_id, role) VALUES (v_id, owner_id, 'owner');
    END IF;
    RETURN v_id;
END $$;

CREATE FUNCTION rename_team(team_id bigint, name text) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    v quarry.teams := quarry._team(team_id);
    v_name text := quarry._text_arg(name, 'name', 1, 200);
BEGIN
    IF EXISTS (SELECT 1 FROM quarry.teams t WHERE t.name = v_name AND t.id <> v.id) THEN
        RAISE EXCEPTION 'a team named % already exists', quote_literal(v_name) USING ERRCODE = 'unique_violation';
    END IF;
    UPDATE quarry.teams t SET name = v_name WHERE t.id = v.id;
END $$;

-- Adds an account to a team, or changes its role there.
CREATE FUNCTION add_team_member(team_id bigint, account_id bigint, role text DEFAULT 'member') RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    v_team quarry.teams := quarry._team(team_id);
    v_account quarry.accounts := quarry._account(account_id);
BEGIN
    IF role IS NULL OR role NOT IN ('owner', 'member') THEN
        RAISE EXCEPTION 'team role must be ''owner'' or ''member'', not %', coalesce(quote_literal(role), 'NULL')
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF role = 'member' THEN
        PERFORM quarry._keep_an_owner(v_team.id, v_account.id);
    END IF;
    INSERT INTO quarry.team_members AS m (team_id, account_id, role)
    VALUES (v_team.id, v_account.id, add_team_member.role)
    ON CONFLICT ON CONSTRAINT team_members_pkey DO UPDATE SET role = excluded.role;
END $$;

CREATE FUNCTION remove_team_member(team_id bigint, account_id bigint) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    v_team quarry.teams := quarry._team(team_id);
    v_account quarry.accounts := quarry._account(account_id);
BEGIN
    PERFORM quarry._keep_an_owner(v_team.id, v_account.id);
    DELETE FROM quarry.team_members m WHERE m.team_id = v_team.id AND m.account_id = v_account.id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'account % is not a member of team %', v_account.id, v_team.id
            USING ERRCODE = 'undefined_object';
    END IF;
END $$;

-- A team that has owners keeps at least one: refuses to demote or remove its last owner.
CREATE FUNCTION _keep_an_owner(team_id bigint, account_id bigint) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM 1 FROM quarry.team_members m WHERE m.team_id = _keep_an_owner.team_id FOR UPDATE;
    IF EXISTS (SELECT 1 FROM quarry.team_members m
                WHERE m.team_id = _keep_an_owner.team_id AND m.account_id = _keep_an_owner.account_id
                  AND m.role = 'owner')
       AND NOT EXISTS (SELECT 1 FROM quarry.team_members m
                        WHERE m.team_id = _keep_an_owner.team_id AND m.account_id <> _keep_an_owner.account_id
                          AND m.role = 'owner') THEN
        RAISE EXCEPTION 'account % is the last owner of team %', account_id, team_id
            USING ERRCODE = 'object_in_use', HINT = 'Make another member an owner first.';
    END IF;
END $$;

-- Raises insufficient_privilege unless the account is an enabled member of the team; returns its role.
CREATE FUNCTION _require_member(team_id bigint, account_id bigint) RETURNS text
LANGUAGE plpgsql STABLE AS $$
DECLARE
    v_role text;
    v_disabled boolean;
BEGIN
    PERFORM quarry._require(account_id, 'account_id');
    SELECT m.role, a.disabled INTO v_role, v_disabled
      FROM quarry.accounts a
      LEFT JOIN quarry.team_members m ON m.account_id = a.id AND m.team_id = _require_member.team_id
     WHERE a.id = _require_member.account_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'account % does not exist', account_id USING ERRCODE = 'undefined_object';
    ELSIF v_disabled THEN
        RAISE EXCEPTION 'account % is disabled', account_id USING ERRCODE = 'insufficient_privilege';
    ELSIF v_role IS NULL THEN
        RAISE EXCEPTION 'account % is not a member of team %', account_id, team_id
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN v_role;
END $$;

-- The teams an account belongs to, with its role in each.
CREATE FUNCTION account_teams(account_id bigint)
RETURNS TABLE (team_id bigint, name text, role text, members bigint, datasets bigint, created_at timestamptz)
LANGUAGE sql STABLE AS $$
    SELECT t.id, t.name, m.role,
           (SELECT count(*) FROM quarry.team_members x WHERE x.team_id = t.id),
           (SELECT count(*) FROM quarry.datasets d WHERE d.team_id = t.id),
           t.created_at
      FROM quarry.team_members m
      JOIN quarry.teams t ON t.id = m.team_id
     WHERE m.account_id = account_teams.account_id
     ORDER BY t.name
$$;
