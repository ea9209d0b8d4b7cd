-- A ready-made emulated server for Darkchat's end-to-end tests: a fake framework, the
-- 17mov_Phone resource from this repository, and players with phone numbers.
--
--   local world = World.new{ framework = "qbcore", players = { "5550101", "5550102" } }
--   world:call("Darkchat_CreateConversationBySrc", world.players[1], "Heist")

local T = require('testlib')
local FX = require('fxserver')

local World = {}
World.__index = World

World.RESOURCE = '17mov_Phone'

-- Framework → fake resources to start before ours, in order.
local FRAMEWORK_RESOURCES = {
  qbcore = { 'qb-core' },
  qbox = { 'qbx_core' },
  esx = { 'oxmysql', 'es_extended' },
  ox = { 'ox_core' },
  standalone = {},
}

--- Which core a World runs by default: "native" (the Lua module), or "wasm" when the
--- environment says DARKCHAT_CORE=wasm (stock-Lua host, the JS host in Node, bin/darkchat.wasm).
World.defaultCore = os.getenv('DARKCHAT_CORE') == 'wasm' and 'wasm' or 'native'

--- Which storage a World uses by default: "sqlite", or "mysql" when the environment says
--- DARKCHAT_STORAGE=mysql (a fresh database per World on the server of DARKCHAT_MYSQL, which
--- scripts/test.sh starts; MySQL runs on the wasm core).
World.defaultStorage = os.getenv('DARKCHAT_STORAGE') == 'mysql' and 'mysql' or 'sqlite'

