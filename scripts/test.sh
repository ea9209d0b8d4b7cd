#!/usr/bin/env bash
# Every test: the Rust core tests (the shared core cases included), then the end-to-end tests
# that load the built module into a real Lua 5.4 interpreter under the FXServer emulation, then
# the wasm core: its Node tests (the same shared cases, the JS host under an emulation of
# FXServer's JS exports, SIGKILL durability) and the end-to-end suites again on the wasm core
# (stock-Lua host, js/host.js in Node; all but the host and crash tests of the native module), and the exports
# and flows once more on the release package (scripts/package.sh) unpacked into an empty
# folder, so a file it lacks fails them. js/ is type-checked against FXServer's JS API
# declarations first. The MySQL/MariaDB storage runs against a private MariaDB server started
# here (installed from Debian's packages when missing, on its own data folder and port) and
# stopped by its pid at the end, failed or not. Installs what is missing first, and checks the
# layout of the Rust, Lua and JS (their formatters') before building anything.
# A test file that registers no test fails its runner (tests/lua/run.lua, and for Node the
# reporter tests/wasm/every-file-tests.mjs). Mutation testing is separate: scripts/mutants.sh
# (Rust) and scripts/lua-mutants.sh (Lua and the JS host).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# Formatting first: the Rust is rustfmt's (rustfmt.toml), the Lua StyLua's (stylua.toml) and the
# JS Prettier's (.prettierrc); checked, not rewritten (`node scripts/format.js` rewrites).
cargo fmt --check
node scripts/format.js --check
# How scripts/mutants.sh tells a listed equivalent mutant from a survivor (no cargo-mutants run).
bash tests/mutants/judge_test.sh
bash scripts/build.sh
bash scripts/build-wasm.sh
# js/*.js against @citizenfx/server's declarations and Node's (tsconfig.json; no output).
npx --no-install tsc -p tsconfig.json

mariadb_dir=$(mktemp -d /tmp/darkchat-mariadb-XXXXXX)
package_dir=$(mktemp -d /tmp/darkchat-unpacked-XXXXXX)
trap 'bash scripts/mariadb.sh stop "$mariadb_dir"; rm -rf "$mariadb_dir" "$package_dir"' EXIT
mariadb_port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
DARKCHAT_MYSQL=$(bash scripts/mariadb.sh start "$mariadb_dir" "$mariadb_port")
export DARKCHAT_MYSQL

cargo test --release
# Panics inside the binding come back as storage_error (fault injection, in-process Lua).
cargo test --release --features vendored,fault-injection --test binding
# The fuzz targets (fuzz/, run with cargo-fuzz on nightly) compile on stable too: type-checked
# here so that a change of the core or of tests/support/model.rs cannot leave them broken.
cargo check --manifest-path fuzz/Cargo.toml --bins --target-dir target/fuzz --quiet
lua5.4 tests/lua/run.lua
node --test --test-reporter=spec --test-reporter-destination=stdout \
  --test-reporter=./tests/wasm/every-file-tests.mjs --test-reporter-destination=stderr \
  tests/wasm/*.test.js
# The bad-input matrix, the console, the framework bridges and config.lua's limits on the wasm
# core too: every feature answers the same on both cores.
DARKCHAT_CORE=wasm lua5.4 tests/lua/run.lua tests/e2e/exports_test.lua tests/e2e/flows_test.lua tests/e2e/hostile_test.lua tests/e2e/backups_test.lua tests/e2e/anonymity_test.lua tests/e2e/messages_test.lua tests/e2e/moderation_test.lua tests/e2e/retention_test.lua \
  tests/e2e/matrix_test.lua tests/e2e/console_test.lua tests/e2e/bridge_test.lua tests/e2e/limits_test.lua
# The same exports, player flows, hostile clients and framework bridges with the database on
# MySQL/MariaDB (the wasm core, as on stock FXServer; a fresh database of the server started
# above for each world; the bridges' tests of the SQLite file itself are skipped there).
DARKCHAT_STORAGE=mysql DARKCHAT_CORE=wasm lua5.4 tests/lua/run.lua tests/e2e/exports_test.lua tests/e2e/flows_test.lua tests/e2e/hostile_test.lua tests/e2e/anonymity_test.lua tests/e2e/messages_test.lua tests/e2e/moderation_test.lua tests/e2e/retention_test.lua \
  tests/e2e/bridge_test.lua
# Several servers on one database: two emulated servers in one process (the pushes and server
# events of each change on the other server, catching up after a stop, the log's bounds).
DARKCHAT_STORAGE=mysql DARKCHAT_CORE=wasm lua5.4 tests/lua/run.lua tests/e2e/network_test.lua

# The release package, as a server owner gets it: its checksum checks, it unpacks into an empty
# folder, and the exports and flows run with that folder as the resource (its node_modules and
# js/mysql.js are used only on MySQL, hence both storages). A second build must give the same
# bytes (sorted entries, fixed times and permissions).
packaged=$(bash scripts/package.sh)
echo "$packaged"
version=$(sed -n 's/^packaged dist\/17mov_Phone-\(.*\)\.zip .*/\1/p' <<<"$packaged")
[ -n "$version" ] || { echo "test: package.sh did not say what it packaged" >&2; exit 1; }
first_sum=$(cat "dist/17mov_Phone-$version.zip.sha256")
bash scripts/package.sh >/dev/null 2>&1
[ "$(cat "dist/17mov_Phone-$version.zip.sha256")" = "$first_sum" ] \
  || { echo "test: two package builds differ" >&2; exit 1; }
(cd dist && sha256sum -c "17mov_Phone-$version.zip.sha256")
python3 -m zipfile -e "dist/17mov_Phone-$version.zip" "$package_dir"
DARKCHAT_RESOURCE_DIR="$package_dir/17mov_Phone" DARKCHAT_CORE=wasm \
  lua5.4 tests/lua/run.lua tests/e2e/exports_test.lua tests/e2e/flows_test.lua
# `darkchat import` from the package too: js/import.js must ship, and mysql2 be found from it.
DARKCHAT_RESOURCE_DIR="$package_dir/17mov_Phone" lua5.4 tests/lua/run.lua tests/e2e/import_test.lua
DARKCHAT_RESOURCE_DIR="$package_dir/17mov_Phone" DARKCHAT_STORAGE=mysql DARKCHAT_CORE=wasm \
  lua5.4 tests/lua/run.lua tests/e2e/exports_test.lua tests/e2e/flows_test.lua
