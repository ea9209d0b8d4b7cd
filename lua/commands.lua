-- The `darkchat` admin command: `darkchat help` lists the subcommands. Registered restricted:
-- the console may always use it; a player needs the ACE `command.darkchat`. Every subcommand
-- checks its arguments before touching anything and answers in one aligned block or one
-- error line with a hint. A failing handler prints a line instead of killing the command.
--
-- Text that players or scripts wrote (names, messages, numbers, error details) is shown
-- escaped on one line (`shown`): a newline in a message must not print a second, forged
-- console line, nor a right-to-left override turn the rest of a line around.

local Actions <const> = Darkchat.Actions
local Bridge <const> = Darkchat.Bridge
local Wire <const> = Darkchat.Wire

local COMMAND = 'darkchat'
local LIST_LIMIT = 50
local LAST_MESSAGE_CHARS = 40
local SHOW_MESSAGES = 10
-- Where a player's backups go, under a plain file name: the command's ACE must not let a
-- player write wherever the server can (absolute paths, `..`). The console names any path.
local BACKUP_FOLDER = Darkchat.BACKUP_FOLDER
local BACKUP_NAME = '^[%w_%-][%w_%.%-]*$' -- letters, digits, `_ - .`; no folders, not hidden
local BACKUP_NAME_MAX = 100
local SQLITE_ONLY =
  'backups and restores are for SQLite storage; darkchat:storage is mysql: back the MySQL database up with its own tools (mysqldump, mariadb-backup)'

--- The file a backup or restore names: a player's plain name in BACKUP_FOLDER; the console's
--- path as given, relative ones under the resource folder. Returns the path, or nil and the
--- error line.
local function backupPath(word, src)
  if src ~= 0 then
    if #word > BACKUP_NAME_MAX or not word:match(BACKUP_NAME) then
      return nil,
        ('error: invalid_argument (a player names a plain file (letters, digits, _ - .), kept in %s)'):format(
          BACKUP_FOLDER
        )
    end
    return Darkchat.resourceFile(BACKUP_FOLDER .. '/' .. word)
  end
  return Darkchat.resourceFile(word)
end

--- Runs a backup to `path` (the core copies it off the server's tick: a thread natively, small
--- steps between calls on the wasm core) and calls `finished(ok, code, message)` when it ended.
function Darkchat.backup(path, finished)
  local ok, job, message = Darkchat.call('startBackup', path)
  if not ok then return finished(false, job, message) end
  CreateThread(function()
    while true do
      local done, result, detail = Darkchat.call('backupStatus', job)
      if not done then return finished(false, result, detail) end
      if result == 'done' then return finished(true) end
      Wait(50)
    end
  end)
  return true
end

-- Code points shown as escapes besides the control characters: those that render as nothing
-- or reorder the text around them. The same set names refuse (src/input.rs INVISIBLE): every
-- format character (Unicode category Cf), the line and paragraph separators, and the other
-- invisible ones (combining grapheme joiner, fillers, free variation selectors, Braille blank).
-- Sorted, as inclusive ranges.
local INVISIBLE = {
  { 0x00AD, 0x00AD },
  { 0x034F, 0x034F },
  { 0x0600, 0x0605 },
  { 0x061C, 0x061C },
  { 0x06DD, 0x06DD },
  { 0x070F, 0x070F },
  { 0x0890, 0x0891 },
  { 0x08E2, 0x08E2 },
  { 0x115F, 0x1160 },
  { 0x17B4, 0x17B5 },
  { 0x180B, 0x180F },
  { 0x200B, 0x200F },
  { 0x2028, 0x202E },
  { 0x2060, 0x2064 },
  { 0x2066, 0x206F },
  { 0x2800, 0x2800 },
  { 0x3164, 0x3164 },
  { 0xFEFF, 0xFEFF },
  { 0xFFA0, 0xFFA0 },
  { 0xFFF9, 0xFFFB },
  { 0x110BD, 0x110BD },
  { 0x110CD, 0x110CD },
  { 0x13430, 0x1343F },
  { 0x1BCA0, 0x1BCA3 },
  { 0x1D173, 0x1D17A },
  { 0xE0001, 0xE0001 },
  { 0xE0020, 0xE007F },
}
local NAMED_ESCAPES = { [0x5C] = '\\\\', [0x0A] = '\\n', [0x0D] = '\\r', [0x09] = '\\t' }

