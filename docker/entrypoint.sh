#!/usr/bin/env bash
# Starts the sidecar once PostgreSQL accepts connections, then hands over to the official
# PostgreSQL entrypoint (which stays the main process and receives docker stop's signal).
set -euo pipefail
if [ "${1:-}" = postgres ]; then
  : "${QUARRY_SIDECAR_PASSWORD:?set QUARRY_SIDECAR_PASSWORD}"
  export DATABASE_URL="${DATABASE_URL:-postgres://$QUARRY_SIDECAR_ROLE:$QUARRY_SIDECAR_PASSWORD@127.0.0.1:5432/$QUARRY_DB}"
  (
    until pg_isready -h 127.0.0.1 -p 5432 -q && psql -h /var/run/postgresql -U "${POSTGRES_USER:-postgres}" -d "$QUARRY_DB" -Atqc 'SELECT quarry.version()' >/dev/null 2>&1; do
      sleep 1
    done
    # The sidecar needs no privileges on this machine: drop root if we have it.
    if [ "$(id -u)" = 0 ]; then exec gosu postgres quarry-sidecar; else exec quarry-sidecar; fi
  ) &
fi
exec docker-entrypoint.sh "$@"
