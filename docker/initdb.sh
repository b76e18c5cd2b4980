#!/usr/bin/env bash
# Runs once, when the official image initialises an empty data directory: creates Quarry's
# database, the extension, the sidecar's login role and (with QUARRY_DEMO=1) the demo data.
set -euo pipefail
: "${QUARRY_SIDECAR_PASSWORD:?set QUARRY_SIDECAR_PASSWORD: the sidecar logs in to PostgreSQL with it}"
psql=(psql -v ON_ERROR_STOP=1 -X -q --username "$POSTGRES_USER")

"${psql[@]}" --dbname postgres -v role="$QUARRY_SIDECAR_ROLE" -v password="$QUARRY_SIDECAR_PASSWORD" -v db="$QUARRY_DB" <<'SQL'
SELECT format('CREATE ROLE %I LOGIN NOINHERIT PASSWORD %L', :'role', :'password') \gexec
SELECT format('CREATE DATABASE %I', :'db') WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = :'db') \gexec
SQL
"${psql[@]}" --dbname "$QUARRY_DB" -c "CREATE EXTENSION IF NOT EXISTS quarry"

if [ "${QUARRY_DEMO:-0}" = 1 ]; then
  : "${QUARRY_DEMO_PASSWORD:?set QUARRY_DEMO_PASSWORD for the demo accounts}"
  "${psql[@]}" --dbname "$QUARRY_DB" -f /usr/share/quarry/demo/retail.sql >/dev/null
  "${psql[@]}" --dbname "$QUARRY_DB" -v demo_password="$QUARRY_DEMO_PASSWORD" \
    -v emea_password="${QUARRY_EMEA_PASSWORD:-$QUARRY_DEMO_PASSWORD}" -f /usr/share/quarry/demo/quarry.sql >/dev/null
fi
echo "SELECT quarry.grant_service(:'role')" | "${psql[@]}" --dbname "$QUARRY_DB" -v role="$QUARRY_SIDECAR_ROLE" >/dev/null
