#!/usr/bin/env bash
# Builds the native Lua module (release) and puts it where the resource loads it:
# bin/darkchat.so (the loader adds bin/?.so to package.cpath and does require("darkchat")).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --features module --lib
mkdir -p bin
case "$(uname -s)" in
  Darwin) built=target/release/libdarkchat.dylib ;;
  *) built=target/release/libdarkchat.so ;;
esac
# Replace the file by rename, never by overwriting in place: a process that has the old
# module loaded (a running server, a test runner) keeps its mapping intact.
if ! cmp -s "$built" bin/darkchat.so; then
  cp "$built" bin/.darkchat.so.new
  mv -f bin/.darkchat.so.new bin/darkchat.so
fi
echo "built bin/darkchat.so"
