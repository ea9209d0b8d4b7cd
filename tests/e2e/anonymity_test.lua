-- Anonymity as a property: players drive a conversation through every action of the phone UI
-- (create, join, send, reply, image, location, edit, delete, report, rename, new code, moderator grant, kick with ban, ban list,
-- unban, alias change, mute, transfer, leave with ownership passing on, reads, listings,
-- paging) and a server script adds one back; every client event any player received (answers and pushes) is
-- kept and scanned, every string and number in it, for any member's phone number or license
-- identifier, and for the creator's phone id (`createdBy`, the same across conversations).
-- Then what muting, bans and moderators do, end to end. Runs on every core and storage.

local T = require('testlib')
local World = require('world')

local NUMBERS = { '5550101', '5550102', '5550103', '5550104' }

--- A world of four players whose every client event is kept (requests clear the emulator's
--- list: it is harvested first). Returns the world and the log, src → { events }.
local function recorded()
  local w = World.new({ players = NUMBERS })
  local log = {}
  local function harvest()
    for _, src in ipairs(w.players) do
      log[src] = log[src] or {}
      for _, e in ipairs(w.srv:clientEvents(src)) do
        log[src][#log[src] + 1] = e
      end
    end
  end
  local clear = w.srv.clearClientEvents
  w.srv.clearClientEvents = function(self)
    harvest()
    clear(self)
  end
  return w, log, harvest
end

--- Every (path, value) of a payload, keys included, depth first.
local function walk(value, path, visit, seen)
  seen = seen or {}
  visit(path, value)
  if type(value) == 'table' and not seen[value] then
    seen[value] = true
    for k, v in pairs(value) do
      visit(path .. '[key]', k)
      walk(v, path .. '.' .. tostring(k), visit, seen)
    end
  end
end

--- The complaints about one client payload: a member's number or license anywhere in a
--- string, a number equal to a phone number, a `createdBy` field or its value as text.
local function leaks(payload, secrets, label)
  local found = {}
  walk(payload, label, function(path, v)
    if type(v) == 'string' then
      for _, secret in ipairs(secrets) do
        if v:find(secret, 1, true) then
          found[#found + 1] = ('%s holds %q: %q'):format(path, secret, v)
        end
      end
      if v == 'createdBy' then found[#found + 1] = path .. ' is a createdBy field' end
    elseif math.type(v) ~= nil then
      for _, secret in ipairs(secrets) do
        if tonumber(secret) == v then
          found[#found + 1] = ('%s is the number %s'):format(path, secret)
        end
      end
    end
  end)
  return found
end

T.test("no client event ever carries a member's number, license or creator id", function()
  local w, log, harvest = recorded()
  local a, b, c, d = table.unpack(w.players)
  local env = w.srv:resourceEnv(World.RESOURCE)
  local secrets = {}
  for i, src in ipairs(w.players) do
    secrets[#secrets + 1] = NUMBERS[i]
    for _, id in ipairs(env.GetPlayerIdentifiers(src)) do
      secrets[#secrets + 1] = id
    end
  end

  local conv = w:ok(a, 'create', { name = 'Crew', alias = 'Night Owl' })
  T.eq(conv.alias, 'Night Owl')
  T.eq(conv.isOwner, true)
  T.eq(conv.createdBy, nil)
  local id = conv.id
  local joinedB = w:ok(b, 'join', { joinCode = conv.joinCode:lower() })
  local aliasB = joinedB.alias
  T.ok(aliasB and #aliasB >= 2, 'a generated alias')
  T.eq(joinedB.recipients, { 'Night Owl', aliasB })
  T.eq(joinedB.owner, 'Night Owl')
  w:ok(c, 'join', { joinCode = conv.joinCode, alias = 'Comet' })
  local joinedD = w:ok(d, 'join', { joinCode = conv.joinCode })
  T.eq(#joinedD.members, 4)
  T.eq(joinedD.members[4].isYou, true)
  local fromB = w:ok(b, 'send', { conversationId = id, content = 'hi from b' })
  w:ok(c, 'send', { conversationId = id, content = 'hi from c' })
  -- The message features: a reply (its quote names the sender by alias), an image, a location,
  -- an edit and a deletion, each pushed to the others.
  local reply = w:ok(c, 'send', { conversationId = id, content = 're: b', replyTo = fromB.id })
  T.eq(reply.replyTo.sender, aliasB)
  w:ok(
    b,
    'sendImage',
    { conversationId = id, url = 'https://i.imgur.com/a.png', replyTo = reply.id }
  )
  w:ok(d, 'sendLocation', { conversationId = id, x = 1.5, y = 2.5, z = 3.5, label = 'here' })
  w:ok(
    b,
    'editMessage',
    { conversationId = id, messageId = fromB.id, content = 'hi from b, edited' }
  )
  local gone = w:ok(c, 'send', { conversationId = id, content = 'to be deleted' })
  w:ok(c, 'deleteMessage', { conversationId = id, messageId = gone.id })
  -- A report (staff see numbers; the reporter and the others never do).
  T.eq(w:ok(c, 'report', { conversationId = id, messageId = fromB.id, reason = 'rude' }), true)
  w:ok(a, 'rename', { conversationId = id, name = 'Crew 2' })
  local code = w:ok(a, 'regenerateCode', { conversationId = id })
  w:ok(a, 'setModerator', { conversationId = id, alias = aliasB })
  w:ok(b, 'kick', { conversationId = id, alias = joinedD.alias })
  T.eq(w:ask(d, 'join', { joinCode = code }).error, 'banned')
  local bans = w:ok(a, 'bans', { conversationId = id })
  T.eq(#bans, 1)
  T.eq(bans[1].alias, joinedD.alias)
  w:ok(a, 'unban', { conversationId = id, banId = bans[1].id })
  w:ok(d, 'join', { joinCode = code, alias = 'Drifter' })
  w:ok(c, 'setAlias', { conversationId = id, alias = 'Comet Two' })
  w:ok(c, 'mute', { conversationId = id })
  w:ok(b, 'send', { conversationId = id, content = 'while muted' })
  w:ok(a, 'list')
  w:ok(b, 'get', { conversationId = id })
  w:ok(c, 'messages', { conversationId = id })
  w:ok(d, 'members', { conversationId = id })
  w:ok(d, 'markRead', { conversationId = id })
  w:ok(a, 'transfer', { conversationId = id, to = 'Comet Two' })
  w:ok(b, 'kick', { conversationId = id, alias = 'Drifter', ban = false })
  -- A server script puts the member back (numbers are fine on the server side).
  T.eq(w:call('Darkchat_AddToConversationByNumber', NUMBERS[4], id), true)
  w:ok(c, 'leave', { conversationId = id })
  w:ok(a, 'setAlias', { conversationId = id, alias = 'Owl' })
  w:ok(a, 'leave', { conversationId = id })
  w:ok(b, 'send', { conversationId = id, content = 'still here' })
  w:ok(d, 'get', { conversationId = id })
  harvest()

  local complaints, events = {}, 0
  for _, src in ipairs(w.players) do
    for k, e in ipairs(log[src] or {}) do
      events = events + 1
      for _, leak in
        ipairs(
          leaks(
            table.move(e.args, 1, e.n, 1, {}),
            secrets,
            ('player %d event %d %s'):format(src, k, e.name)
          )
        )
      do
        complaints[#complaints + 1] = leak
      end
    end
  end
  T.ok(events > 60, 'events were recorded: ' .. events)
  T.eq(complaints, {})
  -- The scan itself finds a leak (so an empty result means something).
  T.eq(#leaks({ { sender = '5550101' } }, secrets, 'probe'), 1)
  T.eq(#leaks({ n = 5550102 }, secrets, 'probe'), 1)
  T.eq(#leaks({ createdBy = 3 }, secrets, 'probe'), 1)
end)

T.test('a muted conversation sends no pushes and keeps counting unread', function()
  local w = World.new()
  local a, b = w.players[1], w.players[2]
  local conv = w:ok(a, 'create', { name = 'Crew' })
  w:ok(b, 'join', { joinCode = conv.joinCode })
  w:ok(b, 'mute', { conversationId = conv.id })
  T.eq(w:ok(b, 'get', { conversationId = conv.id }).isMuted, true)
  w.srv:clearClientEvents()
  w.srv:triggerNetEvent(a, World.REQUEST, 1, 'send', { conversationId = conv.id, content = 'one' })
  w.srv:settle()
  T.eq(w:pushes(b), {})
  local listed = w:ok(b, 'list')
  T.eq(listed[1].unreadCount, 1)
  T.eq(listed[1].isMuted, true)
  w:ok(b, 'mute', { conversationId = conv.id, muted = false })
  w.srv:clearClientEvents()
  w.srv:triggerNetEvent(a, World.REQUEST, 2, 'send', { conversationId = conv.id, content = 'two' })
  w.srv:settle()
  T.eq(#w:pushes(b), 1)
  T.eq(w:pushes(b)[1].kind, 'messageReceived')
  T.eq(w:ask(b, 'mute', { conversationId = conv.id, muted = 'yes' }).error, 'invalid_argument')
  T.eq(w:ask(w.players[3], 'mute', { conversationId = conv.id }).error, 'not_member')
end)

T.test(
  'bans: a kick bans by default, scripts and codes cannot bring the number back until unbanned',
  function()
    local w = World.new()
    local a, b, c = table.unpack(w.players)
    local conv = w:ok(a, 'create', { name = 'Crew', alias = 'Boss' })
    local joined = w:ok(b, 'join', { joinCode = conv.joinCode, alias = 'Loud' })
    w:ok(c, 'join', { joinCode = conv.joinCode })
    -- Ordinary members neither kick nor see bans; aliases that are nobody's are not_member.
    T.eq(w:ask(c, 'kick', { conversationId = conv.id, alias = 'Loud' }).error, 'forbidden')
    T.eq(w:ask(a, 'kick', { conversationId = conv.id, alias = 'Nobody' }).error, 'not_member')
    T.eq(
      w:ask(a, 'kick', { conversationId = conv.id, alias = 'Loud', ban = 'yes' }).error,
      'invalid_argument'
    )
    w:ok(a, 'kick', { conversationId = conv.id, alias = joined.alias })
    T.eq(w:ask(b, 'join', { joinCode = conv.joinCode }).error, 'banned')
    local ok, code = w:call('Darkchat_AddToConversationByNumber', '5550102', conv.id)
    T.eq({ ok, code }, { false, 'banned' })
    T.eq(w:ask(c, 'bans', { conversationId = conv.id }).error, 'forbidden')
    local bans = w:call('Darkchat_GetBansByNumber', '5550101', conv.id)
    T.eq(bans.success, true)
    T.eq(bans.bans[1].number, '5550102')
    T.eq(
      w:ask(c, 'unban', { conversationId = conv.id, banId = bans.bans[1].id }).error,
      'forbidden'
    )
    T.eq(
      w:ask(a, 'unban', { conversationId = conv.id, banId = bans.bans[1].id + 1 }).error,
      'not_member',
      'no such ban'
    )
    T.eq(w:ask(b, 'join', { joinCode = conv.joinCode }).error, 'banned', 'still banned')
    T.eq(w:call('Darkchat_UnbanFromConversationByNumber', '5550101', conv.id, '5550102'), true)
    T.eq(
      select(2, w:call('Darkchat_UnbanFromConversationByNumber', '5550101', conv.id, '5550102')),
      'not_member'
    )
    w:ok(b, 'join', { joinCode = conv.joinCode })
    -- The export's `ban = false` only removes.
    T.eq(
      w:call('Darkchat_KickFromConversationByNumber', '5550101', conv.id, '5550102', false),
      true
    )
    w:ok(b, 'join', { joinCode = conv.joinCode })
    -- Bans are stored: a restart keeps them.
    T.eq(w:call('Darkchat_KickFromConversationByNumber', '5550101', conv.id, '5550102'), true)
    w.srv:stop(World.RESOURCE)
    w.srv:clearOutput() -- so that a MySQL world waits for the new start's ready line
    w.srv:ensure(World.RESOURCE)
    w.srv:runFor(50)
    if w.storage == 'mysql' then w:awaitMysql() end
    T.eq(w:ask(b, 'join', { joinCode = conv.joinCode }).error, 'banned')
  end
)

T.test('moderators remove and ban ordinary members only; the owner grants and revokes', function()
  local w = World.new({ players = NUMBERS })
  local a, b, c, d = table.unpack(w.players)
  local conv = w:ok(a, 'create', { name = 'Crew', alias = 'Boss' })
  w:ok(b, 'join', { joinCode = conv.joinCode, alias = 'Mod' })
  w:ok(c, 'join', { joinCode = conv.joinCode, alias = 'Other Mod' })
  w:ok(d, 'join', { joinCode = conv.joinCode, alias = 'Member' })
  T.eq(
    w:ask(b, 'setModerator', { conversationId = conv.id, alias = 'Other Mod' }).error,
    'forbidden'
  )
  w:ok(a, 'setModerator', { conversationId = conv.id, alias = 'mod' })
  w:ok(a, 'setModerator', { conversationId = conv.id, alias = 'Other Mod' })
  local seen = w:ok(d, 'get', { conversationId = conv.id })
  T.eq(seen.members[2], { alias = 'Mod', isOwner = false, isModerator = true, isYou = false })
  T.eq(w:ok(b, 'get', { conversationId = conv.id }).isModerator, true)
  T.eq(w:ask(b, 'kick', { conversationId = conv.id, alias = 'Boss' }).error, 'forbidden')
  T.eq(w:ask(b, 'kick', { conversationId = conv.id, alias = 'Other Mod' }).error, 'forbidden')
  T.eq(w:ask(b, 'bans', { conversationId = conv.id }).error, 'forbidden')
  w:ok(a, 'setModerator', { conversationId = conv.id, alias = 'Other Mod', isModerator = false })
  w:ok(b, 'kick', { conversationId = conv.id, alias = 'Other Mod' })
  T.eq(w:ask(c, 'join', { joinCode = conv.joinCode }).error, 'banned')
  w:ok(a, 'setModerator', { conversationId = conv.id, alias = 'Mod', isModerator = false })
  T.eq(w:ask(b, 'kick', { conversationId = conv.id, alias = 'Member' }).error, 'forbidden')
end)

T.test('aliases: chosen or generated, unique regardless of case, changeable, checked', function()
  local w = World.new()
  local a, b, c = table.unpack(w.players)
  local conv = w:ok(a, 'create', { name = 'Crew', alias = 'Night Owl' })
  T.eq(
    w:ask(b, 'join', { joinCode = conv.joinCode, alias = 'NIGHT  owl' }).error,
    'invalid_argument'
  )
  T.eq(w:ask(b, 'join', { joinCode = conv.joinCode, alias = 'a' }).error, 'invalid_argument')
  T.eq(
    w:ask(b, 'join', { joinCode = conv.joinCode, alias = 'Ow\u{202E}l' }).error,
    'invalid_argument'
  )
  T.eq(w:ask(b, 'join', { joinCode = conv.joinCode, alias = 12 }).error, 'invalid_argument')
  local members = w:call('Darkchat_GetMembersByNumber', '5550101', conv.id)
  T.eq(#members.members, 1, 'nothing written by a refused join')
  local joined = w:ok(b, 'join', { joinCode = conv.joinCode })
  T.ok(joined.alias:match('^%u%l+ %u%l+$'), 'an Adjective Noun: ' .. joined.alias)
  T.eq(
    w:ask(b, 'setAlias', { conversationId = conv.id, alias = 'night owl' }).error,
    'invalid_argument'
  )
  local note = w:ok(b, 'setAlias', { conversationId = conv.id, alias = 'Day Hawk' })
  T.eq(note.content, joined.alias .. ' is now called Day Hawk')
  local pushes = w:pushes(a)
  T.eq(pushes[#pushes].kind, 'aliasChanged')
  T.eq(pushes[#pushes].payload.alias, 'Day Hawk')
  T.eq(w:ask(c, 'setAlias', { conversationId = conv.id, alias = 'Someone' }).error, 'not_member')
  -- Scripts read aliases beside numbers.
  members = w:call('Darkchat_GetMembersByNumber', '5550101', conv.id)
  T.eq(members.members[2].number, '5550102')
  T.eq(members.members[2].alias, 'Day Hawk')
  local seen = w:call('Darkchat_GetConversationByNumber', '5550102', conv.id).conversation
  T.eq(seen.recipients, { '5550101', '5550102' })
  T.eq(seen.messages[1].sender, '5550102')
  T.eq(seen.messages[1].senderAlias, joined.alias)
  T.eq(seen.messages[1].content, joined.alias .. ' joined')
end)
