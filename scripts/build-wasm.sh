#!/usr/bin/env bash
# Builds the WebAssembly core for stock FXServer and puts it where js/host.js loads it:
# bin/darkchat.wasm. Needs the Rust target wasm32-unknown-unknown and clang (SQLite is C);
# scripts/setup.sh installs both.
set -euo pipefail
cd "$(dirname "$0")/.."
export CC_wasm32_unknown_unknown="${CC_wasm32_unknown_unknown:-clang}"
export AR_wasm32_unknown_unknown="${AR_wasm32_unknown_unknown:-$(command -v llvm-ar || ls /usr/bin/llvm-ar-* 2>/dev/null | head -n1 || echo ar)}"
cargo build --profile wasm --target wasm32-unknown-unknown --lib
built=target/wasm32-unknown-unknown/wasm/darkchat.wasm
mkdir -p bin
# Replace by rename, never in place: a running host keeps the file it read.
if ! cmp -s "$built" bin/darkchat.wasm; then
  cp "$built" bin/.darkchat.wasm.new
  mv -f bin/.darkchat.wasm.new bin/darkchat.wasm
fi
echo "built bin/darkchat.wasm ($(stat -c %s bin/darkchat.wasm) bytes)"
