#!/usr/bin/env bash
# Mutation testing of the Lua layer and the wasm host: applies each mutation listed in
# tests/mutants/lua-js.txt (a file, an original snippet, the mutated snippet) to its file, one
# at a time, runs the suites that cover that file, puts the file back, and prints a score and
# the survivors. A mutant is killed when a suite fails (or runs past the timeout). A survivor
# is either a gap to close with a test or, with its reason, marked `equivalent` in the list.
#
#   bash scripts/lua-mutants.sh [substring]   # only mutants whose line contains the substring
#   bash scripts/lua-mutants.sh --check       # only checks that every mutation still applies
#   MUTANT_FROM=91 bash scripts/lua-mutants.sh # only the list's lines from 91 on (the newest)
#
# Mutants run by the network, import, mysql_batches, mysql_warm_up, mysql_migration and migrate suites need a MariaDB: DARKCHAT_MYSQL=<url>
# (scripts/mariadb.sh).
# Exit status 1 when a mutant that is not marked equivalent survived. Slow (each mutant runs
# suites: up to ~40 s); not part of scripts/test.sh. Needs a clean lua/ and js/ (it refuses to
# run over uncommitted changes there), and the built modules (bash scripts/build.sh,
# bash scripts/build-wasm.sh).
set -uo pipefail
cd "$(dirname "$0")/.."
LIST=tests/mutants/lua-js.txt
ONLY=${1:-}
CHECK=""
if [ "$ONLY" = --check ]; then CHECK=1 ONLY=""; fi
TIMEOUT=${MUTANT_TIMEOUT:-600}

if ! git diff --quiet -- lua js || ! git diff --cached --quiet -- lua js; then
  echo "lua-mutants: lua/ or js/ has uncommitted changes; commit or stash them first" >&2
  exit 2
fi
if [ -z "$CHECK" ]; then
  if [ ! -f bin/darkchat.so ] || [ ! -f bin/darkchat.wasm ]; then
    echo "lua-mutants: build first (scripts/build.sh, scripts/build-wasm.sh)" >&2
    exit 2
  fi
  # A suite that needs MariaDB would fail without it, and count its mutants as killed.
  if [ -z "${DARKCHAT_MYSQL:-}" ] && grep -v '^#' "$LIST" | grep -F -- "$ONLY" | grep -qE '\|\|\| [^|]*\b(network|import|mysql_batches|mysql_warm_up|mysql_migration|migrate)\b'; then
    echo "lua-mutants: the network, import, mysql_batches, mysql_warm_up, mysql_migration and migrate suites need DARKCHAT_MYSQL (bash scripts/mariadb.sh start DIR PORT)" >&2
    exit 2
  fi
  # The cross-core comparison (tests/wasm/cases.test.js) needs the native replies of these sources.
  cargo test --release --quiet --test shared_cases >/dev/null 2>&1 \
    || { echo "lua-mutants: cargo test --test shared_cases failed" >&2; exit 2; }
fi

backup=$(mktemp -d)
mutated=""
restore() {
  if [ -n "$mutated" ]; then cp "$backup/file" "$mutated"; mutated=""; fi
}
trap 'restore; rm -rf "$backup"' EXIT
trap 'restore; exit 130' INT TERM

