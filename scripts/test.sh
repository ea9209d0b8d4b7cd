#!/usr/bin/env bash
# Every test: the Rust core tests (the shared core cases included), then the end-to-end tests
# that load the built module into a real Lua 5.4 interpreter under the FXServer emulation, then
# the wasm core: its Node tests (the same shared cases, the JS host under an emulation of
# FXServer's JS exports, SIGKILL durability) and the exports, flows and hostile-client
# end-to-end suites again on the wasm core (stock-Lua host, js/host.js in Node). The
# MySQL/MariaDB storage runs against a private MariaDB server started here (installed from
# Debian's packages when missing, on its own data folder and port) and stopped by its pid at the
# end, failed or not. Installs what is missing first.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build.sh
bash scripts/build-wasm.sh

mariadb_dir=$(mktemp -d /tmp/darkchat-mariadb-XXXXXX)
trap 'bash scripts/mariadb.sh stop "$mariadb_dir"; rm -rf "$mariadb_dir"' EXIT
mariadb_port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
DARKCHAT_MYSQL=$(bash scripts/mariadb.sh start "$mariadb_dir" "$mariadb_port")
export DARKCHAT_MYSQL

cargo test --release
# Panics inside the binding come back as storage_error (fault injection, in-process Lua).
cargo test --release --features vendored,fault-injection --test binding
lua5.4 tests/lua/run.lua
node --test tests/wasm/*.test.js
DARKCHAT_CORE=wasm lua5.4 tests/lua/run.lua tests/e2e/exports_test.lua tests/e2e/flows_test.lua tests/e2e/hostile_test.lua
# The same exports, player flows and hostile clients with the database on MySQL/MariaDB (the wasm core, as on
# stock FXServer; a fresh database of the server started above for each world).
DARKCHAT_STORAGE=mysql DARKCHAT_CORE=wasm lua5.4 tests/lua/run.lua tests/e2e/exports_test.lua tests/e2e/flows_test.lua tests/e2e/hostile_test.lua
