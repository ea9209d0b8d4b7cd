#!/usr/bin/env bash
# Checks how scripts/mutants.sh judges cargo-mutants' survivors against
# tests/mutants/equivalent.md (`--judge DIR`, no cargo-mutants run): on a made-up tree (a source
# file, an equivalent list, outputs as cargo-mutants writes them), an entry covers the one
# mutant it names (file, description, line text and column) and no other with the same
# description, and an entry under "## Killed outside cargo" counts its mutant as killed by the
# test it names (never as equivalent) only while that test is there; then that no entry of the
# real list is stale. Fails on the first wrong verdict.
#
#   bash tests/mutants/judge_test.sh
set -uo pipefail
cd "$(dirname "$0")/../.."
root=$(pwd)
tree=$(mktemp -d)
trap 'rm -rf "$tree"' EXIT
mkdir -p "$tree/scripts" "$tree/src" "$tree/tests/mutants"
cp scripts/mutants.sh "$tree/scripts/"

# Two `>` on one line, the same shape on another line, a non-ASCII character before a mutant
# (columns count characters).
cat >"$tree/src/caps.rs" <<'RS'
fn sweep(max_count: u32, left: u32, age: u32) -> bool {
    if max_count > 0 && left > 0 {
        return true;
    }
    if age > 0 {
        return true;
    }
    let label = "é"; let n = left + 1;
    false
}
#[cfg(target_arch = "wasm32")]
fn clock() -> f64 {
    host_ms()
}
RS
# The wasm build's clock above is killed by a test of another runner, which is there.
mkdir -p "$tree/tests/wasm"
touch "$tree/tests/wasm/clock.test.js"
# The section of mutants killed outside cargo sits between equivalents (it ends at the next
# heading); $1 is more of its entries.
list() {
  cat >"$tree/tests/mutants/equivalent.md" <<MD
# Equivalent

- \`src/caps.rs: replace > with >= in sweep\` at \`if max_count > 0 && left »> 0 {\` — the second.

## Killed outside cargo

- \`src/caps.rs: replace clock -> f64 with 0.0\` at \`»host_ms()\` by \`tests/wasm/clock.test.js\`
  — a reason on the next line.
${1:-}

## More equivalents

- \`src/caps.rs: replace + with - in sweep\` at \`let label = "é"; let n = left »+ 1;\`
  — a reason on the next line.
MD
}
list

failures=0
# judge NAME EXPECTED_STATUS EXPECTED_TEXT [missed lines...]: the verdict on a missed.txt with
# those lines (and one caught mutant) must exit with that status and print that text.
judge() {
  local name=$1 want=$2 text=$3 out
  shift 3
  rm -rf "$tree/out" && mkdir "$tree/out"
  echo 'src/caps.rs:5:12: replace > with == in sweep' >"$tree/out/caught.txt"
  printf '%s\n' "$@" >"$tree/out/missed.txt"
  [ $# -gt 0 ] || rm "$tree/out/missed.txt"
  out=$(bash "$tree/scripts/mutants.sh" --judge "$tree/out" 2>&1)
  local got=$?
  if [ "$got" -ne "$want" ] || ! grep -qF -- "$text" <<<"$out"; then
    echo "FAIL  $name: exit $got (wanted $want), output:"
    sed 's/^/      /' <<<"$out"
    failures=$((failures + 1))
  else
    echo "ok    $name"
  fi
}

judge 'the listed mutant is equivalent' 0 \
  '1 missed (1 listed equivalent, 0 killed outside cargo)' 'src/caps.rs:2:30: replace > with >= in sweep'
judge 'same description, same line, other column: a survivor' 1 \
  'SURVIVED  src/caps.rs:2:18: replace > with >= in sweep' 'src/caps.rs:2:18: replace > with >= in sweep'
judge 'same description, another line: a survivor' 1 \
  'SURVIVED  src/caps.rs:5:12: replace > with >= in sweep' 'src/caps.rs:5:12: replace > with >= in sweep'
judge 'the listed one and another of its description: one survivor' 1 \
  'score: 1/2 killed' 'src/caps.rs:2:30: replace > with >= in sweep' 'src/caps.rs:2:18: replace > with >= in sweep'
judge 'same place, another description: a survivor' 1 \
  'SURVIVED  src/caps.rs:2:30: replace > with == in sweep' 'src/caps.rs:2:30: replace > with == in sweep'
judge 'a column counted in characters past a non-ASCII one' 0 \
  '1 missed (1 listed equivalent, 0 killed outside cargo)' 'src/caps.rs:8:35: replace + with - in sweep'
judge 'a column one off: a survivor' 1 \
  'SURVIVED  src/caps.rs:8:34: replace + with - in sweep' 'src/caps.rs:8:34: replace + with - in sweep'
judge 'no survivor' 0 'score: 1/1 killed'

# Killed outside cargo: counted killed, printed apart with its test, never as equivalent.
wasm_clock='src/caps.rs:13:5: replace clock -> f64 with 0.0'
judge 'a mutant killed by another runner is printed with its test' 0 \
  "KILLED ELSEWHERE  $wasm_clock  by tests/wasm/clock.test.js" "$wasm_clock"
judge 'a mutant killed by another runner is not equivalent' 0 \
  '1 missed (0 listed equivalent, 1 killed outside cargo)' "$wasm_clock"
judge 'a mutant killed by another runner counts as killed' 0 'score: 2/2 killed' "$wasm_clock"
judge 'killed outside cargo, another description at its place: a survivor' 1 \
  'SURVIVED  src/caps.rs:13:5: replace clock -> f64 with 1.0' \
  'src/caps.rs:13:5: replace clock -> f64 with 1.0'
judge 'an equivalent entry and one killed outside cargo, side by side' 0 \
  '2 missed (1 listed equivalent, 1 killed outside cargo)' \
  'src/caps.rs:2:30: replace > with >= in sweep' "$wasm_clock"
# Entries that cannot count: a test that is not there, no test named. Each is a survivor, and
# the entry stale.
list '- `src/caps.rs: replace clock -> f64 with 1.0` at `»host_ms()` by `tests/wasm/gone.test.js` — no such file.
- `src/caps.rs: replace clock -> f64 with -1.0` at `»host_ms()` — names no test.'
judge 'killed by a test that is not there: a survivor' 1 \
  'SURVIVED  src/caps.rs:13:5: replace clock -> f64 with 1.0' \
  'src/caps.rs:13:5: replace clock -> f64 with 1.0'
judge 'killed by a test that is not there: the entry stale' 1 \
  'STALE  tests/mutants/equivalent.md: src/caps.rs: replace clock -> f64 with 1.0 at `»host_ms()`: the test that kills it, tests/wasm/gone.test.js, is not there' \
  'src/caps.rs:13:5: replace clock -> f64 with 1.0'
judge 'killed outside cargo by no test named: a survivor' 1 \
  'SURVIVED  src/caps.rs:13:5: replace clock -> f64 with -1.0' \
  'src/caps.rs:13:5: replace clock -> f64 with -1.0'
judge 'killed outside cargo by no test named: the entry stale' 1 \
  'STALE  tests/mutants/equivalent.md: src/caps.rs: replace clock -> f64 with -1.0 at `»host_ms()`: it names no test' \
  'src/caps.rs:13:5: replace clock -> f64 with -1.0'
list

# The line moved down (an edit above it): the entry still names the mutant, at its new line.
sed -i '1i // a comment added above' "$tree/src/caps.rs"
judge 'a moved line keeps its entry' 0 \
  '1 missed (1 listed equivalent, 0 killed outside cargo)' 'src/caps.rs:3:30: replace > with >= in sweep'
# The line changed: the entry no longer covers the mutant and is reported as stale.
sed -i 's/left > 0 {/left > 0 \&\& age > 1 {/' "$tree/src/caps.rs"
judge 'a changed line: a survivor, and the entry stale' 1 \
  'STALE  tests/mutants/equivalent.md: src/caps.rs: replace > with >= in sweep at' \
  'src/caps.rs:3:30: replace > with >= in sweep'

# The real list: every entry's line is in its file.
out=$(bash "$root/scripts/mutants.sh" --judge "$tree/out" 2>&1)
if grep -q '^STALE' <<<"$out"; then
  echo "FAIL  tests/mutants/equivalent.md has stale entries:"
  grep '^STALE' <<<"$out"
  failures=$((failures + 1))
else
  echo "ok    no entry of tests/mutants/equivalent.md is stale"
fi
[ "$(grep -c '^- `' tests/mutants/equivalent.md)" -eq "$(grep -c '^- `[^`]*` at `[^`]*`' tests/mutants/equivalent.md)" ] || {
  echo "FAIL  an entry of tests/mutants/equivalent.md does not name its line (\` at \`...\`\` on its first line)"
  failures=$((failures + 1))
}

[ "$failures" -eq 0 ] && echo "judge_test: all verdicts right"
[ "$failures" -eq 0 ]
