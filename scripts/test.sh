#!/usr/bin/env bash
# Every test: the Rust core tests (the shared core cases included), then the end-to-end tests
# that load the built module into a real Lua 5.4 interpreter under the FXServer emulation, then
# the wasm core: its Node tests (the same shared cases, the JS host under an emulation of
# FXServer's JS exports, SIGKILL durability) and the exports and flows end-to-end suites again
# on the wasm core (stock-Lua host, js/host.js in Node). Installs what is missing first.
# A test file that registers no test fails its runner (tests/lua/run.lua, and for Node the
# reporter tests/wasm/every-file-tests.mjs). Mutation testing is separate: scripts/mutants.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build.sh
bash scripts/build-wasm.sh
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
DARKCHAT_CORE=wasm lua5.4 tests/lua/run.lua tests/e2e/exports_test.lua tests/e2e/flows_test.lua
