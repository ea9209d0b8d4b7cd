-- Messages players expect, end to end through the phone UI's requests, the exports and the
-- console: replies with a quote, deleting (a tombstone; the text gone from the store), editing,
-- images and locations; who is told, and bad input refused with nothing written. Runs on either
-- core and storage (DARKCHAT_CORE, DARKCHAT_STORAGE).

local T = require('testlib')
local World = require('world')

local SECRET = 'the vault code is 4-8-15-16'

--- The kinds of the pushes `src` got since the last request.
local function kinds(pushes)
  local out = {}
  for _, p in ipairs(pushes) do
    out[#out + 1] = p.kind
  end
  return out
end

local push = World.firstPush

--- Server events `17mov_Phone:darkchat:<name>` heard from now on, as { name, payload }.
local function listen(w, names)
  local heard = {}
  local env = w.srv:resourceEnv(World.RESOURCE)
  for _, name in ipairs(names) do
    env.AddEventHandler(
      '17mov_Phone:darkchat:' .. name,
      function(payload) heard[#heard + 1] = { name = name, payload = payload } end
    )
  end
  return heard
end

--- A location's data with its coordinates as floats: on MySQL storage a reply crosses JS, whose
--- numbers do not tell 3.0 from 3.
local function floats(d) return { x = d.x + 0.0, y = d.y + 0.0, z = d.z + 0.0, label = d.label } end

--- Asks as `src` after the message rate limit's window has passed (a test sends more than a
--- player may in 10 s).
local function askLater(w, src, action, payload)
  w.srv:runFor(10001)
  return w:ask(src, action, payload)
end

T.test(
  'a reply carries a quote of the message it answers, by alias, and others are told',
  function()
    local w = World.new()
    local a, b, c = w.players[1], w.players[2], w.players[3]
    local conv = w:crew()
    local long = ('word '):rep(30)
    local original = w:ok(a, 'send', { conversationId = conv.id, content = long })
    local sent = listen(w, { 'messageSent' })
    local reply =
      w:ok(b, 'send', { conversationId = conv.id, content = 'agreed', replyTo = original.id })
    T.eq(
      reply.replyTo,
      { id = original.id, sender = 'Ace', content = long:sub(1, 80), type = 'text' }
    )
    -- Server scripts hear which message it answers.
    T.eq(sent[1].payload, {
      conversationId = conv.id,
      number = '5550102',
      messageId = reply.id,
      recipients = { '5550101', '5550102', '5550103' },
      type = 'text',
      replyTo = original.id,
      content = 'agreed',
    })
    local heard = w:awaitPushes(c, 1)
    T.eq(push(heard, 'messageReceived').message.replyTo.sender, 'Ace')
    -- An old-style message has none of the new fields.
    T.eq(original.replyTo, nil)
    T.eq(original.data, nil)
    T.eq(original.edited, nil)
    T.eq(original.deleted, nil)
    -- The page and the export show the same quote; the export, being the server's, has numbers
    -- only where it always had them (the sender), the quote names the alias.
    local page = w:ok(c, 'messages', { conversationId = conv.id })
    T.eq(page[#page].replyTo.sender, 'Ace')
    local exported = w:call('Darkchat_GetMessagesByNumber', '5550103', conv.id)
    T.eq(exported.messages[#exported.messages].replyTo.senderAlias, 'Ace')
    T.eq(exported.messages[#exported.messages].sender, '5550102')
    -- Replies to a missing message, a system message or another conversation's are refused.
    local other = w:ok(c, 'create', { name = 'Elsewhere' })
    local there = w:ok(c, 'send', { conversationId = other.id, content = 'over here' })
    local before = w:checksum()
    for _, bad in ipairs({ 999999, 1.5, 0, there.id, page[1].id }) do
      T.eq(
        askLater(w, b, 'send', { conversationId = conv.id, content = 'x', replyTo = bad }).error,
        'invalid_argument',
        tostring(bad)
      )
    end
    T.eq(
      askLater(w, b, 'send', { conversationId = conv.id, content = 'x', replyTo = '1' }).error,
      'invalid_argument'
    )
    T.eq(w:checksum(), before, 'nothing written')
    w:stop()
  end
)

T.test(
  'deleting leaves a tombstone, takes the text out of the store and tells the members',
  function()
    local w = World.new()
    local a, b, c = w.players[1], w.players[2], w.players[3]
    local conv = w:crew()
    local heard = listen(w, { 'messageDeleted' })
    -- The text arrives by an edit (the row grows and moves within its page) among neighbours on
    -- the same pages: SQLite would leave its old bytes in the page's free space unless told to
    -- zero them.
    for i = 1, 4 do
      w:call(
        'Darkchat_SendMessageByNumber',
        '5550103',
        conv.id,
        ('filler %d '):format(i) .. ('x'):rep(40)
      )
    end
    local secret = w:ok(b, 'send', { conversationId = conv.id, content = 'hm' })
    secret =
      w:ok(b, 'editMessage', { conversationId = conv.id, messageId = secret.id, content = SECRET })
    local answer =
      w:ok(a, 'send', { conversationId = conv.id, content = 'noted', replyTo = secret.id })
    for i = 5, 8 do
      w:call(
        'Darkchat_SendMessageByNumber',
        '5550103',
        conv.id,
        ('filler %d '):format(i) .. ('x'):rep(40)
      )
    end
    T.eq(answer.replyTo.content, SECRET)
    T.ok(w:storedMessages():find(SECRET, 1, true), 'stored before')
    -- Cat may not delete Bee's message; outsiders are not members.
    T.eq(
      w:ask(c, 'deleteMessage', { conversationId = conv.id, messageId = secret.id }).error,
      'forbidden'
    )
    T.eq(
      w:ask(a, 'deleteMessage', { conversationId = conv.id, messageId = 'x' }).error,
      'invalid_argument'
    )
    local tomb = w:ok(b, 'deleteMessage', { conversationId = conv.id, messageId = secret.id })
    T.eq(tomb, {
      id = secret.id,
      sender = 'Bee',
      content = '',
      type = 'text',
      createdAt = secret.createdAt,
      deleted = true,
    })
    T.eq(tomb.edited, nil, 'a tombstone keeps no edit mark')
    for _, src in ipairs({ a, c }) do
      local got = push(w:awaitPushes(src, 1), 'messageDeleted')
      T.eq(got, { conversationId = conv.id, messageId = secret.id, message = tomb }, 'told ' .. src)
    end
    T.eq(kinds(w:pushes(b)), {}, 'the one who deleted has the answer')
    T.eq(heard[1].payload, {
      conversationId = conv.id,
      messageId = secret.id,
      number = '5550102',
      deletedBy = '5550102',
      recipients = { '5550101', '5550102', '5550103' },
    })
    -- The history keeps the tombstone in its place; the reply's quote no longer holds the text.
    local page = w:ok(c, 'messages', { conversationId = conv.id })
    T.eq(page[#page - 5], tomb)
    T.eq(
      page[#page - 4].replyTo,
      { id = secret.id, sender = 'Bee', content = '', type = 'text', deleted = true }
    )
    T.ok(not w:storedMessages():find(SECRET, 1, true), 'no row holds the text')
    -- The owner deletes anyone's message; listings follow.
    local last = w:ok(c, 'send', { conversationId = conv.id, content = 'last words' })
    w:ok(a, 'deleteMessage', { conversationId = conv.id, messageId = last.id })
    local listed = w:ok(b, 'list')
    T.eq(listed[1].messages[1], {
      id = last.id,
      sender = 'Cat',
      content = '',
      type = 'text',
      createdAt = last.createdAt,
      deleted = true,
    })
    T.eq(
      listed[1].unreadCount,
      6,
      "the tombstone still counts where it was (after Bee's own message)"
    )
    local db = w.db
    local sqlite = w.storage == 'sqlite'
    w:stop()
    if sqlite then
      -- Not left in the file's free space either.
      local seen = 0
      for _, file in ipairs({ db, db .. '-wal' }) do
        local f = io.open(file, 'rb')
        if f then
          local bytes = f:read('a')
          f:close()
          if bytes:find('filler 8', 1, true) then seen = seen + 1 end
          T.ok(not bytes:find(SECRET, 1, true), file .. ' holds the deleted text')
        end
      end
      T.ok(seen > 0, 'the messages kept are in the files read')
    end
  end
)

T.test(
  "moderators delete anyone's message; the console purges one; players cannot purge",
  function()
    local w = World.new()
    local a, b, c = w.players[1], w.players[2], w.players[3]
    local conv = w:crew()
    local mine = w:ok(a, 'send', { conversationId = conv.id, content = "owner's" })
    T.eq(
      w:ask(c, 'deleteMessage', { conversationId = conv.id, messageId = mine.id }).error,
      'forbidden'
    )
    w:ok(a, 'setModerator', { conversationId = conv.id, alias = 'Cat' })
    T.eq(w:ok(c, 'deleteMessage', { conversationId = conv.id, messageId = mine.id }).deleted, true)
    local bad = w:ok(b, 'send', { conversationId = conv.id, content = 'something awful' })
    w.srv:setAce(b, 'command.darkchat', true)
    w.srv:playerCommand(b, ('darkchat purge %d %d'):format(conv.id, bad.id))
    w.srv:runFor(50)
    T.eq(
      w:ok(a, 'messages', { conversationId = conv.id })[#w:ok(
        a,
        'messages',
        { conversationId = conv.id }
      )].content,
      'something awful'
    )
    w.srv:clearClientEvents()
    w.srv:clearOutput()
    w.srv:console(('darkchat purge %d %d'):format(conv.id, bad.id))
    w.srv:settle()
    local out = table.concat(w.srv:output(), '\n')
    T.ok(out:find(('purged message #%d of #%d'):format(bad.id, conv.id), 1, true), out)
    T.eq(push(w:awaitPushes(b, 1), 'messageDeleted').messageId, bad.id, 'the sender is told too')
    w.srv:clearOutput()
    w.srv:console(('darkchat show %d'):format(conv.id))
    out = table.concat(w.srv:output(), '\n')
    T.ok(out:find('#' .. bad.id .. '  [^\n]*5550102: %(deleted%)'), out)
    w.srv:clearOutput()
    for _, line in ipairs({
      'darkchat purge',
      'darkchat purge 1',
      'darkchat purge x 1',
      'darkchat purge 1 2 3',
    }) do
      w.srv:console(line)
    end
    w.srv:console(('darkchat purge %d 999999'):format(conv.id))
    out = table.concat(w.srv:output(), '\n')
    T.eq(select(2, out:gsub('usage: darkchat purge <id> <messageId>', '')), 4, out)
    T.ok(out:find('error: invalid_argument', 1, true), out)
    w:stop()
  end
)

T.test('the sender edits a text message; the members see it marked edited', function()
  local w = World.new()
  local a, b = w.players[1], w.players[2]
  local conv = w:crew()
  local heard = listen(w, { 'messageEdited' })
  local typo = w:ok(a, 'send', { conversationId = conv.id, content = 'meet at the peir' })
  local edited = w:ok(
    a,
    'editMessage',
    { conversationId = conv.id, messageId = typo.id, content = 'meet at the pier' }
  )
  T.eq(edited, {
    id = typo.id,
    sender = 'Ace',
    content = 'meet at the pier',
    type = 'text',
    createdAt = typo.createdAt,
    edited = true,
  })
  T.eq(
    push(w:awaitPushes(b, 1), 'messageEdited'),
    { conversationId = conv.id, messageId = typo.id, message = edited }
  )
  T.eq(heard[1].payload, {
    conversationId = conv.id,
    messageId = typo.id,
    number = '5550101',
    recipients = { '5550101', '5550102', '5550103' },
  })
  T.eq(
    w:ask(b, 'editMessage', { conversationId = conv.id, messageId = typo.id, content = 'mine now' }).error,
    'forbidden'
  )
  T.eq(
    w:ask(a, 'editMessage', { conversationId = conv.id, messageId = typo.id, content = '   ' }).error,
    'invalid_argument'
  )
  T.eq(
    w:ask(a, 'editMessage', { conversationId = conv.id, messageId = typo.id }).error,
    'invalid_argument'
  )
  local e =
    w:call('Darkchat_EditMessageByNumber', '5550101', conv.id, typo.id, 'meet at the pier, 9pm')
  T.eq(e.success, true)
  T.eq(e.message.edited, true)
  local page = w:ok(b, 'messages', { conversationId = conv.id })
  T.eq(page[#page].content, 'meet at the pier, 9pm')
  w:stop()
end)

T.test(
  "edits count as messages sent: past the player's message limit an edit is refused, nothing changed",
  function()
    local w = World.new()
    local a = w.players[1]
    local conv = w:crew()
    w.srv:runFor(10001) -- the create's count is past
    local m = w:ok(a, 'send', { conversationId = conv.id, content = 'v0' })
    local limit = w.srv:resourceEnv(World.RESOURCE).Config.RateLimits.message.count
    for i = 1, limit - 1 do
      w:ok(a, 'editMessage', { conversationId = conv.id, messageId = m.id, content = 'v' .. i })
    end
    local before = w:checksum()
    T.eq(
      w:ask(
        a,
        'editMessage',
        { conversationId = conv.id, messageId = m.id, content = 'one too many' }
      ).error,
      'rate_limited'
    )
    T.eq(w:checksum(), before, 'nothing written')
    T.eq(
      askLater(
        w,
        a,
        'editMessage',
        { conversationId = conv.id, messageId = m.id, content = 'later' }
      ).ok,
      true
    )
    local page = w:ok(a, 'messages', { conversationId = conv.id })
    T.eq(page[#page].content, 'later', 'the window passed: edits go through again')
    w:stop()
  end
)

T.test(
  "images and map locations: the allowed hosts and the map's bounds, nothing written otherwise",
  function()
    local w = World.new()
    local a, b = w.players[1], w.players[2]
    local conv = w:crew()
    local image =
      w:ok(a, 'sendImage', { conversationId = conv.id, url = 'https://i.imgur.com/abc.png' })
    T.eq(image.type, 'image')
    T.eq(image.content, '')
    T.eq(image.data, { url = 'https://i.imgur.com/abc.png' })
    local pin = w:ok(b, 'sendLocation', {
      conversationId = conv.id,
      x = 215.5,
      y = -810.25,
      z = 30.75,
      label = 'Legion Square',
      replyTo = image.id,
    })
    T.eq(pin.data, { x = 215.5, y = -810.25, z = 30.75, label = 'Legion Square' })
    T.eq(pin.replyTo, { id = image.id, sender = 'Ace', content = '', type = 'image' })
    T.eq(push(w:awaitPushes(a, 1), 'messageReceived').message.data, pin.data)
    local s = w:call('Darkchat_SendLocationByNumber', '5550103', conv.id, 1, 2, 3)
    T.eq(s.success, true)
    T.eq(floats(s.message.data), { x = 1.0, y = 2.0, z = 3.0 })
    T.eq(
      w:call('Darkchat_SendImageBySrc', a, conv.id, 'https://cdn.discordapp.com/x.gif').message.data.url,
      'https://cdn.discordapp.com/x.gif'
    )
    local before = w:checksum()
    for _, url in ipairs({
      'http://i.imgur.com/abc.png',
      'https://evil.example/abc.png',
      'https://i.imgur.com.evil.example/a.png',
      'https://i.imgur.com@evil.example/a.png',
      'https://i.imgur.com/' .. ('a'):rep(600),
      'javascript:alert(1)',
    }) do
      T.eq(
        askLater(w, a, 'sendImage', { conversationId = conv.id, url = url }).error,
        'invalid_argument',
        url
      )
    end
    T.eq(
      askLater(w, a, 'sendImage', { conversationId = conv.id, url = 5 }).error,
      'invalid_argument'
    )
    for _, p in ipairs({
      { x = 0 / 0, y = 0, z = 0 },
      { x = 0, y = math.huge, z = 0 },
      { x = 0, y = 0, z = -math.huge },
      { x = 9000, y = 0, z = 0 },
      { x = 0, y = -5000, z = 0 },
      { x = 0, y = 0, z = 2500 },
      { x = '1', y = 0, z = 0 },
      { x = 0, y = 0 },
      { x = 0, y = 0, z = 0, label = ('x'):rep(65) },
      { x = 0, y = 0, z = 0, label = 'a\nb' },
    }) do
      p.conversationId = conv.id
      T.eq(askLater(w, a, 'sendLocation', p).error, 'invalid_argument', T.show(p))
    end
    T.eq(
      w:call('Darkchat_SendLocationByNumber', '5550101', conv.id, 0 / 0, 0, 0).error,
      'invalid_argument'
    )
    T.eq(w:checksum(), before, 'nothing written')
    w:stop()
  end
)

T.test('send hooks see images and locations with their data, and may veto them', function()
  local w = World.new()
  local a = w.players[1]
  local conv = w:crew()
  local seen = {}
  local env = w.srv:resourceEnv(World.RESOURCE)
  w:call('Darkchat_AddHook', 'send', function(payload)
    seen[#seen + 1] = payload
    if payload.type == 'location' then return false, 'no pins here' end
  end)
  local image =
    w:ok(a, 'sendImage', { conversationId = conv.id, url = 'https://i.imgur.com/a.png' })
  T.eq(seen[1], {
    number = '5550101',
    conversationId = conv.id,
    content = '',
    type = 'image',
    data = { url = 'https://i.imgur.com/a.png' },
  })
  T.eq(
    w:ask(a, 'sendLocation', { conversationId = conv.id, x = 1, y = 2, z = 3, replyTo = image.id }).error,
    'forbidden'
  )
  T.eq(seen[2].replyTo, image.id)
  T.eq(floats(seen[2].data), { x = 1.0, y = 2.0, z = 3.0 })
  -- An edit's new text passes the same hooks: a filter cannot be dodged by editing.
  local clean = w:ok(a, 'send', { conversationId = conv.id, content = 'nice words' })
  w:call('Darkchat_AddHook', 'send', function(payload)
    if payload.content:find('rude', 1, true) then return false, 'watch it' end
  end)
  local refused = w:ask(
    a,
    'editMessage',
    { conversationId = conv.id, messageId = clean.id, content = 'rude words' }
  )
  T.eq(refused.error, 'forbidden')
  T.eq(seen[#seen], {
    number = '5550101',
    conversationId = conv.id,
    content = 'rude words',
    type = 'text',
    messageId = clean.id,
    edited = true,
  })
  local page = w:ok(a, 'messages', { conversationId = conv.id })
  T.eq({ page[#page].content, page[#page].edited }, { 'nice words', nil }, 'nothing written')
  T.ok(env ~= nil)
  w:stop()
end)
