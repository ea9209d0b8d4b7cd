#!/usr/bin/env bash
# Installs what a fresh Debian machine lacks to build and test Darkchat: Lua 5.4 (the
# interpreter the end-to-end tests and the emulated server run in) and SQLite's shell (used by
# tests to inspect databases from a second process). Safe to run again.
set -euo pipefail

need=()
command -v lua5.4 >/dev/null || need+=(lua5.4)
command -v sqlite3 >/dev/null || need+=(sqlite3)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "setup: missing ${need[*]}; run as root or install them" >&2
    exit 1
  fi
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi
command -v cargo >/dev/null || { echo "setup: cargo (Rust) is required" >&2; exit 1; }
