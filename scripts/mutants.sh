#!/usr/bin/env bash
# Mutation testing of the Rust rule modules with cargo-mutants (installed from crates.io when
# missing): src/input.rs, src/service.rs and src/service/ (staff bans and reports), the word
# filter (src/filter.rs), the change log's entries (src/changes.rs), src/storage.rs, src/api/
# and the store's statements and transactions (src/store/mod.rs, queries.rs, numbers.rs,
# migrations.rs, transactions.rs). The background
# checkpointer (checkpoint.rs: its tests flood the log for minutes), the lock file (lock.rs) and
# the wasm VFS (vfs.rs, not built natively) are left out. Each mutant is built (debug, features
# vendored and fault-injection) and judged by the core, property, shared-case, query-plan,
# binding, staff-tool and unit tests; the property test runs DARKCHAT_PROPTEST_CASES sequences
# (150 here). MUTANTS_TESTS replaces that list for a narrower (faster) run, e.g.
#   MUTANTS_TESTS="--lib --test staff_tools --test core" bash scripts/mutants.sh --file src/filter.rs
#
#   bash scripts/mutants.sh                                   # all of them: hours on two cores
#   bash scripts/mutants.sh --file src/input.rs --file src/service.rs   # any cargo-mutants options
#
# Then prints the score and every surviving ("missed") mutant that tests/mutants/equivalent.md
# does not list as equivalent; exits 1 when there is one. An entry there names one mutant: its
# file, its description, and its source line's text (trimmed) with » where the mutant starts,
#   - `src/service/retention.rs: replace > with >= in Service<S>::sweep_expired` at `if max_count > 0 && left »> 0 {`
# so that a mutant with the same description elsewhere in the function (or on the same line)
# stays a survivor, while moving the line (an edit above it) keeps the entry. An entry whose line
# is no longer in its file is printed as STALE. Entries under the heading "## Killed outside
# cargo" (up to the next "## " heading) name real mutants that a test of another runner kills
# (code cargo's native tests never build, such as the wasm32 build's, or an effect they cannot
# see, such as an act's round trips to MySQL): each names that test after its line,
#   - `src/store/migrations.rs: replace now_ms -> f64 with 0.0` at `»super::vfs::monotonic_ms()` by `tests/wasm/migration_clock.test.js`
# and such a survivor counts as killed, printed apart (KILLED ELSEWHERE) with its test; an entry
# there naming no test, or a test that is not there, is STALE too. Output: target/mutants/mutants.out. Not part of
# scripts/test.sh. One job by default (MUTANTS_JOBS); the tree is copied, never mutated in place.
#   bash scripts/mutants.sh --judge DIR     # only judges an existing output (DIR/missed.txt, ...)
# tests/mutants/judge_test.sh checks the judging on made-up outputs.
# The Lua layer and the wasm host have their own list and runner: scripts/lua-mutants.sh.
set -uo pipefail
cd "$(dirname "$0")/.."
judge=""
if [ "${1:-}" = --judge ]; then judge=${2:?"--judge needs the output folder"}; fi

files=(--file src/input.rs --file src/service.rs --file 'src/service/*.rs' --file src/filter.rs
  --file src/changes.rs --file src/storage.rs --file 'src/api/*.rs'
  --file src/store/mod.rs --file src/store/queries.rs --file src/store/numbers.rs
  --file src/store/migrations.rs --file src/store/transactions.rs)
for a in "$@"; do
  case "$a" in -f|--file|--file=*|-f?*) files=() ;; esac
done
read -r -a tests <<<"${MUTANTS_TESTS:---lib --test core --test property --test shared_cases --test query_plans --test binding --test staff_tools}"
test_args=()
for t in "${tests[@]}"; do test_args+=(--cargo-test-arg="$t"); done

if [ -n "$judge" ]; then
  status=0 out=$judge
  [ -d "$out" ] || { echo "mutants: no folder $out" >&2; exit 2; }
else
  command -v cargo-mutants >/dev/null 2>&1 || cargo install cargo-mutants --locked || exit 2
  DARKCHAT_PROPTEST_CASES=${DARKCHAT_PROPTEST_CASES:-150} cargo mutants --no-config \
    --output target/mutants --copy-target=false --no-shuffle -j "${MUTANTS_JOBS:-1}" \
    --timeout "${MUTANTS_TIMEOUT:-180}" --build-timeout 900 --features vendored,fault-injection \
    "${files[@]}" "${test_args[@]}" "$@"
  status=$?
  out=target/mutants/mutants.out
fi
[ -d "$out" ] || exit "$status"

