#!/usr/bin/env bash
# Checks how scripts/mutants.sh judges cargo-mutants' survivors against
# tests/mutants/equivalent.md (`--judge DIR`, no cargo-mutants run): on a made-up tree (a source
# file, an equivalent list, outputs as cargo-mutants writes them), an entry covers the one
# mutant it names (file, description, line text and column) and no other with the same
# description; then that no entry of the real list is stale. Fails on the first wrong verdict.
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
RS
cat >"$tree/tests/mutants/equivalent.md" <<'MD'
# Equivalent

- `src/caps.rs: replace > with >= in sweep` at `if max_count > 0 && left »> 0 {` — the second.
- `src/caps.rs: replace + with - in sweep` at `let label = "é"; let n = left »+ 1;`
  — a reason on the next line.
MD

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
  '1 missed (1 listed equivalent)' 'src/caps.rs:2:30: replace > with >= in sweep'
judge 'same description, same line, other column: a survivor' 1 \
  'SURVIVED  src/caps.rs:2:18: replace > with >= in sweep' 'src/caps.rs:2:18: replace > with >= in sweep'
judge 'same description, another line: a survivor' 1 \
  'SURVIVED  src/caps.rs:5:12: replace > with >= in sweep' 'src/caps.rs:5:12: replace > with >= in sweep'
judge 'the listed one and another of its description: one survivor' 1 \
  'score: 1/2 killed' 'src/caps.rs:2:30: replace > with >= in sweep' 'src/caps.rs:2:18: replace > with >= in sweep'
judge 'same place, another description: a survivor' 1 \
  'SURVIVED  src/caps.rs:2:30: replace > with == in sweep' 'src/caps.rs:2:30: replace > with == in sweep'
judge 'a column counted in characters past a non-ASCII one' 0 \
  '1 missed (1 listed equivalent)' 'src/caps.rs:8:35: replace + with - in sweep'
judge 'a column one off: a survivor' 1 \
  'SURVIVED  src/caps.rs:8:34: replace + with - in sweep' 'src/caps.rs:8:34: replace + with - in sweep'
judge 'no survivor' 0 'score: 1/1 killed'

# The line moved down (an edit above it): the entry still names the mutant, at its new line.
sed -i '1i // a comment added above' "$tree/src/caps.rs"
judge 'a moved line keeps its entry' 0 \
  '1 missed (1 listed equivalent)' 'src/caps.rs:3:30: replace > with >= in sweep'
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
