-- Source → phone number through each framework bridge, the cache and its forgetting, and the
-- loader's start-up lines.

local T = require('testlib')
local World = require('world')

local function creatorOf(w, src)
  local res = w:call('Darkchat_CreateConversationBySrc', src, 'Bridge test')
  return res.success and res.newConv.recipients[1] or res.error
end

for _, fw in ipairs({ 'qbcore', 'qbox', 'esx', 'ox' }) do
  T.test(
    fw .. ": a player's number comes from the framework and follows their character",
    function()
      local w = World.new({ framework = fw })
      T.ok(w.started, 'resource started')
      local said = table.concat(w.srv:output(), '\n')
      T.ok(said:find('framework: ' .. fw, 1, true), 'detected ' .. fw .. ' in:\n' .. said)
      local src = w.players[1]
      T.eq(creatorOf(w, src), '5550101')
      T.eq(creatorOf(w, w.players[2]), '5550102')
      w:logout(src)
      T.eq(creatorOf(w, src), 'player_not_found', 'logged out')
      w:login(src, '5550177')
      T.eq(creatorOf(w, src), '5550177', 'new character, new number')
      w.srv:dropPlayer(src, 'bye')
      T.eq(creatorOf(w, src), 'player_not_found', 'dropped')
      w:stop()
    end
  )
end

T.test('esx: a number not fetched yet is found once the query returns', function()
  local w = World.new({ framework = 'esx', players = {} })
  local src = w:connect(nil)
  -- Character exists in the database but the load event's prefetch has not run yet.
  w.srv:export('oxmysql', '__SetUser', 'char1:late', '5550188')
  w.srv:resourceEnv('es_extended') -- (the fake framework is running)
  w.srv:export(
    'es_extended',
    '__SetCharacter',
    src,
    { identifier = 'char1:late', phone = '5550188' }
  )
  w.srv:runFor(50)
  T.eq(creatorOf(w, src), '5550188')
  w:stop()
end)

