-- The emulator as a program: a console on an emulated FXServer running one resource with a fake
-- framework and fake players, for trying a resource by hand or from a script (stdin may be a pipe).
--   lua5.4 tests/fxserver/server.lua --resource <dir> [--framework qbcore|qbox|esx|ox|standalone]
--                                    [--players N] [--stock-lua] [+set name value ...]
-- --stock-lua: a Lua without `package`, as stock FXServer's, with `.js` server scripts run in
-- Node (the wasm core: build bin/darkchat.wasm first).
-- Console lines go to the resource's commands (source 0); also: players, connect <name>,
-- drop <src>, wait <ms>, event <src> <eventName> <json-array>, export <exportName> <json-array>,
-- quit/exit. Lines starting with # are comments. Client events sent during a line are shown.
-- The emulated clock follows real time between lines (as a live server keeps ticking while
-- nobody types; at most a minute per line), so timers, Lua and JS, run while you read.
local HERE = debug.getinfo(1, 'S').source:sub(2):match('^(.*)[/\\]') or '.'
local FX = dofile(HERE .. '/fxserver.lua')
local json = dofile(HERE .. '/json.lua')
local RESOURCE = '17mov_Phone'
local FRAMEWORKS = {
  qbcore = { resources = { 'qb-core' }, hook = 'qb-core' },
  qbox = { resources = { 'qbx_core' }, hook = 'qbx_core' },
  esx = { resources = { 'oxmysql', 'es_extended' }, hook = 'es_extended' },
  ox = { resources = { 'ox_core' }, hook = 'ox_core' },
  standalone = { resources = {} },
}
local NAMES = { 'Alice', 'Bob', 'Carol', 'Dave', 'Erin', 'Frank', 'Grace', 'Heidi', 'Ivan', 'Judy' }

local function usage(msg)
  io.stderr:write(
    (msg and (msg .. '\n') or ''),
    'usage: lua5.4 tests/fxserver/server.lua --resource <dir> '
      .. '[--framework qbcore|qbox|esx|ox|standalone] [--players N] [--stock-lua] [+set name value ...]\n'
  )
  os.exit(2)
end

local opts, convars, i = { framework = 'standalone', players = 3 }, {}, 1
while i <= #arg do
  local a = arg[i]
  if a == '--resource' or a == '--framework' or a == '--players' then
    opts[a:sub(3)] = arg[i + 1] or usage('missing value for ' .. a)
    i = i + 2
  elseif a == '+set' or a == 'set' then
    if not arg[i + 2] then usage('+set needs a name and a value') end
    convars[arg[i + 1]] = arg[i + 2]
    i = i + 3
  elseif a == '--stock-lua' then
    opts.stockLua = true
    i = i + 1
  elseif a == '--help' or a == '-h' then
    usage()
  else
    usage('unknown argument ' .. a)
  end
end
if not opts.resource then usage('--resource is required') end
local framework = FRAMEWORKS[opts.framework] or usage('unknown framework ' .. opts.framework)
local dir = opts.resource
if dir:sub(1, 1) ~= '/' then
  dir = io.popen(('cd %q && pwd'):format(dir)):read('l') or usage('no such folder ' .. dir)
end

local srv =
  FX.new({ quiet = false, convars = convars, stockLua = opts.stockLua, jsHost = opts.stockLua })
for _, name in ipairs(framework.resources) do
  srv:addResourceDir(name)
end
for _, name in ipairs(framework.resources) do
  if srv:resourceEnv(name) == nil then srv:ensure(name) end
end
srv:addResourceDir(RESOURCE, dir)
srv:ensure(RESOURCE)

local numbers, nextNumber = {}, 5550101
local function connect(name)
  local src = srv:addPlayer({ name = name })
  if framework.hook then
    numbers[src] = tostring(nextNumber)
    nextNumber = nextNumber + 1
    local ok, err =
      pcall(srv.export, srv, framework.hook, '__SetCharacter', src, { phone = numbers[src] })
    if not ok then print('cannot load a character: ' .. tostring(err)) end
  end
  return src
end

