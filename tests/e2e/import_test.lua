-- `darkchat import npwd|lbphone [--dry-run]` from the console of a running resource (the wasm
-- core, on SQLite and on MySQL storage): NPWD's tables and QBCore's `players` seeded in the
-- test MariaDB (the database of mysql_connection_string), a dry run that writes nothing, the
-- import, a second run that imports nothing; players refused; the native core says in one line
-- that importing needs the wasm core. The detailed rules are tested in
-- tests/wasm/import.test.js.

local T = require('testlib')
local World = require('world')

local function has(out, text)
  T.ok(out:find(text, 1, true), ('expected %q in:\n%s'):format(text, out))
end

--- The parts of DARKCHAT_MYSQL.
local function server()
  local url = assert(
    os.getenv('DARKCHAT_MYSQL'),
    'DARKCHAT_MYSQL is not set (scripts/test.sh starts a MariaDB)'
  )
  local user, password, host, port = url:match('^mysql://([^:@/]+):([^@/]*)@([^:/]+):(%d+)')
  return { user = user, password = password, host = host, port = port }
end

local function mariadb(database, sql)
  local m = server()
  local file = T.tmpdir() .. '/seed.sql'
  T.write(file, sql)
  return T.sh(
    ('mariadb --no-defaults --batch --skip-column-names -h %s -P %s -u %s -p%s %s < %q'):format(
      m.host,
      m.port,
      m.user,
      m.password,
      database,
      file
    )
  )
end

-- NPWD's darkchat tables as its import.sql creates them (the columns the import reads), and
-- QBCore's players table.
local SEED = [[
CREATE TABLE npwd_darkchat_channels (id INT NOT NULL AUTO_INCREMENT, channel_identifier VARCHAR(191) NOT NULL,
  label VARCHAR(255) NULL DEFAULT '', PRIMARY KEY (id), UNIQUE KEY (channel_identifier));
CREATE TABLE npwd_darkchat_channel_members (channel_id INT NOT NULL, user_identifier VARCHAR(255) NOT NULL,
  is_owner TINYINT NOT NULL DEFAULT 0, KEY (channel_id));
CREATE TABLE npwd_darkchat_messages (id INT NOT NULL AUTO_INCREMENT, channel_id INT NOT NULL,
  message VARCHAR(255) NOT NULL, user_identifier VARCHAR(255) NOT NULL,
  createdAt TIMESTAMP NOT NULL DEFAULT current_timestamp(), is_image TINYINT NOT NULL DEFAULT 0,
  PRIMARY KEY (id), KEY (channel_id));
CREATE TABLE players (citizenid VARCHAR(50) NOT NULL, charinfo TEXT, PRIMARY KEY (citizenid));
INSERT INTO players VALUES ('CIT_A', '{"phone":"5550101"}'), ('CIT_B', '{"phone":"5550102"}');
INSERT INTO npwd_darkchat_channels VALUES (1, 'smugglers', 'Smugglers'), (2, 'no code here', 'Docks');
INSERT INTO npwd_darkchat_channel_members VALUES (1, 'CIT_A', 1), (1, 'CIT_B', 0), (1, 'CIT_B', 0),
  (1, 'CIT_X', 0), (2, 'CIT_B', 1);
INSERT INTO npwd_darkchat_messages (channel_id, message, user_identifier, createdAt) VALUES
  (1, 'the boat is ready', 'CIT_A', FROM_UNIXTIME(1700000000)),
  (1, 'on my way', 'CIT_B', FROM_UNIXTIME(1700000060));
]]

--- Runs a console line and lets the import (js/host.js, real time) finish.
local function run(w, line)
  w.srv:clearOutput()
  w.srv:console(line)
  for _ = 1, 200 do
    local said = table.concat(w.srv:output(), '\n')
    if said:find('import npwd: ', 1, true) or said:find('import refused', 1, true) then break end
    w.srv:runJs(50)
    w.srv:runFor(50)
  end
  return table.concat(w.srv:output(), '\n')
end

