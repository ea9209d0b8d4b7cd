-- Tests of the FXServer emulation itself (tests/fxserver): if these rules are wrong, every
-- end-to-end test built on them proves nothing. Each test makes throwaway resources in a temp dir.
local T = require('testlib')
local FX = require('fxserver')

-- Writes a resource folder: `files` maps relative path → text; a manifest listing
-- `server` (default: every .lua file given, sorted) is added unless one is given.
local function resource(files, server)
  local dir = T.tmpdir()
  if not files['fxmanifest.lua'] then
    local list = server
    if not list then
      list = {}
      for path in pairs(files) do
        if path:match('%.lua$') then list[#list + 1] = path end
      end
      table.sort(list)
    end
    local quoted = {}
    for i, p in ipairs(list) do
      quoted[i] = ('%q'):format(p)
    end
    files['fxmanifest.lua'] = "fx_version 'cerulean'\ngame 'gta5'\nlua54 'yes'\nserver_scripts { "
      .. table.concat(quoted, ', ')
      .. ' }\n'
  end
  for path, text in pairs(files) do
    T.write(dir .. '/' .. path, text)
  end
  return dir
end

-- A server with resources started in order: { name, sourceText } or { name, dir }.
local function server(list, opts)
  local srv = FX.new(opts)
  for _, r in ipairs(list) do
    local dir = r.dir or (r[2] and resource({ ['server.lua'] = r[2] })) or FX.fakeResourceDir(r[1])
    srv:addResourceDir(r[1], dir)
  end
  for _, r in ipairs(list) do
    T.eq(srv:ensure(r[1]), true, 'ensure ' .. r[1])
  end
  return srv
end

local function has(srv, text)
  for _, line in ipairs(srv:output()) do
    if line:find(text, 1, true) then return true end
  end
  return false
end

-- MessagePack copies -------------------------------------------------------------------------

T.test('export args and results keep integer/float subtypes, NaN, inf and raw bytes', function()
  local srv = server({ { 'a', "exports('Echo', function(...) return ... end)" } })
  local a, b, c, d, e = srv:export('a', 'Echo', 1, 1.0, 3.5, math.huge, '\255\0x')
  T.eq({ a, b, c, d, e }, { 1, 1.0, 3.5, math.huge, '\255\0x' })
  T.eq(math.type(a), 'integer')
  T.eq(math.type(b), 'float')
  local nan = srv:export('a', 'Echo', 0 / 0)
  T.ok(nan ~= nan, 'NaN survives')
  T.eq(
    srv:export('a', 'Echo', { [1] = 'x', [3] = 'z', [2.5] = 'f', k = { 1, 2.0 } }),
    { [1] = 'x', [3] = 'z', [2.5] = 'f', k = { 1, 2.0 } }
  )
end)

T.test('tables are copied, metatables dropped, shared subtables copied twice', function()
  local srv = server({
    {
      'a',
      [[
    local kept = { n = 1 }
    exports('Get', function() return kept end)
    exports('Mutate', function(t) t.n = 99; return t end)
  ]],
    },
  })
  local got = srv:export('a', 'Get')
  got.n = 2
  T.eq(srv:export('a', 'Get'), { n = 1 }, 'the callee keeps its own table')
  local mine = setmetatable({ n = 1 }, { __index = function() return 'meta' end })
  local back = srv:export('a', 'Mutate', mine)
  T.eq(mine.n, 1, 'the caller keeps its own table')
  T.eq(back.n, 99)
  T.eq(getmetatable(back), nil)
  local shared = { 1 }
  local pair = srv:export('a', 'Mutate', { a = shared, b = shared })
  T.ok(pair.a ~= pair.b, 'no aliasing after a copy')
end)

T.test('cyclic tables cannot cross, functions become callable references', function()
  local srv = server({
    {
      'a',
      [[
    exports('Echo', function(...) return ... end)
    exports('Call', function(fn, x) return type(fn), fn(x, 2) end)
    exports('Make', function() return { add = function(x, y) return x + y, GetInvokingResource() end } end)
  ]],
    },
  })
  local cyc = {}
  cyc.self = cyc
  T.raises(function() srv:export('a', 'Echo', cyc) end, 'cyclic')
  local kind, sum = srv:export('a', 'Call', function(x, y) return x + y end, 40)
  T.eq(kind, 'table', 'a function arrives as a funcref table')
  T.eq(sum, 42)
  local obj = srv:export('a', 'Make')
  T.eq(type(obj.add), 'table')
  local r, inv = obj.add(1, 2.5)
  T.eq(r, 3.5)
  T.eq(inv, 'test-caller', 'the reference is held by test-caller, which srv:export calls from')
  T.raises(function() return obj.add.x end, 'Cannot index a funcref')
end)

T.test('results stop at the first nil, arguments keep nils inside', function()
  local srv = server({
    {
      'a',
      [[
    exports('NilFirst', function() return nil, 'x' end)
    exports('Count', function(...) return select('#', ...), (select(2, ...)) end)
  ]],
    },
  })
  T.eq(select('#', srv:export('a', 'NilFirst')), 0)
  local n, second = srv:export('a', 'Count', nil, 'b')
  T.eq({ n, second }, { 2, 'b' })
end)

-- Exports ------------------------------------------------------------------------------------

T.test('export call forms, GetInvokingResource and missing exports', function()
  local srv = server({
    {
      'callee',
      [[
      exports('Who', function(a) return GetInvokingResource(), a end)
      exports('Fail', function() error('boom') end)
    ]],
    },
    {
      'caller',
      [[
      local a1, x1 = exports['callee']:Who(1)
      local a2, x2 = exports.callee.Who(nil, 2)
      results = { a1, x1, a2, x2 }
      missing = select(2, pcall(function() return exports.callee:Nope() end))
      notStarted = select(2, pcall(function() return exports.ghost:Fn() end))
      failed = select(2, pcall(function() return exports.callee:Fail() end))
    ]],
    },
  })
  local env = srv:resourceEnv('caller')
  T.eq(env.results, { 'caller', 1, 'caller', 2 })
  T.ok(env.missing:find('No such export Nope in resource callee', 1, true), env.missing)
  T.ok(env.notStarted:find('No such export Fn in resource ghost', 1, true), env.notStarted)
  T.ok(
    env.failed:find('An error occurred while calling export `Fail` in resource `callee`', 1, true),
    env.failed
  )
  T.ok(
    has(srv, '[script:callee] SCRIPT ERROR: @callee/server.lua:2: boom'),
    'callee prints the error'
  )
  T.eq(srv:export('callee', 'Who', 'x'), 'test-caller')
  T.raises(function() srv:export('callee', 'Nope') end, 'No such export Nope in resource callee')
  srv:stop('callee')
  T.raises(function() srv:export('callee', 'Who') end, 'No such export Who in resource callee')
end)

T.test('an export that waits makes srv:export drive the clock', function()
  local srv = server({
    {
      'a',
      [[
    exports('Slow', function(ms) local t0 = GetGameTimer(); Wait(ms); return GetGameTimer() - t0 end)
  ]],
    },
  })
  T.eq(srv:export('a', 'Slow', 250), 250)
end)

-- Events -------------------------------------------------------------------------------------

T.test('net events: source is the player, only RegisterNetEvent events are reachable', function()
  local srv = server({
    {
      'a',
      [[
    seen = {}
    RegisterNetEvent('ok:event', function(x)
      local src = source
      seen[#seen + 1] = { src = src, x = x, type = math.type(src) }
      Wait(10)
      seen[#seen + 1] = { after = source == nil, src = src }
    end)
    AddEventHandler('server:only', function() seen[#seen + 1] = 'reached' end)
    RegisterNetEvent('late')
    AddEventHandler('late', function(x) seen[#seen + 1] = { late = x } end)
  ]],
    },
  })
  local p = srv:addPlayer({ name = 'Alice' })
  srv:triggerNetEvent(p, 'ok:event', 7)
  srv:triggerNetEvent(p, 'server:only')
  srv:triggerNetEvent(p, 'late', 'y')
  local env = srv:resourceEnv('a')
  T.eq(env.source, nil, 'source restored after dispatch')
  T.eq(env.seen, { { src = 1, x = 7, type = 'integer' }, { late = 'y' } })
  T.ok(has(srv, 'event server:only was not safe for net'))
  srv:runFor(10)
  T.eq(
    env.seen[3],
    { after = true, src = 1 },
    'after a Wait, the global source is gone (as on FXServer)'
  )
  srv:triggerEvent('server:only')
  T.eq(env.seen[4], 'reached')
  T.raises(function() srv:triggerNetEvent(99, 'ok:event') end, 'not connected')
end)

T.test(
  'local events: source is "", invoking resource is the trigger, handlers removable',
  function()
    local srv = server({
      {
        'a',
        [[
      log = {}
      local h = AddEventHandler('ev', function(v) log[#log + 1] = { source, GetInvokingResource(), v } end)
      AddEventHandler('remove', function() RemoveEventHandler(h) end)
    ]],
      },
      { 'b', "RegisterCommand('fire', function() TriggerEvent('ev', 'from-b') end)" },
    })
    srv:triggerEvent('ev', 1)
    srv:console('fire')
    srv:triggerEvent('remove')
    srv:triggerEvent('ev', 2)
    T.eq(srv:resourceEnv('a').log, { { '', nil, 1 }, { '', 'b', 'from-b' } })
  end
)

T.test('client events go to the target, -1 reaches everyone', function()
  local srv = server({
    {
      'a',
      [[
    RegisterNetEvent('req', function(x) TriggerClientEvent('one', source, x, 2.0); TriggerClientEvent('all', -1) end)
  ]],
    },
  })
  local p1, p2 = srv:addPlayer(), srv:addPlayer()
  srv:triggerNetEvent(p2, 'req', { k = 1 })
  T.eq(srv:clientEvents(p1), { { name = 'all', args = { n = 0 }, n = 0 } })
  T.eq(srv:clientEvents(p2)[1], { name = 'one', args = { { k = 1 }, 2.0, n = 2 }, n = 2 })
  srv:clearClientEvents()
  T.eq(srv:clientEvents(p2), {})
end)

T.test('errors in handlers, threads and commands are printed, not fatal', function()
  local srv = server({
    {
      'a',
      [[
    AddEventHandler('bad', function() error('handler failed') end)
    RegisterCommand('badcmd', function() local x = nil; return x.y end)
    SetTimeout(5, function() error('timer failed') end)
  ]],
    },
  })
  srv:triggerEvent('bad')
  srv:console('badcmd')
  srv:runFor(5)
  T.ok(has(srv, 'SCRIPT ERROR: @a/server.lua:1: handler failed'))
  T.ok(has(srv, "attempt to index a nil value (local 'x')"))
  T.ok(has(srv, 'SCRIPT ERROR: @a/server.lua:3: timer failed'))
end)

-- Commands, convars, players -----------------------------------------------------------------

T.test('console commands: quotes, source 0, raw command, unknown command', function()
  local srv = server({
    {
      'a',
      [[
    calls = {}
    RegisterCommand('cmd', function(src, args, raw) calls[#calls + 1] = { src, args, raw, source } end, true)
  ]],
    },
  })
  T.eq(srv:console('cmd one "two words"  ""  3'), true)
  srv:console('CMD x; cmd y')
  T.eq(srv:console('nope arg'), false)
  T.ok(has(srv, 'No such command nope.'))
  T.eq(srv:resourceEnv('a').calls, {
    { 0, { 'one', 'two words', '', '3' }, 'cmd one "two words"  ""  3' },
    { 0, { 'x' }, 'CMD x' },
    { 0, { 'y' }, 'cmd y' },
  })
end)

T.test('restricted commands need the ACE command.<name> from a player', function()
  local srv = server({
    {
      'a',
      "ran = {}; RegisterCommand('adm', function(src) ran[#ran + 1] = src end, true)\n"
        .. "RegisterCommand('open', function(src) ran[#ran + 1] = -src end, false)",
    },
  })
  local plain = srv:addPlayer({ name = 'P' })
  local admin = srv:addPlayer({ name = 'A', aces = { 'command' } })
  T.eq(srv:playerCommand(plain, '/adm'), false)
  T.ok(has(srv, 'Access denied for command adm.'))
  srv:playerCommand(plain, 'open')
  srv:playerCommand(admin, '/adm')
  srv:setAce(admin, 'command.adm', false)
  srv:playerCommand(admin, 'adm')
  srv:setAce(plain, 'command.adm', true)
  srv:playerCommand(plain, 'adm')
  T.eq(srv:resourceEnv('a').ran, { -plain, admin, plain })
end)

T.test('convars are strings, GetConvarInt gives integers or the default', function()
  local srv = server({
    {
      'a',
      [[
    r = { GetConvar('s', 'd'), GetConvar('missing', 'd'), GetConvarInt('n', 5), GetConvarInt('s', 5),
          GetConvarInt('missing', 7), GetConvarInt('n2', 1) }
  ]],
    },
  }, { convars = { s = 'text', n = '42' } })
  T.eq(srv:resourceEnv('a').r, { 'text', 'd', 42, 5, 7, 1 })
  srv:setConvar('n2', 9)
  T.eq(srv:resourceEnv('a').GetConvarInt('n2', 1), 9)
end)

T.test('players: GetPlayers strings, names, identifiers, ACEs, join and drop events', function()
  local srv = server({
    {
      'a',
      [[
    joined, dropped = {}, {}
    AddEventHandler('playerJoining', function() joined[#joined + 1] = source end)
    AddEventHandler('playerDropped', function(reason) dropped[#dropped + 1] = { source, reason, GetPlayerName(source) } end)
  ]],
    },
  })
  local a = srv:addPlayer({
    name = 'Alice',
    identifiers = { 'license:abc', 'discord:1' },
    aces = { 'command.x' },
  })
  local b = srv:addPlayer({ name = 'Bob' })
  local env = srv:resourceEnv('a')
  T.eq(env.GetPlayers(), { '1', '2' })
  T.eq(
    { env.GetPlayerName('1'), env.GetPlayerName(b), env.GetPlayerName(9) },
    { 'Alice', 'Bob', nil }
  )
  T.eq(env.GetPlayerIdentifiers(a), { 'license:abc', 'discord:1' })
  T.eq(env.GetPlayerIdentifierByType(a, 'discord'), 'discord:1')
  T.eq(env.GetPlayerIdentifierByType(a, 'steam'), nil)
  T.ok(env.GetPlayerIdentifierByType(b, 'license'):match('^license:%x+$'))
  T.eq({
    env.IsPlayerAceAllowed(a, 'command.x'),
    env.IsPlayerAceAllowed(b, 'command.x'),
    env.IsPlayerAceAllowed(0, 'command.x'),
  }, { true, false, true })
  srv:dropPlayer(a, 'bye')
  T.eq(env.joined, { 1, 2 })
  T.eq(env.dropped, { { 1, 'bye', 'Alice' } })
  T.eq(env.GetPlayers(), { '2' })
  T.eq(srv:addPlayer(), 3, 'sources are never reused')
end)

-- Scheduler ----------------------------------------------------------------------------------

T.test('threads start on the next tick, Wait and SetTimeout follow the clock', function()
  local srv = FX.new()
  srv:addResourceDir(
    'a',
    resource({
      ['server.lua'] = [[
    log = {}
    local function add(s) log[#log + 1] = s .. '@' .. GetGameTimer() end
    CreateThread(function() add('t1'); Wait(100); add('t1b') end)
    Citizen.CreateThread(function() add('t2'); Citizen.Wait(50); add('t2b') end)
    SetTimeout(70, function() add('timeout') end)
    Citizen.SetTimeout(0, function() add('timeout0') end)
    add('main')
    sortWait = select(2, pcall(table.sort, { 1, 2 }, function(x, y) Wait(0); return x < y end))
    Wait(10) -- FXServer runs a main chunk in a thread of its own: it waits, the load goes on
    add('main after Wait')
  ]],
    })
  )
  srv:ensure('a')
  local env = srv:resourceEnv('a')
  T.eq(env.log, { 'main@0', 't1@0', 't2@0', 'timeout0@0' })
  T.ok(env.sortWait:find('attempt to yield across a C-call boundary', 1, true), env.sortWait)
  T.eq(srv._resources.a.state, 'started')
  srv:runFor(100)
  T.eq(env.log, {
    'main@0',
    't1@0',
    't2@0',
    'timeout0@0',
    'main after Wait@10',
    't2b@50',
    'timeout@70',
    't1b@100',
  })
  T.eq(math.type(env.GetGameTimer()), 'integer')
end)

T.test('a Wait(0) loop advances one tick at a time and does not hang runFor', function()
  local srv =
    server({ { 'a', 'n = 0; CreateThread(function() while true do n = n + 1; Wait(0) end end)' } })
  srv:runFor(20)
  local n = srv:resourceEnv('a').n
  T.ok(n >= 2 and n <= 25, 'ticks: ' .. n)
end)

-- The JS runtime (a resource's .js scripts in Node) -----------------------------------------

-- A server with a resource `j` made of `j.js`, and optionally a Lua resource `user` after it.
local function jsServer(js, user, opts)
  opts = opts or {}
  opts.jsHost = true
  local srv = FX.new(opts)
  srv:addResourceDir('j', resource({ ['j.js'] = js }, { 'j.js' }))
  T.eq(srv:ensure('j'), true, 'ensure j')
  if user then
    srv:addResourceDir(
      'user',
      resource(type(user) == 'table' and user or { ['server.lua'] = user })
    )
    T.eq(srv:ensure('user'), true, 'ensure user')
  end
  return srv
end

-- An export answering a value after `ms` of real time (Node's own timer, as I/O would).
local LATER = [[
  const nodeTimers = require('timers');
  exports('Later', (ms, v) => new Promise((resolve) => nodeTimers.setTimeout(() => resolve({ v, n: 1, f: 1.5 }), ms)));
  exports('Fail', async (why) => { throw new Error(why); });
  exports('FailPlain', () => Promise.reject('plain reason'));
  exports('Never', () => new Promise(() => {}));
  exports('Sync', (x) => x + 1);
]]

T.test(
  'JS timers are FXServer tick timers: they fire in scheduler passes, on the emulated clock',
  function()
    local srv = jsServer([[
    const log = [];
    setTimeout(() => log.push('t250'), 250);
    setTimeout((a, b) => log.push(a + b), 100, 'arg', 's');
    const cancelled = setTimeout(() => log.push('cancelled'), 10);
    clearTimeout(cancelled);
    setImmediate(() => log.push('immediate'));
    let n = 0;
    const every = setInterval(() => { n += 1; if (n === 3) { clearInterval(every); log.push('interval x3'); } }, 20);
    setTimeout(() => console.log('a timer prints'), 30).unref();
    exports('Log', () => log);
  ]])
    T.eq(srv:export('j', 'Log'), {}, 'nothing runs before the clock moves')
    srv:runFor(1)
    T.eq(
      srv:export('j', 'Log'),
      {},
      'a timer fires more than its interval (at least 1 ms) after it was set'
    )
    srv:runFor(1)
    T.eq(srv:export('j', 'Log'), { 'immediate' })
    srv:runFor(98)
    T.eq(
      srv:export('j', 'Log'),
      { 'immediate', 'interval x3' },
      'at 100: not yet the 100 ms one (strictly more)'
    )
    T.ok(has(srv, '[script:j] a timer prints'), 'a timer callback prints without any request')
    srv:runFor(1)
    T.eq(srv:export('j', 'Log'), { 'immediate', 'interval x3', 'args' })
    srv:runFor(10000)
    T.eq(srv:export('j', 'Log'), { 'immediate', 'interval x3', 'args', 't250' })
    srv:stopAll()
  end
)

T.test('a Lua thread awaits a JS promise while other threads keep running', function()
  local srv = jsServer(
    LATER,
    [[
    log = {}
    CreateThread(function()
      local r = exports.j:Later(40, 'x')
      log[#log + 1] = { 'got', r.v, math.type(r.n), r.f }
    end)
    CreateThread(function()
      for _ = 1, 40 do log[#log + 1] = { 'tick', GetGameTimer() }; Wait(5) end
    end)
  ]]
  )
  local env = srv:resourceEnv('user')
  T.eq(env.log, { { 'tick', 0 } }, 'the awaiting thread is suspended; the other one ran')
  srv:runFor(5000)
  local got
  for i, entry in ipairs(env.log) do
    if entry[1] == 'got' then got = i end
  end
  T.eq(#env.log, 41)
  T.eq(env.log[got], { 'got', 'x', 'integer', 1.5 }, 'resolved value copied through MessagePack')
  T.ok(
    got > 2 and got < 41,
    'the other thread kept running, and the emulated clock did not run through '
      .. 'its 200 ms before the 40 ms of real time the promise took: got at '
      .. tostring(got)
  )
  T.eq(srv:export('j', 'Later', 5, 'y'), { v = 'y', n = 1, f = 1.5 }, 'srv:export waits for it too')
  T.eq(srv:export('j', 'Sync', 41), 42, 'a plain value still answers at once')
  srv:stopAll()
end)

T.test(
  'a rejected JS promise raises in the awaiting caller; one that never settles is given up on',
  function()
    local srv = jsServer(LATER, nil, { jsTimeout = 300 })
    local msg = T.raises(
      function() srv:export('j', 'Fail', 'nope') end,
      'An error occurred while calling export `Fail` in resource `j`'
    )
    T.ok(msg:find('nope', 1, true), msg)
    T.raises(function() srv:export('j', 'FailPlain') end, 'plain reason')
    T.raises(
      function() srv:export('j', 'Never') end,
      'a JS promise still pending after 300 ms of real time'
    )
    T.eq(
      srv:export('j', 'Later', 1, 'still'),
      { v = 'still', n = 1, f = 1.5 },
      'the runtime is still there'
    )
    srv:stopAll()
  end
)

T.test(
  'outside a scheduler thread an async export raises (Lua 5.4); a main chunk is a thread',
  function()
    local srv = jsServer(LATER, {
      ['a.lua'] = [[
      main = exports.j:Later(20, 'main chunk')
      mainAt = GetGameTimer()
      RegisterCommand('sorted', function()
        sortErr = select(2, pcall(table.sort, { 2, 1 }, function(x, y) exports.j:Later(1, 'no'); return x < y end))
      end)
    ]],
      ['b.lua'] = 'secondLoaded = main == nil',
    })
    local env = srv:resourceEnv('user')
    T.eq(env.secondLoaded, true, 'the next script loaded while the first awaited')
    T.eq(env.main, nil)
    srv:runFor(1000)
    T.eq(env.main, { v = 'main chunk', n = 1, f = 1.5 })
    srv:console('sorted')
    T.ok(
      env.sortErr:find('An error occurred while calling export `Later` in resource `j`', 1, true),
      env.sortErr
    )
    T.ok(env.sortErr:find('attempt to yield across a C-call boundary', 1, true), env.sortErr)
    srv:stopAll()
  end
)

T.test('a Lua export that waits: its caller awaits it; outside a thread it raises', function()
  local srv = server({
    { 'slow', "exports('Slow', function() Wait(30); return GetGameTimer() end)" },
    {
      'user',
      [[
      RegisterCommand('go', function() got = exports.slow:Slow() end)
      RegisterCommand('sorted', function()
        sortErr = select(2, pcall(table.sort, { 2, 1 }, function(x, y) exports.slow:Slow(); return x < y end))
      end)
    ]],
    },
  })
  local env = srv:resourceEnv('user')
  srv:console('go')
  srv:runFor(29)
  T.eq(env.got, nil)
  srv:runFor(1)
  T.eq(env.got, 30, 'the caller resumes the moment the callee ends')
  srv:console('sorted')
  T.ok(env.sortErr:find('attempt to yield across a C-call boundary', 1, true), env.sortErr)
end)

T.test(
  'the wasm core checkpoints on the emulated clock: after writes and runFor, the database file holds them',
  function()
    local World = require('world')
    local w = World.new({ core = 'wasm', framework = 'qbcore', players = { '5550101' } })
    local function mainFileCount()
      -- the database file alone, without its log: what a checkpoint copied into it
      local copy = T.tmpdir() .. '/main.db'
      os.execute(('cp %q %q'):format(w.db, copy))
      return T.sh(('sqlite3 -readonly %q "SELECT count(*) FROM conversations" 2>&1'):format(copy))
        :match('^%s*(.-)%s*$')
    end
    for i = 1, 3 do
      T.eq(w:call('Darkchat_CreateConversationByNumber', '5550101', 'Conv ' .. i).success, true)
    end
    T.ok(mainFileCount() ~= '3', 'no checkpoint yet: the writes are only in the log')
    w.srv:runFor(300)
    -- The timer fired on the emulated clock; the copy it starts first waits for the log's sync in
    -- Node's thread pool, which takes real time: a loaded machine may need a few more turns.
    local deadline = os.time() + 20
    while mainFileCount() ~= '3' and os.time() < deadline do
      w.srv:runFor(50)
    end
    T.eq(mainFileCount(), '3', "the host's checkpoint timer ran")
    w:stop()
  end
)

-- Resources ----------------------------------------------------------------------------------

T.test(
  'onResourceStart/Stop reach every resource; stop removes handlers, commands, threads',
  function()
    local srv = server({
      {
        'watch',
        [[
    log = {}
    AddEventHandler('onResourceStart', function(r) log[#log + 1] = 'start ' .. r end)
    AddEventHandler('onResourceStop', function(r) log[#log + 1] = 'stop ' .. r end)
  ]],
      },
    })
    srv:addResourceDir(
      'b',
      resource({
        ['server.lua'] = [[
    state = GetResourceState(GetCurrentResourceName())
    AddEventHandler('onResourceStop', function(r) print('b sees stop of ' .. r) end)
    RegisterCommand('bcmd', function() print('bcmd ran') end)
    CreateThread(function() while true do Wait(10); print('tick') end end)
  ]],
      })
    )
    srv:ensure('b')
    T.eq(srv:resourceEnv('b').state, 'starting')
    T.eq(srv:resourceEnv('watch').GetResourceState('b'), 'started')
    srv:stop('b')
    local env = srv:resourceEnv('watch')
    T.eq(env.log, { 'start watch', 'start b', 'stop b' }, 'a resource sees its own start too')
    T.eq({ env.GetResourceState('b'), env.GetResourceState('zzz') }, { 'stopped', 'missing' })
    T.ok(has(srv, 'b sees stop of b'))
    srv:clearOutput()
    srv:runFor(50)
    T.eq(srv:console('bcmd'), false)
    T.eq(has(srv, 'tick'), false, 'threads of a stopped resource do not run')
  end
)

T.test('manifest: shared before server, @other/ files, globs, .js skipped, dependencies', function()
  local dir = resource({
    ['fxmanifest.lua'] = [[
      fx_version 'cerulean'
      games { 'gta5', 'rdr3' }
      author 'x'
      some_unknown_directive 'yes'
      dependency 'dep'
      shared_script 'shared.lua'
      server_scripts { 'server/*.lua', 'index.js' }
      client_script 'client.lua'
    ]],
    ['shared.lua'] = "order = { 'shared' }",
    ['server/a.lua'] = "order[#order + 1] = 'a'",
    ['server/b.lua'] = "order[#order + 1] = 'b'; depState = GetResourceState('dep')",
    ['client.lua'] = "error('client scripts must not run on the server')",
  })
  local srv = FX.new()
  srv:addResourceDir('dep', resource({ ['server.lua'] = '' }))
  srv:addResourceDir('main', dir)
  T.eq(srv:ensure('main'), true)
  local env = srv:resourceEnv('main')
  T.eq(env.order, { 'shared', 'a', 'b' })
  T.eq(env.depState, 'started', 'a dependency is started first')
  T.eq(srv._resources.main.skipped, { 'main/index.js' })
  T.eq(env.GetResourcePath('main'), dir)
  srv:addResourceDir(
    'needs',
    resource({ ['fxmanifest.lua'] = "dependency 'absent'\nserver_script 'x.lua'", ['x.lua'] = '' })
  )
  T.eq(srv:ensure('needs'), false)
  T.ok(has(srv, 'Could not find dependency absent for resource needs.'))
end)

T.test('a script error fails the start and leaves the resource stopped', function()
  local srv = FX.new()
  srv:addResourceDir(
    'bad',
    resource({ ['server.lua'] = "RegisterCommand('c', function() end)\nlocal t = nil\nprint(t.x)" })
  )
  local ok, err = srv:ensure('bad')
  T.eq(ok, false)
  T.ok(err:find('attempt to index', 1, true), err)
  T.ok(has(srv, '[script:bad] SCRIPT ERROR: @bad/server.lua:3:'))
  T.ok(has(srv, 'Failed to load script bad/server.lua.'))
  T.eq(srv._resources.bad.state, 'stopped')
  T.eq(srv:console('c'), false)
  srv:addResourceDir('syntax', resource({ ['server.lua'] = 'local = 1' }))
  T.eq((srv:ensure('syntax')), false)
  T.ok(has(srv, 'Error parsing script @syntax/server.lua in resource syntax'))
end)

T.test('resources do not share globals; prints are captured per resource', function()
  local srv = server({
    { 'a', "shared = 'a'; string.mine = true; print('hello', 1, nil)" },
    { 'b', 'seen = { shared, string.mine, _G == _ENV }' },
  })
  T.eq(srv:resourceEnv('b').seen, { nil, nil, true })
  T.ok(has(srv, '[script:a] hello\t1\tnil'))
  T.eq(rawget(_G, 'shared'), nil)
end)

T.test('stockLua has no package/require; the default has its own per resource', function()
  local stock = server({ { 'a', 'r = { type(package), type(require) }' } }, { stockLua = true })
  T.eq(stock:resourceEnv('a').r, { 'nil', 'nil' })
  local dir = resource({
    ['server.lua'] = [[
    package.path = GetResourcePath(GetCurrentResourceName()) .. '/?.lua;' .. package.path
    local m = require('mod')
    r = { type(package), m.value, require('mod') == m, package.loaded.mod == m }
  ]],
    ['mod.lua'] = 'return { value = GetCurrentResourceName() }',
  }, { 'server.lua' })
  local srv = FX.new()
  srv:addResourceDir('b', dir)
  srv:ensure('b')
  T.eq(srv:resourceEnv('b').r, { 'table', 'b', true, true })
  T.ok(not package.path:find(dir, 1, true), 'the host package.path is untouched')
end)

T.test('json behaves like FXServer cjson', function()
  local env = server({ { 'a', '' } }):resourceEnv('a')
  local json = env.json
  T.eq(json.encode({}), '[]')
  T.eq(json.encode({ 1, 2.5, 'a/b', true }), '[1,2.5,"a\\/b",true]')
  T.eq(json.encode({ a = 1, b = { 3.0 } }), '{"a":1,"b":[3]}')
  T.eq(json.encode({ [1] = 1, [3] = 3 }), '[1,null,3]')
  T.eq(
    json.decode('{"a":[1,2.0,-3,1e2],"s":"\\u00e9\\n"}'),
    { a = { 1, 2.0, -3, 100.0 }, s = 'é\n' }
  )
  T.eq(json.decode('[]'), {})
  T.raises(function() json.encode(0 / 0) end, 'NaN')
  T.raises(function() json.decode('{bad}') end)
end)

-- Fake frameworks ----------------------------------------------------------------------------

-- A watcher resource that records framework events, started after the framework.
local WATCH = [[
  events = {}
  for _, name in ipairs({ 'QBCore:Server:PlayerLoaded', 'QBCore:Server:OnPlayerUnload', 'esx:playerLoaded',
      'esx:playerLogout', 'ox:playerLoaded', 'ox:playerLogout' }) do
    AddEventHandler(name, function(...) events[#events + 1] = { name, ... } end)
  end
]]

T.test('qb-core: GetCoreObject shapes, PlayerLoaded/OnPlayerUnload, drop forgets', function()
  local srv = server({ { 'qb-core' }, { 'watch', WATCH } })
  local p = srv:addPlayer({ name = 'Alice', identifiers = { 'license:aaa' } })
  srv:export(
    'qb-core',
    '__SetCharacter',
    p,
    { phone = '5550123', citizenid = 'ABC', firstname = 'Al' }
  )
  local QB = srv:export('qb-core', 'GetCoreObject')
  local player = QB.Functions.GetPlayer(p)
  T.eq(player.PlayerData.charinfo.phone, '5550123')
  T.eq(player.PlayerData.source, p)
  T.eq(player.PlayerData.license, 'license:aaa')
  T.eq(player.PlayerData.citizenid, 'ABC')
  T.eq(
    QB.Functions.GetPlayer(p + 0.0).PlayerData.citizenid,
    'ABC',
    'an integral float is the same key'
  )
  T.eq(QB.Functions.GetPlayerByPhone('5550123').PlayerData.source, p)
  T.eq(QB.Functions.GetPlayerByPhone(5550123), nil, 'compared with ==, as qb-core does')
  T.eq(QB.Functions.GetPlayers(), { p })
  local env = srv:resourceEnv('watch')
  T.eq(env.events[1][1], 'QBCore:Server:PlayerLoaded')
  T.eq(env.events[1][2].PlayerData.charinfo.phone, '5550123')
  srv:export('qb-core', '__Logout', p)
  T.eq(env.events[2], { 'QBCore:Server:OnPlayerUnload', p })
  T.eq(QB.Functions.GetPlayer(p), nil)
  srv:export('qb-core', '__SetCharacter', p, { phone = '5550999' })
  srv:dropPlayer(p)
  T.eq(QB.Functions.GetPlayer(p), nil)
  T.eq(#env.events, 3, 'no unload event on drop')
end)

T.test('qbx_core: GetPlayer / GetPlayerByPhone exports and QBCore events', function()
  local srv = server({ { 'qbx_core' }, { 'watch', WATCH } })
  local p = srv:addPlayer()
  srv:export('qbx_core', '__SetCharacter', p, { phone = '5550101' })
  T.eq(srv:export('qbx_core', 'GetPlayer', p).PlayerData.charinfo.phone, '5550101')
  T.eq(srv:export('qbx_core', 'GetPlayerByPhone', '5550101').PlayerData.source, p)
  srv:export('qbx_core', '__Logout', p)
  T.eq(srv:export('qbx_core', 'GetPlayer', p), nil)
  local names = {}
  for i, e in ipairs(srv:resourceEnv('watch').events) do
    names[i] = e[1]
  end
  T.eq(names, { 'QBCore:Server:PlayerLoaded', 'QBCore:Server:OnPlayerUnload' })
end)

T.test('es_extended + oxmysql: identifier on xPlayer, phone in users, async callback', function()
  local srv = server({
    { 'oxmysql' },
    { 'es_extended' },
    { 'watch', WATCH },
    {
      'user',
      [[
    RegisterCommand('q', function(_, args)
      exports.oxmysql:scalar('SELECT phone_number FROM users WHERE identifier = ?', { args[1] }, function(phone)
        got = { phone = phone, at = GetGameTimer() }
      end)
      sync = got == nil
    end)
    RegisterCommand('bad', function() exports.oxmysql:query('SELECT * FROM users', {}, function() end) end)
  ]],
    },
  })
  local p = srv:addPlayer({ identifiers = { 'license:abc' } })
  local identifier = srv:export('es_extended', '__SetCharacter', p, { phone = '5550111' })
  T.eq(identifier, 'char1:abc')
  local ESX = srv:export('es_extended', 'getSharedObject')
  local xPlayer = ESX.GetPlayerFromId(p)
  T.eq(xPlayer.identifier, 'char1:abc')
  T.eq(xPlayer.getIdentifier(), 'char1:abc')
  T.eq(xPlayer.phone_number, nil, 'ESX keeps the number in the database')
  T.eq(#ESX.GetExtendedPlayers(), 1)
  local env = srv:resourceEnv('user')
  srv:console('q char1:abc')
  T.eq(env.sync, true, 'the callback does not run synchronously')
  T.eq(env.got, { phone = '5550111', at = 0 }, 'it runs on the next tick')
  T.eq(
    srv:export('oxmysql', 'single', 'SELECT phone_number FROM users WHERE identifier = ?', { 'x' }),
    nil
  )
  T.eq(
    srv:export(
      'oxmysql',
      'scalar_async',
      'SELECT  phone_number FROM users\n WHERE identifier = ?',
      { 'char1:abc' }
    ),
    '5550111'
  )
  T.eq(srv:export('oxmysql', '__QueryCount'), 3)
  srv:console('bad')
  T.ok(has(srv, 'fake oxmysql only understands'))
  local w = srv:resourceEnv('watch').events
  T.eq(w[1][1], 'esx:playerLoaded')
  T.eq(w[1][2], p)
  T.eq(w[1][3].identifier, 'char1:abc')
  srv:export('es_extended', '__Logout', p)
  T.eq(w[2], { 'esx:playerLogout', p })
  T.eq(ESX.GetPlayerFromId(p), nil)
end)

T.test('es_extended starts oxmysql as its dependency', function()
  local srv = FX.new()
  srv:addResourceDir('oxmysql')
  srv:addResourceDir('es_extended')
  T.eq(srv:ensure('es_extended'), true)
  T.eq(srv._resources.oxmysql.state, 'started')
end)

T.test('ox_core: CallPlayer get phoneNumber and load/logout events', function()
  local srv = server({ { 'ox_core' }, { 'watch', WATCH } })
  local p = srv:addPlayer()
  T.eq(srv:export('ox_core', 'CallPlayer', p, 'get', 'phoneNumber'), nil)
  srv:export('ox_core', '__SetCharacter', p, { phone = '5550177', charId = 12 })
  T.eq(srv:export('ox_core', 'CallPlayer', p, 'get', 'phoneNumber'), '5550177')
  local w = srv:resourceEnv('watch').events
  T.eq(w[1], { 'ox:playerLoaded', p, 1, 12 })
  srv:dropPlayer(p)
  T.eq(w[2], { 'ox:playerLogout', p, 1, 12 })
  T.eq(srv:export('ox_core', 'CallPlayer', p, 'get', 'phoneNumber'), nil)
end)

T.test('the CLI runs a resource from a pipe', function()
  local dir = resource({
    ['server.lua'] = [[
    RegisterCommand('say', function(src, args) print('said ' .. table.concat(args, '|') .. ' from ' .. src) end, true)
    RegisterNetEvent('e', function(x) TriggerClientEvent('back', source, x + 1) end)
    exports('Add', function(a, b) return a + b end)
  ]],
  })
  T.write(
    dir .. '/input.txt',
    '# comment\nsay "a b" c\nevent 2 e [41]\nexport Add [1, 2.5]\nwait 10\nplayers\nquit\n'
  )
  local cmd = ('lua5.4 %q --resource %q --framework qbcore --players 2 < %q 2>&1'):format(
    T.repoRoot .. '/tests/fxserver/server.lua',
    dir,
    dir .. '/input.txt'
  )
  local p = io.popen(cmd)
  local out = p:read('a')
  local ok = p:close()
  T.ok(ok, out)
  T.ok(out:find('[script:17mov_Phone] said a b|c from 0', 1, true), out)
  T.ok(out:find('-> client 2: back [42]', 1, true), out)
  T.ok(out:find('[3.5]', 1, true), out)
  T.ok(out:find('2  Bob      5550102', 1, true), out)
end)

T.test('the CLI clock follows real time between console lines', function()
  local dir = resource({
    ['server.lua'] = [[
    RegisterCommand('arm', function()
      local t0 = GetGameTimer()
      SetTimeout(200, function() print(('timer fired %d ms later'):format(GetGameTimer() - t0)) end)
    end, true)
  ]],
  })
  local cmd = ("(printf 'arm\\n'; sleep 0.5; printf 'players\\nquit\\n') | lua5.4 %q --resource %q --players 0 2>&1"):format(
    T.repoRoot .. '/tests/fxserver/server.lua',
    dir
  )
  local out = T.sh(cmd)
  T.ok(out:find('[script:17mov_Phone] timer fired', 1, true), out)
end)