--- The parts of DARKCHAT_MYSQL (mysql://user:password@host:port/database).
local function mysqlServer()
  local url = assert(
    os.getenv('DARKCHAT_MYSQL'),
    'DARKCHAT_MYSQL is not set (scripts/test.sh starts a MariaDB)'
  )
  local user, password, host, port = url:match('^mysql://([^:@/]+):([^@/]*)@([^:/]+):(%d+)')
  assert(user, 'cannot read DARKCHAT_MYSQL ' .. url)
  return { user = user, password = password, host = host, port = port }
end

--- Runs SQL on the test server with the mariadb client, its output piped into `pipe` (if
--- given); returns the output.
local function mariadb(database, sql, pipe)
  local m = mysqlServer()
  return T.sh(
    ('mariadb --no-defaults --batch --skip-column-names -h %s -P %s -u %s -p%s %s -e %q%s'):format(
      m.host,
      m.port,
      m.user,
      m.password,
      database or '',
      sql,
      pipe and (' | ' .. pipe) or ''
    )
  )
end

local mysqlWorlds = 0
-- Databases of this run are told apart from an earlier run's by a token of this process.
local runToken = ('%x%x'):format(os.time() % 0x100000, math.random(0, 0xfffff))

--- A fresh, empty database on the test server; returns its connection string.
local function freshMysqlDatabase()
  mysqlWorlds = mysqlWorlds + 1
  local name = ('darkchat_e2e_%s_%d'):format(runToken, mysqlWorlds)
  mariadb(
    nil,
    ('DROP DATABASE IF EXISTS %s; CREATE DATABASE %s CHARACTER SET utf8mb4 COLLATE utf8mb4_bin'):format(
      name,
      name
    )
  )
  local m = mysqlServer()
  return ('mysql://%s:%s@%s:%s/%s'):format(m.user, m.password, m.host, m.port, name), name
end

--- The folder every World runs as the 17mov_Phone resource: this repository, or the folder
--- DARKCHAT_RESOURCE_DIR names (an unpacked release package: scripts/test.sh runs the exports
--- and flows suites on one, so a file the package lacks fails them).
World.resourceRoot = T.repoRoot
local packaged = os.getenv('DARKCHAT_RESOURCE_DIR')
if packaged and packaged ~= '' then
  assert(packaged:sub(1, 1) == '/', 'DARKCHAT_RESOURCE_DIR must be an absolute path: ' .. packaged)
  assert(
    io.open(packaged .. '/fxmanifest.lua', 'rb'),
    'no fxmanifest.lua in DARKCHAT_RESOURCE_DIR ' .. packaged
  ):close()
  World.resourceRoot = packaged
end

--- What a per-world copy of the resource folder links to: the repository's resource files, or
--- everything an unpacked package holds (its node_modules too) but a data/ folder.
local function resourceEntries()
  if World.resourceRoot == T.repoRoot then return { 'fxmanifest.lua', 'lua', 'js', 'bin' } end
  local names = {}
  for name in T.sh(('ls -A %q'):format(World.resourceRoot)):gmatch('[^\n]+') do
    if name ~= 'data' then names[#names + 1] = name end
  end
  return names
end

-- The wasm core writes only inside its resource folder: a World on it gets a resource folder
-- of its own (links to the resource files of World.resourceRoot) with the database inside.
local function wasmResourceDir()
  local dir = T.tmpdir()
  for _, name in ipairs(resourceEntries()) do
    assert(
      os.execute(('ln -s %q %q'):format(World.resourceRoot .. '/' .. name, dir .. '/' .. name))
    )
  end
  return dir
end

--- `sharesDatabaseWith`: another MySQL World whose database this one uses (a second server of
--- a network); `events`: server event names (without the `17mov_Phone:darkchat:` prefix) to
--- record from the start, before the resource runs, into `self.events` as { name, payload }.
---@param opts { framework: string?, players: string[]?, db: string?, convars: table?, stockLua: boolean?, core: "native"|"wasm"|nil, resourceDir: string?, storage: "sqlite"|"mysql"|nil, sharesDatabaseWith: table?, events: string[]? }
function World.new(opts)
  opts = opts or {}
  local self = setmetatable({}, World)
  self.framework = opts.framework or 'qbcore'
  self.storage = opts.storage
    or (opts.core == nil and opts.stockLua == nil and World.defaultStorage)
    or 'sqlite'
  self.core = opts.core or (opts.stockLua == nil and World.defaultCore) or 'native'
  if self.storage == 'mysql' then self.core = 'wasm' end
  self.dir = T.tmpdir()
  self.resourceDir = opts.resourceDir or World.resourceRoot
  if self.core == 'wasm' and not opts.resourceDir then
    self.resourceDir = wasmResourceDir()
    self.dir = self.resourceDir .. '/data'
  elseif self.core == 'wasm' and not opts.db then
    -- A resource folder of the test's own (World.resourceWithConfig): the database goes in a
    -- folder of this World's inside it, where the wasm core may write.
    local base = self.resourceDir .. '/data'
    assert(os.execute(('mkdir -p %q'):format(base)))
    self.dir = base .. '/' .. self.dir:match('[^/]+$')
    assert(os.execute(('mkdir %q'):format(self.dir)))
  end
  self.db = opts.db or (self.dir .. '/darkchat.db')
  local convars = { ['darkchat:db'] = self.db }
  if self.storage == 'mysql' then
    convars['darkchat:storage'] = 'mysql'
    if opts.sharesDatabaseWith then
      convars['mysql_connection_string'] = opts.sharesDatabaseWith.mysqlConnection
      self.mysqlDatabase = opts.sharesDatabaseWith.mysqlDatabase
    else
      convars['mysql_connection_string'], self.mysqlDatabase = freshMysqlDatabase()
    end
    self.mysqlConnection = convars['mysql_connection_string']
  end
  for k, v in pairs(opts.convars or {}) do
    convars[k] = v
  end
  local wasm = self.core == 'wasm'
  self.srv = FX.new({ convars = convars, stockLua = opts.stockLua or wasm, jsHost = wasm })
  for _, name in ipairs(FRAMEWORK_RESOURCES[self.framework]) do
    self.srv:addResourceDir(name, FX.fakeResourceDir(name))
    assert(self.srv:ensure(name), 'could not start ' .. name)
  end
  self.events = {}
  if opts.events then
    local listener = assert(
      FRAMEWORK_RESOURCES[self.framework][1],
      'events need a framework resource to listen from'
    )
    local env = self.srv:resourceEnv(listener)
    for _, name in ipairs(opts.events) do
      env.AddEventHandler(
        '17mov_Phone:darkchat:' .. name,
        function(payload) self.events[#self.events + 1] = { name = name, payload = payload } end
      )
    end
  end
  self.players = {}
  self.numbers = {}
  for _, number in ipairs(opts.players or { '5550101', '5550102', '5550103' }) do
    self:connect(number)
  end
  self.srv:addResourceDir(World.RESOURCE, self.resourceDir)
  self.started = self.srv:ensure(World.RESOURCE)
  self.srv:runFor(50)
  if self.storage == 'mysql' then self:awaitMysql() end
  return self
end

--- A copy of the resource folder (World.resourceRoot's: manifest and lua/ copied, everything
--- else linked) in a fresh temporary directory, with `lua/config.lua` passed through
--- `edit(text) → text`: a server owner's edited configuration. Give the result to
--- World.new{ resourceDir = ... }.
function World.resourceWithConfig(edit)
  local dir = T.tmpdir() .. '/' .. World.RESOURCE
  local root = World.resourceRoot
  assert(
    os.execute(
      ('mkdir -p %q && cp %q/fxmanifest.lua %q/ && cp -r %q/lua %q/'):format(
        dir,
        root,
        dir,
        root,
        dir
      )
    )
  )
  for _, name in ipairs(resourceEntries()) do
    if name ~= 'fxmanifest.lua' and name ~= 'lua' then
      assert(os.execute(('ln -s %q %q'):format(root .. '/' .. name, dir .. '/' .. name)))
    end
  end
  local path = dir .. '/lua/config.lua'
  local f = assert(io.open(path))
  local text = f:read('a')
  f:close()
  T.write(path, edit(text))
  return dir
end

--- A resource folder (World.resourceWithConfig) whose server-wide cap keeps `maxMessages`
--- messages per conversation and whose retention sweep runs every second.
function World.resourceWithMessageCap(maxMessages)
  return World.resourceWithConfig(function(text)
    local n1, n2
    text, n1 =
      text:gsub('maxMessagesPerConversation = 0', 'maxMessagesPerConversation = ' .. maxMessages)
    text, n2 = text:gsub('intervalSeconds = 60,', 'intervalSeconds = 1,')
    assert(n1 == 1 and n2 == 1, 'config.lua has no retention settings')
    return text
  end)
end

--- Connects a player and gives them a character with `number` (standalone: no character; the
--- resource assigns the number). Returns the source.
function World:connect(number, name)
  local src = self.srv:addPlayer({
    name = name or ('Player' .. (#self.players + 1)),
    identifiers = { ('license:%040x'):format(#self.players + 1000 + math.random(1, 1e6)) },
  })
  self.players[#self.players + 1] = src
  if number then self:login(src, number) end
  self.numbers[src] = number
  return src
end

--- Loads a character with `number` for `src` through the fake framework.
function World:login(src, number)
  local fw = self.framework
  if fw == 'qbcore' then
    self.srv:export('qb-core', '__SetCharacter', src, { phone = number, citizenid = 'C' .. src })
  elseif fw == 'qbox' then
    self.srv:export('qbx_core', '__SetCharacter', src, { phone = number, citizenid = 'C' .. src })
  elseif fw == 'esx' then
    self.srv:export(
      'es_extended',
      '__SetCharacter',
      src,
      { identifier = 'char1:' .. src .. number, phone = number }
    )
  elseif fw == 'ox' then
    self.srv:export('ox_core', '__SetCharacter', src, { phone = number, charId = src })
  end
  self.numbers[src] = number
  self.srv:runFor(50)
end

function World:logout(src)
  local resource = ({ qbcore = 'qb-core', qbox = 'qbx_core', esx = 'es_extended', ox = 'ox_core' })[self.framework]
  if resource then self.srv:export(resource, '__Logout', src) end
  self.numbers[src] = nil
  self.srv:runFor(50)
end

--- Calls one of our exports as another resource would; returns every value.
function World:call(exportName, ...)
  local results = table.pack(self.srv:export(World.RESOURCE, exportName, ...))
  self.srv:settle() -- what the export started after answering (pushes) is done too
  return table.unpack(results, 1, results.n)
end

--- Calls the resource's core directly (`core:method(...)`, as its own scripts do), from a
--- server thread: on the wasm core a call may wait for the database.
function World:coreCall(method, ...)
  local args = table.pack(...)
  local core = self.srv:resourceEnv(World.RESOURCE).Darkchat.core
  return self.srv:inThread(function() return core[method](core, table.unpack(args, 1, args.n)) end)
end

--- Player `src`, holding the command's ACE (`command.darkchat`), runs `command` in chat and the
--- server runs 100 ms. Returns whether a chat line they got for it holds `text` (plain text),
--- and every chat line they got for it, one a line.
function World:playerTold(src, command, text)
  self.srv:setAce(src, 'command.darkchat', true)
  local before = #self.srv:clientEvents(src)
  self.srv:playerCommand(src, command)
  self.srv:runFor(100)
  local lines, told = {}, false
  for i, e in ipairs(self.srv:clientEvents(src)) do
    if i > before and e.name == 'chat:addMessage' then
      local line = tostring(e.args[1].args[2])
      lines[#lines + 1] = line
      if line:find(text, 1, true) then told = true end
    end
  end
  return told, table.concat(lines, '\n')
end

World.REQUEST, World.RESPONSE = '17mov_Phone:darkchat:request', '17mov_Phone:darkchat:response'

--- Sends the phone's request `action` as player `src` (a net event, so `source` is `src`),
--- lets 10 ms pass (more while the JS runtime still works on it: a MySQL database answers in
--- real time), and returns the arguments of every response `src` received meanwhile.
function World:request(src, id, action, payload)
  self.srv:clearClientEvents()
  self.srv:triggerNetEvent(src, World.REQUEST, id, action, payload)
  local responses
  for _ = 1, 1000 do
    self.srv:runFor(10)
    responses = {}
    for _, e in ipairs(self.srv:clientEvents(src)) do
      if e.name == World.RESPONSE then responses[#responses + 1] = e.args end
    end
    if #responses > 0 or not self.srv:jsBusy() then break end
  end
  return responses
end

--- Sends the phone's request `action` as player `src` with a fresh request id; returns the
--- response to that id (raises when none came).
function World:ask(src, action, payload)
  local id = math.random(1, 1e9)
  for _, args in ipairs(self:request(src, id, action, payload)) do
    if args[1] == id then return args[2] end
  end
  error('no response to ' .. action)
end

--- `World:ask` that must succeed; returns the response's data.
function World:ok(src, action, payload)
  local r = self:ask(src, action, payload)
  T.eq(r.ok, true, action .. ' failed: ' .. tostring(r.error))
  return r.data
end

--- Client events `src` received, filtered to Darkchat pushes: array of { kind, payload }.
function World:pushes(src)
  local out = {}
  for _, e in ipairs(self.srv:clientEvents(src)) do
    if e.name == '17mov_Phone:darkchat:push' then
      out[#out + 1] = { kind = e.args[1], payload = e.args[2] }
    end
  end
  return out
end

--- `World:pushes(src)` once there are at least `n` of them: on MySQL a push can follow its
--- request's response by a database round trip of real time. Waits at most 10 s of real time
--- (then returns what there is, for the caller's assertion to fail on).
function World:awaitPushes(src, n)
  for _ = 1, 1000 do
    if #self:pushes(src) >= n then break end
    self.srv:runFor(10)
  end
  return self:pushes(src)
end

--- The payload of the first push of `kind` among `pushes` (from World:pushes or awaitPushes).
function World.firstPush(pushes, kind)
  for _, p in ipairs(pushes) do
    if p.kind == kind then return p.payload end
  end
end

--- Every cell of every message row as stored, as one string: the admin-only export of the
--- storage move reads the rows themselves (SQLite and MySQL alike), so a test can show that a
--- text is gone from the database, not only hidden. NULL cells are simply left out.
function World:storedMessages()
  local ok, rows = self:coreCall('exportRows', 'messages', nil, 500)
  T.eq(ok, true, 'exportRows')
  local cells = {}
  for _, row in ipairs(rows) do
    for _, cell in pairs(row) do
      cells[#cells + 1] = tostring(cell)
    end
  end
  return table.concat(cells, '|')
end

--- A crew of three: the first player (Ace) creates it, the second (Bee) and third (Cat) join
--- by code. Returns the conversation as its creator got it.
function World:crew()
  local a, b, c = self.players[1], self.players[2], self.players[3]
  local conv = self:ok(a, 'create', { name = 'Crew', alias = 'Ace' })
  self:ok(b, 'join', { joinCode = conv.joinCode, alias = 'Bee' })
  self:ok(c, 'join', { joinCode = conv.joinCode, alias = 'Cat' })
  return conv
end

--- Lets the emulated server run until the MySQL database is ready (the schema is applied in
--- the background after start), at most 30 s of real time.
function World:awaitMysql()
  for _ = 1, 300 do
    for _, line in ipairs(self.srv:output()) do
      if line:find('ready (schema version', 1, true) then return end
      -- The loader gave up (a file missing, a bad connection string): no use waiting.
      if
        line:find('[Darkchat] refusing to start', 1, true)
        or line:find('[Darkchat] core not started', 1, true)
      then
        error('the MySQL world did not start: ' .. line)
      end
    end
    self.srv:runJs(100) -- the database works in real time
    self.srv:runFor(100)
  end
  error(
    'the MySQL database of this world never became ready:\n'
      .. table.concat(self.srv:output(), '\n')
  )
end

--- A checksum of the database's whole content, read by a second process (sqlite3, or the
--- mariadb client for MySQL). The wasm core holds its SQLite database exclusively (its WAL
--- index is in its own memory), so there the files are copied first and the copy is read. The
--- host's checkpoints run in Node meanwhile (the emulator's Node runs its event loop on its
--- own), so the log is copied before the database file: whatever a checkpoint copies or
--- restarts between the two, the copied log replays over the later database file to the same
--- content; the other order could pair an older file with an already restarted log.
function World:checksum()
  if self.storage == 'mysql' then
    local tables = {
      'darkchat_phones',
      'darkchat_conversations',
      'darkchat_members',
      'darkchat_messages',
      'darkchat_standalone_numbers',
    }
    local sql = {}
    for _, t in ipairs(tables) do
      sql[#sql + 1] = ('SELECT * FROM %s ORDER BY 1;'):format(t)
    end
    return mariadb(self.mysqlDatabase, table.concat(sql, ' '), 'sha256sum'):match('^%x+')
  end
  if self.core ~= 'wasm' then return World.checksumOf(self.db) end
  local copy = T.tmpdir() .. '/copy.db'
  os.execute(
    ('rm -f %q && (cp %q %q 2>/dev/null || true) && cp %q %q'):format(
      copy .. '-wal',
      self.db .. '-wal',
      copy .. '-wal',
      self.db,
      copy
    )
  )
  return World.checksumOf(copy)
end

--- Checksum of a database file's content as `sqlite3 .dump` prints it (WAL included). The
--- `wal_marker` row is left out: the background checkpointer bumps it (see
--- src/store/checkpoint.rs); it is bookkeeping, not content.
function World.checksumOf(path)
  return T.sh(
    ("sqlite3 -readonly %q .dump | grep -v '^INSERT INTO wal_marker' | sha256sum"):format(path)
  ):match('^%x+')
end

--- Runs SQL on this World's MySQL database (the mariadb client); returns its output.
function World:sql(sql) return mariadb(self.mysqlDatabase, sql) end

function World:stop() self.srv:stopAll() end

return World