for _, storage in ipairs({ 'sqlite', 'mysql' }) do
  T.test(('import npwd from the console (wasm core, %s storage)'):format(storage), function()
    local convars = {}
    local source
    if storage == 'sqlite' then
      -- The source is read over mysql_connection_string while Darkchat keeps its SQLite file.
      local m = server()
      source = 'darkchat_e2e_import_src'
      mariadb('', ('DROP DATABASE IF EXISTS %s; CREATE DATABASE %s'):format(source, source))
      convars.mysql_connection_string = ('mysql://%s:%s@%s:%s/%s'):format(
        m.user,
        m.password,
        m.host,
        m.port,
        source
      )
    end
    local w = World.new({ storage = storage, core = 'wasm', convars = convars })
    source = source or w.mysqlDatabase
    mariadb(source, SEED)

    -- A player, even holding the command's ACE, is refused.
    local told = w:playerTold(w.players[1], 'darkchat import npwd', 'error: forbidden')
    T.ok(told, 'the player is told it is refused')

    has(run(w, 'darkchat import'), 'usage: darkchat import npwd|lbphone [--dry-run]')
    has(run(w, 'darkchat import npwd --now'), 'usage: darkchat import npwd|lbphone [--dry-run]')

    local dry = run(w, 'darkchat import npwd --dry-run')
    has(dry, 'import npwd (dry run: nothing is written) started')
    has(dry, 'npwd channel 1 "Smugglers": member CIT_B skipped: a repeated member row')
    has(
      dry,
      'npwd channel 1 "Smugglers": member CIT_X skipped: no phone number (players.citizenid CIT_X not found)'
    )
    has(
      dry,
      'import npwd: dry run: would import 2 channels as conversations (join codes: 1 kept, 1 generated), 3 members (2 skipped), 2 messages (0 skipped); 0 already imported, 0 not imported; nothing written'
    )
    local _, none = w:coreCall('list', nil)
    T.eq(#none, 0, 'a dry run writes nothing')

    local out = run(w, 'darkchat import npwd')
    has(
      out,
      'import npwd: imported 2 channels as conversations (join codes: 1 kept, 1 generated), 3 members (2 skipped), 2 messages (0 skipped); 0 already imported, 0 not imported; the source tables are unchanged'
    )
    local _, list = w:coreCall('list', nil)
    T.eq(#list, 2)
    local id
    for _, c in ipairs(list) do
      if c.name == 'Smugglers' then id = c.id end
    end
    local _, smugglers = w:coreCall('conversation', nil, id)
    T.eq(smugglers.name, 'Smugglers')
    T.eq(smugglers.joinCode, 'SMUGGLERS')
    T.eq(smugglers.owner, '5550101')
    T.eq(smugglers.recipients, { '5550101', '5550102' })
    T.eq(#smugglers.messages, 2)
    T.eq(smugglers.messages[2].content, 'on my way')
    T.eq(smugglers.messages[2].createdAt, 1700000060)
    -- The imported conversation is an ordinary one: its members use it as any other.
    local sent = w:call('Darkchat_SendMessageByNumber', '5550102', smugglers.id, 'still here')
    T.eq(sent.success, true)

    local again = run(w, 'darkchat import npwd')
    has(again, 'npwd channel 1: already imported as #' .. smugglers.id)
    has(
      again,
      'import npwd: imported 0 channels as conversations (join codes: 0 kept, 0 generated), 0 members (0 skipped), 0 messages (0 skipped); 2 already imported, 0 not imported'
    )
    local _, after = w:coreCall('list', nil)
    T.eq(#after, 2, 'a second run imports nothing')
    w:stop()
  end)
end

T.test('import on the native core says in one line that it needs the wasm core', function()
  local w = World.new({ storage = 'sqlite', core = 'native' })
  w.srv:clearOutput()
  w.srv:console('darkchat import lbphone --dry-run')
  local out = table.concat(w.srv:output(), '\n')
  has(
    out,
    "import runs on the wasm core (js/host.js reads the other phone's tables and hands them to it); this server runs the native core"
  )
  w:stop()
end)
