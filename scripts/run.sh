#!/usr/bin/env bash
# The main job: builds the module (and the wasm core for --stock-lua) and starts the resource inside the FXServer emulation on
# the embedded SQLite default (data/darkchat.db under the resource folder), with fake players
# online. Reads console lines from standard input (type `darkchat help`; `quit` to stop).
# Extra arguments go to the emulator, e.g. `--framework esx` or `+set darkchat:db /tmp/x.db`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh >&2
bash scripts/build.sh >&2
# `--stock-lua` runs the resource as on stock FXServer: on the wasm core (js/host.js in Node).
for arg in "$@"; do
  if [ "$arg" = "--stock-lua" ]; then bash scripts/build-wasm.sh >&2; fi
done
exec lua5.4 tests/fxserver/server.lua --resource "$PWD" "$@"
