-- What a hostile player (through the phone UI's net events) or another resource can try, and
-- what must hold: fields checked before anything else touches them, rate limits that a
-- reconnect does not reset, hooks that see only valid, authorised actions and belong to their
-- resource, backups that stay in their folder, names without invisible characters, a console
-- that cannot be forged, pushes and events with normalised ids, and a bridge that neither
-- answers with an old character's number nor asks the framework on every push.

local T = require('testlib')
local World = require('world')

--- Sends a request as player `src` after `gap` ms (default 250: under every rate limit but the
--- ones a test means to reach); returns the response table.
local function ask(w, src, action, payload, gap)
  w.srv:runFor(gap or 250)
  return w:ask(src, action, payload)
end

local function ok(w, src, action, payload)
  w.srv:runFor(250)
  return w:ok(src, action, payload)
end

--- `ok` without clearing what players received so far (pushes accumulate).
local function done(w, src, action, payload)
  w.srv:runFor(250)
  -- Only a response that arrives after this request counts (every one has the id "keep"); a
  -- MySQL database answers in real time, so wait for it.
  local seen = #w.srv:clientEvents(src)
  w.srv:triggerNetEvent(src, World.REQUEST, 'keep', action, payload)
  for _ = 1, 1000 do
    w.srv:runFor(10)
    local events = w.srv:clientEvents(src)
    for i = seen + 1, #events do
      if events[i].name == World.RESPONSE and events[i].args[1] == 'keep' then
        T.eq(events[i].args[2].ok, true, action .. ' failed: ' .. tostring(events[i].args[2].error))
        return events[i].args[2].data
      end
    end
  end
  error('no response to ' .. action)
end

local function env(w) return w.srv:resourceEnv(World.RESOURCE) end

--- Chat lines a player got from the `darkchat` command.
local function chat(w, src)
  local lines = {}
  for _, e in ipairs(w.srv:clientEvents(src)) do
    if e.name == 'chat:addMessage' then lines[#lines + 1] = tostring(e.args[1].args[2]) end
  end
  return table.concat(lines, '\n')
end

--- A resource of its own (another script on the server) with the given server.lua.
local function otherResource(w, name, code)
  local dir = T.tmpdir() .. '/' .. name
  T.write(
    dir .. '/fxmanifest.lua',
    "fx_version 'cerulean'\ngame 'gta5'\nlua54 'yes'\nserver_script 'server.lua'\n"
  )
  T.write(dir .. '/server.lua', code)
  w.srv:addResourceDir(name, dir)
  assert(w.srv:ensure(name), 'could not start ' .. name)
end

-- Item: fields are checked first ------------------------------------------------------------

-- action → fields with a valid value each (`conv` stands for the conversation's id).
local FIELDS = {
  get = { conversationId = 'conv' },
  messages = { conversationId = 'conv', before = 1, limit = 5 },
  create = { name = 'Fresh', joinCode = 'FRESH1' },
  join = { joinCode = 'ABCD12' },
  send = { conversationId = 'conv', content = 'hi' },
  markRead = { conversationId = 'conv', messageId = 1 },
  leave = { conversationId = 'conv' },
  rename = { conversationId = 'conv', name = 'Renamed' },
  regenerateCode = { conversationId = 'conv' },
  delete = { conversationId = 'conv' },
  transfer = { conversationId = 'conv', to = '5550102' },
  kick = { conversationId = 'conv', number = '5550102' },
}

T.test(
  'a request field of the wrong type or size is refused before the framework or the core is asked',
  function()
    local w = World.new()
    local a = w.players[1]
    local conv = ok(w, a, 'create', { name = 'Crew' })
    local e = env(w)
    local asked = {}
    local call, numberOf = e.Darkchat.call, e.Darkchat.Bridge.numberOf
    -- Asked in the background, not by any request: on MySQL the change log (lua/network.lua);
    -- whether staff bans exist, once a minute (lua/notify.lua).
    local background = { changes = true, pruneChanges = true, staffBans = true }
    e.Darkchat.call = function(method, ...)
      if not background[method] then asked[#asked + 1] = method end
      return call(method, ...)
    end
    e.Darkchat.Bridge.numberOf = function(...)
      asked[#asked + 1] = 'bridge'
      return numberOf(...)
    end
    local huge = ('x'):rep(3 * 1024 * 1024) -- under the old fixed 4 MB bound, far over any field's
    local cases = 0
    for action, fields in pairs(FIELDS) do
      for field in pairs(fields) do
        for _, bad in ipairs({ huge, {}, true }) do
          local payload = {}
          for k, v in pairs(fields) do
            payload[k] = v == 'conv' and conv.id or v
          end
          payload[field] = bad
          local label = ('%s.%s = %s'):format(
            action,
            field,
            type(bad) == 'string' and '3 MB string' or type(bad)
          )
          T.eq(ask(w, a, action, payload), { ok = false, error = 'invalid_argument' }, label)
          T.eq(asked, {}, label .. ': nothing asked')
          cases = cases + 1
        end
      end
    end
    T.ok(cases >= 60)
    e.Darkchat.call, e.Darkchat.Bridge.numberOf = call, numberOf
    w:stop()
  end
)

T.test('a string longer than any argument may be crosses to the core as its length only', function()
  local w = World.new()
  local id = w:call('Darkchat_CreateConversationByNumber', '5550101', 'Crew').newConv.id
  local huge = ('x'):rep(3 * 1024 * 1024)
  local largest = 0
  local js = w.core == 'wasm' and w.srv._resources[World.RESOURCE].inst.js
  if js then
    local call = js.call
    js.call = function(self, callId, name, args, ...)
      if type(args[2]) == 'string' then largest = math.max(largest, #args[2]) end
      return call(self, callId, name, args, ...)
    end
  end
  T.eq(w:call('Darkchat_SendMessageByNumber', '5550101', id, huge).error, 'invalid_argument')
  T.eq(w:call('Darkchat_CreateConversationByNumber', '5550101', huge).error, 'invalid_argument')
  T.eq(w:call('Darkchat_JoinConversationByNumber', huge, 'ABCD12').error, 'invalid_argument')
  -- At the configured length a message is still accepted (1000 characters of 4 bytes each).
  T.eq(w:call('Darkchat_SendMessageByNumber', '5550101', id, ('😀'):rep(1000)).success, true)
  T.eq(
    w:call('Darkchat_SendMessageByNumber', '5550101', id, ('😀'):rep(1001)).error,
    'invalid_argument'
  )
  if js then
    T.ok(largest > 4000, 'the longest message crossed: ' .. largest)
    T.ok(largest < 4200, 'nothing much longer than the longest message crossed: ' .. largest)
  end
  w:stop()
end)

-- Item: rate limits -------------------------------------------------------------------------

T.test(
  'creating with a custom code counts as a join attempt (codes cannot be probed that way)',
  function()
    local w = World.new()
    local a, b = w.players[1], w.players[2]
    local conv = ok(w, a, 'create', { name = 'Secret', joinCode = 'SECRET1' })
    for i = 1, 5 do
      T.eq(
        ask(w, b, 'create', { name = 'Probe ' .. i, joinCode = 'SECRET' .. i }).ok,
        i ~= 1,
        'probe ' .. i
      )
    end
    T.eq(
      ask(w, b, 'create', { name = 'Probe', joinCode = conv.joinCode }),
      { ok = false, error = 'rate_limited' }
    )
    T.eq(
      ask(w, b, 'join', { joinCode = conv.joinCode }),
      { ok = false, error = 'rate_limited' },
      'one budget for both'
    )
    T.eq(
      ask(w, b, 'create', { name = 'No code' }).ok,
      true,
      'a create with a generated code is no guess'
    )
    w:stop()
  end
)

T.test("rate limits follow the player's license across a reconnect", function()
  local w = World.new()
  local a, b = w.players[1], w.players[2]
  local conv = ok(w, a, 'create', { name = 'Crew' })
  for i = 1, 5 do
    T.eq(ask(w, b, 'join', { joinCode = 'GUESS' .. i }).error, 'conversation_not_found')
  end
  T.eq(ask(w, b, 'join', { joinCode = conv.joinCode }).error, 'rate_limited')
  local license = env(w).GetPlayerIdentifierByType(b, 'license')
  w.srv:dropPlayer(b, 'reconnecting')
  local again = w.srv:addPlayer({ name = 'B again', identifiers = { license } })
  w:login(again, '5550102')
  T.eq(
    ask(w, again, 'join', { joinCode = conv.joinCode }).error,
    'rate_limited',
    'still limited after reconnecting'
  )
  w.srv:runFor(61000)
  T.eq(ask(w, again, 'join', { joinCode = conv.joinCode }).ok, true, 'the window still slides')
  w:stop()
end)

T.test(
  'rate-limit memory is bounded: idle players are forgotten first, then the least recent',
  function()
    local dir = World.resourceWithConfig(function(text)
      local edited, n = text:gsub('(Config.RateLimitMemory = )%d+', '%13')
      assert(n == 1, 'config.lua has no Config.RateLimitMemory')
      return edited
    end)
    local w = World.new({
      resourceDir = dir,
      db = dir .. '/data/darkchat.db',
      players = { '5550101', '5550102', '5550103', '5550104', '5550105' },
    })
    local p = w.players
    local limit = env(w).Darkchat.RateLimit
    local conv = ok(w, p[1], 'create', { name = 'Crew' })
    for i = 1, 5 do
      ask(w, p[2], 'join', { joinCode = 'GUESS' .. i })
    end
    T.eq(ask(w, p[2], 'join', { joinCode = conv.joinCode }).error, 'rate_limited')
    T.eq(limit.tracked(), 2)
    ok(w, p[3], 'list')
    T.eq(limit.tracked(), 3)
    -- Full: the next new player pushes out the least recently seen (player 1).
    ok(w, p[4], 'list')
    T.eq(limit.tracked(), 3)
    T.eq(
      ask(w, p[2], 'join', { joinCode = conv.joinCode }).error,
      'rate_limited',
      'a recent player is kept'
    )
    -- Once the longest window has passed every entry is idle: they go before anyone else would.
    local longest = 0
    for _, rule in pairs(env(w).Config.RateLimits) do
      longest = math.max(longest, rule.seconds)
    end
    w.srv:runFor(longest * 1000 + 1000)
    ok(w, p[5], 'list')
    T.eq(limit.tracked(), 1)
    w:stop()
  end
)

T.test('owner actions that reach every member have their own rate limit', function()
  local w = World.new()
  local a, b = w.players[1], w.players[2]
  local conv = ok(w, a, 'create', { name = 'Crew' })
  ok(w, b, 'join', { joinCode = conv.joinCode })
  local rule = env(w).Config.RateLimits.owner
  T.ok(rule and rule.count < 30, 'a bucket tighter than the general request rate')
  local actions = {
    { 'rename', { conversationId = conv.id, name = 'Name' } },
    { 'regenerateCode', { conversationId = conv.id } },
    { 'transfer', { conversationId = conv.id, to = 'Nobody' } },
    { 'kick', { conversationId = conv.id, alias = 'Nobody' } },
    { 'unban', { conversationId = conv.id, banId = 1 } },
    { 'setModerator', { conversationId = conv.id, alias = 'Nobody' } },
    { 'delete', { conversationId = 99999 } },
  }
  local done = 0
  for i = 1, rule.count do
    local case = actions[(i - 1) % #actions + 1]
    local r = ask(w, a, case[1], case[2])
    T.ok(r.error ~= 'rate_limited', case[1] .. ' ' .. i)
    done = done + 1
  end
  for _, case in ipairs(actions) do
    T.eq(ask(w, a, case[1], case[2]), { ok = false, error = 'rate_limited' }, case[1])
  end
  T.eq(ok(w, a, 'get', { conversationId = conv.id }).name, 'Name', 'other requests still pass')
  T.eq(done, rule.count)
  w:stop()
end)

-- Item: hooks -------------------------------------------------------------------------------

T.test('hooks see only validated, authorised actions, with normalised values', function()
  local w = World.new()
  local a, b, c = table.unpack(w.players)
  local seen = {}
  for _, kind in ipairs({ 'create', 'join', 'send' }) do
    w:call(
      'Darkchat_AddHook',
      kind,
      function(payload) seen[#seen + 1] = { kind = kind, payload = payload } end
    )
  end
  -- Refused before any hook: bad input, non-members, unknown codes and conversations.
  local conv = ok(w, a, 'create', { name = 'Crew' })
  seen = {}
  T.eq(
    ask(w, c, 'send', { conversationId = conv.id, content = 'not a member' }).error,
    'not_member'
  )
  T.eq(
    ask(w, a, 'send', { conversationId = 99999, content = 'nowhere' }).error,
    'conversation_not_found'
  )
  T.eq(
    w:call('Darkchat_SendMessageByNumber', '5550101', conv.id, ('x'):rep(5000)).error,
    'invalid_argument'
  )
  T.eq(w:call('Darkchat_SendMessageByNumber', '5550101', conv.id, {}).error, 'invalid_argument')
  T.eq(w:call('Darkchat_SendMessageByNumber', '5550101', conv.id, '   ').error, 'invalid_argument')
  T.eq(ask(w, b, 'join', { joinCode = 'NOPE42' }).error, 'conversation_not_found')
  T.eq(w:call('Darkchat_CreateConversationByNumber', '5550101', 'bad\7name').error, 'invalid_name')
  T.eq(
    w:call('Darkchat_CreateConversationByNumber', '5550101', 'Taken', conv.joinCode).error,
    'join_code_taken'
  )
  T.eq(seen, {}, 'no hook saw a refused action')
  -- Allowed ones are seen as the core will store them.
  ok(w, b, 'join', { joinCode = conv.joinCode:lower() })
  w:call('Darkchat_SendMessageByNumber', ' 5550101 ', conv.id + 0.0, '  hello  ')
  w:call('Darkchat_CreateConversationByNumber', 5550101, '  Spaced  ', 'mine1')
  T.eq(seen, {
    {
      kind = 'join',
      payload = { number = '5550102', joinCode = conv.joinCode, conversationId = conv.id },
    },
    {
      kind = 'send',
      payload = { number = '5550101', conversationId = conv.id, content = 'hello', type = 'text' },
    },
    { kind = 'create', payload = { number = '5550101', name = 'Spaced', joinCode = 'MINE1' } },
  })
  w:stop()
end)

T.test('a veto still refuses, and only the resource that added a hook can remove it', function()
  local w = World.new()
  otherResource(
    w,
    'intruder',
    [[
    exports('RemoveHook', function(id) return exports['17mov_Phone']:Darkchat_RemoveHook(id) end)
  ]]
  )
  local id = w:call('Darkchat_AddHook', 'send', function() return false, 'muted' end)
  local conv = w:call('Darkchat_CreateConversationByNumber', '5550101', 'Crew').newConv
  T.eq(w.srv:export('intruder', 'RemoveHook', id), false, 'another resource cannot remove it')
  T.eq(
    w:call('Darkchat_SendMessageByNumber', '5550101', conv.id, 'hi'),
    { success = false, error = 'forbidden', reason = 'muted' },
    'the hook still runs'
  )
  T.eq(w:call('Darkchat_RemoveHook', id), true)
  T.eq(w:call('Darkchat_SendMessageByNumber', '5550101', conv.id, 'hi').success, true)
  w:stop()
end)

-- Item: backups -----------------------------------------------------------------------------

local function mode(path)
  return (T.sh(('stat -c %%a %q 2>/dev/null'):format(path)):gsub('%s+$', ''))
end

local function exists(path)
  return T.sh(('test -e %q -o -L %q && echo yes'):format(path, path)):find('yes', 1, true) ~= nil
end

--- Drives the server until `src` (0: the console) was told the backup ended; returns what it said.
local function backupOutcome(w, src)
  local said, deadline = '', os.time() + 20
  repeat
    w.srv:runFor(100)
    os.execute('sleep 0.02')
    said = src == 0 and table.concat(w.srv:output(), '\n') or chat(w, src)
  until said:find('backup written', 1, true) or said:find('error:', 1, true) or os.time() > deadline
  return said
end

T.test(
  'backup: a player names a plain file in data/backups, made new and readable by the server only',
  function()
    local dir = World.resourceWithConfig(function(text) return text end)
    local w = World.new({ resourceDir = dir, db = dir .. '/data/darkchat.db' })
    T.eq(
      w:call('Darkchat_CreateConversationByNumber', '5550101', 'Kept').success,
      true,
      'the core runs'
    )
    local src = w.players[1]
    w.srv:setAce(src, 'command.darkchat', true)
    local outside = T.tmpdir()
    for _, name in ipairs({
      outside .. '/abs.db',
      '../escape.db',
      '../sub/../escape.db',
      'sub/x.db',
      '..',
      '.hidden',
      'a\\b.db',
      'C:/x.db',
    }) do
      w.srv:clearClientEvents()
      w.srv:playerCommand(src, 'darkchat backup ' .. name)
      w.srv:runFor(200)
      T.ok(chat(w, src):find('error:', 1, true), name .. ': ' .. chat(w, src))
    end
    T.eq(T.sh(('ls -A %q'):format(outside)), '', 'nothing written outside')
    T.ok(
      not exists(dir .. '/escape.db') and not exists(dir .. '/../escape.db'),
      'nothing written above'
    )
    if w.core == 'native' then
      w.srv:clearClientEvents()
      w.srv:playerCommand(src, 'darkchat backup mine.db')
      local path = dir .. '/data/backups/mine.db'
      T.ok(backupOutcome(w, src):find('backup written to ' .. path, 1, true), chat(w, src))
      T.eq(mode(path), '600')
      T.eq(T.sh(("sqlite3 %q 'PRAGMA integrity_check'"):format(path)), 'ok\n')
      w.srv:clearClientEvents()
      w.srv:playerCommand(src, 'darkchat backup mine.db')
      T.ok(
        backupOutcome(w, src):find('already exists', 1, true),
        'never overwrites: ' .. chat(w, src)
      )
      -- A link planted where the copy goes is not followed, even by the console's own path.
      local target = outside .. '/planted.db'
      os.execute(('ln -s %q %q'):format(target, dir .. '/data/backups/link.db'))
      w.srv:clearOutput()
      w.srv:console('darkchat backup ' .. dir .. '/data/backups/link.db')
      T.ok(backupOutcome(w, 0):find('error:', 1, true), table.concat(w.srv:output(), '\n'))
      T.ok(not exists(target), "the link's target was not created")
    end
    w:stop()
  end
)

-- Item: names and console output ------------------------------------------------------------

local INVISIBLE = {
  ['right-to-left override'] = '\u{202E}',
  ['zero-width space'] = '\u{200B}',
  ['line separator'] = '\u{2028}',
  ['paragraph separator'] = '\u{2029}',
  ['soft hyphen'] = '\u{AD}',
  ['byte order mark'] = '\u{FEFF}',
  ['word joiner'] = '\u{2060}',
  ['isolate'] = '\u{2067}',
  ['hangul filler'] = '\u{3164}',
  ['tag character'] = '\u{E0041}',
}

T.test('names refuse invisible and bidirectional format characters', function()
  local w = World.new()
  local a = w.players[1]
  local id = w:call('Darkchat_CreateConversationByNumber', '5550101', 'Crew').newConv.id
  for label, char in pairs(INVISIBLE) do
    local name = 'Cr' .. char .. 'ew'
    T.eq(
      w:call('Darkchat_CreateConversationByNumber', '5550101', name),
      { success = false, error = 'invalid_name' },
      label
    )
    T.eq(ask(w, a, 'create', { name = name }, 1100), { ok = false, error = 'invalid_name' }, label)
    T.eq(
      table.pack(w:call('Darkchat_RenameConversationByNumber', '5550101', id, name)),
      { n = 2, false, 'invalid_name' },
      label
    )
  end
  for _, name in ipairs({
    'Café ☕',
    '🔥 Crew 🔥',
    'Ünïcødé',
    '日本語',
    'Heart ❤️',
  }) do
    T.eq(w:call('Darkchat_CreateConversationByNumber', '5550101', name).newConv.name, name)
  end
  w:stop()
end)

T.test(
  'the console shows user-written text escaped on one line, cut at a character boundary',
  function()
    local w = World.new()
    local id = w:call('Darkchat_CreateConversationByNumber', '5550101', 'Crew').newConv.id
    T.eq(
      w:call(
        'Darkchat_SendMessageByNumber',
        '5550101',
        id,
        'first\n[script:17mov_Phone] FORGED line\tend'
      ).success,
      true
    )
    w:call(
      'Darkchat_SendMessageByNumber',
      '5550101',
      id,
      'evil \u{202E}txt.exe and \u{2028} and \\u{202E}'
    )
    w:call('Darkchat_SendMessageByNumber', '5550101', id, 'x' .. ('é'):rep(60))
    w.srv:clearOutput()
    w.srv:console('darkchat show ' .. id)
    w.srv:console('darkchat list')
    w.srv:console('darkchat list 5550101')
    local out = w.srv:output()
    local text = table.concat(out, '\n')
    for _, line in ipairs(out) do
      T.ok(utf8.len(line), 'valid UTF-8: ' .. line)
      T.ok(
        not line:find('\u{202E}', 1, true) and not line:find('\u{2028}', 1, true),
        'escaped: ' .. line
      )
      if line:find('FORGED', 1, true) then
        T.ok(line:find('first\\n', 1, true), 'one line: ' .. line)
      end
    end
    T.ok(text:find('first\\n[script:17mov_Phone] FORGED line\\tend', 1, true), text)
    T.ok(text:find('evil \\u{202E}txt.exe and \\u{2028} and \\\\u{202E}', 1, true), text)
    -- The listing's last-message column: 40 characters at most, whole characters.
    T.ok(text:find('x' .. ('é'):rep(38) .. '…', 1, true), text)
    w:stop()
  end
)

T.test('a refused console create prints the error only', function()
  local w = World.new()
  w.srv:clearOutput()
  w.srv:console('darkchat create 5550101 "Name" bad-code')
  w.srv:console('darkchat create 5550101 Cr\u{202E}ew')
  local text = table.concat(w.srv:output(), '\n')
  T.ok(text:find('error: invalid_join_code', 1, true), text)
  T.ok(text:find('error: invalid_name', 1, true), text)
  T.ok(not text:find('usage:', 1, true), text)
  w.srv:clearOutput()
  w.srv:console('darkchat create 5550101')
  T.ok(
    table.concat(w.srv:output(), '\n'):find('usage: darkchat create', 1, true),
    'a missing word is still a usage line'
  )
  w:stop()
end)

-- Item: smaller ones ------------------------------------------------------------------------

T.test("pushes and server events carry the core's integer ids, not the client's 5.0", function()
  local w = World.new()
  local a, b = w.players[1], w.players[2]
  local events = {}
  for _, name in ipairs({
    'messageSent',
    'conversationRenamed',
    'joinCodeChanged',
    'ownerChanged',
    'memberRemoved',
    'conversationDeleted',
  }) do
    env(w).AddEventHandler(
      '17mov_Phone:darkchat:' .. name,
      function(payload) events[#events + 1] = { name = name, id = payload.conversationId } end
    )
  end
  local conv = ok(w, a, 'create', { name = 'Crew' })
  ok(w, b, 'join', { joinCode = conv.joinCode, alias = 'Bee' })
  ok(w, w.players[3], 'join', { joinCode = conv.joinCode, alias = 'Cat' })
  local float = conv.id + 0.0
  w.srv:clearClientEvents()
  done(w, a, 'send', { conversationId = float, content = 'hi' })
  done(w, a, 'rename', { conversationId = float, name = 'New' })
  done(w, a, 'regenerateCode', { conversationId = float })
  done(w, a, 'kick', { conversationId = float, alias = 'Cat' })
  done(w, a, 'transfer', { conversationId = float, to = 'Bee' })
  T.eq(w:call('Darkchat_DeleteConversationBySrc', b, float), true)
  local pushes = w:pushes(b)
  local kinds = {}
  for i, push in ipairs(pushes) do
    kinds[i] = push.kind
  end
  T.ok(#pushes >= 5, #pushes .. ' pushes: ' .. table.concat(kinds, ' '))
  for _, push in ipairs(pushes) do
    T.eq(math.type(push.payload.conversationId), 'integer', push.kind)
    T.eq(push.payload.conversationId, conv.id, push.kind)
  end
  T.eq(#events, 6)
  for _, e in ipairs(events) do
    T.eq(math.type(e.id), 'integer', e.name)
  end
  w:stop()
end)

T.test("an admin rename is recorded as the admin's, not the owner's", function()
  local w = World.new()
  local id = w:call('Darkchat_CreateConversationByNumber', '5550101', 'Crew').newConv.id
  w.srv:console('darkchat rename ' .. id .. ' By Admin')
  T.eq(w:call('Darkchat_RenameConversationByNumber', '5550101', id, 'By Owner'), true)
  local messages = w:call('Darkchat_GetMessagesByNumber', '5550101', id).messages
  T.eq(#messages, 2)
  T.eq(messages[1].content, 'Renamed to By Admin')
  T.eq(messages[1].sender, nil, 'no member did it')
  T.eq(messages[2].sender, '5550101')
  w:stop()
end)

T.test('esx: a lookup started for an old character never gives the new one its number', function()
  local w = World.new({ framework = 'esx', players = { '5550101' } })
  local src = w:connect(nil)
  -- Character A loads, and before its query answers the player switches to character B.
  w.srv:export(
    'es_extended',
    '__SetCharacter',
    src,
    { identifier = 'char1:old', phone = '5550111' }
  )
  w.srv:export('es_extended', '__Logout', src)
  w.srv:export(
    'es_extended',
    '__SetCharacter',
    src,
    { identifier = 'char2:new', phone = '5550122' }
  )
  w.srv:runFor(50)
  local res = w:call('Darkchat_CreateConversationBySrc', src, 'Who am I')
  T.eq(res.newConv and res.newConv.recipients[1], '5550122')
  -- Logged out while a query is in flight: its answer is dropped too.
  w.srv:export('es_extended', '__Logout', src)
  w.srv:export(
    'es_extended',
    '__SetCharacter',
    src,
    { identifier = 'char1:old', phone = '5550111' }
  )
  w.srv:export('es_extended', '__Logout', src)
  w.srv:runFor(50)
  T.eq(w:call('Darkchat_CreateConversationBySrc', src, 'Nobody').error, 'player_not_found')
  w:stop()
end)

T.test('esx: a push reads the cache and asks the database nothing', function()
  local w = World.new({ framework = 'esx', players = { '5550101', '5550102' } })
  local a, b = w.players[1], w.players[2]
  -- Online with a character but no phone number yet, and online without a character.
  local phoneless = w:connect(nil)
  w.srv:export('es_extended', '__SetCharacter', phoneless, { identifier = 'char1:nophone' })
  w:connect(nil)
  w.srv:runFor(50)
  local conv = ok(w, a, 'create', { name = 'Crew' })
  ok(w, b, 'join', { joinCode = conv.joinCode })
  local before = w.srv:export('oxmysql', '__QueryCount')
  w.srv:clearClientEvents()
  for i = 1, 3 do
    done(w, a, 'send', { conversationId = conv.id, content = 'm' .. i })
  end
  T.eq(#w:awaitPushes(b, 3), 3, 'the member still hears every message')
  T.eq(w.srv:export('oxmysql', '__QueryCount') - before, 0, 'no query per push')
  w:stop()
end)

T.test('a player who loads a character later is pushed to without asking anything first', function()
  local w = World.new({ players = { '5550101' } })
  local late = w:connect('5550177')
  local id = w:call('Darkchat_CreateConversationByNumber', '5550101', 'Crew').newConv.id
  w.srv:clearClientEvents()
  T.eq(w:call('Darkchat_AddToConversationByNumber', '5550177', id), true)
  local pushes = w:pushes(late)
  T.eq(#pushes, 1)
  T.eq(pushes[1].kind, 'conversationAdded')
  T.eq(w:pushes(w.players[1])[1].kind, 'memberJoined')
  w:stop()
end)
