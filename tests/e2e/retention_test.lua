-- Disappearing messages end to end: the owner (or a moderator) sets a conversation's retention
-- through the phone UI's request and the export, members hear it with its system message and
-- see it in their listing; bad input is refused with nothing written; and the server's caps of
-- config.lua are swept in the background by lua/retention.lua's timer, the rows gone from the
-- store, listings and unread counts following. (Sweeps by age run in the shared core cases,
-- whose clock a step can move.) Runs on either core and storage (DARKCHAT_CORE,
-- DARKCHAT_STORAGE).

local T = require('testlib')
local World = require('world')

local push = World.firstPush

T.test(
  'owners and moderators set the retention; members hear it; bad input writes nothing',
  function()
    local w = World.new()
    local a, b, c = w.players[1], w.players[2], w.players[3]
    local conv = w:crew()
    w:pushes(a)
    w:pushes(b)
    w:pushes(c)
    local before = w:checksum()
    local function set(src, payload) return w:ask(src, 'setRetention', payload).error end
    T.eq(set(b, { conversationId = conv.id, retentionSeconds = 3600 }), 'forbidden', 'a member')
    for _, bad in ipairs({ 60, -3600, 3600.5, 1e300, '3600', true }) do
      local payload = { conversationId = conv.id, retentionSeconds = bad }
      T.eq(set(a, payload), 'invalid_argument', tostring(bad))
    end
    T.eq(set(a, { conversationId = conv.id }), 'invalid_argument', 'missing')
    T.eq(set(a, { conversationId = 999999, retentionSeconds = 3600 }), 'conversation_not_found')
    T.eq(w:checksum(), before, 'nothing written')
    w.srv:runFor(60001) -- the owner bucket's window
    T.eq(w:ok(a, 'setRetention', { conversationId = conv.id, retentionSeconds = 86400 }), true)
    for _, src in ipairs({ b, c }) do
      local got = push(w:awaitPushes(src, 1), 'retentionChanged')
      T.eq(got.conversationId, conv.id, 'told ' .. src)
      T.eq(got.retentionSeconds, 86400)
      T.eq(got.message.content, 'Ace set messages to disappear after 24 hours')
      T.eq(got.message.sender, 'Ace', 'the push names the owner by alias')
    end
    T.eq(w:ok(c, 'list')[1].retentionSeconds, 86400)
    T.eq(w:ok(b, 'get', { conversationId = conv.id }).retentionSeconds, 86400)
    -- A moderator may; the export acts for a number; its answer is a boolean.
    w:ok(a, 'setModerator', { conversationId = conv.id, alias = 'Cat' })
    T.eq(w:ok(c, 'setRetention', { conversationId = conv.id, retentionSeconds = 3600 }), true)
    T.eq(w:call('Darkchat_SetRetentionByNumber', '5550101', conv.id, 0), true)
    T.eq(
      w:call('Darkchat_SetRetentionByNumber', '5550102', conv.id, 604800),
      false,
      'not for a member'
    )
    T.eq(w:ok(b, 'list')[1].retentionSeconds, 0)
    local page = w:ok(b, 'messages', { conversationId = conv.id })
    T.eq(page[#page].content, 'Ace turned disappearing messages off')
    w:stop()
  end
)

T.test(
  "the server's cap is swept in the background: rows gone, listings and unread follow",
  function()
    local dir = World.resourceWithMessageCap(3)
    local w = World.new({ resourceDir = dir, db = dir .. '/data/darkchat.db' })
    local a, b = w.players[1], w.players[2]
    local conv = w:ok(a, 'create', { name = 'Crew', alias = 'Ace' })
    w:ok(b, 'join', { joinCode = conv.joinCode, alias = 'Bee' })
    w.srv:runFor(1500) -- the join's system message alone is under the cap
    local sent = {}
    for i = 1, 6 do
      local text = ('old secret %d'):format(i)
      sent[i] = w:call('Darkchat_SendMessageByNumber', '5550101', conv.id, text).message
    end
    -- (A sweep may come between the sends: the timer runs on the server's clock.)
    w.srv:runFor(1500)
    local page = w:ok(b, 'messages', { conversationId = conv.id })
    T.eq(#page, 3)
    T.eq(page[1].id, sent[4].id)
    T.eq(page[3].id, sent[6].id)
    local listed = w:ok(b, 'list')[1]
    T.eq(listed.unreadCount, 3, 'the swept messages no longer count unread')
    T.eq(listed.messages[1].id, sent[6].id)
    for i = 1, 3 do
      local text = ('old secret %d'):format(i)
      T.ok(not w:storedMessages():find(text, 1, true), 'no row holds message ' .. i)
    end
    T.ok(w:storedMessages():find('old secret 4', 1, true), 'the newest are kept')
    w:stop()
  end
)

T.test(
  'the sweep waits behindPauseMs after a step that finds the log behind, else pauseMs',
  function()
    local w = World.new()
    local env = w.srv:resourceEnv(World.RESOURCE)
    local Darkchat = env.Darkchat
    -- The core's steps, scripted: the first finds the log behind, the next two do not.
    local steps = {
      { deleted = 200, next = 8, more = true, behind = true, conversations = {} },
      { deleted = 200, next = 16, more = true, behind = false, conversations = {} },
      { deleted = 3, next = 0, more = false, behind = false, conversations = {} },
    }
    local call, calls, deleted = Darkchat.call, {}, nil
    Darkchat.call = function(method, after, batch)
      if method ~= 'sweepExpired' then return call(method, after, batch) end
      calls[#calls + 1] = { at = env.GetGameTimer(), after = after, batch = batch }
      return true, steps[#calls]
    end
    env.CreateThread(function() deleted = Darkchat.Retention.round() end)
    w.srv:runFor(2000)
    Darkchat.call = call
    T.eq(deleted, 403)
    T.eq(#calls, 3)
    T.eq(calls[2].at - calls[1].at, env.Config.Retention.behindPauseMs)
    T.eq(calls[3].at - calls[2].at, env.Config.Retention.pauseMs)
    T.eq({ calls[1].after, calls[2].after, calls[3].after }, { 0, 8, 16 })
    T.ok(env.Config.Retention.behindPauseMs > env.Config.Retention.pauseMs)
    T.eq({ calls[1].batch, calls[2].batch, calls[3].batch }, { 50, 50, 50 })
    w:stop()
  end
)

T.test('each step asks for Config.Retention.batch messages; a config without it, for 50', function()
  local w = World.new()
  local env = w.srv:resourceEnv(World.RESOURCE)
  local Darkchat = env.Darkchat
  local call, batches = Darkchat.call, {}
  Darkchat.call = function(method, after, batch)
    if method ~= 'sweepExpired' then return call(method, after, batch) end
    batches[#batches + 1] = batch
    return true, { deleted = 0, next = 0, more = false, behind = false, conversations = {} }
  end
  env.Config.Retention.batch = 37
  env.CreateThread(function() Darkchat.Retention.round() end)
  w.srv:runFor(100)
  -- A config.lua of an older version, kept through an update, may lack the setting.
  env.Config.Retention.batch = nil
  env.CreateThread(function() Darkchat.Retention.round() end)
  w.srv:runFor(100)
  Darkchat.call = call
  T.eq(batches, { 37, 50 })
  w:stop()
end)
