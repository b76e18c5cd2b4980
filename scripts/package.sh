#!/usr/bin/env bash
# Debian packages for installing Quarry on an existing PostgreSQL (README, "Installing on an
# existing PostgreSQL"):
#   postgresql-<major>-quarry   the extension for the installed PostgreSQL major (cargo pgrx package)
#   quarry-sidecar              the sidecar, a systemd unit and /etc/quarry/sidecar.env
#   package.sh [--debug]        release builds unless --debug; the .deb files go to target/packages
source "$(dirname "$0")/common.sh"

PROFILE=release
case "${1:-}" in
  "") ;;
  --debug) PROFILE=debug ;;
  *) die "usage: $0 [--debug]" ;;
esac

cd "$QUARRY_ROOT"
command -v dpkg-deb >/dev/null || die "dpkg-deb is missing: packages are built on Debian or Ubuntu"
TARGET="${CARGO_TARGET_DIR:-$QUARRY_ROOT/target}"
OUT="$TARGET/packages"
STAGE="$TARGET/package-stage"
VERSION="$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n 1)"
ARCH="$(dpkg --print-architecture)"
MAINTAINER="Quarry <quarry@localhost>"
rm -rf "$STAGE"
mkdir -p "$OUT" "$STAGE"

# 1. The extension. cargo pgrx package lays the files out where this pg_config says they go; with
# a private copy of the installation (QUARRY_PG_ROOT) that is under it, so take its usr/ tree.
say "building the extension for PostgreSQL $PG_MAJOR ($PROFILE)"
( cd extension && cargo pgrx package --pg-config "$PG_CONFIG" --out-dir "$STAGE/ext" \
    $([ "$PROFILE" = debug ] && echo --debug) ) >/dev/null
EXT="$STAGE/postgresql-$PG_MAJOR-quarry"
mkdir -p "$EXT"
cp -a "$STAGE/ext$QUARRY_PG_ROOT/usr" "$EXT/usr"
[ -f "$EXT/usr/lib/postgresql/$PG_MAJOR/lib/quarry.so" ] \
  || die "cargo pgrx package made no usr/lib/postgresql/$PG_MAJOR/lib/quarry.so"
# The install scripts of released versions, so that a database made with one can be upgraded.
install -m 0644 extension/releases/quarry--*.sql "$EXT/usr/share/postgresql/$PG_MAJOR/extension/"
mkdir -p "$EXT/DEBIAN"
cat > "$EXT/DEBIAN/control" <<CONTROL
Package: postgresql-$PG_MAJOR-quarry
Version: $VERSION
Architecture: $ARCH
Maintainer: $MAINTAINER
Depends: postgresql-$PG_MAJOR
Section: database
Priority: optional
Description: Quarry extension for PostgreSQL $PG_MAJOR
 Plain-language questions over PostgreSQL for MCP clients: accounts, OAuth, datasets,
 conversations and dashboards live in the quarry schema. CREATE EXTENSION quarry in a
 database, then run the quarry-sidecar package against it.
CONTROL
dpkg-deb --root-owner-group -Zxz --build "$EXT" "$OUT/postgresql-${PG_MAJOR}-quarry_${VERSION}_${ARCH}.deb" >/dev/null

# 2. The sidecar, its unit and its settings (a conffile: an upgrade keeps local changes).
say "building the sidecar ($PROFILE)"
cargo build -q -p quarry-sidecar $([ "$PROFILE" = release ] && echo --release)
SIDE="$STAGE/quarry-sidecar"
install -D -m 0755 "$TARGET/$PROFILE/quarry-sidecar" "$SIDE/usr/bin/quarry-sidecar"
install -D -m 0644 packaging/quarry-sidecar.service "$SIDE/lib/systemd/system/quarry-sidecar.service"
install -D -m 0640 packaging/sidecar.env "$SIDE/etc/quarry/sidecar.env"
mkdir -p "$SIDE/DEBIAN"
echo /etc/quarry/sidecar.env > "$SIDE/DEBIAN/conffiles"
cat > "$SIDE/DEBIAN/control" <<CONTROL
Package: quarry-sidecar
Version: $VERSION
Architecture: $ARCH
Maintainer: $MAINTAINER
Depends: libc6, libgcc-s1
Recommends: fonts-dejavu-core
Section: database
Priority: optional
Description: Quarry sidecar: MCP and OAuth over a database with the quarry extension
 Serves MCP clients over HTTP, signs people in (OAuth 2.1) and asks models, keeping all of
 its state in PostgreSQL. Configure /etc/quarry/sidecar.env, then
 systemctl enable --now quarry-sidecar.
CONTROL
dpkg-deb --root-owner-group -Zxz --build "$SIDE" "$OUT/quarry-sidecar_${VERSION}_${ARCH}.deb" >/dev/null
rm -rf "$STAGE"
say "packages in $OUT:"
ls -1 "$OUT"/*.deb >&2
