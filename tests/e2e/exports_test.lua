-- The six documented exports, called the way another resource calls them
-- (exports["17mov_Phone"]:Darkchat_*), through the FXServer emulation and the built module.

local T = require('testlib')
local World = require('world')

local ALPHABET = 'ABCDEFGHJKLMNPQRSTUVWXYZ23456789'

local function assertConversation(conv, expect)
  T.eq(math.type(conv.id), 'integer', 'id is an integer')
  T.ok(conv.id > 0, 'id positive')
  T.eq(conv.name, expect.name)
  T.eq(conv.appName, 'darkchat')
  T.eq(math.type(conv.createdBy), 'integer', 'createdBy is an integer')
  T.eq(type(conv.joinCode), 'string')
  T.eq(math.type(conv.createdAt), 'integer', 'createdAt is an integer')
  T.eq(math.type(conv.updatedAt), 'integer', 'updatedAt is an integer')
  T.ok(math.abs(conv.createdAt - os.time()) < 60, 'createdAt is unix seconds now')
  T.eq(conv.recipients, expect.recipients)
  T.eq(conv.messages, {})
  T.eq(conv.isItRead, true)
end

T.test('CreateConversationBySrc returns the documented DarkchatConversation', function()
  local w = World.new()
  local res = w:call('Darkchat_CreateConversationBySrc', w.players[1], 'Heist Planning')
  T.eq(res.success, true)
  T.eq(res.error, nil)
  assertConversation(res.newConv, { name = 'Heist Planning', recipients = { '5550101' } })
  T.eq(#res.newConv.joinCode, 6)
  T.ok(not res.newConv.joinCode:find('[^' .. ALPHABET .. ']'), 'generated code uses the alphabet')
  w:stop()
end)

T.test('CreateConversationByNumber takes integer and string numbers alike', function()
  local w = World.new()
  local bySrc = w:call('Darkchat_CreateConversationBySrc', w.players[1], 'One').newConv
  local byInt = w:call('Darkchat_CreateConversationByNumber', 5550101, 'Two').newConv
  local byStr = w:call('Darkchat_CreateConversationByNumber', ' 5550101 ', 'Three').newConv
  T.eq(byInt.recipients, { '5550101' })
  T.eq(byStr.recipients, { '5550101' })
  T.eq(byInt.createdBy, bySrc.createdBy, 'createdBy is the stable phone id')
  T.eq(byStr.createdBy, bySrc.createdBy)
  local dashed = w:call('Darkchat_CreateConversationByNumber', '555-0123', 'Four').newConv
  T.eq(dashed.recipients, { '555-0123' }, 'kept as written')
  T.ok(dashed.createdBy ~= bySrc.createdBy)
  w:stop()
end)

T.test('custom join codes: stored upper-case, unique case-insensitively, validated', function()
  local w = World.new()
  local res = w:call('Darkchat_CreateConversationByNumber', '5550101', 'Crew', 'crew42')
  T.eq(res.newConv.joinCode, 'CREW42')
  T.eq(
    w:call('Darkchat_CreateConversationByNumber', '5550102', 'Other', 'CREW42'),
    { success = false, error = 'join_code_taken' }
  )
  T.eq(
    w:call('Darkchat_CreateConversationBySrc', w.players[2], 'Other', 'Crew42'),
    { success = false, error = 'join_code_taken' }
  )
  for _, bad in ipairs({ 'abc', 'ab-cd', 'a b c d', 'ABCDEFGHJKLMNPQRS', 'ÄBCD', '' }) do
    T.eq(
      w:call('Darkchat_CreateConversationByNumber', '5550101', 'X', bad),
      { success = false, error = 'invalid_join_code' },
      bad
    )
  end
  for _, bad in ipairs({ 1234, true, {}, 1.5 }) do
    T.eq(
      w:call('Darkchat_CreateConversationByNumber', '5550101', 'X', bad),
      { success = false, error = 'invalid_argument' },
      tostring(bad)
    )
  end
  w:stop()
end)

T.test('generated codes are unique across many conversations', function()
  local w = World.new()
  local seen = {}
  for i = 1, 200 do
    local conv =
      w:call('Darkchat_CreateConversationByNumber', tostring(7000000 + i), 'C' .. i).newConv
    T.ok(not seen[conv.joinCode], 'duplicate code ' .. conv.joinCode)
    T.ok(not conv.joinCode:find('[01OI]'), 'ambiguous letters excluded')
    seen[conv.joinCode] = true
  end
  w:stop()
end)

T.test('names: trimmed; rule breaks are invalid_name; wrong types are invalid_argument', function()
  local w = World.new()
  T.eq(w:call('Darkchat_CreateConversationByNumber', '1', '  Spaced  ').newConv.name, 'Spaced')
  T.eq(w:call('Darkchat_CreateConversationByNumber', '1', ('é'):rep(64)).success, true)
  for _, bad in ipairs({ '', '   ', 'a\0b', 'line\nbreak', ('x'):rep(65) }) do
    T.eq(
      w:call('Darkchat_CreateConversationByNumber', '1', bad),
      { success = false, error = 'invalid_name' }
    )
  end
  for _, bad in ipairs({ 5, true, {}, '\xff\xfe', ('x'):rep(10 * 1024 * 1024) }) do
    T.eq(
      w:call('Darkchat_CreateConversationBySrc', w.players[1], bad),
      { success = false, error = 'invalid_argument' }
    )
  end
  T.eq(
    w:call('Darkchat_CreateConversationBySrc', w.players[1], nil),
    { success = false, error = 'invalid_argument' }
  )
  w:stop()
end)

T.test('sources: integral floats accepted; offline or characterless players not found', function()
  local w = World.new()
  T.eq(w:call('Darkchat_CreateConversationBySrc', w.players[1] + 0.0, 'Float src').success, true)
  for _, bad in ipairs({
    0,
    -1,
    1.5,
    0 / 0,
    math.huge,
    -math.huge,
    2 ^ 53,
    math.maxinteger,
    '1',
    true,
    {},
  }) do
    T.eq(
      w:call('Darkchat_CreateConversationBySrc', bad, 'X'),
      { success = false, error = 'invalid_argument' },
      tostring(bad)
    )
  end
  T.eq(
    w:call('Darkchat_CreateConversationBySrc', nil, 'X'),
    { success = false, error = 'invalid_argument' }
  )
  T.eq(
    w:call('Darkchat_CreateConversationBySrc', 999, 'X'),
    { success = false, error = 'player_not_found' }
  )
  local fresh = w:connect(nil, 'NoCharacter')
  T.eq(
    w:call('Darkchat_CreateConversationBySrc', fresh, 'X'),
    { success = false, error = 'player_not_found' }
  )
  T.eq(
    table.pack(w:call('Darkchat_AddToConversationBySrc', 999, 1)),
    { n = 2, false, 'player_not_found' }
  )
  T.eq(
    table.pack(w:call('Darkchat_RemoveFromConversationBySrc', fresh, 1, true)),
    { n = 2, false, 'player_not_found' }
  )
  w:stop()
end)

T.test(
  'AddToConversation: true once, then already_member; missing conversation; bad ids',
  function()
    local w = World.new()
    local id = w:call('Darkchat_CreateConversationBySrc', w.players[1], 'Crew').newConv.id
    T.eq(table.pack(w:call('Darkchat_AddToConversationBySrc', w.players[2], id)), { n = 1, true })
    T.eq(
      table.pack(w:call('Darkchat_AddToConversationByNumber', '5550102', id)),
      { n = 2, false, 'already_member' }
    )
    T.eq(
      table.pack(w:call('Darkchat_AddToConversationByNumber', 5550103, id + 0.0)),
      { n = 1, true }
    )
    T.eq(
      table.pack(w:call('Darkchat_AddToConversationByNumber', '5550104', id + 1000)),
      { n = 2, false, 'conversation_not_found' }
    )
    for _, bad in ipairs({ 0, -1, 1.5, 0 / 0, math.huge, '1', true, {} }) do
      T.eq(
        table.pack(w:call('Darkchat_AddToConversationByNumber', '5550104', bad)),
        { n = 2, false, 'invalid_argument' },
        tostring(bad)
      )
    end
    T.eq(
      table.pack(w:call('Darkchat_AddToConversationByNumber', nil, id)),
      { n = 2, false, 'invalid_argument' }
    )
    w:stop()
  end
)

T.test('RemoveFromConversation records left or removed; not_member otherwise', function()
  local w = World.new()
  local id = w:call('Darkchat_CreateConversationBySrc', w.players[1], 'Crew').newConv.id
  w:call('Darkchat_AddToConversationBySrc', w.players[2], id)
  w:call('Darkchat_AddToConversationBySrc', w.players[3], id)
  w:call('Darkchat_AddToConversationByNumber', '5550199', id)
  T.eq(
    table.pack(w:call('Darkchat_RemoveFromConversationBySrc', w.players[2], id, true)),
    { n = 1, true }
  )
  T.eq(
    table.pack(w:call('Darkchat_RemoveFromConversationByNumber', '5550103', id, false)),
    { n = 1, true }
  )
  T.eq(
    table.pack(w:call('Darkchat_RemoveFromConversationByNumber', 5550199, id)),
    { n = 1, true },
    'nil isSelf'
  )
  T.eq(
    table.pack(w:call('Darkchat_RemoveFromConversationByNumber', '5550103', id, false)),
    { n = 2, false, 'not_member' }
  )
  T.eq(
    table.pack(w:call('Darkchat_RemoveFromConversationByNumber', '5550103', id + 99, false)),
    { n = 2, false, 'conversation_not_found' }
  )
  T.eq(
    table.pack(w:call('Darkchat_RemoveFromConversationByNumber', '5550101', id, 'yes')),
    { n = 2, false, 'invalid_argument' }
  )
  local ok, conv = w:coreCall('conversation', '5550101', id)
  T.ok(ok)
  local events = {}
  for _, m in ipairs(conv.messages) do
    T.eq(m.type, 'system')
    events[#events + 1] = m.event .. ':' .. m.sender
  end
  T.eq(events, {
    'joined:5550102',
    'joined:5550103',
    'joined:5550199',
    'left:5550102',
    'removed:5550103',
    'removed:5550199',
  })
  T.eq(conv.recipients, { '5550101' })
  w:stop()
end)

T.test('owner leaving hands over to the longest-standing member; last one out deletes', function()
  local w = World.new()
  local conv = w:call('Darkchat_CreateConversationBySrc', w.players[1], 'Crew', 'KEEPME').newConv
  w:call('Darkchat_AddToConversationByNumber', '5550102', conv.id)
  w:call('Darkchat_AddToConversationByNumber', '5550103', conv.id)
  T.eq(w:call('Darkchat_RemoveFromConversationBySrc', w.players[1], conv.id, true), true)
  local _, seen = w:coreCall('conversation', '5550102', conv.id)
  T.eq(seen.owner, '5550102')
  T.eq(seen.recipients, { '5550102', '5550103' })
  T.eq(w:call('Darkchat_RemoveFromConversationByNumber', '5550102', conv.id, true), true)
  T.eq(w:call('Darkchat_RemoveFromConversationByNumber', '5550103', conv.id, true), true)
  T.eq(
    table.pack(w:call('Darkchat_AddToConversationByNumber', '5550103', conv.id)),
    { n = 2, false, 'conversation_not_found' }
  )
  local again = w:call('Darkchat_CreateConversationByNumber', '5550109', 'Reuse', 'keepme')
  T.eq(again.success, true, 'the code was freed')
  T.ok(again.newConv.id ~= conv.id, 'ids are not reused')
  w:stop()
end)

T.test('online members are told of membership changes; nobody else is', function()
  local w = World.new({ players = { '5550101', '5550102', '5550103', '5550104' } })
  local id = w:call('Darkchat_CreateConversationBySrc', w.players[1], 'Crew').newConv.id
  w.srv:clearClientEvents()
  w:call('Darkchat_AddToConversationBySrc', w.players[2], id)
  T.eq(#w:pushes(w.players[1]), 1)
  T.eq(w:pushes(w.players[1])[1].kind, 'memberJoined')
  T.eq(w:pushes(w.players[2])[1].kind, 'conversationAdded')
  T.eq(w:pushes(w.players[2])[1].payload.id, id)
  T.eq(#w:pushes(w.players[3]), 0)
  T.eq(#w:pushes(w.players[4]), 0)
  w.srv:clearClientEvents()
  w:call('Darkchat_RemoveFromConversationBySrc', w.players[2], id, true)
  T.eq(w:pushes(w.players[1])[1].kind, 'memberLeft')
  T.eq(w:pushes(w.players[2])[1].kind, 'conversationRemoved')
  T.eq(#w:pushes(w.players[3]), 0)
  w:stop()
end)

T.test('other resources get server events after each change', function()
  local w = World.new()
  local seen = {}
  for _, name in ipairs({
    'conversationCreated',
    'memberAdded',
    'memberRemoved',
    'conversationDeleted',
  }) do
    w.srv:resourceEnv(World.RESOURCE).AddEventHandler(
      '17mov_Phone:darkchat:' .. name,
      function(payload) seen[#seen + 1] = name .. ':' .. tostring(payload.conversationId) end
    )
  end
  local id = w:call('Darkchat_CreateConversationBySrc', w.players[1], 'Crew').newConv.id
  w:call('Darkchat_AddToConversationBySrc', w.players[2], id)
  w:call('Darkchat_RemoveFromConversationBySrc', w.players[2], id, true)
  w:call('Darkchat_RemoveFromConversationBySrc', w.players[1], id, true)
  T.eq(seen, {
    'conversationCreated:' .. id,
    'memberAdded:' .. id,
    'memberRemoved:' .. id,
    'memberRemoved:' .. id,
    'conversationDeleted:' .. id,
  })
  w:stop()
end)

T.test('results survive the MessagePack copy across resources unchanged', function()
  local w = World.new()
  local res = w:call('Darkchat_CreateConversationBySrc', w.players[1], 'Copy')
  local _, direct = w:coreCall('conversation', '5550101', res.newConv.id)
  T.eq(res.newConv, direct)
  w:stop()
end)

T.test('bad input writes nothing and raises nothing', function()
  local w = World.new()
  local id = w:call('Darkchat_CreateConversationBySrc', w.players[1], 'Crew').newConv.id
  w:call('Darkchat_CreateConversationBySrc', w.players[2], 'Taken', 'TAKEN1')
  local before = w:checksum()
  local bads = {
    0 / 0,
    math.huge,
    -math.huge,
    1.5,
    0,
    -1,
    2 ^ 53,
    2 ^ 63,
    '',
    ' ',
    '\xff\xfe',
    'a\0b',
    ('x'):rep(10 * 1024 * 1024),
    true,
    {},
    function() end,
  }
  local calls = 0
  for _, bad in ipairs(bads) do
    for _, r in ipairs({
      w:call('Darkchat_CreateConversationBySrc', bad, 'X'),
      w:call('Darkchat_CreateConversationBySrc', w.players[1], bad),
      w:call('Darkchat_CreateConversationBySrc', w.players[1], 'X', bad),
      w:call('Darkchat_CreateConversationByNumber', bad, 'X'),
      w:call('Darkchat_CreateConversationByNumber', '5550101', bad),
      w:call('Darkchat_CreateConversationByNumber', '5550101', 'X', bad),
      w:call('Darkchat_CreateConversationByNumber', '5550101', 'X', 'taken1'),
    }) do
      T.eq(r.success, false)
      T.eq(type(r.error), 'string')
      T.eq(r.newConv, nil)
      calls = calls + 1
    end
    for _, pair in ipairs({
      table.pack(w:call('Darkchat_AddToConversationBySrc', bad, id)),
      table.pack(w:call('Darkchat_AddToConversationBySrc', w.players[3], bad)),
      table.pack(w:call('Darkchat_AddToConversationByNumber', bad, id)),
      table.pack(w:call('Darkchat_AddToConversationByNumber', '5550103', bad)),
      table.pack(w:call('Darkchat_RemoveFromConversationBySrc', bad, id, true)),
      table.pack(w:call('Darkchat_RemoveFromConversationBySrc', w.players[1], bad, true)),
      table.pack(w:call('Darkchat_RemoveFromConversationByNumber', bad, id, true)),
      table.pack(w:call('Darkchat_RemoveFromConversationByNumber', '5550101', bad, false)),
    }) do
      T.eq(pair.n, 2, 'a failure returns false and a code')
      T.eq(pair[1], false)
      T.eq(type(pair[2]), 'string')
      calls = calls + 1
    end
    if type(bad) ~= 'boolean' then
      T.eq(
        table.pack(w:call('Darkchat_RemoveFromConversationBySrc', w.players[1], id, bad)),
        { n = 2, false, 'invalid_argument' }
      )
    end
  end
  T.ok(calls > 200)
  T.eq(w:checksum(), before, 'database unchanged')
  w:stop()
end)

T.test('SQL metacharacters are data, never SQL', function()
  local w = World.new()
  local evil = "'; DROP TABLE conversations; --"
  local res = w:call('Darkchat_CreateConversationByNumber', '5550101', evil)
  T.eq(res.newConv.name, evil)
  T.eq(
    w:call('Darkchat_CreateConversationByNumber', '5550101', 'X', evil),
    { success = false, error = 'invalid_join_code' }
  )
  T.eq(
    w:call('Darkchat_CreateConversationByNumber', evil, 'X'),
    { success = false, error = 'invalid_argument' }
  )
  T.eq(w:call('Darkchat_CreateConversationByNumber', "'--", 'X').newConv.recipients, { "'--" })
  T.eq(
    table.pack(w:call('Darkchat_AddToConversationByNumber', '5550102', res.newConv.id)),
    { n = 1, true }
  )
  w:stop()
end)

T.test(
  'on MySQL, a core call from where a thread cannot wait answers storage_error instead of raising',
  function()
    local w = World.new()
    local core = w.srv:resourceEnv(World.RESOURCE).Darkchat.core
    local inside = w.srv:inThread(function()
      local got
      -- A sort comparator is called from C: no yield across it.
      table.sort({ 2, 1 }, function(a, b)
        got = got or table.pack(core:list(nil))
        return a < b
      end)
      return got
    end)
    if w.storage == 'mysql' then
      T.eq({ inside[1], inside[2] }, { false, 'storage_error' })
      T.ok(tostring(inside[3]):find('cannot wait', 1, true), tostring(inside[3]))
    else
      T.eq(inside[1], true, 'SQLite answers at once, from anywhere')
    end
    -- From the thread itself, the same call is answered.
    T.eq((w:coreCall('list', nil)), true)
    w:stop()
  end
)
