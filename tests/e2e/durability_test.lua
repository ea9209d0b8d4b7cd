-- Crash durability: a child process writes through the native module and prints each write
-- the module acknowledged; it is killed with SIGKILL at random points, and after every kill a
-- fresh process finds the database intact with every acknowledged write in it.

local T = require('testlib')

local WRITER = [[
package.cpath = arg[1] .. "/bin/?.so;" .. package.cpath
local core = assert(require("darkchat").open({ path = arg[2] }))
local ok, conv = core:create("5550101", "Crash test", nil)
if not ok then ok, conv = core:conversation("5550101", 1) end
assert(ok, conv)
local i = 0
while true do
  i = i + 1
  local sent, message = core:send("5550101", conv.id, "write " .. i)
  if sent then
    io.write(message.id, "\n")
    io.flush()
  end
end
]]

T.test('SIGKILL during writes never loses an acknowledged write (20 runs)', function()
  local dir = T.tmpdir()
  local db, script = dir .. '/crash.db', dir .. '/writer.lua'
  T.write(script, WRITER)
  math.randomseed(os.time())
  local total = 0
  for run = 1, 20 do
    local out = ('%s/acked-%d.txt'):format(dir, run)
    local pid = T.sh(('lua5.4 %s %s %s > %s 2>&1 & echo $!'):format(script, T.repoRoot, db, out))
      :match('%d+')
    os.execute(('sleep %.3f'):format(0.05 + math.random() * 0.25))
    os.execute('kill -9 ' .. pid .. ' 2>/dev/null')
    while T.alive(pid) do
      os.execute('sleep 0.01')
    end
    -- Only complete lines were acknowledged (a line cut by the kill was not fully written).
    local acked = {}
    local text = assert(io.open(out)):read('a')
    for id in text:gmatch('(%d+)\n') do
      acked[#acked + 1] = id
    end
    T.eq(
      T.sh(("sqlite3 %s 'PRAGMA integrity_check'"):format(db)),
      'ok\n',
      'integrity after run ' .. run
    )
    if #acked > 0 then
      local last = acked[#acked]
      local found = T.sh(
        ('sqlite3 %s "SELECT count(*) FROM messages WHERE id IN (%s)"'):format(
          db,
          table.concat(acked, ',')
        )
      )
      T.eq(
        tonumber(found),
        #acked,
        ('run %d: every acknowledged write is there (last %s)'):format(run, last)
      )
    end
    total = total + #acked
  end
  T.ok(total > 100, 'the writer got going: ' .. total .. ' acknowledged writes')
end)

T.test('a closed store answers storage_error and never raises', function()
  package.cpath = T.repoRoot .. '/bin/?.so;' .. package.cpath
  local core = assert(require('darkchat').open({ path = T.tmpdir() .. '/closed.db' }))
  T.eq(core:close(), true)
  T.eq(table.pack(core:create('1', 'X')), { n = 3, false, 'storage_error', 'the store is closed' })
  T.eq((core:add('1', 1)), false)
  T.eq(core:close(), false, 'closing twice is harmless')
  local again = assert(require('darkchat').open({ path = T.tmpdir() .. '/reopened.db' }))
  T.eq((again:create('1', 'Works')), true, 'the next store works')
  again:close()
end)
