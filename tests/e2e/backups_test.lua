-- Backups, restores and what a start says about the database, on the core the run selects
-- (DARKCHAT_CORE=wasm: the JS host copies in small steps between calls; native: a thread):
-- `darkchat backup` while the server writes, automatic backups with rotation, `darkchat
-- restore` and its refusals, the start line, and long migrations announcing themselves.

local T = require('testlib')
local World = require('world')

--- A resource folder of its own with `Config.Backups` set (nil: as shipped), and a World on it
--- whose database is data/darkchat.db inside.
local function world(backups, opts)
  local dir = World.resourceWithConfig(function(text)
    if not backups then return text end
    return text
      .. ('\nConfig.Backups = { intervalMinutes = %s, keep = %d }\n'):format(
        backups.intervalMinutes,
        backups.keep
      )
  end)
  opts = opts or {}
  if opts.before then opts.before(dir) end
  local w = World.new({ resourceDir = dir, db = dir .. '/data/darkchat.db' })
  return w, dir
end

local function said(w) return table.concat(w.srv:output(), '\n') end

local function sql(path, statement) return T.sh(('sqlite3 %q %q'):format(path, statement)) end

--- Drives the server (emulated time, and real time for the native backup thread) until its
--- output holds `pattern` (plain) or an error line; returns the output.
local function until_said(w, pattern, seconds)
  local out, deadline = '', os.time() + (seconds or 30)
  repeat
    w.srv:runFor(100)
    os.execute('sleep 0.02')
    out = said(w)
  until out:find(pattern, 1, true) or out:find('error:', 1, true) or os.time() > deadline
  return out
end

local function fill(w, messages)
  local id = w:call('Darkchat_CreateConversationByNumber', '5550101', 'Busy').newConv.id
  for i = 1, messages do
    w:call('Darkchat_SendMessageByNumber', '5550101', id, 'before ' .. i)
  end
  return id
end

--- The live database's message count, through the core.
local function messages(w)
  local ok, stats = w:coreCall('stats')
  T.ok(ok, 'stats')
  return stats.messages
end

local function exists(path)
  return T.sh(('test -e %q -o -L %q && echo yes'):format(path, path)):find('yes', 1, true) ~= nil
end

T.test(
  'backup: a checked, single-file copy while the server keeps writing; never overwrites',
  function()
    local w, dir = world({ intervalMinutes = 0, keep = 0 })
    local id = fill(w, 3000)
    w.srv:clearOutput()
    w.srv:console('darkchat backup data/backups/manual.db')
    local target = dir .. '/data/backups/manual.db'
    T.ok(said(w):find('backup to ' .. target .. ' started', 1, true), said(w))
    -- The server answers while the copy runs (on wasm, between its steps).
    for i = 1, 30 do
      T.eq(w:call('Darkchat_SendMessageByNumber', '5550101', id, 'during ' .. i).success, true)
      w.srv:runFor(5)
    end
    T.ok(until_said(w, 'backup written'):find('backup written to ' .. target, 1, true), said(w))
    T.eq(
      sql(
        target,
        "PRAGMA integrity_check; SELECT count(*) FROM messages WHERE content LIKE 'before %';"
      ),
      'ok\n3000\n'
    )
    T.eq(sql(target, 'PRAGMA journal_mode;'), 'delete\n', 'a single file: no log needed beside it')
    T.ok(not exists(target .. '-wal'), 'no -wal beside the copy')
    T.eq(T.sh(('stat -c %%a %q'):format(target)), '600\n')
    local before = T.sh(('sha256sum < %q'):format(target))
    w.srv:clearOutput()
    w.srv:console('darkchat backup data/backups/manual.db')
    T.ok(until_said(w, 'already exists'):find('already exists', 1, true), said(w))
    T.eq(T.sh(('sha256sum < %q'):format(target)), before, 'the existing file is untouched')
    w:stop()
  end
)

T.test(
  'automatic backups: one line each, checked, rotated beyond keep; other files untouched',
  function()
    local w, dir = world({ intervalMinutes = 1, keep = 2 })
    fill(w, 50)
    local folder = dir .. '/data/backups'
    os.execute(('mkdir -p %q && echo mine > %q'):format(folder, folder .. '/mine.db'))
    w.srv:clearOutput()
    for round = 1, 3 do
      if round > 1 then os.execute('sleep 1.1') end -- names are by the second
      w.srv:runFor(60000)
      local out, count, deadline = '', 0, os.time() + 30
      repeat
        w.srv:runFor(100)
        os.execute('sleep 0.02')
        out = said(w)
        count = select(
          2,
          out:gsub('automatic backup data/backups/darkchat%-%d+%-%d+%.db written and checked', '')
        )
      until count >= round or out:find('failed', 1, true) or os.time() > deadline
      T.eq(count, round, out)
    end
    local out = said(w)
    T.ok(out:find('2 older removed', 1, true) == nil, 'at most one removed per round: ' .. out)
    T.ok(out:find('1 older removed (keeping 2)', 1, true), out)
    local names = T.sh(('ls %q'):format(folder))
    local _, autos = names:gsub('darkchat%-%d+%-%d+%.db', '')
    T.eq(autos, 2, names)
    T.ok(names:find('mine.db', 1, true), 'a file named otherwise stays: ' .. names)
    for name in names:gmatch('(darkchat%-%d+%-%d+%.db)') do
      T.eq(
        sql(folder .. '/' .. name, 'PRAGMA integrity_check; SELECT count(*) FROM messages;'),
        ('ok\n%d\n'):format(messages(w)),
        name
      )
    end
    local _, failures = out:gsub('automatic backup failed', '')
    T.eq(failures, 0, out)
    w:stop()
  end
)

