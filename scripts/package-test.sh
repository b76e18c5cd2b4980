#!/usr/bin/env bash
# The packages as a DBA installs them (README, "Installing on an existing PostgreSQL"), checked
# end to end by ./dev test:
#   1. ./dev package --debug builds both .deb files from this checkout;
#   2. dpkg -i installs the extension's package into the tests' private copy of the PostgreSQL
#      installation (QUARRY_PG_ROOT, never the system's: dpkg --root, with its own dpkg database)
#      and the sidecar's into an empty root of its own;
#   3. a fresh cluster from that installation gets a database with some data; the README's SQL
#      steps run on it exactly as the README writes them (taken from it);
#   4. the packaged sidecar starts with the packaged sidecar.env, edited as the README's step 4
#      says (systemd does not run here; the unit is checked with systemd-analyze verify);
#   5. an app registers, the README's account signs in and approves in headless Chromium, and a
#      question over MCP is answered from the data under the account's role.
# Needs the tests' environment (scripts/test.sh): QUARRY_PG_ROOT, QUARRY_E2E_NODE, QUARRY_E2E_CHROMIUM.
source "$(dirname "$0")/common.sh"

[ -n "$QUARRY_PG_ROOT" ] || die "QUARRY_PG_ROOT is not set: this test installs only into a private copy of PostgreSQL"
: "${QUARRY_E2E_NODE:?}" "${QUARRY_E2E_CHROMIUM:?}"
cd "$QUARRY_ROOT"
TARGET="${CARGO_TARGET_DIR:-$QUARRY_ROOT/target}"
WORK="$QUARRY_PG_HOME/package-test"            # owned by the cluster's user: the fresh cluster lives here
PORT="${QUARRY_PKG_PG_PORT:-$((QUARRY_PG_PORT + 1))}"
SIDE_ROOT="$TARGET/package-test/sidecar-root"
SHOTS="${QUARRY_E2E_SCREENSHOTS:-$TARGET/screenshots}/package"
PGDATA="$WORK/data"
sidecar_pid=""

cleanup() {
  [ -n "$sidecar_pid" ] && kill -TERM "$sidecar_pid" 2>/dev/null && wait "$sidecar_pid" 2>/dev/null
  [ -f "$PGDATA/postmaster.pid" ] && as_pg "$PG_BIN/pg_ctl" -D "$PGDATA" -m immediate -w stop >/dev/null 2>&1
  true
}
trap cleanup EXIT

say "package test 1/5: building the packages (debug)"
bash scripts/package.sh --debug
EXT_DEB="$(ls "$TARGET"/packages/postgresql-"$PG_MAJOR"-quarry_*.deb)"
SIDE_DEB="$(ls "$TARGET"/packages/quarry-sidecar_*.deb)"

say "package test 2/5: dpkg -i into $QUARRY_PG_ROOT and $SIDE_ROOT"
dpkg_into() {   # ROOT DEB: a real dpkg -i, with a dpkg database of that root's own
  mkdir -p "$1/var/lib/dpkg/updates" "$1/var/lib/dpkg/info"
  touch "$1/var/lib/dpkg/status"
  # The dependencies (postgresql-N, libc6) are the system's, which that database does not list.
  dpkg --root="$1" --force-depends -i "$2" >/dev/null 2>&1 || dpkg --root="$1" --force-depends -i "$2"
}
rm -rf "$SIDE_ROOT"
dpkg_into "$QUARRY_PG_ROOT" "$EXT_DEB"
dpkg_into "$SIDE_ROOT" "$SIDE_DEB"
[ "$(dpkg --root="$QUARRY_PG_ROOT" -s "postgresql-$PG_MAJOR-quarry" | sed -n 's/^Status: //p')" = "install ok installed" ] \
  || die "dpkg does not list postgresql-$PG_MAJOR-quarry as installed"
cmp "$SIDE_ROOT/usr/bin/quarry-sidecar" "$TARGET/debug/quarry-sidecar" >/dev/null \
  || die "the packaged sidecar is not the one just built"
# The unit as systemd reads it (its programs pointed into the test root).
sed -e "s|/usr/bin/quarry-sidecar|$SIDE_ROOT/usr/bin/quarry-sidecar|" -e "s|/etc/quarry/|$SIDE_ROOT/etc/quarry/|" \
  "$SIDE_ROOT/lib/systemd/system/quarry-sidecar.service" > "$TARGET/package-test/quarry-sidecar.service"
if command -v systemd-analyze >/dev/null; then
  out="$(systemd-analyze verify "$TARGET/package-test/quarry-sidecar.service" 2>&1)" || die "systemd-analyze: $out"
  [ -z "$out" ] || die "systemd-analyze verify found problems in the unit: $out"
fi

say "package test 3/5: a fresh cluster on port $PORT, the README's SQL steps"
as_pg rm -rf "$WORK"
as_pg install -d -m 0700 "$WORK" "$WORK/run"
as_pg "$PG_BIN/initdb" -D "$PGDATA" -U postgres -E UTF8 --locale=C.UTF-8 \
  --auth-local=trust --auth-host=scram-sha-256 >/dev/null