local function escaped(c)
  if NAMED_ESCAPES[c] then return NAMED_ESCAPES[c] end
  if c < 0x20 or (c >= 0x7F and c <= 0x9F) then return ('\\u{%04X}'):format(c) end
  for _, range in ipairs(INVISIBLE) do
    if c < range[1] then break end
    if c <= range[2] then return ('\\u{%04X}'):format(c) end
  end
  return utf8.char(c)
end

--- User-written text for one console line: escaped (controls, invisible and bidirectional
--- characters, backslashes), and with `max` given cut to at most `max` characters, whole
--- characters only, a `…` marking the cut.
---@param text any
---@param max integer?
---@return string
local function shown(text, max)
  text = tostring(text)
  local length = utf8.len(text)
  if not length then -- not UTF-8 (the core never answers such text): every odd byte escaped
    return (text:gsub('[\0-\31\127-\255\\]', function(b) return ('\\x{%02X}'):format(b:byte()) end))
  end
  if max and length > max then text = text:sub(1, utf8.offset(text, max) - 1) .. '…' end
  if not text:find('[^ -~]') and not text:find('\\', 1, true) then return text end -- printable ASCII
  local out = {}
  for _, c in utf8.codes(text) do
    out[#out + 1] = escaped(c)
  end
  return table.concat(out)
end

local function say(src, line)
  if src == 0 then
    print(line)
  else
    TriggerClientEvent('chat:addMessage', src, { args = { 'darkchat', line } })
  end
end

--- Splits a command line into words; "double quoted" words keep their spaces. Returns the
--- words and, for each, whether it was quoted.
---@param line string
---@return string[] words, boolean[] quoted
local function tokenize(line)
  local words, quoted = {}, {}
  local i, n = 1, #line
  while i <= n do
    local c = line:sub(i, i)
    if c:match('%s') then
      i = i + 1
    elseif c == '"' then
      local close = line:find('"', i + 1, true) or (n + 1)
      words[#words + 1], quoted[#words + 1] = line:sub(i + 1, close - 1), true
      i = close + 1
    else
      local stop = line:find('[%s"]', i) or (n + 1)
      words[#words + 1], quoted[#words + 1] = line:sub(i, stop - 1), false
      i = stop
    end
  end
  return words, quoted
end

--- Left-aligned columns.
---@param rows string[][]
local function columns(rows)
  local widths = {}
  for _, row in ipairs(rows) do
    for i, cell in ipairs(row) do
      widths[i] = math.max(widths[i] or 0, utf8.len(cell) or #cell)
    end
  end
  local lines = {}
  for _, row in ipairs(rows) do
    local cells = {}
    for i, cell in ipairs(row) do
      local pad = i < #row and (' '):rep(widths[i] - (utf8.len(cell) or #cell)) or ''
      cells[i] = cell .. pad
    end
    lines[#lines + 1] = table.concat(cells, '  ')
  end
  return lines
end

local function when(t) return os.date('!%Y-%m-%d %H:%M', t) end

--- A positive integer id from a word, or nil.
local function parseId(word)
  local id = Darkchat.integer(word or '')
  if id and id > 0 then return id end
end

local commands = {}
local order = {}

local function command(name, syntax, summary, run)
  commands[name] = { syntax = syntax, summary = summary, run = run }
  order[#order + 1] = name
end

local function usage(name) return ('usage: darkchat %s %s'):format(name, commands[name].syntax) end

local function failed(code, message)
  return ('error: %s%s'):format(code, message and (' (' .. shown(message) .. ')') or '')
end

command('help', '', 'this list', function()
  local rows = {}
  for _, name in ipairs(order) do
    rows[#rows + 1] = {
      'darkchat ' .. name .. (commands[name].syntax ~= '' and ' ' .. commands[name].syntax or ''),
      commands[name].summary,
    }
  end
  return columns(rows)
end)

command(
  'create',
  '<number> <name...> | <number> "<name>" [code]',
  'create a conversation owned by <number>',
  function(words, quoted)
    local number = words[1]
    if not number or not words[2] then return { usage('create') } end
    local name, code
    if quoted[2] then
      name, code = words[2], words[3]
      if words[4] then return { usage('create') } end
    else
      name = table.concat(words, ' ', 2)
    end
    local ok, c, detail = Actions.create(number, name, code)
    if not ok then return { failed(c, detail) } end
    return {
      ('created #%d "%s" code %s owner %s'):format(c.id, shown(c.name), c.joinCode, shown(c.owner)),
    }
  end
)

command('add', '<number> <id>', 'add a number to a conversation', function(words)
  local id = parseId(words[2])
  if not words[1] or not id or words[3] then return { usage('add') } end
  local ok, code = Actions.add(words[1], id)
  if not ok then return { failed(code) } end
  return { ('added %s to #%d'):format(shown(words[1]), id) }
end)

command('remove', '<number> <id>', 'remove a number from a conversation', function(words)
  local id = parseId(words[2])
  if not words[1] or not id or words[3] then return { usage('remove') } end
  local ok, code = Actions.kick(nil, id, words[1], false)
  if not ok then return { failed(code) } end
  return { ('removed %s from #%d'):format(shown(words[1]), id) }
end)

command('list', '[number]', "all conversations (newest first), or one number's", function(words)
  if words[2] then return { usage('list') } end
  local ok, list, message = Darkchat.call('list', words[1])
  if not ok then return { failed(list, message) } end
  if #list == 0 then return { 'no conversations' } end
  local rows = { { 'ID', 'NAME', 'CODE', 'OWNER', 'UPDATED', 'LAST MESSAGE' } }
  for i = 1, math.min(#list, LIST_LIMIT) do
    local c = list[i]
    local last = c.messages[#c.messages]
    rows[#rows + 1] = {
      '#' .. c.id,
      shown(c.name),
      c.joinCode,
      shown(c.owner),
      when(c.updatedAt),
      last and shown(last.content, LAST_MESSAGE_CHARS) or '-',
    }
  end
  local lines = columns(rows)
  if #list > LIST_LIMIT then lines[#lines + 1] = ('... %d more'):format(#list - LIST_LIMIT) end
  return lines
end)

--- A message's text for a console line: escaped, or what stands for it (a deletion, an image,
--- a location), with an edit and the message answered said.
---@param m table the core's message
---@return string
local function messageText(m)
  local text
  if m.deleted then
    text = '(deleted)'
  elseif m.type == 'image' and m.data then
    text = '[image ' .. shown(m.data.url) .. ']'
  elseif m.type == 'location' and m.data then
    text = ('[location %.1f, %.1f, %.1f%s]'):format(
      m.data.x,
      m.data.y,
      m.data.z,
      m.data.label and (' ' .. shown(m.data.label)) or ''
    )
  else
    text = shown(m.content)
  end
  if m.replyTo then text = ('(reply to #%d) %s'):format(m.replyTo.id, text) end
  if m.edited then text = text .. ' (edited)' end
  return text
end

command('show', '<id>', 'one conversation: fields, members, last messages', function(words)
  local id = parseId(words[1])
  if not id or words[2] then return { usage('show') } end
  local ok, c, message = Darkchat.call('conversation', nil, id)
  if not ok then return { failed(c, message) } end
  local lines = columns({
    { 'id', '#' .. c.id },
    { 'name', shown(c.name) },
    { 'code', c.joinCode },
    { 'owner', shown(c.owner) },
    { 'created', when(c.createdAt) },
    { 'updated', when(c.updatedAt) },
    { 'members', tostring(#c.recipients) },
  })
  for _, number in ipairs(c.recipients) do
    lines[#lines + 1] = ('  %s%s'):format(shown(number), number == c.owner and '  (owner)' or '')
  end
  lines[#lines + 1] = 'last messages:'
  local first = math.max(1, #c.messages - SHOW_MESSAGES + 1)
  for i = first, #c.messages do
    local m = c.messages[i]
    lines[#lines + 1] = ('  #%d  %s  %s%s'):format(
      m.id,
      when(m.createdAt),
      m.type == 'system' and '* ' or (shown(m.sender or '?') .. ': '),
      messageText(m)
    )
  end
  if #c.messages == 0 then lines[#lines + 1] = '  (none)' end
  return lines
end)

command('rename', '<id> <name...>', 'rename a conversation', function(words, quoted)
  local id = parseId(words[1])
  if not id or not words[2] or (quoted[2] and words[3]) then return { usage('rename') } end
  local name = table.concat(words, ' ', 2)
  local ok, code, detail = Actions.rename(nil, id, name)
  if not ok then return { failed(code, detail) } end
  return { ('renamed #%d to "%s"'):format(id, shown((name:gsub('^%s+', ''):gsub('%s+$', '')))) }
end)

command(
  'code',
  '<id>',
  'give a conversation a new join code (the old one stops working)',
  function(words)
    local id = parseId(words[1])
    if not id or words[2] then return { usage('code') } end
    local ok, code, message = Actions.regenerateCode(nil, id)
    if not ok then return { failed(code, message) } end
    return { ('#%d new code %s'):format(id, code) }
  end
)

command('delete', '<id> --yes', 'delete a conversation and all its messages', function(words)
  local id = parseId(words[1])
  if not id or (words[2] and words[2] ~= '--yes') or words[3] then return { usage('delete') } end
  if words[2] ~= '--yes' then
    local ok, c = Darkchat.call('conversation', nil, id)
    if not ok then return { failed(c) } end
    return {
      ('this deletes #%d "%s" with %d members and all messages; repeat with --yes'):format(
        id,
        shown(c.name),
        #c.recipients
      ),
    }
  end
  local ok, code, message = Actions.delete(nil, id)
  if not ok then return { failed(code, message) } end
  return { ('deleted #%d'):format(id) }
end)

command(
  'purge',
  '<id> <messageId>',
  'console only: delete one message (a tombstone stays; members are told)',
  function(words, _, src)
    -- Staff removing what a player wrote: the server console's alone, whatever ACE a player holds.
    if src ~= 0 then return { failed('forbidden', 'purge runs from the server console only') } end
    local id, messageId = parseId(words[1]), parseId(words[2])
    if not id or not messageId or words[3] then return { usage('purge') } end
    local ok, code, detail = Actions.deleteMessage(nil, id, messageId)
    if not ok then return { failed(code, detail) } end
    return { ('purged message #%d of #%d'):format(messageId, id) }
  end
)

command('stats', '', 'counts, database size, schema version, store path', function(words)
  if words[1] then return { usage('stats') } end
  local ok, s, message = Darkchat.call('stats')
  if not ok then return { failed(s, message) } end
  return columns({
    { 'conversations', tostring(s.conversations) },
    { 'memberships', tostring(s.memberships) },
    { 'messages', tostring(s.messages) },
    { 'phone numbers', tostring(s.phones) },
    { 'database size', ('%.1f KiB'):format(s.sizeBytes / 1024) },
    { 'schema version', tostring(s.schemaVersion) },
    { 'store', tostring(s.path) },
    { 'framework', tostring(Bridge.name) },
  })
end)

command('version', '', 'the build version, the core that runs and the storage', function(words)
  if words[1] then return { usage('version') } end
  local running = Darkchat.running
  if not running then
    return {
      ('Darkchat (no core running, version unknown; storage %s): see the [Darkchat] start line'):format(
        Darkchat.settings.storage
      ),
    }
  end
  return {
    ('Darkchat %s (%s core, storage %s)'):format(
      running.version,
      running.kind,
      Darkchat.settings.storage
    ),
  }
end)

command(
  'backup',
  '<file>',
  'consistent, checked copy of the live database while it serves; players: a plain file name, kept in '
    .. BACKUP_FOLDER,
  function(words, _, src)
    -- A blank name would be the resource folder itself, or a file named by spaces in it.
    if not words[1] or words[1]:match('^%s*$') or words[2] then return { usage('backup') } end
    local path, refusal = backupPath(words[1], src)
    if not path then return { refusal } end
    if Darkchat.settings.storage ~= 'sqlite' then return { SQLITE_ONLY } end
    local started = Darkchat.backup(path, function(ok, code, message)
      if ok then
        say(src, ('backup written to %s'):format(shown(path)))
      else
        say(src, failed(code, message))
      end
    end)
    if not started then return {} end
    return { ('backup to %s started'):format(shown(path)) }
  end
)

command(
  'restore',
  '<file> [--yes]',
  'replace the live database with a backup (checked first; the replaced one is kept in '
    .. BACKUP_FOLDER
    .. '); --yes when it holds data; players: a plain file name in '
    .. BACKUP_FOLDER,
  function(words, _, src)
    if
      not words[1]
      or words[1]:match('^%s*$')
      or (words[2] and words[2] ~= '--yes')
      or words[3]
    then
      return { usage('restore') }
    end
    local path, refusal = backupPath(words[1], src)
    if not path then return { refusal } end
    if Darkchat.settings.storage ~= 'sqlite' then return { SQLITE_ONLY } end
    local ok, s, message = Darkchat.call('stats')
    if not ok then return { failed(s, message) } end
    if (s.conversations > 0 or s.messages > 0) and words[2] ~= '--yes' then
      return {
        ('the live database holds %d conversations and %d messages; to replace it with %s (it is kept in %s), repeat with --yes'):format(
          s.conversations,
          s.messages,
          shown(path),
          BACKUP_FOLDER
        ),
      }
    end
    local keep = Darkchat.resourceFile(
      ('%s/before-restore-%s.db'):format(BACKUP_FOLDER, os.date('!%Y%m%d-%H%M%S'))
    )
    local restored, code, detail = Darkchat.call('restore', path, keep, Darkchat.log)
    if not restored then return { failed(code, detail) } end
    return {
      ('restored %s; the database it replaced is kept as %s'):format(shown(path), shown(keep)),
    }
  end
)

--- Runs a long core call (`method`: it answers `{ lines }` when done) in its own thread and
--- tells `src` each line of its report, or the failure.
local function reportWhenDone(src, method, ...)
  local args = table.pack(...)
  CreateThread(function()
    local ok, report, message = Darkchat.call(method, table.unpack(args, 1, args.n))
    if not ok then
      say(src, failed(report, message))
      return
    end
    for _, line in ipairs(report.lines or {}) do
      say(src, shown(line))
    end
  end)
end

command(
  'migrate-storage',
  'from-sqlite [file] | to-sqlite <file>',
  'console only, while darkchat:storage is mysql: copy the whole store from a SQLite file into the empty MySQL database, or from MySQL into a new SQLite file; ids kept, the source unchanged',
  function(words, _, src)
    -- A copy of every conversation, in or out: the server console's alone, whatever ACE a
    -- player holds.
    if src ~= 0 then
      return { failed('forbidden', 'migrate-storage runs from the server console only') }
    end
    local direction, file = words[1], words[2]
    if
      (direction ~= 'from-sqlite' and direction ~= 'to-sqlite')
      or words[3]
      or (direction == 'to-sqlite' and not file)
    then
      return { usage('migrate-storage') }
    end
    if Darkchat.settings.storage ~= 'mysql' then
      return {
        'migrate-storage copies between SQLite and MySQL: run it while darkchat:storage is mysql',
      }
    end
    file = file or Darkchat.settings.db
    file = Darkchat.resourceFile(file)
    -- The copy runs in pages (js/host.js awaits between them): report when it is done.
    reportWhenDone(src, 'migrateStorage', direction, file)
    return { ('migrate-storage %s %s started'):format(direction, shown(file)) }
  end
)

-- Staff tools and reports -------------------------------------------------------------------

local REPORTS_SHOWN = 20
local HISTORY_SHOWN = 20

--- A staff ban's end, for a line: `until <when> UTC` or `permanently`.
local function banEnd(ban)
  if ban.expiresAt then return ('until %s UTC'):format(when(ban.expiresAt)) end
  return 'permanently'
end

--- A member as staff see them: the number and, when known, the alias.
local function who(number, alias)
  if not number then return alias and shown(alias) or '?' end
  return alias and ('%s (%s)'):format(shown(number), shown(alias)) or shown(number)
end

command(
  'ban',
  '<number> [30m|12h|7d|permanent] [reason...]',
  'ban a number from Darkchat (every action refused; joins and adds answer banned)',
  function(words)
    if not words[1] then return { usage('ban') } end
    local reason = words[3] and table.concat(words, ' ', 3) or nil
    local ok, ban, detail = Actions.staffBan(words[1], words[2], reason)
    if not ok then return { failed(ban, detail) } end
    return {
      ('banned %s from Darkchat %s%s'):format(
        shown(ban.number),
        banEnd(ban),
        ban.reason and (' (' .. shown(ban.reason) .. ')') or ''
      ),
    }
  end
)

command('unban', '<number>', "lift a number's Darkchat ban", function(words)
  if not words[1] or words[2] then return { usage('unban') } end
  local ok, ban, detail = Actions.staffUnban(words[1])
  if not ok then return { failed(ban, detail) } end
  return { ('lifted the Darkchat ban of %s'):format(shown(ban.number)) }
end)

command('bans', '', 'numbers banned from Darkchat (newest first)', function(words)
  if words[1] then return { usage('bans') } end
  local ok, list, detail = Actions.staffBans(LIST_LIMIT + 1)
  if not ok then return { failed(list, detail) } end
  if #list == 0 then return { 'no staff bans' } end
  local rows = { { 'NUMBER', 'SINCE', 'UNTIL', 'REASON' } }
  for i = 1, math.min(#list, LIST_LIMIT) do
    local b = list[i]
    local ends = b.expiresAt and when(b.expiresAt) or 'permanent'
    rows[#rows + 1] = {
      shown(b.number),
      when(b.createdAt),
      ends,
      b.reason and shown(b.reason, LAST_MESSAGE_CHARS) or '-',
    }
  end
  local lines = columns(rows)
  if #list > LIST_LIMIT then
    lines[#lines + 1] = ('... more; the newest %d shown'):format(LIST_LIMIT)
  end
  return lines
end)

command(
  'messages',
  '<id> [n]',
  "a conversation's last n messages (20) with numbers and aliases, for moderation",
  function(words)
    local id = parseId(words[1])
    local n = words[2] and parseId(words[2])
    if not id or (words[2] and not n) or words[3] then return { usage('messages') } end
    local ok, list, detail = Actions.history(id, n or HISTORY_SHOWN)
    if not ok then return { failed(list, detail) } end
    if #list == 0 then return { ('#%d has no messages'):format(id) } end
    local lines = {}
    for _, m in ipairs(list) do
      local by = who(m.sender, m.senderAlias)
      if m.type == 'system' then
        lines[#lines + 1] = ('%s  %d  * %s  [%s]'):format(
          when(m.createdAt),
          m.id,
          shown(m.content),
          by
        )
      else
        lines[#lines + 1] = ('%s  %d  %s: %s'):format(when(m.createdAt), m.id, by, shown(m.content))
      end
    end
    return lines
  end
)

command(
  'reports',
  '[n] | dismiss <id>',
  'reported messages, newest first (20), with what they said; dismiss one when dealt with',
  function(words)
    if words[1] == 'dismiss' then
      local reportId = parseId(words[2])
      if not reportId or words[3] then return { usage('reports') } end
      local ok, report, detail = Actions.dismissReport(reportId)
      if not ok then return { failed(report, detail) } end
      return { ('dismissed report %d'):format(report.id) }
    end
    local n = words[1] and parseId(words[1])
    if (words[1] and not n) or words[2] then return { usage('reports') } end
    local ok, list, detail = Actions.reports(n or REPORTS_SHOWN)
    if not ok then return { failed(list, detail) } end
    if #list == 0 then return { 'no reports' } end
    local lines = {}
    for _, r in ipairs(list) do
      lines[#lines + 1] = ('report %d  %s  #%d message %d  by %s: %s'):format(
        r.id,
        when(r.createdAt),
        r.conversationId,
        r.messageId,
        who(r.reporter, r.reporterAlias),
        shown(r.reason)
      )
      lines[#lines + 1] = ('  %s wrote: %s'):format(who(r.sender, r.senderAlias), shown(r.content))
    end
    return lines
  end
)

command(
  'import',
  'npwd|lbphone [--dry-run]',
  "console only: bring in NPWD's or lb-phone's dark chat from the database of mysql_connection_string (channels, members, messages); --dry-run reports and writes nothing; never imports a channel twice",
  function(words, _, src)
    -- Reads every channel of another phone and writes conversations: the server console's
    -- alone, whatever ACE a player holds.
    if src ~= 0 then return { failed('forbidden', 'import runs from the server console only') } end
    local peer, flag = words[1], words[2]
    if (peer ~= 'npwd' and peer ~= 'lbphone') or (flag and flag ~= '--dry-run') or words[3] then
      return { usage('import') }
    end
    local running = Darkchat.running
    if running and running.kind ~= 'wasm' then
      -- The source is read by js/host.js, which hands each channel to the wasm core it serves.
      return {
        ("import runs on the wasm core (js/host.js reads the other phone's tables and hands them to it); this server runs the %s core: start it on the wasm core (stock FXServer) to import"):format(
          running.kind
        ),
      }
    end
    local dryRun = flag == '--dry-run'
    reportWhenDone(
      src,
      'importPeer',
      peer,
      dryRun,
      Wire.object(Bridge.numbersAt()),
      Darkchat.settings.mysqlConnection
    )
    return {
      ('import %s%s started'):format(peer, dryRun and ' (dry run: nothing is written)' or ''),
    }
  end
)

RegisterCommand(COMMAND, function(src, _, rawCommand)
  src = Darkchat.integer(src) or 0
  local ok, err = pcall(function()
    local words, quoted = tokenize(rawCommand or '')
    table.remove(words, 1)
    table.remove(quoted, 1)
    local name = table.remove(words, 1) or 'help'
    table.remove(quoted, 1)
    local sub = commands[name:lower()]
    if not sub then
      say(src, ('unknown subcommand "%s"; try: darkchat help'):format(shown(name, 40)))
      return
    end
    for _, line in ipairs(sub.run(words, quoted, src)) do
      say(src, line)
    end
  end)
  if not ok then say(src, 'darkchat: internal error: ' .. tostring(err)) end
end, true)
