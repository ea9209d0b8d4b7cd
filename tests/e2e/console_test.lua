-- The `darkchat` admin command, driven through standard input of the real run command
-- (scripts/run.sh), and in-process for ACE refusal and the live backup.

local T = require('testlib')
local World = require('world')

--- Runs the main job with `lines` on standard input; returns everything it printed.
local function session(db, lines)
  local input = T.tmpdir() .. '/input.txt'
  local f = assert(io.open(input, 'w'))
  f:write(table.concat(lines, '\n'), '\n')
  f:close()
  local cmd = ('bash %s/scripts/run.sh --framework qbcore +set darkchat:db %s < %s 2>&1'):format(
    T.repoRoot,
    db,
    input
  )
  local pipe = assert(io.popen(cmd))
  local out = pipe:read('a')
  local _, _, status = pipe:close()
  T.eq(status, 0, 'the run command exits cleanly:\n' .. out)
  return out
end

local function has(out, text)
  T.ok(out:find(text, 1, true), ('expected %q in:\n%s'):format(text, out))
end

T.test('every subcommand works from the console and does what it says', function()
  local db = T.tmpdir() .. '/console.db'
  local out = session(db, {
    'darkchat help',
    'darkchat create 5550101 Heist Planning',
    'darkchat create 5550102 "Two Words" crew42',
    'darkchat add 5550102 1',
    'darkchat add 5550103 1',
    'darkchat remove 5550103 1',
    'darkchat rename 1 Bank Job',
    'darkchat list',
    'darkchat list 5550102',
    'darkchat show 1',
    'darkchat code 2',
    'darkchat delete 2',
    'darkchat delete 2 --yes',
    'darkchat stats',
    'quit',
  })
  for _, sub in ipairs({
    'help',
    'create',
    'add',
    'remove',
    'list',
    'show',
    'rename',
    'code',
    'delete',
    'stats',
    'backup',
    'version',
    'import',
  }) do
    has(out, 'darkchat ' .. sub)
  end
  has(out, 'created #1 "Heist Planning"')
  has(out, 'created #2 "Two Words" code CREW42 owner 5550102')
  has(out, 'added 5550102 to #1')
  has(out, 'removed 5550103 from #1')
  has(out, 'renamed #1 to "Bank Job"')
  T.ok(out:find('#1%s+Bank Job%s+%w+%s+5550101'), 'list row for #1:\n' .. out)
  has(out, '5550101  (owner)')
  T.ok(out:find('%* %u%l+ %u%l+ was removed'), 'the removal, by alias:\n' .. out)
  has(out, 'repeat with --yes')
  has(out, 'deleted #2')
  T.ok(out:find('conversations%s+1'), 'stats count:\n' .. out)
  -- The schema version is the number of migration files (each applied once, in order).
  local migrations = tonumber(T.sh(('ls %q/migrations/*.sql | wc -l'):format(T.repoRoot)))
  has(out, 'schema version  ' .. migrations)
  has(out, 'store           ' .. db)
  -- The effects are in the file.
  local pipe = io.popen(('sqlite3 %s "SELECT id, name FROM conversations"'):format(db))
  T.eq(pipe:read('a'), '1|Bank Job\n')
  pipe:close()
end)