as_pg env -u RUST_BACKTRACE "$PG_BIN/pg_ctl" -D "$PGDATA" -l "$WORK/postgresql.log" -w -t 60 \
  -o "-p $PORT -k $WORK/run -c listen_addresses=127.0.0.1" start >/dev/null
psql_pkg() { "$PG_BIN/psql" -h "$WORK/run" -p "$PORT" -U postgres -X -q -v ON_ERROR_STOP=1 "$@"; }
# The data the DBA already has.
psql_pkg -d postgres -c "CREATE DATABASE quarry_db"
psql_pkg -d quarry_db <<'SQL'
CREATE SCHEMA sales;
CREATE TABLE sales.orders (id bigint PRIMARY KEY, ordered_at date NOT NULL, amount numeric NOT NULL);
INSERT INTO sales.orders SELECT g, date '2025-01-01' + g % 365, g % 97 FROM generate_series(1, 1234) g;
SQL
# The section's sql blocks, in order, as written (the list's indentation aside).
readme_blocks() {   # LANG: the fenced blocks of that language in the section, one after another
  awk -v lang="$1" '
    /^## Installing on an existing PostgreSQL/ { on = 1; next }
    on && /^## / { exit }
    on && $0 ~ "^ *```" lang "$" { block = 1; next }
    on && block && /^ *```$/ { block = 0; print ""; next }
    on && block { sub(/^   /, ""); print }
  ' README.md
}
sql="$(readme_blocks sql)"
[ "$(grep -c 'CREATE EXTENSION quarry' <<<"$sql")" = 1 ] && grep -q 'grant_service' <<<"$sql" \
  || die "the README's section has lost its SQL steps"
psql_pkg -d quarry_db <<<"$sql" >/dev/null

say "package test 4/5: the packaged sidecar with the packaged sidecar.env"
ENV_FILE="$SIDE_ROOT/etc/quarry/sidecar.env"
bind_port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
# Step 4's lines, with this cluster's address for the README's example host and a free port.
readme_env="$(readme_blocks sh | grep -E '^(DATABASE_URL|QUARRY_BIND|QUARRY_PUBLIC_URL)=' | sed 's/ *#.*$//')"
database_url="$(sed -n 's/^DATABASE_URL=//p' <<<"$readme_env" | sed "s|@[^/]*/|@127.0.0.1:$PORT/|")"
[[ "$database_url" == postgres://quarry_sidecar:*@127.0.0.1:$PORT/quarry_db ]] \
  || die "the README's DATABASE_URL is not what this test expects: $database_url"
sed -i -e "s|^DATABASE_URL=.*|DATABASE_URL=$database_url|" \
       -e "s|^QUARRY_BIND=.*|QUARRY_BIND=127.0.0.1:$bind_port|" \
       -e "s|^#\?QUARRY_PUBLIC_URL=.*|QUARRY_PUBLIC_URL=http://127.0.0.1:$bind_port|" "$ENV_FILE"
( set -a; source "$ENV_FILE"; set +a
  exec "$SIDE_ROOT/usr/bin/quarry-sidecar" ) >"$TARGET/package-test/sidecar.log" 2>&1 &
sidecar_pid=$!
healthy=""
for _ in $(seq 1 150); do
  if curl -fsS "http://127.0.0.1:$bind_port/healthz" >/dev/null 2>&1; then healthy=1; break; fi
  kill -0 "$sidecar_pid" 2>/dev/null || break
  sleep 0.2
done
[ -n "$healthy" ] || { tail -n 20 "$TARGET/package-test/sidecar.log" >&2; die "the packaged sidecar did not become healthy"; }

say "package test 5/5: sign in, approve, ask"
email="$(grep -o "create_account('[^']*', '[^']*'" <<<"$sql" | head -n 1 | cut -d"'" -f2)"
password="$(grep -o "create_account('[^']*', '[^']*'" <<<"$sql" | head -n 1 | cut -d"'" -f4)"
answer="$(python3 tests/clients/package_flow.py "http://127.0.0.1:$bind_port" "$email" "$password" \
  "$(psql_pkg -d quarry_db -Atc "SELECT id FROM quarry.datasets WHERE name = 'Sales'")" \
  "How many orders are there?" "$QUARRY_E2E_NODE" "$QUARRY_E2E_CHROMIUM" "$SHOTS")"
rows="$(python3 -c 'import json,sys; a=json.load(sys.stdin); print(a["status"], json.dumps(a["result"]["rows"]))' <<<"$answer")"
[ "$rows" = "answered [[1234]]" ] || die "the question was not answered from the data: $answer"
# It ran under the mapped role, and the audit log has the call.
[ "$(psql_pkg -d quarry_db -Atc "SELECT count(*) FROM quarry.audit_log WHERE outcome = 'ok' AND action = 'run_query'")" -ge 1 ] \
  || die "no audit row for the question"
say "package test passed: installed with dpkg, README steps, OAuth in Chromium, a question answered (1234 orders)"
