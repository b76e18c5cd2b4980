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

# TLS for the cluster, made once and kept: a local certificate authority and a server certificate
# for 127.0.0.1, ::1 and localhost signed by it (in $QUARRY_TLS_DIR, the invoking user's), a copy
# of the server's pair the cluster's owner can read (in $PGHOME/tls, key mode 0600 as PostgreSQL
# requires), and ssl = on. Prints "changed" when the server must reload its configuration.
ensure_tls() {
  local dir="$QUARRY_TLS_DIR" changed=""
  mkdir -p "$dir"
  if [ ! -s "$dir/ca.crt" ] || [ ! -s "$dir/ca.key" ]; then
    say "making a local certificate authority for the private cluster's TLS in $dir"
    ( umask 077
      openssl req -x509 -new -nodes -newkey ec -pkeyopt ec_paramgen_curve:P-256 -days 3650 \
        -subj "/CN=Quarry local CA" -addext "basicConstraints=critical,CA:TRUE" \
        -addext "keyUsage=critical,keyCertSign,cRLSign" -keyout "$dir/ca.key" -out "$dir/ca.crt.tmp" 2>/dev/null )
    chmod 0644 "$dir/ca.crt.tmp"; mv "$dir/ca.crt.tmp" "$dir/ca.crt"
    rm -f "$dir/server.crt"
  fi
  if [ ! -s "$dir/server.crt" ] || ! openssl verify -CAfile "$dir/ca.crt" "$dir/server.crt" >/dev/null 2>&1 \
     || ! openssl x509 -in "$dir/server.crt" -noout -checkend 86400 >/dev/null; then
    say "making the private cluster's server certificate (localhost, 127.0.0.1, ::1)"
    ( umask 077
      openssl req -new -nodes -newkey ec -pkeyopt ec_paramgen_curve:P-256 -subj "/CN=localhost" \
        -keyout "$dir/server.key" -out "$dir/server.csr" 2>/dev/null
      printf 'subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1\nbasicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n' > "$dir/server.ext"
      openssl x509 -req -in "$dir/server.csr" -CA "$dir/ca.crt" -CAkey "$dir/ca.key" -CAcreateserial -days 825 \
        -extfile "$dir/server.ext" -out "$dir/server.crt" 2>/dev/null )
    chmod 0644 "$dir/server.crt"
    rm -f "$dir/server.csr" "$dir/server.ext"
  fi
  as_root install -d -o "$QUARRY_PG_USER" -m 0700 "$PGHOME/tls"
  if ! as_root cmp -s "$dir/server.crt" "$PGHOME/tls/server.crt"; then
    as_root install -o "$QUARRY_PG_USER" -m 0644 "$dir/server.crt" "$PGHOME/tls/server.crt"
    as_root install -o "$QUARRY_PG_USER" -m 0600 "$dir/server.key" "$PGHOME/tls/server.key"
    changed=1
  fi
  if ! as_pg grep -q '^# Quarry TLS' "$PGDATA/postgresql.conf"; then
    as_pg sh -c "cat >> '$PGDATA/postgresql.conf'" <<CONF

# Quarry TLS (the local CA is $dir/ca.crt)
ssl = on
ssl_cert_file = '$PGHOME/tls/server.crt'
ssl_key_file = '$PGHOME/tls/server.key'
CONF
    changed=1
  fi
  # Streaming replicas of this cluster (the replica test) copy it over the local socket.
  if ! as_pg grep -q '^local *replication' "$PGDATA/pg_hba.conf"; then
    as_pg sh -c "echo 'local   replication  all          peer map=quarry' >> '$PGDATA/pg_hba.conf'"
    changed=1
  fi
  [ -z "$changed" ] || echo changed
}

start_cluster() {
  prepare_home
  init_cluster
  local tls; tls="$(ensure_tls)"
  if is_running; then
    if [ -n "$tls" ]; then
      say "reloading PostgreSQL's configuration (TLS)"
      as_pg "$PG_BIN/pg_ctl" -D "$PGDATA" reload >/dev/null
    fi
    return
  fi
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
