#!/usr/bin/env bash
# Stops the demo sidecar and the private cluster; keeps their data.
source "$(dirname "$0")/common.sh"
bash "$QUARRY_ROOT/scripts/sidecar.sh" stop
[ -d "$QUARRY_STATE/pg" ] && bash "$QUARRY_ROOT/scripts/cluster.sh" stop
exit 0
