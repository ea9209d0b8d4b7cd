#!/usr/bin/env bash
# Installs what a fresh Debian machine lacks to build and test Darkchat: Lua 5.4 (the
# interpreter the end-to-end tests and the emulated server run in), SQLite's shell (used by
# tests to inspect databases from a second process), clang (SQLite compiled for the wasm core),
# Node.js when no `node` is there (the wasm core's JS host and its tests), the Rust target
# wasm32-unknown-unknown, Python 3 (the release package is written by its zipfile), and the JS
# host's npm dependencies (the MySQL driver, and for the tests TypeScript with FXServer's
# declarations and the formatters Prettier and StyLua, from package-lock.json). Safe to run
# again.
set -euo pipefail

need=()
command -v lua5.4 >/dev/null || need+=(lua5.4)
command -v sqlite3 >/dev/null || need+=(sqlite3)
command -v clang >/dev/null || need+=(clang)
command -v llvm-ar >/dev/null || ls /usr/bin/llvm-ar-* >/dev/null 2>&1 || need+=(llvm)
command -v node >/dev/null || need+=(nodejs)
command -v npm >/dev/null || need+=(npm)
command -v mkfifo >/dev/null || need+=(coreutils)
command -v python3 >/dev/null || need+=(python3)
# The emulator's PerformHttpRequest (the Discord log's tests) posts with curl.
command -v curl >/dev/null || need+=(curl)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "setup: missing ${need[*]}; run as root or install them" >&2
    exit 1
  fi
  apt-get -o DPkg::Lock::Timeout=600 update -qq
  DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq "${need[@]}" >/dev/null
fi
command -v cargo >/dev/null || { echo "setup: cargo (Rust) is required" >&2; exit 1; }
if command -v rustup >/dev/null; then
  rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown \
    || rustup target add wasm32-unknown-unknown >&2
fi
node_major=$(node -p 'process.versions.node.split(".")[0]')
if [ "$node_major" -lt 18 ]; then
  echo "setup: node $(node --version) is too old for the wasm tests (node:test needs 18+)" >&2
  exit 1
fi

# The JS host's dependencies, exactly as locked (node_modules/ is never committed), with the
# development ones the tests use (TypeScript and FXServer's JS declarations, for the type
# check; Prettier and StyLua's wasm build, for the formatting check); the release package
# installs only the runtime ones (scripts/package.sh).
here=$(cd "$(dirname "$0")/.." && pwd)
if ! (cd "$here" && npm ls --include=dev >/dev/null 2>&1); then
  (cd "$here" && npm ci --include=dev --no-audit --no-fund >/dev/null)
fi
