-- Teams and membership.

SELECT quarry.create_team('Analytics', 1) AS analytics;
SELECT quarry.create_team('Finance') AS finance;
SELECT quarry.add_team_member(1, 2);
SELECT quarry.add_team_member(2, 2, 'owner');
SELECT team_id, account_id, role FROM quarry.team_members ORDER BY team_id, account_id;
SELECT team_id, name, role, members FROM quarry.account_teams(2);
SELECT quarry.team_id('Finance');

SELECT regress.try($$SELECT quarry.create_team('Analytics')$$);
SELECT regress.try($$SELECT quarry.create_team('')$$);
SELECT regress.try($$SELECT quarry.create_team('Orphans', 999)$$);
SELECT regress.try($$SELECT quarry.team_id('Nope')$$);
SELECT regress.try($$SELECT quarry.add_team_member(1, 2, 'admin')$$);
SELECT regress.try($$SELECT quarry.add_team_member(99, 2)$$);
SELECT regress.try($$SELECT quarry.add_team_member(1, 99)$$);
SELECT regress.try($$SELECT quarry.rename_team(2, 'Analytics')$$);
-- A team keeps an owner: its last owner can be neither removed nor demoted.
SELECT regress.try($$SELECT quarry.remove_team_member(1, 1)$$);
SELECT regress.try($$SELECT quarry.add_team_member(1, 1, 'member')$$);
SELECT quarry.add_team_member(1, 2, 'owner');
SELECT quarry.add_team_member(1, 1, 'member');
SELECT quarry.add_team_member(1, 1, 'owner');
SELECT regress.try($$SELECT quarry.remove_team_member(2, 1)$$);
SELECT quarry.rename_team(2, 'Finance & Ops');
SELECT id, name FROM quarry.teams ORDER BY id;
