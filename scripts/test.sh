#!/usr/bin/env bash
# Every test: the Rust core tests, then the end-to-end tests that load the built module into a
# real Lua 5.4 interpreter under the FXServer emulation. Installs what is missing first.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build.sh
cargo test --release
# Panics inside the binding come back as storage_error (fault injection, in-process Lua).
cargo test --release --features vendored,fault-injection --test binding
lua5.4 tests/lua/run.lua
