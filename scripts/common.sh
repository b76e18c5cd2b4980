# Shared settings for Quarry's scripts. Sourced, never run.
# Every value can be overridden from the environment.
set -euo pipefail

QUARRY_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
QUARRY_STATE="${QUARRY_STATE:-$QUARRY_ROOT/.quarry}"
PGRX_VERSION="0.18.1"

# The PostgreSQL major version: the newest installed server unless told otherwise.
detect_pg_major() {
  if [ -n "${PG_MAJOR:-}" ]; then echo "$PG_MAJOR"; return; fi
  local newest
  newest=$(ls -1 /usr/lib/postgresql 2>/dev/null | grep -E '^[0-9]+$' | sort -n | tail -n 1 || true)
  echo "${newest:-15}"
}
PG_MAJOR="$(detect_pg_major)"
# Where PostgreSQL's programs and the extension's installed files live: the system's installation,
# unless QUARRY_PG_ROOT names a private copy of it. The tests use such a copy (scripts/test-root.sh)
# so that a test build of the extension never replaces the library a running demo has loaded.
QUARRY_PG_ROOT="${QUARRY_PG_ROOT:-}"
PG_BIN="$QUARRY_PG_ROOT/usr/lib/postgresql/$PG_MAJOR/bin"
PG_CONFIG="$PG_BIN/pg_config"
[ -x "$PG_CONFIG" ] || [ -n "$QUARRY_PG_ROOT" ] || PG_CONFIG="/usr/bin/pg_config"

# The private cluster: a port far from 5432 so it never meets a system PostgreSQL.
QUARRY_PG_PORT="${QUARRY_PG_PORT:-54329}"
QUARRY_PG_HOME="${QUARRY_PG_HOME:-$QUARRY_STATE/pg}"   # its data, socket directory and log
QUARRY_PG_RUN="$QUARRY_PG_HOME/run"                      # its Unix socket directory
QUARRY_PG_USER="${QUARRY_PG_USER:-postgres}"          # the unprivileged OS user that runs it
QUARRY_DB="${QUARRY_DB:-quarry}"
QUARRY_BIND="${QUARRY_BIND:-127.0.0.1:8080}"

QUARRY_SIDECAR_ROLE="${QUARRY_SIDECAR_ROLE:-quarry_sidecar}"

export PATH="$HOME/.cargo/bin:$PATH"

say() { printf '\033[1;34m==>\033[0m %s\n' "$*" >&2; }
die() { printf '\033[1;31merror:\033[0m %s\n' "$*" >&2; exit 1; }

# Run a command as root: directly when we are root, else through sudo.
as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi
}

# Run a command as the unprivileged cluster owner.
as_pg() {
  if [ "$(id -u)" = 0 ]; then runuser -u "$QUARRY_PG_USER" -- "$@"
  elif [ "$(id -un)" = "$QUARRY_PG_USER" ]; then "$@"
  else sudo -u "$QUARRY_PG_USER" -- "$@"; fi
}

# Local secrets, made once per checkout and kept in .quarry/secrets.env (mode 0600): the sidecar's
# database password and the demo accounts' passwords.
load_secrets() {
  local file="$QUARRY_STATE/secrets.env"
  mkdir -p "$QUARRY_STATE"
  if [ ! -f "$file" ]; then
    ( umask 077
      printf 'QUARRY_SIDECAR_PASSWORD=%s\n' "$(random_text 24)"
      printf 'QUARRY_DEMO_PASSWORD=demo-%s\n' "$(random_text 8)"
      printf 'QUARRY_EMEA_PASSWORD=emea-%s\n' "$(random_text 8)"
    ) > "$file.tmp"
    mv "$file.tmp" "$file"
  fi
  # shellcheck disable=SC1090
  source "$file"
  export QUARRY_SIDECAR_PASSWORD QUARRY_DEMO_PASSWORD QUARRY_EMEA_PASSWORD
}

random_text() {
  local s
  s="$(head -c 96 /dev/urandom | base64 -w0 | tr -dc 'a-zA-Z0-9')"
  printf '%s' "${s:0:$1}"
}

# The private cluster's TLS: a local certificate authority and the server's certificate, made
# by cluster.sh. Sidecars check the server against this CA and its name (verify-full) unless
# QUARRY_PG_SSLMODE says otherwise.
QUARRY_TLS_DIR="${QUARRY_TLS_DIR:-$QUARRY_STATE/tls}"
QUARRY_PG_SSLMODE="${QUARRY_PG_SSLMODE:-verify-full}"

# The URL the sidecar uses to reach a database of the private cluster (port: $2, default the
# primary's).
sidecar_database_url() {
  printf 'postgres://%s:%s@127.0.0.1:%s/%s?sslmode=%s&sslrootcert=%s' "$QUARRY_SIDECAR_ROLE" "$QUARRY_SIDECAR_PASSWORD" \
    "${2:-$QUARRY_PG_PORT}" "$1" "$QUARRY_PG_SSLMODE" "$QUARRY_TLS_DIR/ca.crt"
}

# Quarry's files in the system PostgreSQL's directories, with their checksums: what the demo runs.
system_extension_files() {
  find "/usr/lib/postgresql/$PG_MAJOR/lib" "/usr/share/postgresql/$PG_MAJOR/extension" -maxdepth 1 \
    -name 'quarry*' -type f -exec sha256sum {} + 2>/dev/null | sort
}