T.test('wrong arguments never change data and say how to use the subcommand', function()
  local db = T.tmpdir() .. '/wrong.db'
  session(db, { 'darkchat create 5550101 Seed', 'darkchat add 5550102 1', 'quit' })
  local before = World.checksumOf(db)
  local out = session(db, {
    'darkchat',
    'darkchat nope',
    'darkchat create',
    'darkchat create 5550101',
    'darkchat create 5550101 "Name" bad-code',
    'darkchat create 5550101 "x" CODE extra',
    'darkchat create 5550101 ' .. ('x'):rep(65),
    'darkchat add',
    'darkchat add 5550101',
    'darkchat add 5550101 abc',
    'darkchat add 5550101 1.5',
    'darkchat add 5550101 -1',
    'darkchat add 5550101 99',
    'darkchat add 5550101 1 extra',
    'darkchat add 5550102 1',
    'darkchat remove',
    'darkchat remove 5550109 1',
    'darkchat remove 5550101 0',
    'darkchat list a b',
    'darkchat show',
    'darkchat show x',
    'darkchat show 99',
    'darkchat rename',
    'darkchat rename 1',
    'darkchat rename x Name',
    'darkchat rename 99 Name',
    'darkchat rename 1 ""',
    'darkchat code',
    'darkchat code 99',
    'darkchat delete',
    'darkchat delete 1 --no',
    'darkchat delete 99 --yes',
    'darkchat delete 1',
    'darkchat stats extra',
    'darkchat backup',
    'darkchat backup a b',
    'quit',
  })
  T.eq(World.checksumOf(db), before, 'database unchanged')
  has(out, 'usage: darkchat create')
  has(out, 'error: invalid_join_code')
  has(out, 'error: invalid_name')
  has(out, 'usage: darkchat add')
  has(out, 'error: conversation_not_found')
  has(out, 'error: already_member')
  has(out, 'error: not_member')
  has(out, 'usage: darkchat show')
  has(out, 'unknown subcommand "nope"')
  T.ok(not out:find('SCRIPT ERROR', 1, true) and not out:find('internal error', 1, true), out)
end)

