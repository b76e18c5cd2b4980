#!/usr/bin/env bash
# The private PostgreSQL cluster under .quarry/pg (the tests': .quarry/test/pg), run by an unprivileged user on its own port.
#   cluster.sh start    create it if needed, then start it if it is not running
#   cluster.sh stop     stop it (data is kept)
#   cluster.sh restart  a fast restart: connections are cut, data is kept
#   cluster.sh status   say whether it runs
#   cluster.sh psql …   psql into it as the superuser (extra arguments pass through)
source "$(dirname "$0")/common.sh"

PGHOME="$QUARRY_PG_HOME"
PGDATA="$PGHOME/data"
PGRUN="$PGHOME/run"

# The cluster's owner must reach its directory. Where the checkout sits somewhere it cannot
# enter (a private home directory, say), the cluster lives under /var/lib/quarry instead and
# .quarry/pg points there.
prepare_home() {
  mkdir -p "$QUARRY_STATE"
  if [ -e "$PGHOME" ]; then return; fi
  if as_pg test -x "$QUARRY_STATE" 2>/dev/null; then
    as_root install -d -o "$QUARRY_PG_USER" -m 0700 "$PGHOME"
  else
    local elsewhere
    elsewhere="/var/lib/quarry/$(printf '%s' "$PGHOME" | sha256sum | cut -c1-12)"
    as_root install -d -o "$QUARRY_PG_USER" -m 0700 "$elsewhere"
    mkdir -p "$(dirname "$PGHOME")"
    ln -s "$elsewhere" "$PGHOME"
  fi
}

is_running() {
  [ -f "$PGDATA/postmaster.pid" ] && as_pg "$PG_BIN/pg_ctl" -D "$PGDATA" status >/dev/null 2>&1
}

init_cluster() {
  [ -f "$PGDATA/PG_VERSION" ] && return
  say "creating a private PostgreSQL $PG_MAJOR cluster in $PGHOME (owner: $QUARRY_PG_USER, port $QUARRY_PG_PORT)"
  as_pg install -d -m 0700 "$PGDATA" "$PGRUN"
  # Local socket: peer authentication, with the invoking OS user mapped to the superuser.
  # TCP on loopback: passwords (SCRAM) only.
  as_pg "$PG_BIN/initdb" -D "$PGDATA" -U postgres -E UTF8 --locale=C.UTF-8 \
    --auth-local=peer --auth-host=scram-sha-256 >/dev/null
  local me; me="$(id -un)"
  as_pg sh -c "cat > '$PGDATA/pg_ident.conf'" <<IDENT
quarry  $QUARRY_PG_USER  postgres
quarry  root             postgres
quarry  $me              postgres
IDENT
  as_pg sh -c "cat > '$PGDATA/pg_hba.conf'" <<HBA
local   all  all                 peer map=quarry
host    all  all  127.0.0.1/32   scram-sha-256
host    all  all  ::1/128        scram-sha-256
HBA
  as_pg sh -c "cat >> '$PGDATA/postgresql.conf'" <<CONF

# Quarry's private cluster
listen_addresses = '127.0.0.1'
port = $QUARRY_PG_PORT
unix_socket_directories = '$PGRUN'
max_connections = 200
shared_buffers = 256MB
logging_collector = off
log_min_duration_statement = -1
CONF
}

start_cluster() {
  prepare_home
  init_cluster
  if is_running; then return; fi
  if (exec 3<>"/dev/tcp/127.0.0.1/$QUARRY_PG_PORT") 2>/dev/null; then
    die "port $QUARRY_PG_PORT is taken by another program; set QUARRY_PG_PORT to a free port"
  fi
  say "starting PostgreSQL on 127.0.0.1:$QUARRY_PG_PORT"
  # Without RUST_BACKTRACE: errors raised inside the extension must never carry a Rust backtrace.
  as_pg env -u RUST_BACKTRACE -u RUST_LIB_BACKTRACE "$PG_BIN/pg_ctl" -D "$PGDATA" -l "$PGHOME/postgresql.log" -w -t 60 start >/dev/null \
    || { tail -n 20 "$PGHOME/postgresql.log" >&2; die "PostgreSQL did not start"; }
}

case "${1:-}" in
  start) start_cluster ;;
  stop)
    if is_running; then say "stopping PostgreSQL"; as_pg "$PG_BIN/pg_ctl" -D "$PGDATA" -m fast -w stop >/dev/null; fi ;;
  restart)
    # A fast restart (the fault tests use it): sessions are cut, the data stays.
    is_running || die "PostgreSQL is not running"
    as_pg env -u RUST_BACKTRACE -u RUST_LIB_BACKTRACE "$PG_BIN/pg_ctl" -D "$PGDATA" -l "$PGHOME/postgresql.log" -m fast -w -t 60 restart >/dev/null \
      || { tail -n 20 "$PGHOME/postgresql.log" >&2; die "PostgreSQL did not restart"; } ;;
  status)
    if is_running; then echo "PostgreSQL is running on 127.0.0.1:$QUARRY_PG_PORT"; else echo "PostgreSQL is stopped"; exit 3; fi ;;
  psql) shift; exec "$PG_BIN/psql" -h "$PGRUN" -p "$QUARRY_PG_PORT" -U postgres -X "$@" ;;
  *) echo "usage: $0 start|stop|restart|status|psql [args]" >&2; exit 2 ;;
esac
