#!/usr/bin/env bash
# Runs the demo sidecar in the background against the demo database.
#   sidecar.sh start BINARY   (re)start it and wait until /healthz answers
#   sidecar.sh stop
source "$(dirname "$0")/common.sh"

PIDFILE="$QUARRY_STATE/sidecar.pid"
LOG="$QUARRY_STATE/sidecar.log"

running_pid() {
  [ -f "$PIDFILE" ] || return 1
  local pid; pid="$(cat "$PIDFILE")"
  kill -0 "$pid" 2>/dev/null && echo "$pid"
}

stop() {
  local pid
  if pid="$(running_pid)"; then
    say "stopping the sidecar (pid $pid)"
    kill -TERM "$pid"
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$PIDFILE"
}

start() {
  local binary="$1"
  load_secrets
  stop
  say "starting the sidecar on $QUARRY_BIND (log: $LOG)"
  DATABASE_URL="$(sidecar_database_url "$QUARRY_DB")" \
  QUARRY_BIND="$QUARRY_BIND" \
  QUARRY_PUBLIC_URL="${QUARRY_PUBLIC_URL:-http://$QUARRY_BIND}" \
  QUARRY_LOG_FORMAT="${QUARRY_LOG_FORMAT:-json}" \
    setsid nohup "$binary" >>"$LOG" 2>&1 < /dev/null &
  echo $! > "$PIDFILE"
  for _ in $(seq 1 100); do
    if curl -fsS "http://$QUARRY_BIND/healthz" >/dev/null 2>&1; then return 0; fi
    if ! running_pid >/dev/null; then tail -n 20 "$LOG" >&2; die "the sidecar exited; see $LOG"; fi
    sleep 0.2
  done
  tail -n 20 "$LOG" >&2
  die "the sidecar did not become healthy within 20 seconds; see $LOG"
}

case "${1:-}" in
  start) start "${2:?binary}" ;;
  stop) stop ;;
  *) echo "usage: $0 start BINARY | stop" >&2; exit 2 ;;
esac