T.test('esx: a request that arrives while the number is being fetched waits for it', function()
  local w = World.new({ framework = 'esx', players = {} })
  w.srv:export('oxmysql', '__SetDelay', 500)
  -- An export: the character loads and the export is called before the query answers.
  local src = w:connect(nil)
  w.srv:export(
    'es_extended',
    '__SetCharacter',
    src,
    { identifier = 'char1:slow', phone = '5550188' }
  )
  local asked = w.srv:resourceEnv(World.RESOURCE).GetGameTimer()
  T.eq(creatorOf(w, src), '5550188')
  local waited = w.srv:resourceEnv(World.RESOURCE).GetGameTimer() - asked
  T.ok(waited >= 490 and waited < 1000, 'the call waited for the query: ' .. waited .. ' ms')
  -- The phone UI's request, in the same window: answered once the query is back.
  local other = w:connect(nil)
  w.srv:export(
    'es_extended',
    '__SetCharacter',
    other,
    { identifier = 'char1:slow2', phone = '5550189' }
  )
  w.srv:clearClientEvents()
  w.srv:triggerNetEvent(other, World.REQUEST, 1, 'create', { name = 'Waited' })
  w.srv:runFor(600)
  local answers = {}
  for _, e in ipairs(w.srv:clientEvents(other)) do
    if e.name == World.RESPONSE then answers[#answers + 1] = e.args[2] end
  end
  T.eq(#answers, 1, 'one answer')
  T.eq(answers[1].ok, true, tostring(answers[1].error))
  T.eq(#answers[1].data.recipients, 1)
  T.eq(
    w:call('Darkchat_GetConversationsByNumber', '5550189').conversations[1].id,
    answers[1].data.id,
    'created for the number found'
  )
  -- A query slower than the bridge waits (2 s): not found this once, found when it is back.
  w.srv:export('oxmysql', '__SetDelay', 3000)
  local late = w:connect(nil)
  w.srv:export(
    'es_extended',
    '__SetCharacter',
    late,
    { identifier = 'char1:late2', phone = '5550190' }
  )
  T.eq(creatorOf(w, late), 'player_not_found')
  w.srv:runFor(1500)
  T.eq(creatorOf(w, late), '5550190')
  w:stop()
end)

T.test('standalone: a number is generated once per license and kept across restarts', function()
  local w = World.new({ framework = 'standalone', players = {} })
  local src = w:connect(nil, 'Solo')
  w.srv:runFor(10)
  local number = creatorOf(w, src)
  T.ok(number:match('^%d%d%d%d%d%d%d$'), 'seven digits: ' .. tostring(number))
  T.eq(creatorOf(w, src), number)
  local other = creatorOf(w, w:connect(nil, 'Other'))
  T.ok(other ~= number)
  local license = w.srv:resourceEnv(World.RESOURCE).GetPlayerIdentifierByType(src, 'license')
  w:stop()
  -- Same database, new server: the same license gets the same number.
  local w2 = World.new({
    framework = 'standalone',
    players = {},
    db = w.db,
    resourceDir = w.resourceDir,
    sharesDatabaseWith = w.mysqlDatabase and w or nil,
  })
  local again = w2.srv:addPlayer({ name = 'Solo', identifiers = { license } })
  w2.srv:runFor(10)
  T.eq(creatorOf(w2, again), number)
  w2:stop()
end)

T.test('the framework convar overrides detection', function()
  local w = World.new({ framework = 'qbcore', convars = { ['darkchat:framework'] = 'standalone' } })
  T.ok(table.concat(w.srv:output(), '\n'):find('framework: standalone', 1, true))
  local number = creatorOf(w, w.players[1])
  T.ok(number ~= '5550101' and number:match('^%d+$'), tostring(number))
  w:stop()
end)

T.test(
  'a forced framework that is not started is said in one line, and detection decides',
  function()
    local w = World.new({ framework = 'ox', convars = { ['darkchat:framework'] = 'QB-Core' } })
    local said = table.concat(w.srv:output(), '\n')
    T.ok(
      said:find(
        'darkchat:framework is qbcore but qb-core is not started; detecting instead',
        1,
        true
      ),
      said
    )
    T.ok(said:find('framework: ox', 1, true), 'fell back to the started framework:\n' .. said)
    T.eq(creatorOf(w, w.players[1]), '5550101', 'numbers come from the detected framework')
    w:stop()
  end
)

T.test("a framework is named by its adapter's aliases too, in any case", function()
  for alias, fw in pairs({
    QBX = 'qbox',
    qbx_core = 'qbox',
    es_extended = 'esx',
    ox_core = 'ox',
    ['qb-core'] = 'qbcore',
  }) do
    local w = World.new({ framework = fw, convars = { ['darkchat:framework'] = alias } })
    local said = table.concat(w.srv:output(), '\n')
    T.ok(
      said:find('framework: ' .. fw, 1, true) and not said:find('detecting instead', 1, true),
      alias .. ' names ' .. fw .. ':\n' .. said
    )
    w:stop()
  end
  local w = World.new({ framework = 'qbox', convars = { ['darkchat:framework'] = 'qbcorex' } })
  T.ok(
    table
      .concat(w.srv:output(), '\n')
      :find('unknown darkchat:framework "qbcorex"; detecting instead', 1, true)
  )
  w:stop()
end)

T.test(
  'a host that cannot load native modules gets one clear line, and exports still answer',
  function()
    local w = World.new({ stockLua = true })
    local lines = {}
    for _, line in ipairs(w.srv:output()) do
      if line:find('Darkchat') then lines[#lines + 1] = line end
    end
    local said = table.concat(lines, '\n')
    T.ok(said:find('cannot load native modules', 1, true), said)
    T.eq(
      w:call('Darkchat_CreateConversationBySrc', w.players[1], 'X'),
      { success = false, error = 'storage_error' }
    )
    T.eq(
      table.pack(w:call('Darkchat_AddToConversationByNumber', '1', 1)),
      { n = 2, false, 'storage_error' }
    )
    w:stop()
  end
)

-- The database file's own tests: MySQL storage has no file (its start against a database that
-- is away, and servers sharing one, are tested in tests/wasm/mysql_servers.test.js).
local sqliteOnly = World.defaultStorage == 'mysql' and function() end or T.test

sqliteOnly(
  'a damaged database is refused with the file and the cause, and left as it was',
  function()
    -- Inside a resource folder of its own: the wasm core opens nothing outside its folder.
    local resourceDir = World.resourceWithConfig(function(text) return text end)
    local path = resourceDir .. '/data/broken.db'
    T.write(path, ("not a database; somebody's data\n"):rep(200))
    local w = World.new({ db = path, resourceDir = resourceDir })
    local said = table.concat(w.srv:output(), '\n')
    T.ok(
      said:find('refusing to start', 1, true)
        and said:find(path, 1, true)
        and said:find('not a database', 1, true),
      said
    )
    T.eq(
      w:call('Darkchat_CreateConversationBySrc', w.players[1], 'X'),
      { success = false, error = 'storage_error' }
    )
    local g = assert(io.open(path, 'rb'))
    T.eq(g:read('a'), ("not a database; somebody's data\n"):rep(200))
    g:close()
    w:stop()
  end
)

sqliteOnly('persistence: a new interpreter process on the same file sees everything', function()
  local w = World.new()
  local conv = w:call('Darkchat_CreateConversationBySrc', w.players[1], 'Kept', 'KEPT42').newConv
  w:call('Darkchat_AddToConversationByNumber', '5550102', conv.id)
  w:stop()
  local script = table.concat({
    ('export Darkchat_AddToConversationByNumber ["5550102", %d]'):format(conv.id),
    ('export Darkchat_AddToConversationByNumber ["5550103", %d]'):format(conv.id),
    'export Darkchat_CreateConversationByNumber ["5550109", "Dup", "kept42"]',
    'quit',
    '',
  }, '\n')
  local input = T.tmpdir() .. '/input.txt'
  local f = assert(io.open(input, 'w'))
  f:write(script)
  f:close()
  local cmd = ('lua5.4 %s/tests/fxserver/server.lua --resource %s --framework qbcore%s +set darkchat:db %s < %s 2>&1'):format(
    T.repoRoot,
    w.resourceDir,
    w.core == 'wasm' and ' --stock-lua' or '',
    w.db,
    input
  )
  local pipe = assert(io.popen(cmd))
  local out = pipe:read('a')
  pipe:close()
  T.ok(out:find('already_member', 1, true), out)
  T.ok(out:find('join_code_taken', 1, true), out)
  -- And the second process's write is seen here in turn.
  local w2 = World.new({ db = w.db, resourceDir = w.resourceDir })
  local ok, seen = w2:coreCall('conversation', '5550101', conv.id)
  T.ok(ok, tostring(seen))
  T.eq(seen.recipients, { '5550101', '5550102', '5550103' })
  T.eq(seen.joinCode, 'KEPT42')
  T.eq(seen.createdAt, conv.createdAt)
  w2:stop()
end)

T.test('esx: the number is read once per character, when it loads', function()
  local w = World.new({ framework = 'esx', players = {} })
  w.srv:export('oxmysql', '__SetDelay', 500)
  local src = w:connect(nil)
  local queries = w.srv:export('oxmysql', '__QueryCount')
  w.srv:export(
    'es_extended',
    '__SetCharacter',
    src,
    { identifier = 'char1:once', phone = '5550191' }
  )
  w.srv:runFor(600)
  T.eq(w.srv:export('oxmysql', '__QueryCount') - queries, 1, 'fetched when the character loaded')
  local env = w.srv:resourceEnv(World.RESOURCE)
  local asked = env.GetGameTimer()
  for _ = 1, 3 do
    T.eq(creatorOf(w, src), '5550191')
  end
  -- On MySQL storage every call waits for its database: there only the queries count.
  if not w.mysqlDatabase then T.eq(env.GetGameTimer() - asked, 0, 'no call waited') end
  T.eq(w.srv:export('oxmysql', '__QueryCount') - queries, 1, 'and not read again')
  w:stop()
end)

T.test("a framework's number is checked and normalized before it is used", function()
  local w = World.new({ players = { '5550101' } })
  local padded = w:connect(' 5550177 ')
  local empty = w:connect('')
  T.eq(creatorOf(w, empty), 'player_not_found', 'an empty number is no number')
  T.eq(creatorOf(w, padded), '5550177')
  -- Pushes find the player under the normalized number, like everyone else.
  local id = w:call('Darkchat_CreateConversationBySrc', w.players[1], 'Crew').newConv.id
  w.srv:clearClientEvents()
  T.eq(w:call('Darkchat_AddToConversationByNumber', '5550177', id), true)
  local got = w:pushes(padded)
  T.eq(#got, 1)
  T.eq(got[1].kind, 'conversationAdded')
  T.eq(#got[1].payload.recipients, 2)
  T.eq(got[1].payload.members[2].isYou, true, 'found under the normalized number')
  w:stop()
end)

T.test('an online member who never used the phone is still pushed to', function()
  local w = World.new({ players = { '5550101', '5550102' } })
  local quiet = w.players[2]
  local id = w:call('Darkchat_CreateConversationByNumber', '5550101', 'Crew').newConv.id
  w.srv:clearClientEvents()
  T.eq(w:call('Darkchat_AddToConversationByNumber', '5550102', id), true)
  local got = w:pushes(quiet)
  T.eq(#got, 1)
  T.eq(got[1].kind, 'conversationAdded')
  w:stop()
end)

T.test('a number that passes to another player no longer resolves to its earlier holder', function()
  local w = World.new({ players = { '5550101', '5550102' } })
  local first, second = w.players[1], w.players[2]
  T.eq(creatorOf(w, first), '5550101')
  -- A script gives the first player's character another number (no event the bridge hears),
  -- then the second player loads a character with 5550101.
  w.srv:export('qb-core', '__SetPhone', first, '5550177')
  w:login(second, '5550101')
  T.eq(creatorOf(w, second), '5550101')
  T.eq(creatorOf(w, first), '5550177', 'asked anew, not taken for 5550101 any more')
  T.eq(creatorOf(w, second), '5550101', 'and 5550101 stays with its new holder')
  w:stop()
end)

for _, fw in ipairs({ 'qbcore', 'qbox' }) do
  T.test(fw .. ': a number a script sets on the loaded character is used from then on', function()
    local w = World.new({ framework = fw, players = { '5550101', '5550102' } })
    local framework = fw == 'qbcore' and 'qb-core' or 'qbx_core'
    local first, second = w.players[1], w.players[2]
    T.eq(creatorOf(w, first), '5550101')
    -- Any change of the character's data fires the same event: one that leaves the number
    -- alone does not send Darkchat back to the framework (nobody's cached number is dropped).
    local asked = w.srv:export(framework, '__Lookups')
    w.srv:export(framework, '__SetMetaData', first, 'hunger', 40)
    T.eq(creatorOf(w, first), '5550101')
    T.eq(creatorOf(w, second), '5550102')
    T.eq(w.srv:export(framework, '__Lookups'), asked, 'the cached numbers kept')
    -- A new number, with nobody else taking the old one.
    local charinfo = { firstname = 'John', lastname = 'Doe', phone = '5550177' }
    w.srv:export(framework, '__SetPlayerData', first, 'charinfo', charinfo)
    local id = w:call('Darkchat_CreateConversationBySrc', second, 'Crew').newConv.id
    w.srv:clearClientEvents()
    T.eq(w:call('Darkchat_AddToConversationByNumber', '5550177', id), true)
    local got = w:pushes(first)
    T.eq(#got, 1, 'pushed to under the new number before asking anything')
    T.eq(got[1].kind, 'conversationAdded')
    T.eq(creatorOf(w, first), '5550177')
    w:stop()
  end)
end

T.test('standalone: a player has their number from the moment they join', function()
  local w = World.new({ framework = 'standalone', players = {} })
  local talker = w:connect(nil, 'Talker')
  local quiet = w:connect(nil, 'Quiet')
  w.srv:runFor(10)
  local id = w:call('Darkchat_CreateConversationBySrc', talker, 'Crew').newConv.id
  local license = w.srv:resourceEnv(World.RESOURCE).GetPlayerIdentifierByType(quiet, 'license')
  local ok, number = w:coreCall('standaloneNumber', license)
  T.eq(ok, true, tostring(number))
  -- Added by a script before they ever opened the phone: they are pushed to all the same.
  w.srv:clearClientEvents()
  T.eq(w:call('Darkchat_AddToConversationByNumber', number, id), true)
  local got = w:pushes(quiet)
  T.eq(#got, 1)
  T.eq(got[1].kind, 'conversationAdded')
  T.eq(got[1].payload.members[2].isYou, true)
  w:stop()
end)
