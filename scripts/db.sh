#!/usr/bin/env bash
# Prepares one database in the private cluster: the sidecar's login role, the database, the
# extension (created or updated in place), optionally the demo data, and the sidecar's grants.
#   db.sh NAME [--demo] [--fresh]
#     --demo   load the retail demo (sql/demo) if it is not there yet
#     --fresh  drop the database first (tests)
source "$(dirname "$0")/common.sh"

DB="${1:?usage: db.sh NAME [--demo] [--fresh]}"; shift
DEMO=0; FRESH=0
for arg in "$@"; do
  case "$arg" in
    --demo) DEMO=1 ;;
    --fresh) FRESH=1 ;;
    *) die "unknown option $arg" ;;
  esac
done

load_secrets
PGRUN="$QUARRY_PG_RUN"
psql_admin() {
  PGOPTIONS="-c client_min_messages=warning" \
    "$PG_BIN/psql" -h "$PGRUN" -p "$QUARRY_PG_PORT" -U postgres -X -q -v ON_ERROR_STOP=1 "$@"
}

# The sidecar logs in with a password over TCP. NOINHERIT: it will be a member of the accounts'
# roles (to SET ROLE to them) and must not hold their privileges itself.
psql_admin -d postgres -v role="$QUARRY_SIDECAR_ROLE" -v password="$QUARRY_SIDECAR_PASSWORD" <<'SQL' >/dev/null
SELECT format('CREATE ROLE %I LOGIN NOINHERIT', :'role') WHERE to_regrole(:'role') IS NULL \gexec
SELECT format('ALTER ROLE %I LOGIN NOINHERIT NOSUPERUSER NOBYPASSRLS PASSWORD %L', :'role', :'password') \gexec
SQL

if [ "$FRESH" = 1 ]; then
  psql_admin -d postgres -c "DROP DATABASE IF EXISTS \"$DB\" WITH (FORCE)"
fi
if [ -z "$(psql_admin -d postgres -Atc "SELECT 1 FROM pg_database WHERE datname = '$DB'")" ]; then
  say "creating database $DB"
  psql_admin -d postgres -c "CREATE DATABASE \"$DB\""
fi

psql_admin -d "$DB" -c "CREATE EXTENSION IF NOT EXISTS quarry" -c "ALTER EXTENSION quarry UPDATE"

if [ "$DEMO" = 1 ] && [ -z "$(psql_admin -d "$DB" -Atc "SELECT 1 FROM pg_namespace WHERE nspname = 'retail'")" ]; then
  say "loading the demo data into $DB (120,000 orders; a few seconds)"
  psql_admin -d "$DB" -f "$QUARRY_ROOT/sql/demo/retail.sql" >/dev/null
  psql_admin -d "$DB" -v demo_password="$QUARRY_DEMO_PASSWORD" -v emea_password="$QUARRY_EMEA_PASSWORD" \
    -f "$QUARRY_ROOT/sql/demo/quarry.sql" >/dev/null
fi
if [ "$DEMO" = 1 ] && [ -z "$(psql_admin -d "$DB" -Atc "SELECT 1 FROM pg_namespace WHERE nspname = 'billing'")" ]; then
  say "loading the billing demo into $DB (4,000 customers, 30,000 invoices; a few seconds)"
  psql_admin -d "$DB" -f "$QUARRY_ROOT/sql/demo/billing.sql" >/dev/null
  psql_admin -d "$DB" -v demo_password="$QUARRY_DEMO_PASSWORD" -f "$QUARRY_ROOT/sql/demo/billing_quarry.sql" >/dev/null
fi

echo "SELECT quarry.grant_service(:'role')" | psql_admin -d "$DB" -v role="$QUARRY_SIDECAR_ROLE" >/dev/null
say "database $DB ready (extension $(psql_admin -d "$DB" -Atc 'SELECT quarry.version()'))"