T.test('players need the ACE command.darkchat; the console always may', function()
  local w = World.new()
  local src = w.players[1]
  w.srv:playerCommand(src, 'darkchat create 5550101 Sneaky')
  local _, list = w:coreCall('list', nil)
  T.eq(#list, 0, 'refused')
  local told = w:playerTold(src, 'darkchat create 5550101 Allowed', 'created #1')
  _, list = w:coreCall('list', nil)
  T.eq(#list, 1)
  T.eq(list[1].name, 'Allowed')
  T.ok(told, 'the admin player is answered in chat')
  w:stop()
end)

T.test('backup: a consistent copy while writes continue', function()
  local w = World.new()
  local id = w:call('Darkchat_CreateConversationByNumber', '5550101', 'Busy').newConv.id
  for i = 1, 2000 do
    w:call('Darkchat_SendMessageByNumber', '5550101', id, 'before ' .. i)
  end
  -- Beside the database: on the wasm core, inside the resource folder, where it may write.
  local target = w.dir .. '/backup.db'
  w.srv:clearOutput()
  w.srv:console('darkchat backup ' .. target)
  -- The server keeps serving while the copy runs.
  for i = 1, 50 do
    T.eq(w:call('Darkchat_SendMessageByNumber', '5550101', id, 'during ' .. i).success, true)
    w.srv:runFor(5)
  end
  -- The copy runs on a real thread: give it real time (bounded), polling as the server would.
  local said, deadline = '', os.time() + 20
  repeat
    w.srv:runFor(100)
    os.execute('sleep 0.05')
    said = table.concat(w.srv:output(), '\n')
  until said:find('backup written', 1, true) or said:find('error:', 1, true) or os.time() > deadline
  T.ok(said:find('backup written to ' .. target, 1, true), said)
  local pipe = io.popen(
    ('sqlite3 %s "PRAGMA integrity_check; SELECT count(*) FROM messages WHERE content LIKE \'before %%\';"'):format(
      target
    )
  )
  T.eq(pipe:read('a'), 'ok\n2000\n')
  pipe:close()
  w.srv:console('darkchat backup ' .. target)
  w.srv:runFor(500)
  T.ok(table.concat(w.srv:output(), '\n'):find('already exists', 1, true), 'never overwrites')
  w:stop()
end)

T.test(
  'migrate-storage: a SQLite file into the empty MySQL database, from the console only',
  function()
    -- A SQLite store with data, made by a World on SQLite.
    local filled = World.new({ storage = 'sqlite', core = 'native' })
    local id = filled:call('Darkchat_CreateConversationByNumber', '5550101', 'Moving').newConv.id
    T.eq(filled:call('Darkchat_AddToConversationByNumber', '5550102', id), true)
    for i = 1, 3 do
      filled:call('Darkchat_SendMessageByNumber', '5550101', id, 'm' .. i)
    end
    local gone = filled:call('Darkchat_CreateConversationByNumber', '5550102', 'Gone').newConv.id
    T.eq(filled:call('Darkchat_DeleteConversationByNumber', '5550102', gone), true)
    filled:stop()

    local w = World.new({ storage = 'mysql' })
    local file = w.resourceDir .. '/data/old.db'
    os.execute(('mkdir -p %q && cp %q %q'):format(w.resourceDir .. '/data', filled.db, file))
    local before = World.checksumOf(file)
    local function run(line)
      w.srv:clearOutput()
      w.srv:console(line)
      for _ = 1, 100 do
        local said = table.concat(w.srv:output(), '\n')
        if
          said:find('migrated ', 1, true)
          or said:find('refused', 1, true)
          or said:find('failed', 1, true)
        then
          break
        end
        w.srv:runJs(50)
        w.srv:runFor(50)
      end
      return table.concat(w.srv:output(), '\n')
    end

    -- A player, even one holding the command's ACE, is refused; nothing is copied.
    local command = 'darkchat migrate-storage from-sqlite data/old.db'
    local told = w:playerTold(w.players[1], command, 'error: forbidden')
    T.ok(told, 'the player is told it is refused')
    local _, none = w:coreCall('list', nil)
    T.eq(#none, 0, 'nothing copied for a player')

    local out = run('darkchat migrate-storage from-sqlite data/old.db')
    has(out, 'migrate-storage from-sqlite ' .. file .. ' started')
    has(out, 'phones: 2 in the source, 2 copied')
    has(out, 'conversations: 1 in the source, 1 copied')
    has(out, 'members: 2 in the source, 2 copied')
    has(out, 'messages: 4 in the source, 4 copied')
    has(out, 'standalone_numbers: 0 in the source, 0 copied')
    has(
      out,
      'migrated 9 rows from '
        .. file
        .. ' to mysql database '
        .. w.mysqlDatabase
        .. '; the source is unchanged'
    )
    T.eq(World.checksumOf(file), before, 'the source is unchanged')
    local _, list = w:coreCall('list', nil)
    T.eq(#list, 1)
    T.eq(list[1].id, id)
    T.eq(list[1].name, 'Moving')
    local created = w:call('Darkchat_CreateConversationByNumber', '5550103', 'Next').newConv.id
    T.ok(created > gone, ('%d > %d: ids never reused'):format(created, gone))

    out = run('darkchat migrate-storage from-sqlite data/old.db')
    has(out, 'refused: the mysql database ' .. w.mysqlDatabase .. ' already holds Darkchat data')
    out = run('darkchat migrate-storage to-sqlite data/old.db')
    has(out, 'already exists; name a new file; nothing written')
    out = run('darkchat migrate-storage to-sqlite')
    has(out, 'usage: darkchat migrate-storage from-sqlite [file] | to-sqlite <file>')
    out = run('darkchat migrate-storage to-sqlite data/new.db')
    has(out, 'conversations: 2 in the source, 2 copied')
    has(out, 'migrated ')
    w:stop()

    -- On SQLite storage the command says what it needs.
    local onSqlite = World.new({ storage = 'sqlite', core = 'native' })
    onSqlite.srv:clearOutput()
    onSqlite.srv:console('darkchat migrate-storage from-sqlite')
    has(table.concat(onSqlite.srv:output(), '\n'), 'run it while darkchat:storage is mysql')
    onSqlite:stop()
  end
)