count() { if [ -f "$out/$1.txt" ]; then grep -c . "$out/$1.txt"; else echo 0; fi; }
caught=$(count caught) missed=$(count missed) timeout=$(count timeout) unviable=$(count unviable)
# Columns are characters (cargo-mutants counts them so); a UTF-8 locale makes ${text:n} count them too.
LC_ALL=C.UTF-8
# A survivor "file:line:column: description" as an entry names it: "file: description", a tab,
# and its source line's text, trimmed, with » at the column.
key() {
  [[ $1 =~ ^([^:]+):([0-9]+):([0-9]+):\ (.*)$ ]] || { printf '%s\n' "$1"; return; }
  local file=${BASH_REMATCH[1]} line=${BASH_REMATCH[2]} column=${BASH_REMATCH[3]}
  local description=${BASH_REMATCH[4]} text before after
  text=$(sed -n "${line}p" "$file" 2>/dev/null)
  before=${text:0:column-1} after=${text:column-1}
  before=${before#"${before%%[![:space:]]*}"} after=${after%"${after##*[![:space:]]}"}
  printf '%s: %s\t%s»%s\n' "$file" "$description" "$before" "$after"
}
list=tests/mutants/equivalent.md outside='## Killed outside cargo'
# The section under that heading runs to the next "## " heading; every other entry is an
# equivalent. Equivalents as "file: description", a tab, the line; the section's entries with a
# third field, the test that kills the mutant ("" when the entry names none).
section() { awk -v h="$outside" -v want="$1" '/^## /{ k = ($0 == h) } k == want' "$list" 2>/dev/null; }
listed=$(section 0 | sed -nE 's/^- `([^`]*)` at `([^`]*)`.*$/\1\t\2/p')
killers=$(section 1 | sed -nE 's/^- `([^`]*)` at `([^`]*)`( by `([^`]*)`)?.*$/\1\t\2\t\4/p')
stale=()
while IFS= read -r entry; do
  [ -n "$entry" ] || continue
  what=${entry%%$'\t'*} at=${entry#*$'\t'} at=${at%%$'\t'*}
  file=${what%%: *} text=${at/»/}
  # (not a pipe: grep -q stops reading at the first match, and pipefail would count sed's SIGPIPE)
  grep -qxF -- "$text" < <(sed -E 's/^[[:space:]]+//; s/[[:space:]]+$//' "$file" 2>/dev/null) ||
    stale+=("$what"$'\t'"$at"$'\t'"its file has no such line")
done < <(printf '%s\n' "$listed" "$killers")
while IFS=$'\t' read -r what at by; do
  [ -n "$what" ] || continue
  if [ -z "$by" ]; then
    stale+=("$what"$'\t'"$at"$'\t'"it names no test that kills it (\`by \`tests/...\`\` after its line)")
  elif [ ! -f "$by" ]; then
    stale+=("$what"$'\t'"$at"$'\t'"the test that kills it, $by, is not there")
  fi
done <<<"$killers"
equivalent=0 unlisted=() elsewhere=()
if [ -f "$out/missed.txt" ]; then
  while IFS= read -r mutant; do
    k=$(key "$mutant") by=""
    if grep -qxF -- "$k" <<<"$listed"; then
      equivalent=$((equivalent + 1))
      continue
    fi
    while IFS=$'\t' read -r what at test; do
      if [ -n "$test" ] && [ -f "$test" ] && [ "$what"$'\t'"$at" = "$k" ]; then by=$test; fi
    done <<<"$killers"
    if [ -n "$by" ]; then
      elsewhere+=("$mutant  by $by")
    else
      unlisted+=("$mutant")
    fi
  done <"$out/missed.txt"
fi
echo
echo "cargo-mutants: $caught caught, $timeout timed out, $missed missed ($equivalent listed equivalent, ${#elsewhere[@]} killed outside cargo), $unviable unviable"
judged=$((caught + timeout + missed - equivalent))
[ "$judged" -gt 0 ] &&
  echo "score: $((caught + timeout + ${#elsewhere[@]}))/$judged killed of the non-equivalent mutants"
for m in "${elsewhere[@]}"; do echo "KILLED ELSEWHERE  $m"; done
for m in "${unlisted[@]}"; do echo "SURVIVED  $m"; done
for e in "${stale[@]}"; do
  IFS=$'\t' read -r what at why <<<"$e"
  echo "STALE  $list: $what at \`$at\`: $why"
done
# cargo-mutants: 0 all caught, 2 some missed, 3 some timed out; anything else is a failure of
# the run itself (1 usage, 4 the unmutated tree fails its tests).
case "$status" in 0|2|3) ;; *) exit "$status" ;; esac
[ "${#unlisted[@]}" -eq 0 ]
