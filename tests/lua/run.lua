-- Test runner: `lua5.4 tests/lua/run.lua [file ...]` (default: every tests/e2e/*_test.lua, by
-- name). Each test runs under xpcall with a traceback; the last line is `N passed, N failed`,
-- and the exit status is 1 when anything failed. TEST_FILTER=<substring> selects tests by name.
-- A file that registers no test fails (a test that never ran proves nothing), and so does a
-- run in which no test ran at all (a filter that matches nothing, or no file).
local script = arg and arg[0] or 'tests/lua/run.lua'
local here = script:match('^(.*)/[^/]*$') or '.'
local pwd = io.popen(('cd %q/../.. && pwd'):format(here))
local root = pwd:read('l')
pwd:close()
TEST_REPO_ROOT = root
package.path = ('%s/tests/lua/?.lua;%s/tests/fxserver/?.lua;%s'):format(root, root, package.path)

local T = require('testlib')
local filter = os.getenv('TEST_FILTER')

local files = {}
for i = 1, #arg do
  files[#files + 1] = arg[i]
end
if #files == 0 then
  local p = io.popen(('ls %q/tests/e2e/ 2>/dev/null'):format(root))
  for name in p:lines() do
    if name:match('_test%.lua$') then files[#files + 1] = root .. '/tests/e2e/' .. name end
  end
  p:close()
  table.sort(files)
end

local passed, failed = 0, 0
for _, file in ipairs(files) do
  local short = file:gsub('^' .. root:gsub('%p', '%%%0') .. '/', '')
  T.tests = {}
  local chunk, err = loadfile(file)
  local ok = chunk ~= nil
  if ok then
    ok, err = xpcall(chunk, debug.traceback)
  end
  if not ok then
    failed = failed + 1
    print(('FAIL %s: (loading)\n%s'):format(short, tostring(err)))
  elseif #T.tests == 0 then
    failed = failed + 1
    print(('FAIL %s: registers no test'):format(short))
  else
    for _, t in ipairs(T.tests) do
      if not filter or t.name:find(filter, 1, true) then
        local tok, terr = xpcall(t.fn, debug.traceback)
        if tok then
          passed = passed + 1
          print(('ok   %s: %s'):format(short, t.name))
        else
          failed = failed + 1
          print(('FAIL %s: %s\n%s'):format(short, t.name, tostring(terr)))
        end
      end
    end
  end
end
T.cleanup()
if passed + failed == 0 then
  failed = 1
  print(
    ('FAIL no test ran%s'):format(
      filter and (' (TEST_FILTER=%q matches none)'):format(filter) or ''
    )
  )
end
print(('%d passed, %d failed'):format(passed, failed))
os.exit(failed > 0 and 1 or 0)
