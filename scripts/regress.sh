#!/usr/bin/env bash
# Runs the SQL API regression suite (extension/tests/pg_regress) with pg_regress against the private
# cluster and the installed extension, in a database created fresh for the run.
#   regress.sh           run; fail on any difference from expected/
#   regress.sh --bless   run, then accept the results as the new expected output (review the diff!)
source "$(dirname "$0")/common.sh"

SUITE="$QUARRY_ROOT/extension/tests/pg_regress"
PGRUN="$QUARRY_PG_RUN"
DB=quarry_regress
PG_REGRESS="$(dirname "$("$PG_CONFIG" --pgxs)")/../test/regress/pg_regress"
[ -x "$PG_REGRESS" ] || die "pg_regress not found at $PG_REGRESS (is postgresql-server-dev-$PG_MAJOR installed?)"

# Every test file must be in the schedule, and every scheduled test must have expected output:
# a test that silently does not run would be counted as passing.
for f in "$SUITE"/sql/*.sql; do
  name="$(basename "$f" .sql)"
  grep -qx "test: $name" "$SUITE/schedule" || die "$name.sql is not in $SUITE/schedule"
  [ "${1:-}" = --bless ] || [ -f "$SUITE/expected/$name.out" ] || die "$name has no expected output (run $0 --bless and review it)"
done

psql_admin() {
  PGOPTIONS="-c client_min_messages=warning" \
    "$PG_BIN/psql" -h "$PGRUN" -p "$QUARRY_PG_PORT" -U postgres -X -q -v ON_ERROR_STOP=1 "$@"
}
psql_admin -d postgres -c "DROP DATABASE IF EXISTS $DB" -c "CREATE DATABASE $DB"

rm -rf "$SUITE/results"
if [ "${1:-}" = --bless ]; then
  for f in "$SUITE"/sql/*.sql; do touch "$SUITE/expected/$(basename "$f" .sql).out"; done
fi
status=0
"$PG_REGRESS" --use-existing --host="$PGRUN" --port="$QUARRY_PG_PORT" --user=postgres --dbname="$DB" \
  --inputdir="$SUITE" --outputdir="$SUITE" --schedule="$SUITE/schedule" || status=$?

if [ "${1:-}" = --bless ]; then
  cp "$SUITE"/results/*.out "$SUITE/expected/"
  say "expected output updated from this run; review it with git diff"
  exit 0
fi
if [ "$status" != 0 ] && [ -f "$SUITE/regression.diffs" ]; then
  cat "$SUITE/regression.diffs" >&2
fi
exit "$status"
