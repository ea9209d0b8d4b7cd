-- Several servers on one MySQL/MariaDB database (lua/network.lua, src/changes.rs): two
-- emulated FXServers in this process share one database, with players on each. A change made
-- on one reaches the other server's members (pushes) and resources (server events marked
-- `fromServer`) within the bound, in order, exactly once, and never twice on its own server; a
-- server that was stopped catches up, or says in one line that it was away too long; the log
-- stays bounded. On SQLite storage (one server per file) there is no log.
--
-- Run on MySQL: DARKCHAT_MYSQL=<url> DARKCHAT_STORAGE=mysql DARKCHAT_CORE=wasm \
--   lua5.4 tests/lua/run.lua tests/e2e/network_test.lua

local T = require('testlib')
local World = require('world')

local EVENTS = {
  'conversationCreated',
  'memberAdded',
  'memberRemoved',
  'messageSent',
  'conversationRenamed',
  'conversationDeleted',
  'ownerChanged',
  'joinCodeChanged',
  'aliasChanged',
  'moderatorChanged',
  'memberUnbanned',
  'retentionChanged',
  'staffBanned',
  'staffUnbanned',
}

--- A push or change must reach the other server within this much of its emulated time (which
--- follows real time while its database works).
local BOUND_MS = 2000

if World.defaultStorage ~= 'mysql' then
  T.test('SQLite storage keeps no change log: the core says so and nothing polls', function()
    local w = World.new()
    local ok, code = w:coreCall('changes', 'server-a')
    T.eq(ok, false)
    T.eq(code, 'invalid_argument')
    T.eq(w.srv:resourceEnv(World.RESOURCE).Darkchat.serverId, nil)
    w:stop()
  end)
  return
end

--- Ticks every server in turn until `done()` holds or `limitMs` of emulated time passed on each;
--- returns the emulated milliseconds it took.
local function runUntil(servers, done, limitMs)
  local waited = 0
  while not done() and waited < limitMs do
    for _, w in ipairs(servers) do
      w.srv:runFor(10)
    end
    waited = waited + 10
  end
  return waited
end

--- Where `w` has read the log up to (nil before its first read).
local function position(w) return w.srv:resourceEnv(World.RESOURCE).Darkchat.Network.position end

--- Runs `servers` until each has read the log once: a server never seen before starts at the
--- log's end, so what was written before its first read is not news to it.
local function awaitFirstRead(servers)
  local took = runUntil(servers, function()
    for _, w in ipairs(servers) do
      if position(w) == nil then return false end
    end
    return true
  end, 10000)
  T.ok(took < 10000, 'a server never read the change log')
end

--- Server B ("server-b") on `a`'s database, with players of `numbers`.
local function serverB(a, numbers, resourceDir)
  return World.new {
    players = numbers,
    events = EVENTS,
    sharesDatabaseWith = a,
    convars = { ['darkchat:serverId'] = 'server-b' },
    resourceDir = resourceDir,
  }
end

--- Two servers on one fresh database: A (ids "server-a") with players 5550101 and 5550102, B
--- ("server-b") with 5550201 and 5550202. `resourceDir`: an edited copy of the resource.
local function network(resourceDir)
  local a = World.new {
    players = { '5550101', '5550102' },
    events = EVENTS,
    convars = { ['darkchat:serverId'] = 'server-a' },
    resourceDir = resourceDir,
  }
  local b = serverB(a, { '5550201', '5550202' }, resourceDir)
  awaitFirstRead({ a, b })
  return a, b
end

--- A fresh network with a conversation made on A by 5550101 ("Ace") and both of B's players
--- added ("Bee", "Cat"); returns A, B and the conversation's id.
local function crewAcross()
  local a, b = network()
  local made = a:call('Darkchat_CreateConversationByNumber', '5550101', 'Crew', nil, 'Ace')
  local id = made.newConv.id
  T.eq(b:call('Darkchat_AddToConversationByNumber', '5550201', id, 'Bee'), true)
  T.eq(b:call('Darkchat_AddToConversationByNumber', '5550202', id, 'Cat'), true)
  return a, b, id
