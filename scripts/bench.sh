#!/usr/bin/env bash
# Benchmarks. Each prints its figures beside a baseline measured in the same run.
#   catalog   quarry.catalog over 2,000 generated tables vs information_schema
source "$(dirname "$0")/common.sh"

bash "$QUARRY_ROOT/scripts/deps.sh"
bash "$QUARRY_ROOT/scripts/cluster.sh" start
cd "$QUARRY_ROOT"
say "installing the extension (release build)"
( cd extension && cargo pgrx install --release --pg-config "$PG_CONFIG" $([ "$(id -u)" = 0 ] || echo --sudo) ) >/dev/null

BENCH_DB=quarry_bench
bash scripts/db.sh "$BENCH_DB" --fresh
load_secrets
export QUARRY_BENCH_ADMIN="host=$QUARRY_STATE/pg/run port=$QUARRY_PG_PORT user=postgres dbname=$BENCH_DB"
export QUARRY_BENCH_DATABASE_URL="$(sidecar_database_url "$BENCH_DB")"

say "benchmark: catalog listing"
cargo bench -p quarry-e2e --bench catalog
