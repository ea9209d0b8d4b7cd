-- The two hosts of the one core: the native module (Lua that can `require`) and the wasm core
-- (stock FXServer: no `package`; js/host.js in Node serves bin/darkchat.wasm through the
-- resource's own export). Same exports, same answers; one line says which core runs; the lock
-- file keeps the two off one database.

local T = require('testlib')
local World = require('world')

local function said(w)
  local lines = {}
  for _, line in ipairs(w.srv:output()) do
    if line:find('[Darkchat]', 1, true) then lines[#lines + 1] = line end
  end
  return table.concat(lines, '\n')
end

-- Generated aliases ("Adjective Noun") differ between two runs: each core draws its own.
local function withoutAliases(text)
  return (
    text
      :gsub('%u%l+ %u%l+ joined', '<alias> joined')
      :gsub('%u%l+ %u%l+ left', '<alias> left')
      :gsub('%u%l+ %u%l+ was removed', '<alias> was removed')
      :gsub('%u%l+ %u%l+ is now the owner', '<alias> is now the owner')
  )
end

-- Replaces what differs between two runs (join codes, times, generated aliases) so results
-- compare as values.
local function normalized(v)
  if type(v) == 'string' then return withoutAliases(v) end
  if type(v) ~= 'table' then return v end
  local out = {}
  for k, val in pairs(v) do
    if k == 'joinCode' and type(val) == 'string' and #val == 6 then
      out[k] = '<generated>'
    elseif (k == 'createdAt' or k == 'updatedAt') and math.type(val) == 'integer' then
      out[k] = '<now>'
    elseif (k == 'alias' or k == 'senderAlias') and type(val) == 'string' then
      out[k] = '<alias>'
    else
      out[k] = normalized(val)
    end
  end
  return out
end

-- The six documented exports and a few more, with good and bad arguments of every kind.
local function script(w)
  local p = w.players
  local out = {}
  local function call(name, ...) out[#out + 1] = normalized(table.pack(w:call(name, ...))) end
  call('Darkchat_CreateConversationBySrc', p[1], 'Heist Planning')
  call('Darkchat_CreateConversationByNumber', 5550102, ' Crew ', 'crew42')
  call('Darkchat_CreateConversationByNumber', '5550102', 'Again', 'CREW42')
  call('Darkchat_CreateConversationByNumber', 5550102.0, 'Float number')
  call('Darkchat_CreateConversationByNumber', 0 / 0, 'NaN')
  call('Darkchat_CreateConversationByNumber', math.huge, 'inf')
  call('Darkchat_CreateConversationByNumber', 5550102.5, 'fraction')
  call('Darkchat_CreateConversationByNumber', '\xff\xfe', 'not utf-8')
  call('Darkchat_CreateConversationByNumber', '5550102', 'bad\xc3', 'CODE1')
  call('Darkchat_CreateConversationByNumber', '5550102', 'Tbl', {})
  call('Darkchat_CreateConversationByNumber', '5550102', 'Fn', function() end)
  call('Darkchat_CreateConversationByNumber', '5550102', 'Quote " and \\ and \n')
  call('Darkchat_CreateConversationByNumber', '5550102', 'ünïcødé ✓')
  call('Darkchat_CreateConversationBySrc', 999, 'nobody')
  call('Darkchat_CreateConversationBySrc', 1.5, 'fraction source')
  call('Darkchat_AddToConversationBySrc', p[2], 1)
  call('Darkchat_AddToConversationBySrc', p[2], 1.0)
  call('Darkchat_AddToConversationByNumber', '5550103', 1)
  call('Darkchat_AddToConversationByNumber', '5550103', 99)
  call('Darkchat_AddToConversationByNumber', nil, 1)
  call('Darkchat_RemoveFromConversationBySrc', p[2], 1, true)
  call('Darkchat_RemoveFromConversationByNumber', '5550103', 1, false)
  call('Darkchat_RemoveFromConversationByNumber', '5550103', 1, false)
  call('Darkchat_RemoveFromConversationByNumber', '5550101', 1, 'yes')
  call('Darkchat_SendMessageByNumber', '5550101', 1, 'hello')
  call('Darkchat_SendMessageByNumber', '5550101', 1, ('x'):rep(5000))
  call('Darkchat_GetConversationByNumber', '5550101', 1)
  call('Darkchat_GetConversationsBySrc', p[1])
  call('Darkchat_GetMessagesByNumber', '5550101', 1, nil, 1)
  call('Darkchat_MarkReadByNumber', '5550101', 1)
  call('Darkchat_RenameConversationByNumber', '5550102', 1, 'Not yours')
  call('Darkchat_RegenerateJoinCodeByNumber', '5550101', 1)
  call('Darkchat_TransferOwnershipByNumber', '5550101', 1, '5550109')
  call('Darkchat_KickFromConversationByNumber', '5550101', 1, '5550109')
  call('Darkchat_DeleteConversationByNumber', '5550101', 1)
  call('Darkchat_GetConversationsByNumber', '5550101')
  return out
end

T.test('the loader says which core it uses; every export answers the same on both', function()
  local native = World.new({ core = 'native' })
  T.ok(said(native):find('native core %d+%.%d+%.%d+ ready %(database '), said(native))
  local expected = script(native)
  native:stop()
  local wasm = World.new({ core = 'wasm' })
  T.ok(said(wasm):find('wasm core %d+%.%d+%.%d+ ready %(database '), said(wasm))
  T.ok(not said(wasm):find('native core', 1, true))
  local got = script(wasm)
  wasm:stop()
  T.eq(#got, #expected)
  for i = 1, #expected do
    T.eq(got[i], expected[i], 'call ' .. i)
  end
end)

T.test('console commands answer the same on both cores', function()
  local function run(core)
    local w = World.new({ core = core })
    w.srv:clearOutput()
    for _, line in ipairs({
      'darkchat create 5550101 Heist Planning',
      'darkchat add 5550102 1',
      'darkchat show 1',
      'darkchat list 5550101',
      'darkchat rename 1 New Name',
      'darkchat remove 5550102 1',
      'darkchat add x y',
    }) do
      w.srv:console(line)
    end
    local out = {}
    for _, line in ipairs(w.srv:output()) do
      out[#out + 1] = withoutAliases(
        line
          :gsub('%f[%w][%u%d][%u%d][%u%d][%u%d][%u%d][%u%d]%f[%W]', '<code>')
          :gsub('%d%d%d%d%-%d%d%-%d%d[ T]%d%d:%d%d:?%d?%d?', '<time>')
      )
    end
    w:stop()
    return out
  end
  T.eq(run('wasm'), run('native'))
end)

T.test('a database outside the resource folder is refused on the wasm core, in one line', function()
  local outside = T.tmpdir() .. '/darkchat.db'
  local w = World.new({ core = 'wasm', db = outside })
  T.ok(
    said(w):find(
      'refusing to start: database ' .. outside .. ' is outside the resource folder',
      1,
      true
    ),
    said(w)
  )
  T.eq(
    w:call('Darkchat_CreateConversationBySrc', w.players[1], 'X'),
    { success = false, error = 'storage_error' }
  )
  T.ok(not io.open(outside, 'rb'), 'nothing written there')
  w:stop()
end)

T.test(
  'the native core refuses a database a live wasm core holds; takes over once it is gone',
  function()
    local w = World.new({ core = 'wasm' })
    local lock = assert(io.open(w.db .. '.lock', 'rb'))
    local holder = lock:read('a')
    lock:close()
    T.ok(holder:match('^%d+ wasm\n$'), holder)
    local native = World.new({ core = 'native', db = w.db })
    T.ok(
      said(native):find(
        'refusing to start: database ' .. w.db .. ' is in use by the wasm core of process',
        1,
        true
      ),
      said(native)
    )
    native:stop()
    w:stop()
    T.ok(not io.open(w.db .. '.lock', 'rb'), 'the wasm core released its lock')
    local again = World.new({ core = 'native', db = w.db })
    T.ok(said(again):find('native core', 1, true), said(again))
    T.eq(
      again:call('Darkchat_GetConversationsByNumber', '5550101'),
      { success = true, conversations = {} }
    )
    again:stop()
  end
)

-- A native server that holds the database until it is killed.
local NATIVE_HOLDER = [[
package.cpath = arg[1] .. "/bin/?.so;" .. package.cpath
local core = assert(require("darkchat").open({ path = arg[2] }))
io.write("READY\n")
io.flush()
io.read("l") -- blocks: nothing is ever written
core:close()
]]

T.test(
  'a wasm server restarted a moment after a native one crashed starts though that one is not yet reaped',
  function()
    -- The wasm core's resource folder, with the database the native server holds inside it.
    local dir = T.tmpdir()
    for _, name in ipairs({ 'fxmanifest.lua', 'lua', 'js', 'bin' }) do
      assert(os.execute(('ln -s %q %q'):format(T.repoRoot .. '/' .. name, dir .. '/' .. name)))
    end
    local db = dir .. '/data/darkchat.db'
    local script, out, pids = dir .. '/holder.lua', dir .. '/holder.out', dir .. '/holder.pids'
    T.write(script, NATIVE_HOLDER)
    -- The holder's parent is a `sleep` (the shell execs it) that never waits for it: once killed,
    -- the holder stays a zombie until the sleep ends. It reads a pipe this test keeps open.
    local input = dir .. '/holder.in'
    assert(os.execute(('mkfifo %q'):format(input)))
    os.execute(
      ("sh -c 'lua5.4 %s %s %s > %s 2>&1 < %s & echo $! $$ > %s; exec sleep 60' > /dev/null 2>&1 &"):format(
        script,
        T.repoRoot,
        db,
        out,
        input,
        pids
      )
    )
    local keepOpen = assert(io.open(input, 'w'))
    local holder, parent, ready
    for _ = 1, 1000 do
      local f = io.open(pids, 'rb')
      local text = f and f:read('a') or ''
      if f then f:close() end
      holder, parent = text:match('^(%d+) (%d+)\n$')
      local o = io.open(out, 'rb')
      ready = o and o:read('a') == 'READY\n'
      if o then o:close() end
      if holder and ready then break end
      os.execute('sleep 0.01')
    end
    T.ok(holder and ready, 'the native holder opened the database')
    local lock = assert(io.open(db .. '.lock', 'rb'))
    T.eq(lock:read('a'), holder .. ' native\n')
    lock:close()
    os.execute('kill -9 ' .. holder)
    for _ = 1, 1000 do
      if not T.alive(holder) then break end
      os.execute('sleep 0.01')
    end
    local stat =
      assert(io.open('/proc/' .. holder .. '/stat', 'rb'), 'a zombie keeps its /proc entry')
    T.eq(stat:read('a'):match('.*%)%s+(%a)'), 'Z')
    stat:close()
    local w = World.new({ core = 'wasm', resourceDir = dir, db = db })
    os.execute('kill -9 ' .. parent)
    T.ok(said(w):find('wasm core %d+%.%d+%.%d+ ready'), said(w))
    T.eq(
      w:call('Darkchat_GetConversationsByNumber', '5550101'),
      { success = true, conversations = {} }
    )
    w:stop()
    keepOpen:close()
  end
)

T.test("the wasm core's DarkchatCore export serves only its own resource", function()
  local w = World.new({ core = 'wasm' })
  local id = w:call('Darkchat_CreateConversationByNumber', '5550101', 'Private').newConv.id
  -- Another resource (the test's caller) tries what the resource's own Lua does: as an admin
  -- (no number) list every conversation with its code, delete one, close or reopen the store.
  for _, case in ipairs({
    { 'list', '[null]' },
    { 'delete', ('[null,%d]'):format(id) },
    { 'conversation', ('["5550101",%d]'):format(id) },
    { 'close' },
    { 'open', ('{"path":%q}'):format(w.dir .. '/other.db') },
  }) do
    local reply = w.srv:export(World.RESOURCE, 'DarkchatCore', case[1], case[2])
    T.eq(type(reply) == 'table' and reply.code or reply, 'forbidden', case[1])
    T.eq(reply.ok, false, case[1])
  end
  T.ok(not io.open(w.dir .. '/other.db', 'rb'), 'no other database opened')
  -- The resource itself is still served, with everything in place.
  local got = w:call('Darkchat_GetConversationByNumber', '5550101', id)
  T.eq(got.success, true)
  T.eq(got.conversation.name, 'Private')
  w:stop()
end)

T.test(
  "the native core refuses a database file the server's user may not write, in one line that says so",
  function()
    -- The folder writable by anyone (SQLite's log and lock files go there), the database in it
    -- read-only, and a copy of the module any user can load. Run as root, the mode would refuse
    -- nothing, so the open then runs as `nobody` (setpriv, util-linux).
    local dir = T.tmpdir()
    os.execute(('chmod 1777 %q'):format(dir))
    os.execute(('cp %q %q'):format(T.repoRoot .. '/bin/darkchat.so', dir .. '/darkchat.so'))
    local db = dir .. '/darkchat.db'
    local function open(prefix)
      local run = io.popen(
        ('%s lua5.4 -e %q'):format(
          prefix,
          ([[
        package.cpath = %q .. "/?.so;" .. package.cpath
        local core, err = require("darkchat").open({ path = %q })
        if core then core:close() end
        io.write(err or "opened")
      ]]):format(dir, db)
        ),
        'r'
      )
      local out = run:read('a')
      run:close()
      return out
    end
    T.eq(open(''), 'opened')
    os.execute(('chmod 444 %q'):format(db))
    local before = assert(io.open(db, 'rb')):read('a')
    local root = io.popen('id -u'):read('l') == '0'
    local said = open(root and 'setpriv --reuid=65534 --regid=65534 --clear-groups' or '')
    T.ok(said:find('^cannot open database ' .. db:gsub('%p', '%%%0')), said)
    T.ok(said:find("the server's user may not write the file (permission denied)", 1, true), said)
    T.ok(not said:find('\n'), 'one line: ' .. said)
    T.eq(assert(io.open(db, 'rb')):read('a') == before, true, 'the database is untouched')
  end
)