end

--- A server's events without the marker, and the markers apart.
local function unmarked(events)
  local out, marks = {}, {}
  for i, e in ipairs(events) do
    local payload = {}
    for k, v in pairs(e.payload) do
      if k ~= 'fromServer' then payload[k] = v end
    end
    out[i] = { name = e.name, payload = payload }
    marks[i] = e.payload.fromServer or false
  end
  return out, marks
end

--- Fails when any string in `value` (a push payload) holds one of `numbers`.
local function assertNoNumbers(value, numbers, where)
  if type(value) == 'table' then
    for k, v in pairs(value) do
      assertNoNumbers(k, numbers, where)
      assertNoNumbers(v, numbers, where)
    end
  elseif type(value) == 'string' then
    for _, n in ipairs(numbers) do
      T.ok(not value:find(n, 1, true), where .. ' names a number: ' .. value)
    end
  end
end

T.test('every push kind crosses both ways in the bound, in order, once; never twice', function()
  local a, b = network()
  local servers = { a, b }
  local a1, a2 = a.players[1], a.players[2]
  local b1, b2 = b.players[1], b.players[2]
  local eventsSeen, slowest = 0, 0
  --- Runs `action` on the server `w`, then waits until both servers fired `n` more events;
  --- each wait must end within the bound.
  local function step(what, w, n, action, ...)
    local results = table.pack(w:call(action, ...))
    eventsSeen = eventsSeen + n
    local took = runUntil(
      servers,
      function() return #a.events >= eventsSeen and #b.events >= eventsSeen end,
      10000
    )
    T.eq(#a.events, eventsSeen, what .. ': events on A')
    T.eq(#b.events, eventsSeen, what .. ': events on B')
    slowest = math.max(slowest, took)
    T.ok(took <= BOUND_MS, ('%s crossed in %d ms (bound %d)'):format(what, took, BOUND_MS))
    return table.unpack(results, 1, results.n)
  end

  local made =
    step('create on A', a, 1, 'Darkchat_CreateConversationByNumber', '5550101', 'Crew', nil, 'Ace')
  local id = made.newConv.id
  step(
    'join on B',
    b,
    1,
    'Darkchat_JoinConversationByNumber',
    '5550201',
    made.newConv.joinCode,
    'Bee'
  )
  -- Each server adds a player online on the other: conversationAdded crosses too.
  step('add on A', a, 1, 'Darkchat_AddToConversationByNumber', '5550202', id, 'Dot')
  step('add on B', b, 1, 'Darkchat_AddToConversationByNumber', '5550102', id, 'Cat')
  step('send on A', a, 1, 'Darkchat_SendMessageByNumber', '5550101', id, 'hello from A')
  step('send on B', b, 1, 'Darkchat_SendMessageByNumber', '5550201', id, 'hello from B')
  step('rename on A', a, 1, 'Darkchat_RenameConversationByNumber', '5550101', id, 'Crew 2')
  step('alias on B', b, 1, 'Darkchat_SetAliasByNumber', '5550201', id, 'Bumble')
  step('moderator on A', a, 1, 'Darkchat_SetModeratorByNumber', '5550101', id, '5550201', true)
  step('transfer on A', a, 1, 'Darkchat_TransferOwnershipByNumber', '5550101', id, '5550201')
  step('new code on B', b, 1, 'Darkchat_RegenerateJoinCodeByNumber', '5550201', id)
  step('kick on B', b, 1, 'Darkchat_KickFromConversationByNumber', '5550201', id, '5550102', true)
  step('unban on B', b, 1, 'Darkchat_UnbanFromConversationByNumber', '5550201', id, '5550102')
  step('leave on A', a, 1, 'Darkchat_RemoveFromConversationByNumber', '5550101', id, true)
  -- A second conversation, deleted by its owner on A while a member is on B.
  local other =
    step('create on A', a, 1, 'Darkchat_CreateConversationByNumber', '5550102', 'Short', nil, 'Eel')
  step(
    'join on B',
    b,
    1,
    'Darkchat_JoinConversationByNumber',
    '5550202',
    other.newConv.joinCode,
    'Fin'
  )
  step('delete on A', a, 1, 'Darkchat_DeleteConversationByNumber', '5550102', other.newConv.id)
  -- The last member out deletes: memberRemoved, then conversationDeleted.
  step('leave on B', b, 1, 'Darkchat_RemoveFromConversationByNumber', '5550202', id, true)
  step('last leaves on B', b, 2, 'Darkchat_RemoveFromConversationByNumber', '5550201', id, true)

  print(
    ('  (the slowest change crossed in %d ms of emulated time; bound %d)'):format(slowest, BOUND_MS)
  )
  -- Other resources: the same events on both servers, in the same order; marked exactly when
  -- the change was made on the other server.
  local onA, marksA = unmarked(a.events)
  local onB, marksB = unmarked(b.events)
  T.eq(onB, onA)
  local expectedA, expectedB = {}, {}
  local madeOn = {
    'a',
    'b',
    'a',
    'b',
    'a',
    'b',
    'a',
    'b',
    'a',
    'a',
    'b',
    'b',
    'b',
    'a',
    'a',
    'b',
    'a',
    'b',
    'b',
    'b',
  }
  for i, where in ipairs(madeOn) do
    expectedA[i] = where == 'b' and 'server-b' or false
    expectedB[i] = where == 'a' and 'server-a' or false
  end
  T.eq(#a.events, #madeOn)
  T.eq(marksA, expectedA)
  T.eq(marksB, expectedB)

  -- Players: every push a member on one server got, the member in the same place on the
  -- other server got too, the same payload in the same order, once. a2 (on A) and b2 (on B)
  -- were members through the same changes but their own; compare what each got from the
  -- changes both saw: the messages and the members' comings and goings.
  local pushesA2, pushesB2 = a:pushes(a2), b:pushes(b2)
  T.ok(#pushesA2 > 0 and #pushesB2 > 0)
  local function kinds(list)
    local out = {}
    for i, p in ipairs(list) do
      out[i] = p.kind
    end
    return out
  end
  -- b1 (on B) saw everything a1 did on A, and a1 (on A) everything b1 did on B.
  T.eq(kinds(b:pushes(b1)), {
    'memberJoined', -- Dot added on A
    'memberJoined', -- Cat added on B (local)
    'messageReceived', -- from A
    'conversationRenamed', -- on A
    'moderatorChanged', -- on A
    'ownerChanged', -- on A
    'memberLeft', -- Cat kicked on B (local)
    'memberLeft', -- Ace left on A
    'memberLeft', -- Dot left on B (local)
    'conversationRemoved', -- b1 left last
  })
  T.eq(kinds(a:pushes(a1)), {
    'memberJoined', -- Bee joined on B
    'memberJoined', -- Dot added (local)
    'memberJoined', -- Cat added on B
    'messageReceived', -- from B
    'conversationRenamed', -- local
    'aliasChanged', -- on B
    'moderatorChanged', -- local
    'ownerChanged', -- local
    'memberLeft', -- Cat kicked on B
    'conversationRemoved', -- a1 left
  })
  -- The same pushes, field by field, whichever server made the change.
  local fromA = b:pushes(b1)[3]
  T.eq(fromA.payload.message.sender, 'Ace')
  T.eq(fromA.payload.message.content, 'hello from A')
  T.eq(fromA.payload.conversationId, id)
  local fromB = a:pushes(a1)[4]
  T.eq(fromB.payload.message.sender, 'Bee')
  T.eq(fromB.payload.message.content, 'hello from B')
  -- A member added on the other server gets the conversation as they see it.
  local dot, cat = b:pushes(b2)[1], a:pushes(a2)[1]
  local cases = {
    { dot, 'Dot', { 'Ace', 'Bee', 'Dot' } },
    { cat, 'Cat', { 'Ace', 'Bee', 'Dot', 'Cat' } },
  }
  for _, seen in ipairs(cases) do
    T.eq(seen[1].kind, 'conversationAdded')
    T.eq(seen[1].payload.alias, seen[2])
    T.eq(seen[1].payload.id, id)
    T.eq(seen[1].payload.recipients, seen[3])
  end
  -- Kicked on B, the member on A hears it; the deletion on A reaches the member on B.
  local removed
  for _, p in ipairs(a:pushes(a2)) do
    if p.kind == 'conversationRemoved' then removed = p end
  end
  T.eq(removed.payload, { conversationId = id, isSelf = false, deleted = false, banned = true })
  local deleted
  for _, p in ipairs(b:pushes(b2)) do
    if p.kind == 'conversationDeleted' then deleted = p end
  end
  T.eq(deleted.payload, { conversationId = other.newConv.id })
  -- A push about one change is the same on both servers: every push two members got for the
  -- same system or text message (one local to the change, one on the other server) is equal.
  local function byMessage(list)
    local out = {}
    for _, p in ipairs(list) do
      if p.payload.message then out[p.kind .. '#' .. p.payload.message.id] = p.payload end
    end
    return out
  end
  local compared = 0
  local pairsOfMembers = {
    { a:pushes(a2), b:pushes(b1) },
    { a:pushes(a1), b:pushes(b2) },
    { a:pushes(a2), b:pushes(b2) },
  }
  for _, pair in ipairs(pairsOfMembers) do
    local left, right = byMessage(pair[1]), byMessage(pair[2])
    for key, payload in pairs(left) do
      if right[key] then
        T.eq(right[key], payload, key)
        compared = compared + 1
      end
    end
  end
  T.ok(compared >= 10, 'compared only ' .. compared .. ' pushes')
  -- Anonymity: no push on either server names a number.
  local numbers = { '5550101', '5550102', '5550201', '5550202' }
  for _, w in ipairs(servers) do
    for _, src in ipairs(w.players) do
      assertNoNumbers(w:pushes(src), numbers, 'a push')
    end
  end
  a:stop()
  b:stop()
end)

T.test('mute holds on the other server: a muted member there gets no pushes', function()
  local a, b, id = crewAcross()
  local servers = { a, b }
  T.eq(b:call('Darkchat_MuteConversationByNumber', '5550201', id, true), true)
  local muted, listening = b.players[1], b.players[2]
  local before = #b:pushes(muted)
  a:call('Darkchat_SendMessageByNumber', '5550101', id, 'anyone?')
  a:call('Darkchat_RenameConversationByNumber', '5550101', id, 'Quiet')
  local function last(src)
    local list = b:pushes(src)
    return list[#list]
  end
  local took = runUntil(
    servers,
    function() return last(listening).kind == 'conversationRenamed' end,
    10000
  )
  T.ok(took <= BOUND_MS, ('crossed in %d ms'):format(took))
  T.eq(#b:pushes(muted), before)
  -- Unmuted, the member hears the next one.
  T.eq(b:call('Darkchat_MuteConversationByNumber', '5550201', id, false), true)
  a:call('Darkchat_SendMessageByNumber', '5550101', id, 'back?')
  runUntil(servers, function() return #b:pushes(muted) > before end, 10000)
  T.eq(last(muted).kind, 'messageReceived')
  T.eq(last(muted).payload.message.content, 'back?')
  a:stop()
  b:stop()
end)

T.test(
  'a staff ban crosses: the other server stops its pushes to that number at once, its resources hear it',
  function()
    local a, b, id = crewAcross()
    local servers = { a, b }
    -- B has read the stored bans (none) with its first push: without the entry it would push
    -- to a banned number for up to a minute.
    a:call('Darkchat_SendMessageByNumber', '5550101', id, 'first')
    local banned, other = b.players[1], b.players[2]
    local function heard(src, content)
      for _, p in ipairs(b:pushes(src)) do
        if p.kind == 'messageReceived' and p.payload.message.content == content then return true end
      end
      return false
    end
    runUntil(servers, function() return heard(banned, 'first') and heard(other, 'first') end, 10000)
    T.ok(heard(banned, 'first'), 'no ban yet: the push crossed')

    local ok = a:call('Darkchat_StaffBan', '5550201', '7d', 'spam')
    T.eq(ok, true)
    local function event(name)
      for _, e in ipairs(b.events) do
        if e.name == name then return e.payload end
      end
    end
    local took = runUntil(servers, function() return event('staffBanned') ~= nil end, 10000)
    T.ok(took <= BOUND_MS, ('crossed in %d ms'):format(took))
    local ban = event('staffBanned')
    T.eq({ ban.number, ban.reason, ban.fromServer }, { '5550201', 'spam', 'server-a' })
    T.ok(math.abs(ban.expiresAt - os.time() - 7 * 86400) < 60, 'ends in 7 days')

    a:call('Darkchat_SendMessageByNumber', '5550101', id, 'second')
    runUntil(servers, function() return heard(other, 'second') end, 10000)
    T.ok(heard(other, 'second'), 'the others still hear')
    T.ok(not heard(banned, 'second'), 'no push to the banned number, well within the minute')

    T.eq(a:call('Darkchat_StaffUnban', '5550201'), true)
    took = runUntil(servers, function() return event('staffUnbanned') ~= nil end, 10000)
    T.ok(took <= BOUND_MS, ('crossed in %d ms'):format(took))
    T.eq(
      { event('staffUnbanned').number, event('staffUnbanned').fromServer },
      { '5550201', 'server-a' }
    )
    local count = 0
    for _, e in ipairs(a.events) do
      if e.name == 'staffBanned' or e.name == 'staffUnbanned' then
        count = count + 1
        T.eq(e.payload.fromServer, nil, 'its own server hears it once, unmarked')
      end
    end
    T.eq(count, 2)
    a:stop()
    b:stop()
  end
)

T.test('a retention crosses; what one server swept is gone on the other, nothing logged', function()
  -- Server A caps conversations at 2 messages and sweeps every second; B keeps the defaults
  -- (no cap: it never sweeps this conversation), so what B's players miss, A swept.
  local dir = World.resourceWithMessageCap(2)
  local a = World.new {
    players = { '5550101', '5550102' },
    events = EVENTS,
    convars = { ['darkchat:serverId'] = 'server-a' },
    resourceDir = dir,
  }
  local b = serverB(a, { '5550201', '5550202' })
  local servers = { a, b }
  awaitFirstRead(servers)
  local made = a:call('Darkchat_CreateConversationByNumber', '5550101', 'Crew', nil, 'Ace')
  local id = made.newConv.id
  T.eq(b:call('Darkchat_AddToConversationByNumber', '5550201', id, 'Bee'), true)
  T.eq(a:call('Darkchat_SetRetentionByNumber', '5550101', id, 3600), true)
  local function last(src)
    local list = b:pushes(src)
    return list[#list]
  end
  local took = runUntil(servers, function()
    local got = last(b.players[1])
    return got ~= nil and got.kind == 'retentionChanged'
  end, 10000)
  T.ok(took <= BOUND_MS, ('crossed in %d ms'):format(took))
  T.eq(last(b.players[1]).payload.retentionSeconds, 3600)
  T.eq(last(b.players[1]).payload.message.sender, 'Ace', 'by alias')
  local heard
  for _, e in ipairs(b.events) do
    if e.name == 'retentionChanged' then heard = e.payload end
  end
  T.eq(heard and heard.fromServer, 'server-a')
  T.eq(heard.retentionSeconds, 3600)
  local entries = a:sql('SELECT COUNT(*) FROM darkchat_changes')
  for i = 1, 5 do
    a:call('Darkchat_SendMessageByNumber', '5550101', id, 'gone soon ' .. i)
  end
  local after = tonumber(a:sql('SELECT COUNT(*) FROM darkchat_changes'):match('%d+'))
  runUntil(servers, function()
    local page = b:call('Darkchat_GetMessagesByNumber', '5550201', id)
    return page.success and #page.messages == 2
  end, 10000)
  local page = b:call('Darkchat_GetMessagesByNumber', '5550201', id).messages
  T.eq(
    { page[1].content, page[2].content },
    { 'gone soon 4', 'gone soon 5' },
    'server B reads what A kept'
  )
  local listed = b:call('Darkchat_GetConversationsByNumber', '5550201').conversations[1]
  T.eq(listed.messages[1].content, 'gone soon 5')
  T.eq(listed.unreadCount, 2, 'unread on B counts only what is left')
  T.eq(
    tonumber(a:sql('SELECT COUNT(*) FROM darkchat_changes'):match('%d+')),
    after,
    'the sweep wrote nothing to the change log (was ' .. entries .. ' before the sends)'
  )
  a:stop()
  b:stop()
end)

T.test(
  'edits and deletions cross: the members there see them, its resources hear who deleted',
  function()
    local events = { 'messageEdited', 'messageDeleted' }
    local a = World.new {
      players = { '5550101' },
      events = events,
      convars = { ['darkchat:serverId'] = 'server-a' },
    }
    local b = World.new {
      players = { '5550201' },
      events = events,
      sharesDatabaseWith = a,
      convars = { ['darkchat:serverId'] = 'server-b' },
    }
    local servers = { a, b }
    awaitFirstRead(servers)
    local id =
      a:call('Darkchat_CreateConversationByNumber', '5550101', 'Crew', nil, 'Ace').newConv.id
    T.eq(b:call('Darkchat_AddToConversationByNumber', '5550201', id, 'Bee'), true)
    local m = a:call('Darkchat_SendMessageByNumber', '5550101', id, 'first').message.id
    local member = b.players[1]
    local function last()
      local list = b:pushes(member)
      return list[#list]
    end
    runUntil(servers, function() return last() and last().kind == 'messageReceived' end, 10000)

    a:call('Darkchat_EditMessageByNumber', '5550101', id, m, 'first, edited')
    local took = runUntil(servers, function() return #b.events >= 1 end, 10000)
    T.ok(took <= BOUND_MS, ('the edit crossed in %d ms'):format(took))
    T.eq(b.events[1], {
      name = 'messageEdited',
      payload = {
        conversationId = id,
        messageId = m,
        number = '5550101',
        recipients = b.events[1].payload.recipients,
        fromServer = 'server-a',
      },
    })
    runUntil(servers, function() return last().kind == 'messageEdited' end, 10000)
    T.eq({
      last().kind,
      last().payload.messageId,
      last().payload.message.content,
      last().payload.message.edited,
      last().payload.message.sender,
    }, { 'messageEdited', m, 'first, edited', true, 'Ace' })

    a:call('Darkchat_DeleteMessageByNumber', '5550101', id, m)
    took = runUntil(servers, function() return #b.events >= 2 end, 10000)
    T.ok(took <= BOUND_MS, ('the deletion crossed in %d ms'):format(took))
    T.eq(b.events[2], {
      name = 'messageDeleted',
      payload = {
        conversationId = id,
        messageId = m,
        number = '5550101',
        deletedBy = '5550101',
        recipients = b.events[2].payload.recipients,
        fromServer = 'server-a',
      },
    })
    runUntil(servers, function() return last().kind == 'messageDeleted' end, 10000)
    T.eq(
      { last().kind, last().payload.messageId, last().payload.message.deleted },
      { 'messageDeleted', m, true }
    )
    a:stop()
    b:stop()
  end
)

--- Where the database says `serverId` has read up to.
local function storedPosition(w, serverId)
  local sql = ("SELECT position FROM darkchat_servers WHERE server_id = '%s'"):format(serverId)
  return tonumber(w:sql(sql):match('%d+'))
end

local function head(w)
  return tonumber(w:sql('SELECT last_id FROM darkchat_change_head'):match('%d+'))
end

--- Runs `servers` until the database says B has stored its position at the log's end (so a stop
--- now loses nothing it has not handled).
local function awaitStored(servers, a)
  local took = runUntil(
    servers,
    function() return storedPosition(a, 'server-b') == head(a) end,
    10000
  )
  T.ok(took < 10000, 'server-b never stored its position')
end

T.test('a server stopped and started again catches up: what it missed, in order, once', function()
  local a, b = network()
  local made = a:call('Darkchat_CreateConversationByNumber', '5550101', 'Crew', nil, 'Ace')
  local id = made.newConv.id
  T.eq(a:call('Darkchat_AddToConversationByNumber', '5550201', id, 'Bee'), true)
  awaitStored({ a, b }, a)
  b:stop()
  local sent = {}
  for i = 1, 3 do
    sent[i] = a:call('Darkchat_SendMessageByNumber', '5550101', id, 'while away ' .. i).message.id
  end
  a:call('Darkchat_RenameConversationByNumber', '5550101', id, 'Crew again')
  -- B again: the same id, the same database; its player is online.
  local b2 = serverB(a, { '5550201' })
  local servers = { a, b2 }
  runUntil(servers, function() return #b2.events >= 4 end, 10000)
  -- One change after the catch-up: once it is there, nothing came twice before it.
  local after = a:call('Darkchat_SendMessageByNumber', '5550101', id, 'back').message.id
  local took = runUntil(servers, function() return #b2.events >= 5 end, 10000)
  T.ok(took <= BOUND_MS, ('crossed in %d ms'):format(took))
  local names, ids = {}, {}
  for i, e in ipairs(b2.events) do
    names[i] = e.name
    ids[i] = e.payload.messageId
    T.eq(e.payload.fromServer, 'server-a')
  end
  T.eq(names, { 'messageSent', 'messageSent', 'messageSent', 'conversationRenamed', 'messageSent' })
  T.eq(ids, { sent[1], sent[2], sent[3], nil, after })
  local kinds = {}
  for i, p in ipairs(b2:pushes(b2.players[1])) do
    kinds[i] = p.kind .. ':' .. (p.payload.message and p.payload.message.content or '')
  end
  T.eq(kinds, {
    'messageReceived:while away 1',
    'messageReceived:while away 2',
    'messageReceived:while away 3',
    'conversationRenamed:Renamed to Crew again',
    'messageReceived:back',
  })
  for _, line in ipairs(b2.srv:output()) do
    T.ok(not line:find('missed', 1, true), line)
  end
  a:stop()
  b2:stop()
end)

--- The resource with the change log's bounds edited.
local function withLog(keep, pruneBatch)
  return World.resourceWithConfig(function(text)
    text = text:gsub('keep = 20000,', ('keep = %d,'):format(keep))
    text = text:gsub('pruneSeconds = 5,', 'pruneSeconds = 1,')
    return (text:gsub('pruneBatch = 500,', ('pruneBatch = %d,'):format(pruneBatch)))
  end)
end

local function logSize(w)
  return tonumber(w:sql('SELECT COUNT(*) FROM darkchat_changes'):match('%d+'))
end

T.test('a server away longer than the log keeps says so in one line and carries on', function()
  local dir = withLog(3, 500)
  local a, b = network(dir)
  local made = a:call('Darkchat_CreateConversationByNumber', '5550101', 'Crew', nil, 'Ace')
  local id = made.newConv.id
  T.eq(a:call('Darkchat_AddToConversationByNumber', '5550201', id, 'Bee'), true)
  awaitStored({ a, b }, a)
  b:stop()
  for i = 1, 10 do
    a:call('Darkchat_SendMessageByNumber', '5550101', id, 'm' .. i)
  end
  -- A prunes what is beyond the newest 3.
  local pruned = runUntil({ a }, function() return logSize(a) <= 3 end, 10000)
  T.ok(pruned < 10000, 'the log was never pruned')
  local b2 = serverB(a, { '5550201' }, dir)
  local servers = { a, b2 }
  runUntil(servers, function() return #b2.events >= 3 end, 10000)
  local lines = {}
  for _, line in ipairs(b2.srv:output()) do
    if line:find('missed', 1, true) then lines[#lines + 1] = line end
  end
  T.eq(#lines, 1)
  T.ok(lines[1]:find('missed 7 changes', 1, true), lines[1])
  -- The 3 kept, then it carries on live.
  local contents = {}
  for i, p in ipairs(b2:pushes(b2.players[1])) do
    contents[i] = p.payload.message.content
  end
  T.eq(contents, { 'm8', 'm9', 'm10' })
  a:call('Darkchat_SendMessageByNumber', '5550101', id, 'live')
  runUntil(servers, function() return #b2:pushes(b2.players[1]) >= 4 end, BOUND_MS)
  T.eq(b2:pushes(b2.players[1])[4].payload.message.content, 'live')
  a:stop()
  b2:stop()
end)

T.test('the change log stays bounded under a flood, cut from its old end', function()
  local keep, batch = 50, 20
  local a, b = network(withLog(keep, batch))
  local servers = { a, b }
  local made = a:call('Darkchat_CreateConversationByNumber', '5550101', 'Flood', nil, 'Ace')
  local id = made.newConv.id
  T.eq(a:call('Darkchat_AddToConversationByNumber', '5550201', id, 'Bee'), true)
  local biggest = 0
  for i = 1, 300 do
    a:call('Darkchat_SendMessageByNumber', '5550101', id, 'flood ' .. i)
    if i % 50 == 0 then
      b.srv:runFor(10)
      biggest = math.max(biggest, logSize(a))
    end
  end
  T.eq(head(a) >= 302, true)
  local took = runUntil(servers, function() return logSize(a) <= keep end, 10000)
  T.ok(took < 10000, 'the log still holds ' .. logSize(a) .. ' entries')
  -- What is kept is the newest: the log is cut from its old end only.
  local span = a:sql('SELECT MAX(id) - MIN(id) + 1 FROM darkchat_changes')
  T.eq(tonumber(span:match('%d+')), logSize(a))
  T.eq(tonumber(a:sql('SELECT MAX(id) FROM darkchat_changes'):match('%d+')), head(a))
  print(
    ('  (flood: 300 messages, the log held at most %d entries when sampled; keep %d)'):format(
      biggest,
      keep
    )
  )
  a:stop()
  b:stop()
end)

T.test('one prune deletes everything the log no longer keeps, a batch at a time', function()
  local dir = World.resourceWithConfig(function(text)
    text = text:gsub('keep = 20000,', 'keep = 5,'):gsub('pruneBatch = 500,', 'pruneBatch = 3,')
    return (text:gsub('pruneSeconds = 5,', 'pruneSeconds = 3600,')) -- no timed prune here
  end)
  local a = World.new {
    players = { '5550101' },
    convars = { ['darkchat:serverId'] = 'server-a' },
    resourceDir = dir,
  }
  local id = a:call('Darkchat_CreateConversationByNumber', '5550101', 'Crew', nil, 'Ace').newConv.id
  for i = 1, 20 do
    a:call('Darkchat_SendMessageByNumber', '5550101', id, 'm' .. i)
  end
  T.eq(logSize(a), 21)
  local network = a.srv:resourceEnv(World.RESOURCE).Darkchat.Network
  a.srv:inThread(function() network.prune() end)
  T.eq(logSize(a), 5, 'sixteen entries in six batches of three, in one prune')
  T.eq(tonumber(a:sql('SELECT MAX(id) FROM darkchat_changes'):match('%d+')), head(a))
  a:stop()
end)

T.test('a Config.Network the core refuses is said in one line, not retried in silence', function()
  local dir = World.resourceWithConfig(
    function(text) return (text:gsub('readLimit = 200,', 'readLimit = 5000,')) end
  )
  local a = World.new {
    players = {},
    convars = { ['darkchat:serverId'] = 'server-a' },
    resourceDir = dir,
  }
  a.srv:runFor(2000)
  local lines = {}
  for _, line in ipairs(a.srv:output()) do
    if line:find('change log', 1, true) then lines[#lines + 1] = line end
  end
  T.eq(#lines, 1)
  T.ok(lines[1]:find('cannot read the change log: invalid_argument', 1, true), lines[1])
  a:stop()
end)