T.test(
  'restore: refusals change nothing; with --yes the backup replaces the live data, the old one is kept',
  function()
    local w, dir = world({ intervalMinutes = 0, keep = 0 })
    local id = fill(w, 10)
    local folder = dir .. '/data/backups'
    w.srv:console('darkchat backup data/backups/ten.db')
    until_said(w, 'backup written')
    local inBackup = messages(w)
    for i = 11, 15 do
      w:call('Darkchat_SendMessageByNumber', '5550101', id, 'after ' .. i)
    end
    local live = w:checksum()
    local function refused(command, pattern)
      w.srv:clearOutput()
      w.srv:console(command)
      w.srv:runFor(100)
      local out = said(w)
      T.ok(out:find(pattern, 1, true), command .. ': ' .. out)
      local lines = select(2, out:gsub('\n', '')) + 1
      T.eq(lines, 1, 'one line: ' .. out)
      T.eq(w:checksum(), live, command .. ' changed nothing')
    end
    refused('darkchat restore data/backups/ten.db', 'repeat with --yes')
    T.write(folder .. '/corrupt.db', ('garbage '):rep(1000))
    refused('darkchat restore data/backups/corrupt.db --yes', 'refused:')
    sql(
      folder .. '/foreign.db',
      'CREATE TABLE invoices (id INTEGER PRIMARY KEY); INSERT INTO invoices VALUES (1);'
    )
    refused('darkchat restore data/backups/foreign.db --yes', 'not a Darkchat database')
    T.write(folder .. '/empty.db', '')
    refused('darkchat restore data/backups/empty.db --yes', 'refused:')
    os.execute(('ln -s %q %q'):format(folder .. '/ten.db', folder .. '/link.db'))
    refused('darkchat restore data/backups/link.db --yes', 'a link')
    refused('darkchat restore data/backups/missing.db --yes', 'refused:')
    T.eq(
      sql(folder .. '/foreign.db', 'SELECT count(*) FROM invoices;'),
      '1\n',
      'the foreign file is left as it was'
    )
    T.ok(not exists(dir .. '/data/darkchat.db.restoring'), 'no staged copy left behind')
    -- A player with the ACE names a plain file in data/backups only.
    for _, name in ipairs({
      '../darkchat.db',
      dir .. '/data/backups/ten.db',
      'sub/ten.db',
      '.hidden',
    }) do
      local command = 'darkchat restore ' .. name .. ' --yes'
      local refused, told = w:playerTold(w.players[1], command, 'invalid_argument')
      T.ok(refused, name .. ': ' .. told)
      T.eq(w:checksum(), live, name .. ' changed nothing')
    end

    w.srv:clearOutput()
    w.srv:console('darkchat restore data/backups/ten.db --yes')
    w.srv:runFor(100)
    local out = said(w)
    local kept = out:match('the database it replaced is kept as (%S+)')
    T.ok(kept, out)
    T.eq(messages(w), inBackup, "the backup's messages")
    T.eq(
      sql(kept, 'PRAGMA integrity_check; SELECT count(*) FROM messages;'),
      ('ok\n%d\n'):format(inBackup + 5),
      'the replaced data is kept'
    )
    -- The restored database serves writes.
    T.eq(w:call('Darkchat_SendMessageByNumber', '5550101', id, 'after restore').success, true)
    w:stop()
  end
)

if World.defaultCore == 'native' then
  T.test(
    'restore: refused while another native server has the database open, changing nothing',
    function()
      local w, dir = world({ intervalMinutes = 0, keep = 0 })
      fill(w, 3)
      w.srv:console('darkchat backup data/backups/three.db')
      until_said(w, 'backup written')
      local live = w:checksum()
      -- A second native server on the same file (native servers may share one), held open for
      -- as long as the flag file exists.
      local flag = os.tmpname()
      local holder = io.popen(
        ('lua5.4 -e %q'):format(([[
      package.cpath = %q .. "/bin/?.so;" .. package.cpath
      local core = assert(require("darkchat").open({ path = %q }))
      io.write("open\n"); io.flush()
      while io.open(%q) do os.execute("sleep 0.05") end
      core:close()
    ]]):format(T.repoRoot, dir .. '/data/darkchat.db', flag)),
        'r'
      )
      T.eq(holder:read('l'), 'open')
      w.srv:clearOutput()
      w.srv:console('darkchat restore data/backups/three.db --yes')
      w.srv:runFor(100)
      local out = said(w)
      os.remove(flag)
      holder:close()
      T.ok(
        out:find('is also open in process %d+ %(native core%)')
          and out:find('nothing changed', 1, true),
        out
      )
      T.eq(w:checksum(), live, 'the live database is the same')
      T.ok(not exists(dir .. '/data/darkchat.db.restoring'), 'no staged copy left behind')
      -- Once the other server is gone, the same restore goes through.
      w.srv:clearOutput()
      w.srv:console('darkchat restore data/backups/three.db --yes')
      w.srv:runFor(100)
      T.ok(said(w):find('the database it replaced is kept as', 1, true), said(w))
      w:stop()
    end
  )
