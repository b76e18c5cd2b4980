#!/usr/bin/env bash
# Benchmark: a question answered through a source (postgres_fdw, mysql_fdw), through Quarry's
# executor (quarry.execute_as: the guard, the account's role, read-only), beside the same SQL run
# directly on the remote server, in the same run. Each client sends the query N times in one
# session (after one warm-up), so connection set-up is spread over N; printed: ms per query and
# the ratio to the direct run.
#   bench_sources.sh DB    DB: a database of the private cluster with the extension
source "$(dirname "$0")/common.sh"
DB="${1:?usage: bench_sources.sh DB}"
N="${QUARRY_BENCH_SOURCES_N:-50}"
QUARRY_REMOTE_PG_PORT="${QUARRY_REMOTE_PG_PORT:-54331}"
QUARRY_MARIADB_PORT="${QUARRY_MARIADB_PORT:-54332}"

bash "$QUARRY_ROOT/scripts/remotes.sh" start
# shellcheck disable=SC1091
source "$QUARRY_STATE/remotes.env"
PGRUN="$QUARRY_PG_RUN"
lpsql() { "$PG_BIN/psql" -h "$PGRUN" -p "$QUARRY_PG_PORT" -U postgres -X -q -v ON_ERROR_STOP=1 -d "$DB" "$@"; }

say "preparing sources bench_pg and bench_my in $DB"
lpsql -v pw="$QUARRY_REMOTE_ALL_PASSWORD" -v pgport="$QUARRY_REMOTE_PG_PORT" -v myport="$QUARRY_MARIADB_PORT" <<'SQL' >/dev/null
SELECT quarry.drop_source(s.name) FROM quarry.sources() s WHERE s.name IN ('bench_pg', 'bench_my');
SELECT 'CREATE ROLE bench_sources_reader NOLOGIN' WHERE to_regrole('bench_sources_reader') IS NULL \gexec
SELECT quarry.create_source('bench_pg', 'postgres', '127.0.0.1', :'pgport', 'shop', 'shop_all', :'pw', 'retail');
SELECT quarry.create_source('bench_my', 'mysql', '127.0.0.1', :'myport', 'shop', 'shop_all', :'pw');
SELECT quarry.map_source_role('bench_pg', 'bench_sources_reader', 'shop_all', :'pw');
SELECT quarry.map_source_role('bench_my', 'bench_sources_reader', 'shop_all', :'pw');
SELECT quarry.create_account('bench-sources@quarry.local', 'bench sources password', 'Bench', 'bench_sources_reader')
 WHERE NOT EXISTS (SELECT 1 FROM quarry.accounts WHERE email = 'bench-sources@quarry.local');
SQL
ACCOUNT="$(lpsql -Atc "SELECT quarry.account_id('bench-sources@quarry.local')")"

QUESTION='SELECT r.name AS region, count(*) AS orders, sum(o.total_amount) AS amount FROM %s.orders o JOIN %s.regions r ON r.id = o.region_id GROUP BY r.name ORDER BY r.name'
# shellcheck disable=SC2059
sql_for() { printf "$QUESTION" "$1" "$1"; }

repeat() {   # repeat N+1 STATEMENT: the statement N+1 times, one a line
  local i; for i in $(seq 0 "$N"); do printf '%s\n' "$1"; done
}

# Wall-clock milliseconds per query of: a client command reading statements on stdin.
per_query() {
  local input="$1"; shift
  local start end
  start=$(date +%s%N)
  printf '%s' "$input" | "$@" >/dev/null
  end=$(date +%s%N)
  awk -v t=$(( (end - start) / 1000 )) -v n=$((N + 1)) 'BEGIN { printf "%.2f", t / n / 1000 }'
}

through_quarry() {   # the question over a source's schema, through quarry.execute_as
  local sql; sql="$(sql_for "$1")"
  repeat "BEGIN READ ONLY; SELECT quarry.execute_as($ACCOUNT, \$q\$$sql\$q\$, 1000, 10485760); ROLLBACK;"
}

pg_fdw_ms=$(per_query "$(through_quarry bench_pg)" lpsql)
my_fdw_ms=$(per_query "$(through_quarry bench_my)" lpsql)
pg_direct_ms=$(per_query "$(repeat "$(sql_for retail);")" \
  env PGPASSWORD="$QUARRY_REMOTE_ALL_PASSWORD" "$PG_BIN/psql" -h 127.0.0.1 -p "$QUARRY_REMOTE_PG_PORT" -U shop_all -X -q -v ON_ERROR_STOP=1 -d shop)
my_direct_ms=$(per_query "$(repeat "$(sql_for shop);")" \
  env MYSQL_PWD="$QUARRY_REMOTE_ALL_PASSWORD" mariadb --no-defaults -h 127.0.0.1 -P "$QUARRY_MARIADB_PORT" -u shop_all shop)

# The same answer both ways (the first row), or the figures mean nothing.
first_row() {
  printf 'BEGIN READ ONLY;\nSELECT quarry.execute_as(%s, $q$%s$q$, 1000, 10485760) -> $r$rows$r$ -> 0;\nROLLBACK;\n' "$ACCOUNT" "$(sql_for "$1")" | lpsql -At
}
check_pg="$(first_row bench_pg)"
check_my="$(first_row bench_my)"
direct_pg="$(env PGPASSWORD="$QUARRY_REMOTE_ALL_PASSWORD" "$PG_BIN/psql" -h 127.0.0.1 -p "$QUARRY_REMOTE_PG_PORT" -U shop_all -X -At -F, -d shop -c "$(sql_for retail) LIMIT 1")"

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1fx", a / b }'; }
echo
echo "Question: orders and amount by region (120,000 orders, 4 regions), $N runs each, ms per query"
printf '%-58s %10s %10s\n' "" "ms/query" "ratio"
printf '%-58s %10s %10s\n' "PostgreSQL direct (psql to the remote)" "$pg_direct_ms" "1.0x"
printf '%-58s %10s %10s\n' "through Quarry over postgres_fdw (quarry.execute_as)" "$pg_fdw_ms" "$(ratio "$pg_fdw_ms" "$pg_direct_ms")"
printf '%-58s %10s %10s\n' "MariaDB direct (mariadb client to the remote)" "$my_direct_ms" "1.0x"
printf '%-58s %10s %10s\n' "through Quarry over mysql_fdw (quarry.execute_as)" "$my_fdw_ms" "$(ratio "$my_fdw_ms" "$my_direct_ms")"
echo "first row directly:          $direct_pg"
echo "first row over postgres_fdw: $check_pg"
echo "first row over mysql_fdw:    $check_my"
