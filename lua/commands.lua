-- The `darkchat` admin command: `darkchat help` lists the subcommands. Registered restricted:
-- the console may always use it; a player needs the ACE `command.darkchat`. Every subcommand
-- checks its arguments before touching anything and answers in one aligned block or one
-- error line with a hint. A failing handler prints a line instead of killing the command.

local COMMAND = 'darkchat'
local LIST_LIMIT = 50
local SHOW_MESSAGES = 10

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

local function when(t)
  return os.date('!%Y-%m-%d %H:%M', t)
end

--- A positive integer id from a word, or nil.
local function parseId(word)
  local id = math.tointeger(tonumber(word or ''))
  if id and id > 0 then return id end
end

local commands = {}
local order = {}

local function command(name, syntax, summary, run)
  commands[name] = { syntax = syntax, summary = summary, run = run }
  order[#order + 1] = name
end

local function usage(name)
  return ('usage: darkchat %s %s'):format(name, commands[name].syntax)
end

local function failed(code, message)
  return ('error: %s%s'):format(code, message and (' (' .. message .. ')') or '')
end

command('help', '', 'this list', function()
  local rows = {}
  for _, name in ipairs(order) do
    rows[#rows + 1] = { 'darkchat ' .. name .. (commands[name].syntax ~= '' and ' ' .. commands[name].syntax or ''), commands[name].summary }
  end
  return columns(rows)
end)

command('create', '<number> <name...> | <number> "<name>" [code]', 'create a conversation owned by <number>', function(words, quoted)
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
  if not ok then return { failed(c, detail), usage('create') } end
  return { ('created #%d "%s" code %s owner %s'):format(c.id, c.name, c.joinCode, c.owner) }
end)

command('add', '<number> <id>', 'add a number to a conversation', function(words)
  local id = parseId(words[2])
  if not words[1] or not id or words[3] then return { usage('add') } end
  local ok, code = Actions.add(words[1], id)
  if not ok then return { failed(code) } end
  return { ('added %s to #%d'):format(words[1], id) }
end)

command('remove', '<number> <id>', 'remove a number from a conversation', function(words)
  local id = parseId(words[2])
  if not words[1] or not id or words[3] then return { usage('remove') } end
  local ok, code = Actions.kick(nil, id, words[1])
  if not ok then return { failed(code) } end
  return { ('removed %s from #%d'):format(words[1], id) }
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
    rows[#rows + 1] = { '#' .. c.id, c.name, c.joinCode, c.owner, when(c.updatedAt),
      last and (last.content:sub(1, 40)) or '-' }
  end
  local lines = columns(rows)
  if #list > LIST_LIMIT then lines[#lines + 1] = ('... %d more'):format(#list - LIST_LIMIT) end
  return lines
end)

command('show', '<id>', 'one conversation: fields, members, last messages', function(words)
  local id = parseId(words[1])
  if not id or words[2] then return { usage('show') } end
  local ok, c, message = Darkchat.call('conversation', nil, id)
  if not ok then return { failed(c, message) } end
  local lines = columns({
    { 'id', '#' .. c.id }, { 'name', c.name }, { 'code', c.joinCode }, { 'owner', c.owner },
    { 'created', when(c.createdAt) }, { 'updated', when(c.updatedAt) },
    { 'members', tostring(#c.recipients) },
  })
  for _, number in ipairs(c.recipients) do
    lines[#lines + 1] = ('  %s%s'):format(number, number == c.owner and '  (owner)' or '')
  end
  lines[#lines + 1] = 'last messages:'
  local first = math.max(1, #c.messages - SHOW_MESSAGES + 1)
  for i = first, #c.messages do
    local m = c.messages[i]
    lines[#lines + 1] = ('  %s  %s%s'):format(when(m.createdAt),
      m.type == 'system' and '* ' or ((m.sender or '?') .. ': '), m.content)
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
  return { ('renamed #%d to "%s"'):format(id, (name:gsub('^%s+', ''):gsub('%s+$', ''))) }
end)

command('code', '<id>', 'give a conversation a new join code (the old one stops working)', function(words)
  local id = parseId(words[1])
  if not id or words[2] then return { usage('code') } end
  local ok, code, message = Actions.regenerateCode(nil, id)
  if not ok then return { failed(code, message) } end
  return { ('#%d new code %s'):format(id, code) }
end)

command('delete', '<id> --yes', 'delete a conversation and all its messages', function(words)
  local id = parseId(words[1])
  if not id or (words[2] and words[2] ~= '--yes') or words[3] then return { usage('delete') } end
  if words[2] ~= '--yes' then
    local ok, c = Darkchat.call('conversation', nil, id)
    if not ok then return { failed(c) } end
    return { ('this deletes #%d "%s" with %d members and all messages; repeat with --yes'):format(id, c.name, #c.recipients) }
  end
  local ok, code, message = Actions.delete(nil, id)
  if not ok then return { failed(code, message) } end
  return { ('deleted #%d'):format(id) }
end)

command('stats', '', 'counts, database size, schema version, store path', function(words)
  if words[1] then return { usage('stats') } end
  local ok, s, message = Darkchat.call('stats')
  if not ok then return { failed(s, message) } end
  return columns({
    { 'conversations', tostring(s.conversations) }, { 'memberships', tostring(s.memberships) },
    { 'messages', tostring(s.messages) }, { 'phone numbers', tostring(s.phones) },
    { 'database size', ('%.1f KiB'):format(s.sizeBytes / 1024) },
    { 'schema version', tostring(s.schemaVersion) }, { 'store', tostring(s.path) },
    { 'framework', tostring(Bridge.name) },
  })
end)

command('version', '', 'the build version, the core that runs and the storage', function(words)
  if words[1] then return { usage('version') } end
  local running = Darkchat.running
  if not running then
    return { ('Darkchat (no core running, version unknown; storage %s): see the [Darkchat] start line')
      :format(Darkchat.settings.storage) }
  end
  return { ('Darkchat %s (%s core, storage %s)'):format(running.version, running.kind, Darkchat.settings.storage) }
end)

command('backup', '<file>', 'consistent copy of the live database (SQLite online backup)', function(words, _, src)
  -- A blank name would be the resource folder itself, or a file named by spaces in it.
  if not words[1] or words[1]:match('^%s*$') or words[2] then return { usage('backup') } end
  local path = words[1]
  if not (path:sub(1, 1) == '/' or path:match('^%a:[\\/]')) then
    path = GetResourcePath(GetCurrentResourceName()) .. '/' .. path
  end
  local ok, job, message = Darkchat.call('startBackup', path)
  if not ok then return { failed(job, message) } end
  -- The copy runs on its own thread and connection; report when it is done.
  CreateThread(function()
    while true do
      local done, result, detail = Darkchat.call('backupStatus', job)
      if not done then
        say(src, failed(result, detail))
        return
      elseif result == 'done' then
        say(src, ('backup written to %s'):format(path))
        return
      end
      Wait(50)
    end
  end)
  return { ('backup to %s started'):format(path) }
end)

RegisterCommand(COMMAND, function(src, _, rawCommand)
  src = math.tointeger(tonumber(src)) or 0
  local ok, err = pcall(function()
    local words, quoted = tokenize(rawCommand or '')
    table.remove(words, 1)
    table.remove(quoted, 1)
    local name = table.remove(words, 1) or 'help'
    table.remove(quoted, 1)
    local sub = commands[name:lower()]
    if not sub then
      say(src, ('unknown subcommand %q; try: darkchat help'):format(name))
      return
    end
    for _, line in ipairs(sub.run(words, quoted, src)) do say(src, line) end
  end)
  if not ok then say(src, 'darkchat: internal error: ' .. tostring(err)) end
end, true)
