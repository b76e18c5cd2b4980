#!/usr/bin/env bash
# Installs what building and testing Quarry needs, and nothing that is already there:
# Debian packages, a Rust toolchain, cargo-pgrx (pinned), and pgrx's pointer at the system pg_config.
# Safe to run again: every step checks first.
source "$(dirname "$0")/common.sh"

apt_missing() {
  local p missing=()
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  echo "${missing[@]:-}"
}

apt_install() {
  local missing
  missing=$(apt_missing "$@")
  [ -z "$missing" ] && return 0
  say "installing Debian packages: $missing"
  export DEBIAN_FRONTEND=noninteractive
  as_root apt-get update -qq
  # A fresh machine sometimes loses a race with apt's cache cleaner ("failed to read archive"): retry once.
  # shellcheck disable=SC2086
  as_root apt-get install -y -qq --no-install-recommends $missing \
    || as_root apt-get install -y -qq --no-install-recommends $missing
}

# 1. A PostgreSQL server: keep the one the machine has, else the distribution's default.
if ! ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1; then
  apt_install postgresql postgresql-contrib
  PG_MAJOR="$(unset PG_MAJOR; detect_pg_major)"
  PG_BIN="/usr/lib/postgresql/$PG_MAJOR/bin"
  PG_CONFIG="$PG_BIN/pg_config"
fi

# 2. Headers, clang for bindgen, TLS for cargo-pgrx, sudo (pgrx's test runner calls it even as root),
#    the font chart images are drawn with, and openssl (the private cluster's local CA).
apt_install "postgresql-server-dev-$PG_MAJOR" libclang-dev clang pkg-config libssl-dev sudo \
  ca-certificates curl git make fonts-dejavu-core openssl
[ -x "$PG_CONFIG" ] || PG_CONFIG="$PG_BIN/pg_config"

# Sources' foreign data wrappers and the remote servers the tests run them against: a MariaDB server
# (started by scripts/remotes.sh as an unprivileged process, never as a system service) and
# mysql_fdw; postgres_fdw comes with the server's contrib.
apt_install mariadb-server mariadb-client "postgresql-$PG_MAJOR-mysql-fdw"

# Python (with venv) and Node with npm, for the real MCP clients the tests run. Node from the
# distribution only needs to be new enough to run npm: the tests fetch Node 22 as a package.
command -v python3 >/dev/null 2>&1 && python3 -m venv --help >/dev/null 2>&1 || apt_install python3 python3-venv
command -v npm >/dev/null 2>&1 || apt_install nodejs npm
# The distribution's Chromium, which the browser test drives headless through the pages (npm's
# puppeteer-core speaks to it; nothing downloads a browser of its own).
apt_install chromium

# 3. Rust: the toolchain the workspace asks for.
if ! command -v cargo >/dev/null 2>&1; then
  say "installing Rust with rustup"
  curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh -s -- -y --profile minimal --default-toolchain 1.95.0
  export PATH="$HOME/.cargo/bin:$PATH"
fi

# 4. cargo-pgrx, exactly the version the extension is built against.
if ! cargo pgrx --version 2>/dev/null | grep -q " $PGRX_VERSION\$"; then
  say "installing cargo-pgrx $PGRX_VERSION (a few minutes, once)"
  cargo install --locked cargo-pgrx --version "$PGRX_VERSION"
fi

# 5. Point pgrx at the system PostgreSQL. Never let it download one.
PGRX_CONFIG="${PGRX_HOME:-$HOME/.pgrx}/config.toml"
if ! grep -qs "^pg$PG_MAJOR = \"$PG_CONFIG\"" "$PGRX_CONFIG"; then
  say "pointing pgrx at $PG_CONFIG"
  cargo pgrx init "--pg$PG_MAJOR" "$PG_CONFIG" >/dev/null
fi

say "dependencies ready (PostgreSQL $PG_MAJOR, cargo-pgrx $PGRX_VERSION)"
