#!/usr/bin/env bash
# A streaming replica of the private cluster (a hot standby), for the test of sidecars that run
# questions on a replica: copied with pg_basebackup -R over the local socket, run by the same
# unprivileged user on its own port (QUARRY_REPLICA_PORT, default 54333), data in the cluster's directory (replica/).
#   replica.sh start   make it afresh from the running primary and start it
#   replica.sh stop    stop it (data is kept)
source "$(dirname "$0")/common.sh"

PGHOME="$QUARRY_PG_HOME"
PGRUN="$QUARRY_PG_RUN"
RDATA="$PGHOME/replica"
QUARRY_REPLICA_PORT="${QUARRY_REPLICA_PORT:-54333}"

is_running() {
  [ -f "$RDATA/postmaster.pid" ] && as_pg "$PG_BIN/pg_ctl" -D "$RDATA" status >/dev/null 2>&1
}

stop_replica() {
  if is_running; then as_pg "$PG_BIN/pg_ctl" -D "$RDATA" -m fast -w stop >/dev/null; fi
}

case "${1:-}" in
  start)
    stop_replica
    if (exec 3<>"/dev/tcp/127.0.0.1/$QUARRY_REPLICA_PORT") 2>/dev/null; then
      die "port $QUARRY_REPLICA_PORT is taken by another program; set QUARRY_REPLICA_PORT to a free port"
    fi
    say "copying the private cluster into a streaming replica on 127.0.0.1:$QUARRY_REPLICA_PORT"
    as_pg rm -rf "$RDATA"
    # -R writes primary_conninfo (the local socket, as the cluster's owner) and standby.signal.
    as_pg "$PG_BIN/pg_basebackup" -h "$PGRUN" -p "$QUARRY_PG_PORT" -U postgres -D "$RDATA" -R -X stream -c fast
    as_pg sh -c "printf 'port = %s\nhot_standby = on\n' '$QUARRY_REPLICA_PORT' >> '$RDATA/postgresql.auto.conf'"
    as_pg env -u RUST_BACKTRACE -u RUST_LIB_BACKTRACE "$PG_BIN/pg_ctl" -D "$RDATA" -l "$PGHOME/replica.log" -w -t 60 start >/dev/null \
      || { tail -n 20 "$PGHOME/replica.log" >&2; die "the replica did not start"; }
    ;;
  stop) stop_replica ;;
  *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
