#!/usr/bin/env bash
# Stops the demo sidecar, the private cluster and the remote servers of the tests; keeps their data.
source "$(dirname "$0")/common.sh"
bash "$QUARRY_ROOT/scripts/sidecar.sh" stop
[ -d "$QUARRY_STATE/pg" ] && bash "$QUARRY_ROOT/scripts/remotes.sh" stop
[ -d "$QUARRY_STATE/pg" ] && bash "$QUARRY_ROOT/scripts/cluster.sh" stop
exit 0