local function listPlayers()
  local list = srv:players()
  for _, p in ipairs(list) do
    print(
      ('  %3d  %-8s %-9s %s'):format(
        p.source,
        p.name,
        numbers[p.source] or '-',
        table.concat(p.identifiers, ' ')
      )
    )
  end
  if #list == 0 then print('  (no players)') end
end

local function show(v)
  local ok, text = pcall(json.encode, v)
  return ok and text or tostring(v)
end

local function decodeArgs(text)
  if not text or text:match('^%s*$') then return { n = 0 } end
  local args = json.decode(text)
  if type(args) ~= 'table' then error('arguments must be a JSON array', 0) end
  local n = 0
  for k in pairs(args) do
    if math.type(k) == 'integer' and k > n then n = k end
  end
  args.n = n
  return args
end

local seen = {}
local function showClientEvents()
  for _, p in ipairs(srv:players()) do
    local src = p.source
    local list = srv:clientEvents(src)
    for k = (seen[src] or 0) + 1, #list do
      local e = list[k]
      print(('-> client %d: %s %s'):format(src, e.name, show(table.move(e.args, 1, e.n, 1, {}))))
    end
    seen[src] = #list
  end
end

local builtins = {
  players = function() listPlayers() end,
  connect = function(rest)
    print(('connected %s as %d'):format(rest, connect(rest ~= '' and rest or nil)))
  end,
  drop = function(rest) srv:dropPlayer(math.tointeger(tonumber(rest)), 'Disconnected.') end,
  wait = function(rest) srv:runFor(math.tointeger(tonumber(rest)) or error('wait <ms>', 0)) end,
  event = function(rest)
    local src, name, payload = rest:match('^(%d+)%s+(%S+)%s*(.*)$')
    if not src then error('event <src> <eventName> <json-array>', 0) end
    local args = decodeArgs(payload)
    srv:triggerNetEvent(math.tointeger(tonumber(src)), name, table.unpack(args, 1, args.n))
  end,
  export = function(rest)
    local name, payload = rest:match('^(%S+)%s*(.*)$')
    if not name then error('export <exportName> <json-array>', 0) end
    local args = decodeArgs(payload)
    local res = table.pack(srv:export(RESOURCE, name, table.unpack(args, 1, args.n)))
    print(show(table.move(res, 1, res.n, 1, {})))
  end,
}

print(('== FXServer emulator: %s from %s, framework %s =='):format(RESOURCE, dir, opts.framework))
for n = 1, math.tointeger(tonumber(opts.players)) or 3 do
  connect(NAMES[n] or ('Player' .. n))
end
listPlayers()
print(
  'commands: <console command> | players | connect <name> | drop <src> | wait <ms> | '
    .. 'event <src> <eventName> <json-array> | export <exportName> <json-array> | quit'
)
showClientEvents()

-- Milliseconds of real time (Linux /proc/uptime, 10 ms steps; whole seconds elsewhere).
local function realMs()
  local f = io.open('/proc/uptime', 'rb')
  local up = f and f:read('n')
  if f then f:close() end
  return up and math.floor(up * 1000) or os.time() * 1000
end

local tty = os.execute('test -t 0')
local lastReal = realMs()
while true do
  if tty then
    io.stdout:write('> ')
    io.stdout:flush()
  end
  local line = io.stdin:read('l')
  local now = realMs()
  if now > lastReal then
    local ok, err = pcall(srv.runFor, srv, math.min(now - lastReal, 60000))
    if not ok then print('error: ' .. tostring(err)) end
    showClientEvents()
  end
  lastReal = now
  if not line then break end
  line = line:match('^%s*(.-)%s*$')
  local word, rest = line:match('^(%S+)%s*(.*)$')
  if line == 'quit' or line == 'exit' then
    break
  elseif word and line:sub(1, 1) ~= '#' then
    local ok, err = pcall(function()
      if builtins[word] then
        builtins[word](rest)
      else
        srv:console(line)
      end
      srv:tick()
    end)
    if not ok then print('error: ' .. tostring(err)) end
    showClientEvents()
  end
end
srv:stopAll()
os.exit(0)