end

T.test(
  "start: the database's place and size; a missing database with backups names the restore command",
  function()
    local w, dir = world({ intervalMinutes = 0, keep = 0 })
    fill(w, 20)
    local count = messages(w)
    T.ok(said(w):find(('ready (database %s/data/darkchat.db, '):format(dir), 1, true), said(w))
    w.srv:console('darkchat backup data/backups/last.db')
    until_said(w, 'backup written')
    w:stop()
    -- An update that lost the database but kept data/backups.
    for _, suffix in ipairs({ '', '-wal', '-shm', '.lock' }) do
      os.remove(dir .. '/data/darkchat.db' .. suffix)
    end
    local again = World.new({ resourceDir = dir, db = dir .. '/data/darkchat.db' })
    local out = said(again)
    T.ok(
      out:find(
        'backups exist; the newest is data/backups/last.db: to restore it, darkchat restore data/backups/last.db',
        1,
        true
      ),
      out
    )
    again.srv:clearOutput()
    again.srv:console('darkchat restore data/backups/last.db')
    again.srv:runFor(100)
    T.ok(
      said(again):find('restored ', 1, true),
      'an empty database is replaced without --yes: ' .. said(again)
    )
    T.eq(messages(again), count)
    again:stop()
  end
)

T.test('a long migration says what it does on how many messages, and how long it took', function()
  local _, dir = world({ intervalMinutes = 0, keep = 0 }, { before = function() end })
  local db = T.tmpdir() .. '/old.db'
  local initial = T.repoRoot .. '/migrations/0001_initial.sql'
  T.sh(('sqlite3 %q < %q'):format(db, initial))
  local rows = {
    'PRAGMA user_version = 1;',
    "INSERT INTO phones (id, number) VALUES (1, '5550101');",
    "INSERT INTO conversations (id, name, created_by, owner_id, join_code, created_at, updated_at) VALUES (1, 'Old', 1, 1, 'OLD1', 1, 1);",
    'INSERT INTO members (conversation_id, phone_id, joined_at) VALUES (1, 1, 1);',
  }
  for i = 1, 42 do
    rows[#rows + 1] = ("INSERT INTO messages (conversation_id, sender_id, kind, content, created_at) VALUES (1, 1, 'text', 'm%d', 1);"):format(
      i
    )
  end
  rows[#rows + 1] = 'UPDATE conversations SET last_message_id = 42;'
  T.write(db .. '.sql', table.concat(rows, '\n'))
  T.sh(('sqlite3 %q < %q'):format(db, db .. '.sql'))
  os.execute(('mkdir -p %q && cp %q %q'):format(dir .. '/data', db, dir .. '/data/old.db'))
  local w = World.new({ resourceDir = dir, db = dir .. '/data/old.db' })
  local out = said(w)
  T.ok(
    out:find(
      'migrating: indexing messages for pages and listings (0002_read_paths) on 42 messages',
      1,
      true
    ),
    out
  )
  T.ok(
    out:find(
      'migrating: indexing messages for unread counts (0003_unread_index) on 42 messages',
      1,
      true
    ),
    out
  )
  T.ok(
    out:find(
      'migrating: giving members aliases and rewriting messages to name them (0004_anonymity) on 42 messages',
      1,
      true
    ),
    out
  )
  T.ok(
    out:find(
      'migrating: rebuilding messages for replies, deletion, images and locations (0005_message_features) on 42 messages',
      1,
      true
    ),
    out
  )
  T.ok(
    out:find(
      'migrating: indexing messages by time for disappearing messages (0008_retention) on 42 messages',
      1,
      true
    ),
    out
  )
  local _, done = out:gsub('migrating: [^\n]- done in %d+%.%d s', '')
  T.eq(done, 5, out)
  local before = out:find('on 42 messages', 1, true)
  T.ok(before < out:find(' ready (database', 1, true), 'before the ready line')
  T.eq(messages(w), 42)
  w:stop()
end)

if os.getenv('DARKCHAT_MYSQL') then
  T.test("MySQL storage: backup and restore answer in one line that they are SQLite's", function()
    local w = World.new({ storage = 'mysql' })
    for _, command in ipairs({ 'darkchat backup x.db', 'darkchat restore x.db --yes' }) do
      w.srv:clearOutput()
      w.srv:console(command)
      w.srv:runFor(100)
      T.eq(w.srv:output(), {
        '[script:17mov_Phone] backups and restores are for SQLite storage; darkchat:storage is mysql: back the MySQL database up with its own tools (mysqldump, mariadb-backup)',
      }, command)
    end
    w:stop()
  end)
end
