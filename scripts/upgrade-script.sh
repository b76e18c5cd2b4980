#!/usr/bin/env bash
# Writes the extension's upgrade script from the newest released version to the current one:
#   upgrade-script.sh          write extension/sql/quarry--<released>--<current>.sql
#   upgrade-script.sh --check  only say whether that file is what the sources make now
#
# <released> is the newest install script frozen in extension/releases, <current> the workspace's
# version. The upgrade script is made of extension/upgrade/<released>--<current>.pre.sql (by hand:
# tables and data), then the routines the new version drops or redefines, every routine, comment
# and grant of the install script cargo pgrx generates from extension/sql now, and
# extension/upgrade/<released>--<current>.post.sql if there is one (see scripts/upgrade_script.py).
# cargo pgrx install copies it next to the install script. Nothing is installed or run here: the
# upgrade test (tests/e2e/upgrade.rs) checks the result on real databases.
source "$(dirname "$0")/common.sh"
cd "$QUARRY_ROOT"

CHECK=0
case "${1:-}" in
  --check) CHECK=1 ;;
  "") ;;
  *) die "usage: $0 [--check]" ;;
esac

FROM="$(ls extension/releases | sed -n 's/^quarry--\([0-9][0-9.]*\)\.sql$/\1/p' | sort -V | tail -n 1)"
[ -n "$FROM" ] || die "no released install script in extension/releases"
TO="$(cargo pkgid --manifest-path extension/Cargo.toml | sed 's/.*[#@]//')"
[ "$FROM" != "$TO" ] || die "version $TO is released already: raise the workspace version before changing the extension"
PRE="extension/upgrade/$FROM--$TO.pre.sql"
POST="extension/upgrade/$FROM--$TO.post.sql"
OUT="extension/sql/quarry--$FROM--$TO.sql"
[ -f "$PRE" ] || die "$PRE is missing: write the table changes from $FROM to $TO there (README, \"Upgrading\")"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
# The install script exactly as cargo pgrx install writes it (it builds the library if needed).
( cd extension && cargo pgrx schema "pg$PG_MAJOR" --out "$work/quarry--$TO.sql" ) >&2 \
  || die "cargo pgrx schema failed"
hand=(--pre "$PRE")
[ -f "$POST" ] && hand+=(--post "$POST")
python3 scripts/upgrade_script.py --from "$FROM" --to "$TO" \
  --old "extension/releases/quarry--$FROM.sql" --new "$work/quarry--$TO.sql" "${hand[@]}" \
  --lib extension/src/lib.rs --out "$work/upgrade.sql"

if [ "$CHECK" = 1 ]; then
  if ! diff -u "$OUT" "$work/upgrade.sql" >&2; then
    die "$OUT is not what extension/sql and $PRE make now: run scripts/upgrade-script.sh and commit the result"
  fi
  say "$OUT is up to date"
else
  cp "$work/upgrade.sql" "$OUT"
  say "wrote $OUT ($FROM to $TO); review it with git diff"
fi
