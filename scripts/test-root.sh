#!/usr/bin/env bash
# The tests' private copy of the PostgreSQL installation, at $QUARRY_PG_ROOT: programs, libraries,
# shared files and headers, copied from the system's. PostgreSQL finds its files relative to its
# programs, so the copy's pg_config, server and extension directories are all inside it. The tests
# install their build of the extension there (and pgrx's test builds), never into the system's
# directories, which a running demo loads its library from.
# Made once; made again when the system's PostgreSQL changes (a minor upgrade, a new package such
# as a foreign data wrapper). Points a pgrx home of its own ($PGRX_HOME) at the copy.
source "$(dirname "$0")/common.sh"
[ -n "$QUARRY_PG_ROOT" ] || die "QUARRY_PG_ROOT is not set"

SYSTEM_LIB="/usr/lib/postgresql/$PG_MAJOR"
SYSTEM_SHARE="/usr/share/postgresql/$PG_MAJOR"
SYSTEM_INCLUDE="/usr/include/postgresql"

# What the copy was made from: the server's version and the system's files other than Quarry's.
fingerprint() {
  { "$SYSTEM_LIB/bin/postgres" --version
    find "$SYSTEM_LIB" "$SYSTEM_SHARE" "$SYSTEM_INCLUDE" -path '*quarry*' -prune -o -type f -printf '%P %s %T@\n' \
      | sort
  } | sha256sum | cut -d' ' -f1
}

stamp="$QUARRY_PG_ROOT/.made-from"
want="$(fingerprint)"
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  say "copying PostgreSQL $PG_MAJOR's installation to $QUARRY_PG_ROOT (the tests' own)"
  as_root rm -rf "$QUARRY_PG_ROOT"
  mkdir -p "$QUARRY_PG_ROOT/usr/lib/postgresql" "$QUARRY_PG_ROOT/usr/share/postgresql" "$QUARRY_PG_ROOT/usr/include"
  cp -a "$SYSTEM_LIB" "$QUARRY_PG_ROOT/usr/lib/postgresql/"
  cp -a "$SYSTEM_SHARE" "$QUARRY_PG_ROOT/usr/share/postgresql/"
  cp -a "$SYSTEM_INCLUDE" "$QUARRY_PG_ROOT/usr/include/"
  # Quarry's own files come from the tests' install, never from whatever the system has.
  rm -f "$QUARRY_PG_ROOT/usr/lib/postgresql/$PG_MAJOR/lib/quarry"* "$QUARRY_PG_ROOT/usr/share/postgresql/$PG_MAJOR/extension/quarry"*
  echo "$want" > "$stamp"
fi
[ "$("$PG_CONFIG" --bindir)" = "$PG_BIN" ] || die "the copy's pg_config does not point into the copy: $("$PG_CONFIG" --bindir)"

# pgrx (its builds and its test runner) uses the copy.
[ -n "${PGRX_HOME:-}" ] || die "PGRX_HOME is not set"
if ! grep -qs "^pg$PG_MAJOR = \"$PG_CONFIG\"" "$PGRX_HOME/config.toml"; then
  mkdir -p "$PGRX_HOME"
  cargo pgrx init "--pg$PG_MAJOR" "$PG_CONFIG" >/dev/null
fi
