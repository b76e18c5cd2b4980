#!/usr/bin/env bash
# The first command: install what is missing, build and install the extension, start a private
# PostgreSQL with the demo data, start the sidecar, and say how to connect. Safe to run again.
source "$(dirname "$0")/common.sh"

bash "$QUARRY_ROOT/scripts/deps.sh"
mkdir -p "$QUARRY_STATE"

say "building and installing the quarry extension (release build; a few minutes the first time)"
( cd "$QUARRY_ROOT/extension" && cargo pgrx install --release --pg-config "$PG_CONFIG" $([ "$(id -u)" = 0 ] || echo --sudo) ) \
  > "$QUARRY_STATE/build.log" 2>&1 || { tail -n 30 "$QUARRY_STATE/build.log" >&2; die "building the extension failed (log: $QUARRY_STATE/build.log)"; }

bash "$QUARRY_ROOT/scripts/cluster.sh" start
bash "$QUARRY_ROOT/scripts/db.sh" "$QUARRY_DB" --demo

say "building the sidecar (release build)"
( cd "$QUARRY_ROOT" && cargo build --release -p quarry-sidecar ) >> "$QUARRY_STATE/build.log" 2>&1 \
  || { tail -n 30 "$QUARRY_STATE/build.log" >&2; die "building the sidecar failed (log: $QUARRY_STATE/build.log)"; }
bash "$QUARRY_ROOT/scripts/sidecar.sh" start "$QUARRY_ROOT/target/release/quarry-sidecar"

load_secrets
URL="${QUARRY_PUBLIC_URL:-http://$QUARRY_BIND}"
cat <<BANNER

  Quarry is running.

    MCP server     $URL/mcp
    Health         $URL/healthz
    Demo login     demo@quarry.local / $QUARRY_DEMO_PASSWORD     (sees every region)
                   emea@quarry.local / $QUARRY_EMEA_PASSWORD     (sees only EMEA, no customer emails)
    Database       $PG_BIN/psql -h $QUARRY_PG_RUN -p $QUARRY_PG_PORT -U postgres $QUARRY_DB
                   (or: ./dev psql)

  Add the MCP server to your client, e.g. Claude Code:
    claude mcp add --transport http quarry $URL/mcp
  then ask, for example: "How many orders by region?" or "Top 5 products by quantity sold".
  Questions are answered by the built-in planner (offline, no key).

  Stop with ./dev stop; remove everything with ./dev wipe.

BANNER
