-- Staff tools (bans of numbers from Darkchat, a conversation's history), members' reports, the
-- word filter and the Discord log, end to end through the console, the phone UI's requests and
-- the exports. Runs on every core and storage; the log posts to a real local HTTP receiver
-- (tests/fxserver/http_receiver.py), through the emulator's PerformHttpRequest.

local T = require('testlib')
local World = require('world')
local Json = dofile(T.repoRoot .. '/tests/fxserver/json.lua')

local NUMBERS = { '5550101', '5550102', '5550103' }

--- Runs a console line; returns everything it printed, as one string.
local function console(w, line)
  w.srv:clearOutput()
  w.srv:console(line)
  w.srv:settle()
  return table.concat(w.srv:output(), '\n')
end

local function has(out, text)
  T.ok(out:find(text, 1, true), ('expected %q in:\n%s'):format(text, out))
end

--- Collects the payloads of the server events `names` (without the prefix) as they fire.
local function listen(w, names)
  local seen = {}
  local env = w.srv:resourceEnv(World.RESOURCE)
  for _, name in ipairs(names) do
    env.AddEventHandler(
      '17mov_Phone:darkchat:' .. name,
      function(payload) seen[#seen + 1] = { name = name, payload = payload } end
    )
  end
  return seen
end

local function restart(w)
  w.srv:stop(World.RESOURCE)
  w.srv:clearOutput()
  w.srv:ensure(World.RESOURCE)
  w.srv:runFor(50)
  if w.storage == 'mysql' then w:awaitMysql() end
end

--- A world whose lua/config.lua went through `edit`, as a server owner would change it.
local function configured(edit, players)
  local dir = World.resourceWithConfig(edit)
  -- The database inside the folder: the wasm core writes only there.
  return World.new({
    resourceDir = dir,
    db = dir .. '/data/darkchat.db',
    players = players or NUMBERS,
  })
end

-- Staff bans ------------------------------------------------------------------------------------

T.test(
  'a staff ban keeps a number out of Darkchat: joins and adds banned, all else forbidden, until lifted',
  function()
    local w = World.new({ players = NUMBERS })
    local a, b, c = table.unpack(w.players)
    local events = listen(w, { 'staffBanned', 'staffUnbanned' })
    local conv = w:ok(a, 'create', { name = 'Crew', alias = 'Boss' })
    w:ok(b, 'join', { joinCode = conv.joinCode, alias = 'Loud' })
    local sent = w:ok(a, 'send', { conversationId = conv.id, content = 'before' })

    local history = w:ok(a, 'messages', { conversationId = conv.id })
    local members = w:ok(a, 'members', { conversationId = conv.id })
    has(console(w, 'darkchat ban 5550102 7d spamming ads'), 'banned 5550102 from Darkchat until ')
    T.eq(events[1], {
      name = 'staffBanned',
      payload = {
        number = '5550102',
        reason = 'spamming ads',
        expiresAt = events[1].payload.expiresAt,
      },
    })
    T.ok(math.abs(events[1].payload.expiresAt - os.time() - 7 * 86400) < 60, 'ends in 7 days')
    for _, request in ipairs({
      { 'send', { conversationId = conv.id, content = 'hi' } },
      { 'list', {} },
      { 'get', { conversationId = conv.id } },
      { 'messages', { conversationId = conv.id } },
      { 'markRead', { conversationId = conv.id } },
      { 'leave', { conversationId = conv.id } },
      { 'setAlias', { conversationId = conv.id, alias = 'Quiet' } },
      { 'mute', { conversationId = conv.id } },
      { 'members', { conversationId = conv.id } },
      { 'create', { name = 'Mine' } },
      { 'report', { conversationId = conv.id, messageId = sent.id, reason = 'rude' } },
      { 'get', { conversationId = 999 } },
    }) do
      T.eq(w:ask(b, request[1], request[2]).error, 'forbidden', request[1])
    end
    T.eq(w:ask(b, 'join', { joinCode = conv.joinCode }).error, 'banned')
    T.eq(w:call('Darkchat_SendMessageByNumber', '5550102', conv.id, 'x').error, 'forbidden')
    T.eq(w:call('Darkchat_GetConversationsBySrc', b).error, 'forbidden')
    -- Refused acts wrote nothing (the check travels with each act's own first statements).
    T.eq(w:ok(a, 'messages', { conversationId = conv.id }), history)
    T.eq(w:ok(a, 'members', { conversationId = conv.id }), members)
    has(console(w, 'darkchat reports'), 'no reports')
    T.ok(not console(w, 'darkchat list'):find('Mine'), 'no conversation created')
    -- A number never seen is banned as well; scripts cannot add it.
    has(console(w, 'darkchat ban 5550103'), 'banned 5550103 from Darkchat permanently')
    T.eq({ w:call('Darkchat_AddToConversationByNumber', '5550103', conv.id) }, { false, 'banned' })
    T.eq(w:ask(c, 'join', { joinCode = conv.joinCode }).error, 'banned')
    -- Nobody else is touched, and the banned member was not removed, but gets no pushes.
    w:ok(a, 'send', { conversationId = conv.id, content = 'still fine' })
    w.srv:settle()
    T.eq(w:pushes(b), {}, 'a banned member gets no pushes')
    T.eq(#w:ok(a, 'members', { conversationId = conv.id }), 2)

    local listed = console(w, 'darkchat bans')
    T.ok(listed:find('5550103%s+%d+%-%d+%-%d+ %d+:%d+%s+permanent'), listed)
    T.ok(
      listed:find('5550102%s+%d+%-%d+%-%d+ %d+:%d+%s+%d+%-%d+%-%d+ %d+:%d+%s+spamming ads'),
      listed
    )
    -- Stored: a restart keeps them.
    restart(w)
    events = listen(w, { 'staffUnbanned' })
    T.eq(w:ask(b, 'send', { conversationId = conv.id, content = 'hi' }).error, 'forbidden')
    has(console(w, 'darkchat unban 5550102'), 'lifted the Darkchat ban of 5550102')
    T.eq(events, { { name = 'staffUnbanned', payload = { number = '5550102' } } })
    w:ok(b, 'send', { conversationId = conv.id, content = 'back' })
    w:ok(a, 'send', { conversationId = conv.id, content = 'welcome back' })
    T.eq(w:awaitPushes(b, 1)[1].payload.message.content, 'welcome back')
    has(console(w, 'darkchat unban 5550102'), 'error: not_member')
    -- A second ban replaces the first (one row per number).
    has(console(w, 'darkchat ban 5550103 30m'), 'banned 5550103 from Darkchat until')
    local _, rows = console(w, 'darkchat bans'):gsub('5550103', '')
    T.eq(rows, 1)
    -- The exports say the same.
    local bans = w:call('Darkchat_GetStaffBans')
    T.eq(bans.success, true)
    T.eq(#bans.bans, 1)
    T.eq(bans.bans[1].number, '5550103')
    T.eq(w:call('Darkchat_StaffUnban', '5550103'), true)
    T.eq({ w:call('Darkchat_StaffUnban', '5550103') }, { false, 'not_member' })
    T.eq(w:call('Darkchat_StaffBan', 5550103, 3600, 'test'), true)
    T.eq({ w:call('Darkchat_StaffBan', nil) }, { false, 'invalid_argument' })
    T.eq({ w:call('Darkchat_StaffBan', '5550104', 0) }, { false, 'invalid_argument' })
    T.eq(w:ask(c, 'join', { joinCode = conv.joinCode }).error, 'banned')
  end
)

T.test(
  'a ban written by another server stops pushes once the stored bans are read again (a minute on)',
  function()
    local w = World.new({ players = NUMBERS })
    local a, b = w.players[1], w.players[2]
    local conv = w:ok(a, 'create', { name = 'Crew', alias = 'Boss' })
    w:ok(b, 'join', { joinCode = conv.joinCode, alias = 'Loud' })
    w:ok(a, 'send', { conversationId = conv.id, content = 'first' })
    T.eq(w:awaitPushes(b, 1)[1].payload.message.content, 'first', 'no ban yet: the push goes out')
    -- Another server on the same database bans B: not through this server's actions.
    T.eq(w:coreCall('staffBan', '5550102'), true)
    w.srv:runFor(61000)
    w:ok(a, 'send', { conversationId = conv.id, content = 'second' })
    w.srv:settle()
    T.eq(w:pushes(b), {}, 'the stored ban was read again: no push to the banned member')
    -- Lifted the same way: pushes come back with the next read.
    T.eq(w:coreCall('staffUnban', '5550102'), true)
    w.srv:runFor(61000)
    w:ok(a, 'send', { conversationId = conv.id, content = 'third' })
    T.eq(w:awaitPushes(b, 1)[1].payload.message.content, 'third')
  end
)

T.test('console staff subcommands refuse bad words with a clear line and write nothing', function()
  local w = World.new({ players = NUMBERS })
  local a = w.players[1]
  local conv = w:ok(a, 'create', { name = 'Crew' })
  for line, expected in pairs({
    ['darkchat ban'] = 'usage: darkchat ban <number> [30m|12h|7d|permanent] [reason...]',
    ['darkchat ban 5550102 soon'] = 'error: invalid_argument (invalid argument: duration)',
    ['darkchat ban 5550102 0m'] = 'error: invalid_argument (invalid argument: duration)',
    ['darkchat ban 5550102 3651d'] = 'error: invalid_argument (invalid argument: duration)',
    ['darkchat ban 5550102 -5h'] = 'error: invalid_argument (invalid argument: duration)',
    ['darkchat ban 123456789012345678901 1h'] = 'error: invalid_argument (invalid argument: number)',
    ['darkchat ban 5550102 1h ' .. ('x'):rep(201)] = 'error: invalid_argument (invalid argument: reason)',
    ['darkchat unban'] = 'usage: darkchat unban <number>',
    ['darkchat unban 5550102 now'] = 'usage: darkchat unban <number>',
    ['darkchat unban 5550102'] = 'error: not_member (5550102 is not banned from Darkchat)',
    ['darkchat bans all'] = 'usage: darkchat bans',
    ['darkchat messages'] = 'usage: darkchat messages <id> [n]',
    ['darkchat messages x'] = 'usage: darkchat messages <id> [n]',
    ['darkchat messages 1 0'] = 'usage: darkchat messages <id> [n]',
    ['darkchat messages 1 2 3'] = 'usage: darkchat messages <id> [n]',
    ['darkchat messages 1 101'] = 'error: invalid_argument (invalid argument: limit)',
    ['darkchat messages 999'] = 'error: conversation_not_found',
    ['darkchat reports x'] = 'usage: darkchat reports [n] | dismiss <id>',
    ['darkchat reports 1001'] = 'error: invalid_argument (invalid argument: limit)',
    ['darkchat reports dismiss'] = 'usage: darkchat reports [n] | dismiss <id>',
    ['darkchat reports dismiss -1'] = 'usage: darkchat reports [n] | dismiss <id>',
    ['darkchat reports dismiss 7'] = 'error: invalid_argument (invalid argument: reportId)',
  }) do
    has(console(w, line), expected)
  end
  has(console(w, 'darkchat bans'), 'no staff bans')
  has(console(w, 'darkchat reports'), 'no reports')
  has(console(w, 'darkchat messages ' .. conv.id), ('#%d has no messages'):format(conv.id))
  -- Players need the command's ACE, as for every subcommand.
  w.srv:clearOutput()
  w.srv:playerCommand(a, 'darkchat ban 5550102')
  w.srv:settle()
  has(console(w, 'darkchat bans'), 'no staff bans')
  has(console(w, 'darkchat help'), 'darkchat reports [n] | dismiss <id>')
end)

T.test('darkchat bans shows the newest 50 and says there are more', function()
  local w = World.new({ players = {} })
  for i = 1, 51 do
    T.eq(w:call('Darkchat_StaffBan', tostring(5550200 + i)), true)
  end
  local out = console(w, 'darkchat bans')
  local _, rows = out:gsub('%] 5550%d%d%d%s', '')
  T.eq(rows, 50, out)
  has(out, '... more; the newest 50 shown')
  T.eq(w:call('Darkchat_StaffUnban', '5550201'), true)
  out = console(w, 'darkchat bans')
  T.ok(not out:find('more', 1, true), out)
end)

T.test("darkchat messages shows a conversation's history with numbers and aliases", function()
  local w = World.new({ players = NUMBERS })
  local a, b = w.players[1], w.players[2]
  local conv = w:ok(a, 'create', { name = 'Crew', alias = 'Boss' })
  w:ok(b, 'join', { joinCode = conv.joinCode, alias = 'Loud' })
  w:ok(b, 'send', { conversationId = conv.id, content = 'hello\nthere' })
  w:ok(a, 'send', { conversationId = conv.id, content = 'hi Loud' })
  local out = console(w, 'darkchat messages ' .. conv.id)
  has(out, '* Loud joined  [5550102 (Loud)]')
  has(out, '5550102 (Loud): hello\\nthere')
  has(out, '5550101 (Boss): hi Loud')
  local last = console(w, ('darkchat messages %d 1'):format(conv.id))
  has(last, '5550101 (Boss): hi Loud')
  T.ok(not last:find('hello', 1, true), last)
end)

-- Reports ---------------------------------------------------------------------------------------

T.test(
  'a member reports a message: stored as it was with numbers and aliases, told to staff, listed and dismissed',
  function()
    local w = World.new({ players = NUMBERS })
    local a, b, c = table.unpack(w.players)
    local events = listen(w, { 'messageReported', 'reportDismissed' })
    local conv = w:ok(a, 'create', { name = 'Crew', alias = 'Boss' })
    w:ok(b, 'join', { joinCode = conv.joinCode, alias = 'Loud' })
    local rude = w:ok(b, 'send', { conversationId = conv.id, content = 'you are all idiots' })
    local other = w:ok(c, 'create', { name = 'Elsewhere' })
    local elsewhere = w:ok(c, 'send', { conversationId = other.id, content = 'mine' })

    T.eq(
      w:ok(a, 'report', { conversationId = conv.id, messageId = rude.id, reason = '  insults  ' }),
      true
    )
    T.eq(#events, 1)
    local e = events[1].payload
    T.eq({
      e.conversationId,
      e.messageId,
      e.reporter,
      e.reporterAlias,
      e.sender,
      e.senderAlias,
      e.content,
      e.reason,
    }, {
      conv.id,
      rude.id,
      '5550101',
      'Boss',
      '5550102',
      'Loud',
      'you are all idiots',
      'insults',
    })
    T.ok(math.type(e.reportId) == 'integer', 'a report id')

    -- Refusals, each writing nothing (three reports per player a minute).
    local function refused(src, payload, code, why)
      T.eq(w:ask(src, 'report', payload).error, code, why)
    end
    refused(
      c,
      { conversationId = conv.id, messageId = rude.id, reason = 'x' },
      'not_member',
      'outsiders'
    )
    refused(
      a,
      { conversationId = 999, messageId = rude.id, reason = 'x' },
      'conversation_not_found'
    )
    refused(
      a,
      { conversationId = conv.id, messageId = rude.id, reason = 'again' },
      'forbidden',
      'reported before'
    )
    refused(
      b,
      { conversationId = conv.id, messageId = rude.id, reason = 'x' },
      'forbidden',
      "one's own message"
    )
    local joined = w:ok(a, 'messages', { conversationId = conv.id })[1]
    T.eq(joined.type, 'system')
    refused(
      b,
      { conversationId = conv.id, messageId = joined.id, reason = 'x' },
      'forbidden',
      'a system message'
    )
    refused(
      c,
      { conversationId = other.id, messageId = elsewhere.id, reason = 'x' },
      'forbidden',
      "c's own"
    )
    refused(
      c,
      { conversationId = other.id, messageId = rude.id, reason = 'x' },
      'invalid_argument',
      'not in that conversation'
    )
    refused(
      c,
      { conversationId = other.id, messageId = elsewhere.id, reason = 'x' },
      'rate_limited',
      'a fourth'
    )
    T.eq(#events, 1)
    -- Bad fields: the request's field checks, then the core's (a roomier rate limit here).
    local fresh = configured(
      function(text) return (text:gsub('report = { count = 3', 'report = { count = 30')) end
    )
    local fa, fb = fresh.players[1], fresh.players[2]
    local fconv = fresh:ok(fa, 'create', { name = 'Crew' })
    fresh:ok(fb, 'join', { joinCode = fconv.joinCode })
    local said = fresh:ok(fb, 'send', { conversationId = fconv.id, content = 'x' })
    for _, bad in ipairs({
      { conversationId = fconv.id, messageId = said.id },
      { conversationId = fconv.id, messageId = said.id, reason = '   ' },
      { conversationId = fconv.id, messageId = said.id, reason = ('r'):rep(201) },
      { conversationId = fconv.id, messageId = said.id, reason = 5 },
      { conversationId = fconv.id, messageId = '1', reason = 'x' },
      { conversationId = fconv.id, messageId = 1.5, reason = 'x' },
      { conversationId = fconv.id, messageId = 0, reason = 'x' },
      { conversationId = fconv.id, messageId = said.id + 100, reason = 'x' },
      { conversationId = fconv.id, reason = 'x' },
    }) do
      T.eq(fresh:ask(fa, 'report', bad).error, 'invalid_argument', T.show(bad))
    end
    T.eq(#fresh:call('Darkchat_GetReports').reports, 0, 'nothing stored')

    -- Staff see it with numbers, aliases and the words as reported.
    local out = console(w, 'darkchat reports')
    has(out, ('report %d'):format(e.reportId))
    has(out, ('#%d message %d  by 5550101 (Boss): insults'):format(conv.id, rude.id))
    has(out, '5550102 (Loud) wrote: you are all idiots')
    local exported = w:call('Darkchat_GetReports', 5)
    T.eq(exported.success, true)
    T.eq(exported.reports[1].sender, '5550102')
    T.eq(exported.reports[1].content, 'you are all idiots')
    local byExport = w:call(
      'Darkchat_ReportMessageByNumber',
      '5550101',
      conv.id,
      w:ok(b, 'send', { conversationId = conv.id, content = 'second' }).id,
      'spam'
    )
    T.eq(byExport.success, true)
    T.eq(byExport.report.senderAlias, 'Loud')
    has(console(w, 'darkchat reports dismiss ' .. e.reportId), 'dismissed report ' .. e.reportId)
    T.eq(
      events[#events],
      { name = 'reportDismissed', payload = { reportId = e.reportId, conversationId = conv.id } }
    )
    T.eq(#w:call('Darkchat_GetReports').reports, 1)
    T.eq(w:call('Darkchat_DismissReport', byExport.report.id), true)
    has(console(w, 'darkchat reports'), 'no reports')
  end
)

T.test('reports are bounded: past maxReports the oldest goes', function()
  local w = configured(
    function(text)
      return (
        text
          :gsub('maxReports = 1000', 'maxReports = 2')
          :gsub('report = { count = 3', 'report = { count = 30')
      )
    end
  )
  local a, b = w.players[1], w.players[2]
  local conv = w:ok(a, 'create', { name = 'Crew' })
  w:ok(b, 'join', { joinCode = conv.joinCode })
  local ids = {}
  for i = 1, 3 do
    local m = w:ok(b, 'send', { conversationId = conv.id, content = 'm' .. i })
    w:ok(a, 'report', { conversationId = conv.id, messageId = m.id, reason = 'r' .. i })
    ids[i] = m.id
  end
  local kept = w:call('Darkchat_GetReports').reports
  T.eq({ #kept, kept[1].messageId, kept[2].messageId }, { 2, ids[3], ids[2] })
end)

-- Word filter -----------------------------------------------------------------------------------

local function filtered(mode)
  return configured(
    function(text)
      return (
        text
          :gsub('words = {},', "words = { 'bad', 'ass', 'fr*' },")
          :gsub("mode = 'mask'", "mode = '" .. mode .. "'")
      )
    end
  )
end

T.test(
  'the word filter masks listed words in messages and refuses them in names and aliases',
  function()
    local w = filtered('mask')
    local a, b = w.players[1], w.players[2]
    local conv = w:ok(a, 'create', { name = 'Crew' })
    w:ok(b, 'join', { joinCode = conv.joinCode })
    w.srv:clearClientEvents()
    local sent =
      w:ok(a, 'send', { conversationId = conv.id, content = 'you are B.4.D, a class act, frick' })
    T.eq(sent.content, 'you are *****, a class act, *****')
    local pushed = w:awaitPushes(b, 1)
    T.eq(pushed[1].payload.message.content, 'you are *****, a class act, *****')
    local stored = w:ok(b, 'messages', { conversationId = conv.id })
    T.eq(stored[#stored].content, 'you are *****, a class act, *****')
    for _, request in ipairs({
      { 'rename', { conversationId = conv.id, name = 'Baaad crew' } },
      { 'create', { name = 'Fine', alias = 'Bad Boy' } },
      { 'create', { name = 'Fine', joinCode = 'BADD' } },
      { 'setAlias', { conversationId = conv.id, alias = 'a$$' } },
    }) do
      T.eq(w:ask(a, request[1], request[2]).error, 'forbidden', request[1])
    end
    T.eq(
      w:ask(w.players[3], 'join', { joinCode = conv.joinCode, alias = 'b a d' }).error,
      'forbidden'
    )
    T.eq(
      w:call('Darkchat_CreateConversationByNumber', '5550103', 'ok', nil, 'frank').error,
      'forbidden'
    )
    T.eq(#w:ok(a, 'list'), 1, 'nothing created')
    w:ok(a, 'rename', { conversationId = conv.id, name = 'Badgers' })
  end
)

T.test(
  'the word filter in refuse mode refuses the message and stores nothing; a bad list stops the start',
  function()
    local w = filtered('refuse')
    local a = w.players[1]
    local conv = w:ok(a, 'create', { name = 'Crew' })
    T.eq(w:ask(a, 'send', { conversationId = conv.id, content = 'so baaad' }).error, 'forbidden')
    T.eq(w:call('Darkchat_SendMessageByNumber', '5550101', conv.id, '$a$$').error, 'forbidden')
    T.eq(#w:ok(a, 'messages', { conversationId = conv.id }), 0)
    T.eq(w:call('Darkchat_SendMessageByNumber', '5550101', conv.id, 'a classy act').success, true)
    T.eq(#w:ok(a, 'messages', { conversationId = conv.id }), 1)

    -- On MySQL the world's start waits for the ready line, and says why it never came.
    local started, broken = pcall(
      configured,
      function(text) return (text:gsub('words = {},', "words = { 'b4d' },")) end
    )
    if not started then
      has(tostring(broken), 'invalid argument: filter word')
    else
      has(table.concat(broken.srv:output(), '\n'), 'invalid argument: filter word')
      T.eq(broken:call('Darkchat_GetConversationsByNumber', '5550101').error, 'storage_error')
    end
  end
)

-- Discord log -----------------------------------------------------------------------------------

--- Starts the local receiver; returns its URL, a function giving the requests it logged so far
--- (each { body = decoded JSON, status }), and a stop function.
local function receiver(answers)
  local dir = T.tmpdir()
  local pid = T.sh(
    ('python3 %q %q %q %q >/dev/null 2>&1 & echo $!'):format(
      T.repoRoot .. '/tests/fxserver/http_receiver.py',
      dir .. '/port',
      dir .. '/log',
      answers or ''
    )
  ):match('%d+')
  local port
  for _ = 1, 500 do
    local f = io.open(dir .. '/port')
    if f then
      port = f:read('a')
      f:close()
      break
    end
    os.execute('sleep 0.01')
  end
  assert(port, 'the receiver did not start')
  local function posts()
    local out = {}
    local f = io.open(dir .. '/log')
    if not f then return out end
    for line in f:lines() do
      local entry = Json.decode(line)
      out[#out + 1] =
        { body = Json.decode(entry.body), status = entry.status, contentType = entry.contentType }
    end
    f:close()
    return out
  end
  return ('http://127.0.0.1:%s/hook'):format(port), posts, function() os.execute('kill ' .. pid) end
end

local function webhookWorld(url, settings)
  return configured(function(text)
    text = text:gsub("url = '',", ("url = '%s',"):format(url))
    for key, value in pairs(settings or {}) do
      text = text:gsub(('(\n  %s = )[^,\n]+,'):format(key), '%1' .. value .. ',')
    end
    return text
  end)
end

--- The lines of every post answered 2xx, in order.
local function loggedLines(posts)
  local lines = {}
  for _, p in ipairs(posts) do
    if p.status < 300 then
      for line in (p.body.content .. '\n'):gmatch('(.-)\n') do
        lines[#lines + 1] = line
      end
    end
  end
  return lines
end

T.test(
  'the Discord log posts batches at most every 2 s, honours 429, and leaves message text out by default',
  function()
    local url, posts, stop = receiver('204,429:5')
    local w = webhookWorld(url)
    local a, b, c = table.unpack(w.players)
    local conv = w:ok(a, 'create', { name = 'Crew', alias = 'Boss' })
    w:ok(b, 'join', { joinCode = conv.joinCode, alias = 'Loud' })
    w:ok(c, 'join', { joinCode = conv.joinCode })
    for i = 1, 6 do
      w:ok(b, 'send', { conversationId = conv.id, content = 'secret plan ' .. i })
    end
    local rude = w:ok(b, 'send', { conversationId = conv.id, content = 'secret insult' })
    w:ok(a, 'report', { conversationId = conv.id, messageId = rude.id, reason = 'rude' })
    w:ok(a, 'kick', { conversationId = conv.id, alias = 'Loud' })
    w:ok(c, 'leave', { conversationId = conv.id })
    console(w, 'darkchat ban 5550102 1h spam')
    for _ = 1, 12 do
      w.srv:runFor(1000)
    end

    local log, sent = posts(), w.srv.httpLog
    T.ok(#log >= 3, 'posts: ' .. #log)
    T.eq(#log, #sent)
    for i, p in ipairs(log) do
      T.eq(p.contentType, 'application/json')
      T.eq(p.body.allowed_mentions, { parse = {} }, 'no pings')
      T.eq(p.body.username, 'Darkchat')
      local _, newlines = p.body.content:gsub('\n', '')
      T.ok(
        newlines < 10 and #p.body.content <= 2000,
        'at most 10 lines, 2000 characters: ' .. p.body.content
      )
      if i > 1 then
        local gap = sent[i].at - sent[i - 1].at
        T.ok(gap >= 2000, ('post %d came %d ms after the one before'):format(i, gap))
        if log[i - 1].status == 429 then
          T.ok(gap >= 5000, "Discord's retry-after is waited for: " .. gap)
          T.eq(p.body.content, log[i - 1].body.content, 'the refused batch is posted again')
        end
      end
    end
    T.eq(log[2].status, 429)
    local lines = loggedLines(log)
    T.eq(lines, {
      ('#%d created "Crew" by 5550101'):format(conv.id),
      ('#%d 5550102 joined as Loud'):format(conv.id),
      lines[3],
      ('report %d: 5550101 reported message %d in #%d by 5550102 (reason: rude)'):format(
        w:call('Darkchat_GetReports').reports[1].id,
        rude.id,
        conv.id
      ),
      ('#%d 5550102 was kicked and banned'):format(conv.id),
      ('#%d 5550103 left'):format(conv.id),
      lines[7],
    })
    T.ok(lines[3]:find(('^#%d 5550103 joined as %%u%%l+ %%u%%l+$'):format(conv.id)), lines[3])
    T.ok(lines[7]:find('^staff banned 5550102 until %d+%-%d+%-%d+ %d+:%d+ UTC %(spam%)$'), lines[7])
    for _, p in ipairs(log) do
      T.ok(not p.body.content:find('secret', 1, true), 'no message text: ' .. p.body.content)
    end
    stop()
  end
)

T.test(
  'the Discord log drops past its queue and says how many; message text when enabled, escaped',
  function()
    local url, posts, stop = receiver()
    local w = webhookWorld(url, { messages = 'true', maxQueue = '3' })
    local a = w.players[1]
    local conv = w:ok(a, 'create', { name = 'Crew' })
    w.srv:runFor(100) -- the first line goes out alone
    for i = 1, 6 do
      w:ok(a, 'send', { conversationId = conv.id, content = ('**bold** @everyone %d'):format(i) })
    end
    for _ = 1, 6 do
      w.srv:runFor(1000)
    end
    local log = posts()
    T.eq(#log, 2)
    T.eq(loggedLines({ log[2] }), {
      '(3 log lines dropped: too many at once)',
      ('#%d 5550101: \\*\\*bold\\*\\* @everyone 1'):format(conv.id),
      ('#%d 5550101: \\*\\*bold\\*\\* @everyone 2'):format(conv.id),
      ('#%d 5550101: \\*\\*bold\\*\\* @everyone 3'):format(conv.id),
    })
    stop()
  end
)

T.test(
  'the Discord log posts at most 10 lines at once; the rest follow in the next post',
  function()
    local url, posts, stop = receiver()
    local w = webhookWorld(url, { messages = 'true' })
    local conv = w:ok(w.players[1], 'create', { name = 'Crew' })
    w.srv:runFor(100) -- the first line goes out alone
    for i = 1, 12 do
      w:call('Darkchat_SendMessageByNumber', '5550101', conv.id, 'm' .. i)
    end
    for _ = 1, 6 do
      w.srv:runFor(1000)
    end
    local log = posts()
    T.eq(#log, 3)
    local function said(i) return loggedLines({ log[i] }) end
    T.eq(#said(2), 10)
    T.eq(said(2)[10], ('#%d 5550101: m10'):format(conv.id))
    T.eq(said(3), { ('#%d 5550101: m11'):format(conv.id), ('#%d 5550101: m12'):format(conv.id) })
    stop()
  end
)

T.test('without a webhook URL nothing is posted', function()
  local w = World.new({ players = NUMBERS })
  local conv = w:ok(w.players[1], 'create', { name = 'Crew' })
  w:ok(w.players[1], 'send', { conversationId = conv.id, content = 'hi' })
  w.srv:runFor(5000)
  T.eq(w.srv.httpLog, nil)
end)
