#!/usr/bin/env bash
# Stops everything and deletes the private cluster, its data and the local secrets (.quarry/).
# Build outputs (target/) and installed packages stay.
source "$(dirname "$0")/common.sh"
bash "$QUARRY_ROOT/scripts/stop.sh"
if [ -L "$QUARRY_STATE/pg" ]; then as_root rm -rf "$(readlink -f "$QUARRY_STATE/pg")"; fi
[ -e "$QUARRY_STATE" ] && as_root rm -rf "$QUARRY_STATE"
say "removed $QUARRY_STATE"
