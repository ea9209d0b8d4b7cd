-- What a player does in the app, through the phone UI's net events and the extra exports:
-- join by code, messages, read state, listing, paging, owner actions, authorisation, rate
-- limits, pushes, hooks.

local T = require('testlib')
local World = require('world')

--- Sends a request as player `src`; returns the response table.
local function ask(w, src, action, payload) return w:ask(src, action, payload) end
local function ok(w, src, action, payload) return w:ok(src, action, payload) end

local SERVER_EVENTS = {
  'conversationCreated',
  'memberAdded',
  'memberRemoved',
  'messageSent',
  'conversationRenamed',
  'conversationDeleted',
  'ownerChanged',
  'joinCodeChanged',
  'messageDeleted',
}

--- Listens to every Darkchat server event; returns the list they are appended to, as
--- { name, payload }, and a function that empties it.
local function listen(w)
  local heard = {}
  local env = w.srv:resourceEnv(World.RESOURCE)
  for _, name in ipairs(SERVER_EVENTS) do
    env.AddEventHandler(
      '17mov_Phone:darkchat:' .. name,
      function(payload) heard[#heard + 1] = { name = name, payload = payload } end
    )
  end
  return heard, function()
    for i = #heard, 1, -1 do
      heard[i] = nil
    end
  end
end

--- Every client event each of `sources` received since the last request, as
--- { kind, payload } for pushes and { event = name } for anything else but the response.
local function received(w, sources)
  local out = {}
  for _, src in ipairs(sources) do
    local list = {}
    for _, e in ipairs(w.srv:clientEvents(src)) do
      if e.name == '17mov_Phone:darkchat:push' then
        list[#list + 1] = { kind = e.args[1], payload = e.args[2] }
      elseif e.name ~= World.RESPONSE then
        list[#list + 1] = { event = e.name }
      end
    end
    out[src] = list
  end
  return out
end

T.test("the resource defines two globals: the owner's Config and the namespace Darkchat", function()
  local w = World.new()
  -- What any resource's scripts see before they run: an empty resource's globals.
  local dir = T.tmpdir() .. '/empty'
  T.write(
    dir .. '/fxmanifest.lua',
    "fx_version 'cerulean'\ngame 'gta5'\nlua54 'yes'\nserver_script 'server.lua'\n"
  )
  T.write(dir .. '/server.lua', '')
  w.srv:addResourceDir('empty', dir)
  T.ok(w.srv:ensure('empty'))
  local before = w.srv:resourceEnv('empty')
  local defined = {}
  for name in pairs(w.srv:resourceEnv(World.RESOURCE)) do
    if before[name] == nil then defined[#defined + 1] = name end
  end
  table.sort(defined)
  T.eq(defined, { 'Config', 'Darkchat' })
  T.eq(type(w.srv:resourceEnv(World.RESOURCE).Darkchat.Actions), 'table', 'the modules are in it')
  w:stop()
end)

T.test('join by code (any case), send, list with last message and read state', function()
  local w = World.new()
  local a, b = w.players[1], w.players[2]
  local conv = ok(w, a, 'create', { name = 'Crew', alias = 'Ace' })
  T.eq(conv.recipients, { 'Ace' })
  local joined = ok(w, b, 'join', { joinCode = conv.joinCode:lower(), alias = 'Bee' })
  T.eq(joined.id, conv.id)
  T.eq(joined.recipients, { 'Ace', 'Bee' })
  local msg = ok(w, b, 'send', { conversationId = conv.id, content = '  hello crew  ' })
  T.eq(msg.content, 'hello crew')
  T.eq(msg.sender, 'Bee')
  T.eq(msg.type, 'text')
  T.eq(math.type(msg.id), 'integer')
  local list = ok(w, a, 'list')
  T.eq(#list, 1)
  T.eq(list[1].messages[1].content, 'hello crew')
  T.eq(list[1].isItRead, false)
  T.eq(list[1].unreadCount, 2)
  ok(w, a, 'markRead', { conversationId = conv.id })
  T.eq(ok(w, a, 'list')[1].isItRead, true)
  T.eq(ok(w, b, 'list')[1].isItRead, true, 'own message is read')
  T.eq(ask(w, w.players[3], 'join', { joinCode = 'NOPE42' }).error, 'conversation_not_found')
  T.eq(ask(w, b, 'join', { joinCode = conv.joinCode }).error, 'already_member')
  w:stop()
end)

T.test('exports mirror the requests, BySrc and ByNumber alike', function()
  local w = World.new()
  local conv = w:call('Darkchat_CreateConversationBySrc', w.players[1], 'Crew').newConv
  local j = w:call('Darkchat_JoinConversationByNumber', 5550102, conv.joinCode)
  T.eq(j.success, true)
  T.eq(j.conversation.recipients, { '5550101', '5550102' })
  local s = w:call('Darkchat_SendMessageBySrc', w.players[2], conv.id, 'hi')
  T.eq(s.success, true)
  T.eq(s.message.content, 'hi')
  T.eq(w:call('Darkchat_GetConversationsByNumber', '5550101').conversations[1].id, conv.id)
  T.eq(#w:call('Darkchat_GetConversationBySrc', w.players[1], conv.id).conversation.messages, 2)
  T.eq(w:call('Darkchat_GetMessagesByNumber', '5550101', conv.id, nil, 1).messages[1].content, 'hi')
  T.eq(w:call('Darkchat_MarkReadBySrc', w.players[1], conv.id), true)
  T.eq(w:call('Darkchat_RenameConversationBySrc', w.players[1], conv.id, 'New name'), true)
  T.eq(
    table.pack(w:call('Darkchat_RenameConversationBySrc', w.players[2], conv.id, 'Mine')),
    { n = 2, false, 'forbidden' }
  )
  local code = w:call('Darkchat_RegenerateJoinCodeByNumber', '5550101', conv.id)
  T.eq(code.success, true)
  T.ok(code.joinCode ~= conv.joinCode)
  T.eq(w:call('Darkchat_JoinConversationBySrc', w.players[3], conv.joinCode), {
    success = false,
    error = 'conversation_not_found',
    reason = 'no conversation has that join code',
  })
  T.eq(w:call('Darkchat_TransferOwnershipBySrc', w.players[1], conv.id, '5550102'), true)
  T.eq(w:call('Darkchat_KickFromConversationBySrc', w.players[2], conv.id, '5550101'), true)
  T.eq(w:call('Darkchat_DeleteConversationByNumber', '5550102', conv.id), true)
  T.eq(w:call('Darkchat_GetConversationsByNumber', '5550102').conversations, {})
  w:stop()
end)

T.test('a second player is refused every action on a conversation it is not in', function()
  local w = World.new()
  local a, outsider = w.players[1], w.players[3]
  local conv = ok(w, a, 'create', { name = 'Private', alias = 'Ace' })
  ok(w, a, 'send', { conversationId = conv.id, content = 'secret' })
  local before = w:checksum()
  local cases = {
    { 'get', { conversationId = conv.id }, 'not_member' },
    { 'messages', { conversationId = conv.id }, 'not_member' },
    { 'send', { conversationId = conv.id, content = 'let me in' }, 'not_member' },
    { 'markRead', { conversationId = conv.id }, 'not_member' },
    { 'leave', { conversationId = conv.id }, 'not_member' },
    { 'rename', { conversationId = conv.id, name = 'Mine' }, 'not_member' },
    { 'regenerateCode', { conversationId = conv.id }, 'not_member' },
    { 'delete', { conversationId = conv.id }, 'not_member' },
    { 'transfer', { conversationId = conv.id, to = 'Ace' }, 'not_member' },
    { 'kick', { conversationId = conv.id, alias = 'Ace' }, 'not_member' },
    { 'members', { conversationId = conv.id }, 'not_member' },
    { 'bans', { conversationId = conv.id }, 'not_member' },
    { 'unban', { conversationId = conv.id, banId = 1 }, 'not_member' },
    { 'setModerator', { conversationId = conv.id, alias = 'Ace' }, 'not_member' },
    { 'setAlias', { conversationId = conv.id, alias = 'Intruder' }, 'not_member' },
    { 'mute', { conversationId = conv.id }, 'not_member' },
  }
  w.srv:clearClientEvents()
  for _, case in ipairs(cases) do
    T.eq(ask(w, outsider, case[1], case[2]).error, case[3], case[1])
    T.eq(#w:pushes(a), 0, 'the member heard nothing of ' .. case[1])
  end
  T.eq(#ok(w, outsider, 'list'), 0)
  T.eq(w:checksum(), before, "the outsider's refused actions wrote nothing")
  -- A member who is not the owner is forbidden the owner's actions.
  ok(w, w.players[2], 'join', { joinCode = conv.joinCode, alias = 'Bee' })
  before = w:checksum()
  for _, case in ipairs({
    { 'rename', { conversationId = conv.id, name = 'Mine' } },
    { 'regenerateCode', { conversationId = conv.id } },
    { 'delete', { conversationId = conv.id } },
    { 'transfer', { conversationId = conv.id, to = 'Bee' } },
    { 'kick', { conversationId = conv.id, alias = 'Ace' } },
    { 'bans', { conversationId = conv.id } },
    { 'unban', { conversationId = conv.id, banId = 1 } },
    { 'setModerator', { conversationId = conv.id, alias = 'Bee' } },
  }) do
    T.eq(ask(w, w.players[2], case[1], case[2]).error, 'forbidden', case[1])
  end
  T.eq(w:checksum(), before, 'nothing written')
  w:stop()
end)

T.test('forged payloads cannot act for someone else', function()
  local w = World.new()
  local a, b = w.players[1], w.players[2]
  local conv = ok(w, a, 'create', { name = 'Crew', alias = 'Ace' })
  -- The payload's "number"/"sender"/"source" fields are ignored: the actor is the event source.
  local r = ask(w, b, 'send', {
    conversationId = conv.id,
    content = 'as a',
    number = '5550101',
    sender = '5550101',
    source = a,
  })
  T.eq(r.error, 'not_member')
  r = ask(w, b, 'leave', { conversationId = conv.id, number = '5550101' })
  T.eq(r.error, 'not_member')
  T.eq(ok(w, a, 'get', { conversationId = conv.id }).recipients, { 'Ace' })
  -- Malformed requests.
  T.eq(ask(w, a, 'nope', {}).error, 'invalid_argument')
  T.eq(ask(w, a, 'send', 'not a table').error, 'invalid_argument')
  T.eq(ask(w, a, 'send', { conversationId = '1', content = 'x' }).error, 'invalid_argument')
  T.eq(
    ask(w, a, 'send', { conversationId = conv.id, content = ('x'):rep(1001) }).error,
    'invalid_argument'
  )
  T.eq(ask(w, a, 'send', { conversationId = conv.id, content = '   ' }).error, 'invalid_argument')
  T.eq(
    ask(w, a, 'send', { conversationId = conv.id, content = ('x'):rep(10 * 1024 * 1024) }).error,
    'invalid_argument'
  )
  T.eq(ask(w, a, 'messages', { conversationId = conv.id, limit = 0 }).error, 'invalid_argument')
  T.eq(ask(w, a, 'messages', { conversationId = conv.id, before = -1 }).error, 'invalid_argument')
  w:stop()
end)

T.test('pushes reach exactly the online members', function()
  local w = World.new({ players = { '5550101', '5550102', '5550103', '5550104' } })
  local a, b, c, d = table.unpack(w.players)
  local conv = ok(w, a, 'create', { name = 'Crew' })
  ok(w, b, 'join', { joinCode = conv.joinCode })
  ok(w, c, 'join', { joinCode = conv.joinCode })
  w.srv:dropPlayer(c, 'gone')
  w.srv:clearClientEvents()
  ok(w, a, 'send', { conversationId = conv.id, content = 'ping' })
  local pushes = w:awaitPushes(b, 1)
  T.eq(#pushes, 1)
  T.eq(pushes[1].kind, 'messageReceived')
  T.eq(pushes[1].payload.message.content, 'ping')
  T.eq(#w:pushes(a), 0, 'the sender has the response, not a push')
  T.eq(#w:pushes(d), 0, 'not a member')
  T.eq(#w.srv:clientEvents(c), 0, 'offline')
  w:stop()
end)

T.test('an offline member catches up after reconnecting', function()
  local w = World.new()
  local a, b = w.players[1], w.players[2]
  local conv = ok(w, a, 'create', { name = 'Crew' })
  ok(w, b, 'join', { joinCode = conv.joinCode })
  w.srv:dropPlayer(b, 'bye')
  for i = 1, 3 do
    ok(w, a, 'send', { conversationId = conv.id, content = 'm' .. i })
  end
  local back = w:connect('5550102', 'B again')
  local list = ok(w, back, 'list')
  T.eq(list[1].isItRead, false)
  T.eq(list[1].unreadCount, 3)
  T.eq(list[1].messages[1].content, 'm3')
  local seen = ok(w, back, 'get', { conversationId = conv.id })
  T.eq(seen.messages[#seen.messages].content, 'm3')
  w:stop()
end)

T.test('paging returns every message exactly once, in order', function()
  local w = World.new()
  local id = w:call('Darkchat_CreateConversationByNumber', '5550101', 'Log').newConv.id
  for i = 1, 130 do
    w:call('Darkchat_SendMessageByNumber', '5550101', id, 'm' .. i)
  end
  local all, before, pages = {}, nil, 0
  repeat
    -- 130 messages are 6 pages of 25 and an empty one: a paging bug fails instead of hanging.
    pages = pages + 1
    T.ok(pages <= 7, 'paging did not end after 7 pages')
    local page =
      ok(w, w.players[1], 'messages', { conversationId = id, before = before, limit = 25 })
    T.ok(#page <= 25)
    T.ok(before == nil or #page == 0 or page[#page].id < before, 'each page is older than the last')
    for i = #page, 1, -1 do
      table.insert(all, 1, page[i].content)
    end
    before = page[1] and page[1].id
  until #page == 0
  T.eq(#all, 130)
  for i = 1, 130 do
    T.eq(all[i], 'm' .. i)
  end
  T.eq(
    #ok(w, w.players[1], 'messages', { conversationId = id, limit = 100000 }),
    100,
    'limit is bounded'
  )
  w:stop()
end)

T.test('rate limits: join-code guesses and messages', function()
  local w = World.new()
  local a, b = w.players[1], w.players[2]
  local conv = ok(w, a, 'create', { name = 'Crew' })
  for i = 1, 5 do
    T.eq(ask(w, b, 'join', { joinCode = 'GUESS' .. i }).error, 'conversation_not_found')
  end
  T.eq(
    ask(w, b, 'join', { joinCode = conv.joinCode }).error,
    'rate_limited',
    'the sixth guess is refused, even the right one'
  )
  w.srv:runFor(61000)
  T.eq(ask(w, b, 'join', { joinCode = conv.joinCode }).ok, true, 'the window slides')
  local sent = 0
  for _ = 1, 15 do
    if ask(w, a, 'send', { conversationId = conv.id, content = 'spam' }).ok then sent = sent + 1 end
  end
  T.eq(sent, 10, '10 messages per 10 s')
  local _, count = w:coreCall('messages', '5550101', conv.id, nil, 100)
  local texts = 0
  for _, m in ipairs(count) do
    if m.type == 'text' then texts = texts + 1 end
  end
  T.eq(texts, 10)
  w:stop()
end)

T.test('hooks can veto create, join and send; a broken hook does not block', function()
  local w = World.new()
  local env = w.srv:resourceEnv(World.RESOURCE)
  local id = w:call('Darkchat_AddHook', 'send', function(p)
    if p.content:find('badword') then return false, 'language' end
  end)
  T.eq(math.type(id), 'integer')
  w:call('Darkchat_AddHook', 'create', function(p)
    if p.name == 'Banned' then return false end
  end)
  w:call('Darkchat_AddHook', 'join', function() error('broken filter') end)
  T.eq(w:call('Darkchat_AddHook', 'nonsense', function() end), false)
  local conv = w:call('Darkchat_CreateConversationByNumber', '5550101', 'Crew').newConv
  T.eq(
    w:call('Darkchat_CreateConversationByNumber', '5550101', 'Banned'),
    { success = false, error = 'forbidden' }
  )
  T.eq(w:call('Darkchat_JoinConversationByNumber', '5550102', conv.joinCode).success, true)
  local r = w:call('Darkchat_SendMessageByNumber', '5550101', conv.id, 'a badword here')
  T.eq(r, { success = false, error = 'forbidden', reason = 'language' })
  T.eq(w:call('Darkchat_SendMessageByNumber', '5550101', conv.id, 'fine').success, true)
  T.eq(w:call('Darkchat_RemoveHook', id), true)
  T.eq(w:call('Darkchat_SendMessageByNumber', '5550101', conv.id, 'badword').success, true)
  T.ok(env ~= nil)
  w:stop()
end)

T.test(
  "the console's darkchat version names the build (Cargo.toml's version), the core and the storage",
  function()
    local cargo = assert(io.open(T.repoRoot .. '/Cargo.toml')):read('a')
    local version = assert(
      cargo:match('%[package%][^%[]-\nversion%s*=%s*"([^"]+)"'),
      'no package version in Cargo.toml'
    )
    local w = World.new()
    local start = table.concat(w.srv:output(), '\n')
    T.ok(
      start:find(('[Darkchat] %s core %s ready (database '):format(w.core, version), 1, true),
      start
    )
    w.srv:clearOutput()
    w.srv:console('darkchat version')
    T.eq(w.srv:output(), {
      ('[script:17mov_Phone] Darkchat %s (%s core, storage %s)'):format(version, w.core, w.storage),
    })
    w.srv:clearOutput()
    w.srv:console('darkchat version extra')
    T.eq(w.srv:output(), { '[script:17mov_Phone] usage: darkchat version ' })
    w:stop()
  end
)

T.test('leave from the phone is recorded as left, and heard as such', function()
  local w = World.new()
  local a, b = w.players[1], w.players[2]
  local heard, forget = listen(w)
  local conv = ok(w, a, 'create', { name = 'Crew', alias = 'Ace' })
  ok(w, b, 'join', { joinCode = conv.joinCode, alias = 'Bee' })
  forget()
  T.eq(ask(w, b, 'leave', { conversationId = conv.id }), { ok = true, data = true })
  local got = received(w, { a, b })
  local after = ok(w, a, 'get', { conversationId = conv.id })
  T.eq(after.recipients, { 'Ace' })
  local last = after.messages[#after.messages]
  T.eq(
    { last.type, last.event, last.sender, last.content },
    { 'system', 'left', 'Bee', 'Bee left' }
  )
  local change =
    { conversationId = conv.id, alias = 'Bee', isSelf = true, deleted = false, message = last }
  T.eq(got[a], { { kind = 'memberLeft', payload = change } })
  T.eq(got[b], {
    {
      kind = 'conversationRemoved',
      payload = { conversationId = conv.id, isSelf = true, deleted = false, banned = false },
    },
  })
  T.eq(heard, {
    {
      name = 'memberRemoved',
      payload = {
        conversationId = conv.id,
        number = '5550102',
        isSelf = true,
        deleted = false,
        recipients = { '5550101' },
        banned = false,
      },
    },
  })
  w:stop()
end)

T.test(
  'sends, renames, code changes, ownership changes and deletions: pushes and server events',
  function()
    local w = World.new({ players = { '5550101', '5550102', '5550103', '5550104' } })
    local a, b, c, d = table.unpack(w.players)
    local everyone = { a, b, c, d }
    local heard, forget = listen(w)
    local conv = ok(w, a, 'create', { name = 'Crew', alias = 'Ace' })
    local id = conv.id
    ok(w, b, 'join', { joinCode = conv.joinCode, alias = 'Bee' })
    ok(w, c, 'join', { joinCode = conv.joinCode, alias = 'Cat' })
    T.eq(w:call('Darkchat_AddToConversationByNumber', '5550199', id), true) -- a member who is offline
    local members = { '5550101', '5550102', '5550103', '5550199' }
    local function newest()
      local seen = ok(w, a, 'get', { conversationId = id })
      return seen.messages[#seen.messages]
    end

    -- A message: the other online members get it; the sender has the response.
    forget()
    local message = ok(w, b, 'send', { conversationId = id, content = 'ping' })
    local got = received(w, everyone)
    local push = { kind = 'messageReceived', payload = { conversationId = id, message = message } }
    T.eq(got[a], { push })
    T.eq(got[c], { push })
    T.eq(got[b], {}, 'the sender')
    T.eq(got[d], {}, 'not a member')
    T.eq(heard, {
      {
        name = 'messageSent',
        payload = {
          conversationId = id,
          number = '5550102',
          messageId = message.id,
          recipients = members,
          type = 'text',
          content = 'ping',
        },
      },
    })

    -- A rename: every online member sees the new name's system message.
    forget()
    T.eq(ask(w, a, 'rename', { conversationId = id, name = '  Bank Job ' }).ok, true)
    got = received(w, everyone)
    local renamed = newest()
    T.eq(
      { renamed.type, renamed.event, renamed.sender, renamed.content },
      { 'system', 'renamed', 'Ace', 'Renamed to Bank Job' }
    )
    push = { kind = 'conversationRenamed', payload = { conversationId = id, message = renamed } }
    T.eq({ got[a], got[b], got[c], got[d] }, { { push }, { push }, { push }, {} })
    T.eq(
      heard,
      { { name = 'conversationRenamed', payload = { conversationId = id, recipients = members } } }
    )
    T.eq(ok(w, c, 'get', { conversationId = id }).name, 'Bank Job')

    -- A new join code: nothing is pushed (the old code just stops working); scripts hear of it.
    forget()
    local code = ok(w, a, 'regenerateCode', { conversationId = id })
    T.ok(type(code) == 'string' and code ~= conv.joinCode, tostring(code))
    got = received(w, everyone)
    T.eq({ got[a], got[b], got[c], got[d] }, { {}, {}, {}, {} })
    T.eq(heard, { { name = 'joinCodeChanged', payload = { conversationId = id } } })
    T.eq(ask(w, d, 'join', { joinCode = conv.joinCode }).error, 'conversation_not_found')
    T.eq(ok(w, a, 'get', { conversationId = id }).joinCode, code)

    -- A new owner: every online member is told, with the system message.
    forget()
    T.eq(ask(w, a, 'transfer', { conversationId = id, to = 'Bee' }), { ok = true, data = true })
    got = received(w, everyone)
    local owner = newest()
    T.eq(
      { owner.type, owner.event, owner.sender, owner.content },
      { 'system', 'owner', 'Bee', 'Bee is now the owner' }
    )
    push =
      { kind = 'ownerChanged', payload = { conversationId = id, owner = 'Bee', message = owner } }
    T.eq({ got[a], got[b], got[c], got[d] }, { { push }, { push }, { push }, {} })
    T.eq(heard, {
      {
        name = 'ownerChanged',
        payload = { conversationId = id, owner = '5550102', recipients = members },
      },
    })
    T.eq(ok(w, c, 'get', { conversationId = id }).owner, 'Bee')

    -- A deletion by the new owner: whoever was a member is told; then it is gone.
    forget()
    T.eq(ask(w, b, 'delete', { conversationId = id }), { ok = true, data = true })
    got = received(w, everyone)
    push = { kind = 'conversationDeleted', payload = { conversationId = id } }
    T.eq({ got[a], got[b], got[c], got[d] }, { { push }, { push }, { push }, {} })
    T.eq(
      heard,
      { { name = 'conversationDeleted', payload = { conversationId = id, recipients = members } } }
    )
    T.eq(ask(w, c, 'get', { conversationId = id }).error, 'conversation_not_found')
    T.eq(ok(w, c, 'list'), {})
    w:stop()
  end
)

T.test('the hooks of a resource that stopped no longer run', function()
  local w = World.new()
  local dir = T.tmpdir() .. '/word_filter'
  T.write(
    dir .. '/fxmanifest.lua',
    "fx_version 'cerulean'\ngame 'common'\nserver_script 'server.lua'\n"
  )
  T.write(
    dir .. '/server.lua',
    [[
    HookId = exports['17mov_Phone']:Darkchat_AddHook('send', function(payload)
      if payload.content:find('blocked', 1, true) then return false, 'filtered' end
    end)
  ]]
  )
  w.srv:addResourceDir('word_filter', dir)
  T.ok(w.srv:ensure('word_filter'))
  local first = w.srv:resourceEnv('word_filter').HookId
  T.eq(math.type(first), 'integer')
  local id = w:call('Darkchat_CreateConversationByNumber', '5550101', 'Crew').newConv.id
  local function send(text) return w:call('Darkchat_SendMessageByNumber', '5550101', id, text) end
  T.eq(send('blocked'), { success = false, error = 'forbidden', reason = 'filtered' })
  -- Restarted: the old instance's hook is gone, the new one works.
  T.ok(w.srv:ensure('word_filter'))
  local second = w.srv:resourceEnv('word_filter').HookId
  T.ok(second ~= first)
  w.srv:clearOutput()
  T.eq(send('blocked again'), { success = false, error = 'forbidden', reason = 'filtered' })
  T.eq(w:call('Darkchat_RemoveHook', first), false, "the stopped instance's hook was dropped")
  -- Stopped: nothing of it runs (a hook that ran would fail, be logged and allow).
  w.srv:stop('word_filter')
  T.eq(send('blocked, and nobody filters').success, true)
  T.eq(w:call('Darkchat_RemoveHook', second), false, 'dropped when its resource stopped')
  for _, line in ipairs(w.srv:output()) do
    T.ok(not line:find('hook', 1, true), 'no hook ran: ' .. line)
  end
  w:stop()
end)

T.test('joins and adds: who is pushed what, and the memberAdded event', function()
  local w = World.new({ players = { '5550101', '5550102', '5550103', '5550104' } })
  local a, b, c, d = table.unpack(w.players)
  local everyone = { a, b, c, d }
  local heard, forget = listen(w)
  local conv = ok(w, a, 'create', { name = 'Crew', alias = 'Ace' })
  -- By code: the joiner has the answer, the members get the join.
  forget()
  local joined = ok(w, b, 'join', { joinCode = conv.joinCode, alias = 'Bee' })
  local got = received(w, everyone)
  local message = joined.messages[#joined.messages]
  T.eq({ message.type, message.event, message.sender }, { 'system', 'joined', 'Bee' })
  T.eq(got[a], {
    {
      kind = 'memberJoined',
      payload = { conversationId = conv.id, alias = 'Bee', message = message },
    },
  })
  T.eq(
    { got[b], got[c], got[d] },
    { {}, {}, {} },
    'the joiner has the response; others are not members'
  )
  T.eq(heard, {
    {
      name = 'memberAdded',
      payload = {
        conversationId = conv.id,
        number = '5550102',
        alias = 'Bee',
        recipients = { '5550101', '5550102' },
      },
    },
  })
  -- By a script (an integer number): the added player is given the conversation as they see it.
  forget()
  w.srv:clearClientEvents()
  T.eq(w:call('Darkchat_AddToConversationByNumber', 5550103, conv.id), true)
  got = received(w, everyone)
  local seen = ok(w, c, 'get', { conversationId = conv.id })
  local added = seen.messages[#seen.messages]
  T.eq(got[c], { { kind = 'conversationAdded', payload = seen } })
  local push = {
    kind = 'memberJoined',
    payload = { conversationId = conv.id, alias = seen.alias, message = added },
  }
  T.eq({ got[a], got[b], got[d] }, { { push }, { push }, {} })
  T.eq(heard, {
    {
      name = 'memberAdded',
      payload = {
        conversationId = conv.id,
        number = '5550103',
        alias = seen.alias,
        recipients = { '5550101', '5550102', '5550103' },
      },
    },
  })
  w:stop()
end)

T.test(
  'server events carry the numbers and names as stored, whatever form the caller used',
  function()
    local w = World.new()
    local heard, forget = listen(w)
    local conv = w:call('Darkchat_CreateConversationByNumber', 5550101, '  Crew  ').newConv
    T.eq(heard, {
      {
        name = 'conversationCreated',
        payload = { conversationId = conv.id, number = '5550101', name = 'Crew' },
      },
    })
    T.eq(w:call('Darkchat_AddToConversationByNumber', ' 5550102 ', conv.id), true)
    forget()
    local sent = w:call('Darkchat_SendMessageByNumber', 5550102, conv.id, ' hi ').message
    T.eq(heard, {
      {
        name = 'messageSent',
        payload = {
          conversationId = conv.id,
          number = '5550102',
          messageId = sent.id,
          recipients = { '5550101', '5550102' },
          type = 'text',
          content = 'hi',
        },
      },
    })
    forget()
    w.srv:clearClientEvents()
    T.eq(w:call('Darkchat_TransferOwnershipByNumber', '5550101', conv.id, 5550102), true)
    T.eq(heard[1].payload.owner, '5550102')
    local members = w:call('Darkchat_GetMembersByNumber', '5550101', conv.id).members
    T.eq(w:pushes(w.players[1])[1].payload.owner, members[2].alias, 'players hear the alias')
    forget()
    w:call('Darkchat_DeleteMessageByNumber', 5550102, conv.id, sent.id)
    T.eq(heard[1].name, 'messageDeleted')
    T.eq(heard[1].payload.deletedBy, '5550102', 'who deleted it, as stored')
    w:stop()
  end
)

T.test("a removal that is not the member's own says isSelf = false everywhere", function()
  local w = World.new()
  local a, b, c = table.unpack(w.players)
  local heard, forget = listen(w)
  local conv = ok(w, a, 'create', { name = 'Crew', alias = 'Ace' })
  ok(w, b, 'join', { joinCode = conv.joinCode, alias = 'Bee' })
  ok(w, c, 'join', { joinCode = conv.joinCode, alias = 'Cat' })
  for _, case in ipairs({
    {
      who = b,
      number = '5550102',
      alias = 'Bee',
      banned = false,
      remove = function()
        return w:call('Darkchat_RemoveFromConversationByNumber', '5550102', conv.id)
      end,
    },
    {
      who = c,
      number = '5550103',
      alias = 'Cat',
      banned = true,
      remove = function() return ask(w, a, 'kick', { conversationId = conv.id, alias = 'Cat' }).ok end,
    },
  }) do
    forget()
    w.srv:clearClientEvents()
    T.eq(case.remove(), true)
    local got = received(w, { a, case.who })
    local seen = ok(w, a, 'get', { conversationId = conv.id })
    local message = seen.messages[#seen.messages]
    T.eq({ message.event, message.sender }, { 'removed', case.alias })
    local change = {
      conversationId = conv.id,
      alias = case.alias,
      isSelf = false,
      deleted = false,
      message = message,
    }
    T.eq(got[a], { { kind = 'memberLeft', payload = change } }, case.number)
    T.eq(got[case.who], {
      {
        kind = 'conversationRemoved',
        payload = {
          conversationId = conv.id,
          isSelf = false,
          deleted = false,
          banned = case.banned,
        },
      },
    }, case.number)
    local numbers =
      w:call('Darkchat_GetConversationByNumber', '5550101', conv.id).conversation.recipients
    T.eq(heard, {
      {
        name = 'memberRemoved',
        payload = {
          conversationId = conv.id,
          number = case.number,
          isSelf = false,
          deleted = false,
          recipients = numbers,
          banned = case.banned,
        },
      },
    }, case.number)
  end
  w:stop()
end)

T.test('join hooks decide joins, create hooks creations, each with its payload', function()
  local w = World.new()
  local asked = {}
  w:call('Darkchat_AddHook', 'create', function(p)
    asked[#asked + 1] = { 'create', p }
    return false, 'no new rooms'
  end)
  w:call('Darkchat_AddHook', 'join', function(p)
    asked[#asked + 1] = { 'join', p }
    if p.joinCode == 'SECRET1' then return false, 'invite only' end
  end)
  local _, secret = w:coreCall('create', '5550101', 'Crew', 'SECRET1')
  local _, open = w:coreCall('create', '5550101', 'Open', 'OPEN1')
  T.eq(
    w:call('Darkchat_CreateConversationByNumber', '5550102', 'Mine'),
    { success = false, error = 'forbidden' }
  )
  T.eq(
    w:call('Darkchat_JoinConversationByNumber', '5550102', 'SECRET1'),
    { success = false, error = 'forbidden', reason = 'invite only' }
  )
  T.eq(w:call('Darkchat_JoinConversationByNumber', '5550103', 'open1').success, true)
  -- Hooks see the rehearsed action's values: the code as stored, the conversation it opens.
  T.eq(asked, {
    { 'create', { number = '5550102', name = 'Mine' } },
    { 'join', { number = '5550102', joinCode = 'SECRET1', conversationId = secret.id } },
    { 'join', { number = '5550103', joinCode = 'OPEN1', conversationId = open.id } },
  })
  w:stop()
end)

T.test('request ids: up to 64 bytes come back; longer ones are refused without an id', function()
  local w = World.new()
  local a = w.players[1]
  local id64, id65 = ('i'):rep(64), ('i'):rep(65)
  local answers = w:request(a, id64, 'list', {})
  T.eq(answers, { { n = 2, id64, { ok = true, data = {} } } })
  answers = w:request(a, id65, 'list', {})
  T.eq(#answers, 1)
  T.eq(answers[1][1], nil)
  T.eq(answers[1][2], { ok = false, error = 'invalid_argument' })
  w:stop()
end)

T.test('rate limits: 30 requests in 5 s, and the join window is exactly 60 s', function()
  local w = World.new()
  local a, b, c = table.unpack(w.players)
  local env = w.srv:resourceEnv(World.RESOURCE)
  for i = 1, 30 do
    T.eq(ask(w, a, 'list').ok, true, 'request ' .. i)
  end
  T.eq(ask(w, a, 'list'), { ok = false, error = 'rate_limited' }, 'the 31st within 5 s')
  w.srv:runFor(5000)
  T.eq(ask(w, a, 'list').ok, true, 'the window slides')
  local conv = ok(w, a, 'create', { name = 'Crew' })
  -- b's fifth guess ages out exactly 60 s after b's first; c one millisecond short of it.
  for _, case in ipairs({ { b, 60000, true }, { c, 59999, false } }) do
    local src, after, allowed = table.unpack(case)
    local first = env.GetGameTimer()
    for i = 1, 5 do
      T.eq(ask(w, src, 'join', { joinCode = 'GUESS' .. i }).error, 'conversation_not_found')
    end
    w.srv:runFor(first + after - env.GetGameTimer())
    local r = ask(w, src, 'join', { joinCode = conv.joinCode })
    T.eq(
      r.ok == true and 'allowed' or r.error,
      allowed and 'allowed' or 'rate_limited',
      after .. ' ms after the first guess'
    )
  end
  w:stop()
end)

T.test(
  "a veto's reason reaches the caller only when it is a string; an action that raises is a storage_error",
  function()
    local w = World.new()
    local conv = w:call('Darkchat_CreateConversationByNumber', '5550101', 'Crew').newConv
    local id = w:call('Darkchat_AddHook', 'send', function() return false, 42 end)
    T.eq(
      w:call('Darkchat_SendMessageByNumber', '5550101', conv.id, 'hi'),
      { success = false, error = 'forbidden' }
    )
    T.eq(w:call('Darkchat_RemoveHook', id), true)
    -- A failure inside an action: the client gets the code only; the server log gets the cause.
    local env = w.srv:resourceEnv(World.RESOURCE)
    local list = env.Darkchat.Actions.list
    env.Darkchat.Actions.list = function() error('internal detail') end
    w.srv:clearOutput()
    T.eq(ask(w, w.players[1], 'list'), { ok = false, error = 'storage_error' })
    env.Darkchat.Actions.list = list
    local said = table.concat(w.srv:output(), '\n')
    T.ok(
      said:find('request list from ' .. w.players[1] .. ' failed:', 1, true)
        and said:find('internal detail', 1, true),
      said
    )
    w:stop()
  end
)
