-- Configurable limits (lua/config.lua Config.Limits) are enforced on the server, whoever asks:
-- a server owner's edited config.lua, loaded by the resource, refuses what goes beyond it with
-- `forbidden` (members per conversation, conversations per number) or `invalid_argument`
-- (message length), and writes nothing when it refuses.

local T = require('testlib')
local World = require('world')

local function ask(w, src, action, payload)
  w.srv:runFor(12001) -- beyond every rate-limit window
  local response = w:request(src, 1, action, payload)[1]
  return response and response[2] or error('no response to ' .. action)
end

local function edited(limits)
  return World.resourceWithConfig(function(text)
    for key, value in pairs(limits) do
      local replaced, n = text:gsub('(' .. key .. ' = )%d+', '%1' .. value)
      assert(n == 1, 'config.lua has no ' .. key)
      text = replaced
    end
    return text
  end)
end

T.test('limits from config.lua are enforced through exports and net events', function()
  local dir = edited({ maxMembers = 2, maxConversationsPerNumber = 2, maxMessageLength = 10 })
  local w = World.new({ resourceDir = dir, players = { '5550101', '5550102', '5550103' } })
  T.eq(w.srv:resourceEnv(World.RESOURCE).Config.Limits.maxMembers, 2, 'the edited config is loaded')
  local a, b, c = table.unpack(w.players)
  local conv = w:call('Darkchat_CreateConversationBySrc', a, 'Small').newConv
  T.eq(w:call('Darkchat_AddToConversationBySrc', b, conv.id), true)
  local before = w:checksum()
  -- Members per conversation.
  T.eq(
    table.pack(w:call('Darkchat_AddToConversationBySrc', c, conv.id)),
    { n = 2, false, 'forbidden' }
  )
  T.eq(ask(w, c, 'join', { joinCode = conv.joinCode }), { ok = false, error = 'forbidden' })
  T.eq(w:call('Darkchat_JoinConversationByNumber', '5550109', conv.joinCode).error, 'forbidden')
  T.eq(w:checksum(), before, 'refusals write nothing')
  -- Conversations per number (a is in one; one more is allowed, then no more).
  T.eq(ask(w, a, 'create', { name = 'Second' }).ok, true)
  before = w:checksum()
  T.eq(ask(w, a, 'create', { name = 'Third' }), { ok = false, error = 'forbidden' })
  T.eq(
    w:call('Darkchat_CreateConversationByNumber', '5550101', 'Third'),
    { success = false, error = 'forbidden' }
  )
  T.eq(w:checksum(), before, 'refusals write nothing')
  local other = w:call('Darkchat_CreateConversationByNumber', '5550103', 'Elsewhere').newConv
  before = w:checksum()
  T.eq(
    table.pack(w:call('Darkchat_AddToConversationByNumber', '5550101', other.id)),
    { n = 2, false, 'forbidden' }
  )
  T.eq(ask(w, a, 'join', { joinCode = other.joinCode }), { ok = false, error = 'forbidden' })
  T.eq(w:checksum(), before, 'refusals write nothing')
  -- Message length, in characters.
  T.eq(ask(w, a, 'send', { conversationId = conv.id, content = ('é'):rep(10) }).ok, true)
  before = w:checksum()
  T.eq(
    ask(w, a, 'send', { conversationId = conv.id, content = ('é'):rep(11) }),
    { ok = false, error = 'invalid_argument' }
  )
  T.eq(
    w:call('Darkchat_SendMessageByNumber', '5550101', conv.id, ('x'):rep(11)).error,
    'invalid_argument'
  )
  T.eq(w:checksum(), before, 'refusals write nothing')
  -- Leaving frees a place.
  T.eq(w:call('Darkchat_RemoveFromConversationBySrc', b, conv.id, true), true)
  T.eq(w:call('Darkchat_AddToConversationBySrc', c, conv.id), true)
  w:stop()
end)

T.test('the default limits are the documented ones', function()
  local w = World.new()
  T.eq(w.srv:resourceEnv(World.RESOURCE).Config.Limits.maxMembers, 100)
  T.eq(w.srv:resourceEnv(World.RESOURCE).Config.Limits.maxMessageLength, 1000)
  local id = w:call('Darkchat_CreateConversationByNumber', '5550101', 'Big').newConv.id
  T.eq(w:call('Darkchat_SendMessageByNumber', '5550101', id, ('x'):rep(1000)).success, true)
  T.eq(
    w:call('Darkchat_SendMessageByNumber', '5550101', id, ('x'):rep(1001)).error,
    'invalid_argument'
  )
  w:stop()
end)
