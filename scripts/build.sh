#!/usr/bin/env bash
# Builds the native Lua module (release) and puts it where the resource loads it:
# bin/darkchat.so (the loader adds bin/?.so to package.cpath and does require("darkchat")).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --features module --lib
mkdir -p bin
case "$(uname -s)" in
  Darwin) cp target/release/libdarkchat.dylib bin/darkchat.so ;;
  *) cp target/release/libdarkchat.so bin/darkchat.so ;;
esac
echo "built bin/darkchat.so"