# Suites by name; a mutant's line may name its own, else they follow from the file.
suite() {
  case "$1" in
    lua) lua5.4 tests/lua/run.lua tests/e2e/bridge_test.lua tests/e2e/console_test.lua \
      tests/e2e/exports_test.lua tests/e2e/flows_test.lua tests/e2e/hosts_test.lua tests/e2e/limits_test.lua ;;
    matrix) lua5.4 tests/lua/run.lua tests/e2e/matrix_test.lua ;;
    node) node --test tests/wasm/*.test.js ;;
    wasm-e2e) DARKCHAT_CORE=wasm lua5.4 tests/lua/run.lua tests/e2e/exports_test.lua tests/e2e/flows_test.lua \
      && lua5.4 tests/lua/run.lua tests/e2e/hosts_test.lua ;;
    # One file each, for the mutants of one feature (quicker than the groups above).
    messages|moderation|anonymity|console|limits|exports|retention|hostile|bridge)
      lua5.4 tests/lua/run.lua "tests/e2e/$1_test.lua" ;;
    matrix-exports) TEST_FILTER='every export' lua5.4 tests/lua/run.lua tests/e2e/matrix_test.lua ;;
    checkpoint|durability|host) node --test "tests/wasm/$1.test.js" ;;
    # On the MariaDB of DARKCHAT_MYSQL (checked before the first mutant).
    network) DARKCHAT_STORAGE=mysql DARKCHAT_CORE=wasm lua5.4 tests/lua/run.lua tests/e2e/network_test.lua ;;
    import) node --test tests/wasm/import.test.js && lua5.4 tests/lua/run.lua tests/e2e/import_test.lua ;;
    mysql_batches) node --test tests/wasm/mysql_batches.test.js ;;
    mysql_warm_up) node --test tests/wasm/mysql_warm_up.test.js ;;
    mysql_migration) node --test tests/wasm/mysql_migration.test.js ;;
    migrate) node --test tests/wasm/migrate.test.js ;;
    *) echo "lua-mutants: unknown suite $1" >&2; return 2 ;;
  esac
}
default_suites() {
  case "$1" in
    js/*) echo "node wasm-e2e" ;;
    *) echo "lua matrix" ;;
  esac
}

# Replaces the one occurrence of `old` in `file` by `new` (both with \n for a line break);
# fails when `old` is not there exactly once.
apply() {
  lua5.4 - "$1" "$2" "$3" <<'LUA'
local path, old, new = arg[1], arg[2]:gsub('\\n', '\n'), arg[3]:gsub('\\n', '\n')
local f = assert(io.open(path, 'rb'))
local text = f:read('a')
f:close()
local at, count, from = nil, 0, 1
while true do
  local s, e = text:find(old, from, true)
  if not s then break end
  count, at, from = count + 1, at or s, e + 1
end
if count ~= 1 then
  io.stderr:write(('snippet found %d times in %s\n'):format(count, path))
  os.exit(1)
end
f = assert(io.open(path, 'wb'))
f:write(text:sub(1, at - 1), new, text:sub(at + #old))
f:close()
LUA
}

total=0 killed=0 equivalent=0 broken=0
survivors=() equivalents_killed=()
lineno=0
while IFS= read -r line || [ -n "$line" ]; do
  lineno=$((lineno + 1))
  case "$line" in ''|'#'*) continue ;; esac
  [ "$lineno" -lt "${MUTANT_FROM:-0}" ] && continue
  [ -n "$ONLY" ] && [[ "$line" != *"$ONLY"* ]] && continue
  # file ||| original ||| mutated [||| suites] [||| equivalent: reason]
  IFS=$'\x1f' read -r file old new rest <<<"${line// ||| /$'\x1f'}"
  suites="" reason=""
  IFS=$'\x1f' read -r -a extra <<<"$rest"
  for field in "${extra[@]}"; do
    case "$field" in equivalent:*) reason=${field#equivalent: } ;; *) suites=$field ;; esac
  done
  suites=${suites:-$(default_suites "$file")}
  cp "$file" "$backup/file"
  mutated=$file
  if ! apply "$file" "$old" "$new"; then
    restore
    broken=$((broken + 1))
    echo "BROKEN  $LIST:$lineno  $file: the original snippet is not there once"
    continue
  fi
  if [ -n "$CHECK" ]; then
    restore
    continue
  fi
  total=$((total + 1))
  started=$(date +%s)
  outcome=survived
  for s in $suites; do
    if ! timeout "$TIMEOUT" bash -c "$(declare -f suite); suite $s" >"$backup/log" 2>&1; then
      outcome="killed by $s"
      break
    fi
  done
  restore
  took=$(( $(date +%s) - started ))
  if [ "$outcome" != survived ]; then
    killed=$((killed + 1))
    [ -n "$reason" ] && equivalents_killed+=("$LIST:$lineno  $file: $old => $new")
  elif [ -n "$reason" ]; then
    equivalent=$((equivalent + 1))
  else
    survivors+=("$LIST:$lineno  $file: $old => $new")
  fi
  printf '%-22s %3ss  %s:%d  %s\n' "${outcome}${reason:+ (listed equivalent)}" "$took" "$LIST" "$lineno" "$file"
done <"$LIST"

if [ -n "$CHECK" ]; then
  [ "$broken" -eq 0 ] && echo "every mutation in $LIST applies"
  [ "$broken" -eq 0 ]
  exit
fi
echo
echo "Lua/JS mutants: $total run, $killed killed, $equivalent equivalent (listed), ${#survivors[@]} survived"
[ "$total" -gt 0 ] && echo "score: $killed/$((total - equivalent)) killed of the non-equivalent mutants"
[ "$broken" -gt 0 ] && echo "$broken listed mutants no longer apply (their snippet changed): update $LIST"
for s in "${survivors[@]}"; do echo "SURVIVED  $s"; done
for s in "${equivalents_killed[@]}"; do echo "KILLED BUT LISTED EQUIVALENT  $s"; done
[ "${#survivors[@]}" -eq 0 ] && [ "$broken" -eq 0 ]
