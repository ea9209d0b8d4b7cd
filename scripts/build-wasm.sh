#!/usr/bin/env bash
# Builds the WebAssembly core for stock FXServer and puts it where js/host.js loads it:
# bin/darkchat.wasm. Needs the Rust target wasm32-unknown-unknown and clang (SQLite is C);
# scripts/setup.sh installs both.
set -euo pipefail
cd "$(dirname "$0")/.."
export CC_wasm32_unknown_unknown="${CC_wasm32_unknown_unknown:-clang}"
export AR_wasm32_unknown_unknown="${AR_wasm32_unknown_unknown:-$(command -v llvm-ar || ls /usr/bin/llvm-ar-* 2>/dev/null | head -n1 || echo ar)}"
# SQLite as the core uses it: sqlite-wasm-rs enables extensions the core never calls (full-text
# search, R-trees, sessions, virtual tables); leaving them out makes the module smaller. Same
# page size as the native build.
export SQLITE_WASM_RS_FLAGS="${SQLITE_WASM_RS_FLAGS:--USQLITE_ENABLE_FTS5 -USQLITE_ENABLE_RTREE \
-USQLITE_ENABLE_SESSION -USQLITE_ENABLE_PREUPDATE_HOOK -USQLITE_ENABLE_DBPAGE_VTAB \
-USQLITE_ENABLE_DBSTAT_VTAB -USQLITE_ENABLE_BYTECODE_VTAB -USQLITE_ENABLE_STMTVTAB \
-USQLITE_ENABLE_MATH_FUNCTIONS -USQLITE_ENABLE_COLUMN_METADATA -USQLITE_ENABLE_UNLOCK_NOTIFY \
-USQLITE_ENABLE_OFFSET_SQL_FUNC -USQLITE_DEFAULT_PAGE_SIZE -DSQLITE_DEFAULT_PAGE_SIZE=4096}"
cargo build --profile wasm --target wasm32-unknown-unknown --lib
built=target/wasm32-unknown-unknown/wasm/darkchat.wasm
mkdir -p bin
# Replace by rename, never in place: a running host keeps the file it read.
if ! cmp -s "$built" bin/darkchat.wasm; then
  cp "$built" bin/.darkchat.wasm.new
  mv -f bin/.darkchat.wasm.new bin/darkchat.wasm
fi
echo "built bin/darkchat.wasm ($(stat -c %s bin/darkchat.wasm) bytes)"
