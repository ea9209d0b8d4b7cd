-- Two processes, one database: the server (the emulated FXServer in this process) writes and
-- reads continuously while a second lua5.4 process opens the same file through the native
-- module, writes, reads and takes an admin backup. No caller of either process may see
-- `database is locked` or any failure (writes wait on the busy timeout), every acknowledged write
-- of both is in the file afterwards, and the file and both backups pass integrity_check.

local T = require('testlib')
local World = require('world')

local SECOND = [[
package.cpath = arg[1] .. "/bin/?.so;" .. package.cpath
local core = assert(require("darkchat").open({ path = arg[2] }))
local writes, backupPath = tonumber(arg[3]), arg[4]
local function fail(what, code, message)
  io.write("FAIL ", what, " ", tostring(code), " ", tostring(message), "\n")
  io.flush()
end
local ok, conv, detail = core:create("5559001", "Second process")
if not ok then fail("create", conv, detail) os.exit(1) end
io.write("READY\n")
io.flush()
local job
for i = 1, writes do
  local sent, message, why = core:send("5559001", conv.id, "second " .. i)
  if sent then io.write("ACK ", message.id, "\n") else fail("send", message, why) end
  if i % 10 == 0 then
    local listed, list, lwhy = core:list("5559001")
    if not listed then fail("list", list, lwhy) end
    local paged, page, pwhy = core:messages("5559001", conv.id, nil, 20)
    if not paged then fail("messages", page, pwhy) end
    local read, code, rwhy = core:markRead("5559001", conv.id)
    if not read then fail("markRead", code, rwhy) end
  end
  if i % 100 == 0 then
    -- A conversation of its own now and then: a multi-statement write.
    local made, c, cwhy = core:create("5559001", "Batch " .. i)
    if made then io.write("CONV ", c.id, "\n") else fail("create", c, cwhy) end
  end
  if i == writes // 2 then
    local started, id, bwhy = core:startBackup(backupPath)
    if started then job = id else fail("startBackup", id, bwhy) end
  end
  if job then
    local polled, state, swhy = core:backupStatus(job)
    if not polled then fail("backup", state, swhy) job = nil
    elseif state == "done" then io.write("BACKUP done\n") job = nil end
  end
  io.flush()
end
while job do
  local polled, state, swhy = core:backupStatus(job)
  if not polled then fail("backup", state, swhy) break end
  if state == "done" then io.write("BACKUP done\n") break end
end
core:close()
io.write("DONE\n")
]]

T.test(
  'the server and a second process write the same database at once; nothing is lost or locked',
  function()
    local dir = T.tmpdir()
    local db = dir .. '/shared.db'
    local w = World.new({ db = db })
    local id = w:call('Darkchat_CreateConversationByNumber', '5550101', 'Server').newConv.id
    w:call('Darkchat_AddToConversationByNumber', '5550102', id)
    local script, out = dir .. '/second.lua', dir .. '/second.out'
    T.write(script, SECOND)
    local secondBackup, serverBackup = dir .. '/second-backup.db', dir .. '/server-backup.db'
    local pid = T.sh(
      ('lua5.4 %s %s %s 3000 %s > %s 2>&1 & echo $!'):format(
        script,
        T.repoRoot,
        db,
        secondBackup,
        out
      )
    ):match('%d+')
    local serverAcks, failures, i, overlapped = {}, {}, 0, 0
    local alive, backupAsked = true, false
    while alive do
      i = i + 1
      local r = w:call(
        'Darkchat_SendMessageByNumber',
        i % 2 == 0 and '5550101' or '5550102',
        id,
        'server ' .. i
      )
      if r.success then
        serverAcks[#serverAcks + 1] = r.message.id
      else
        failures[#failures + 1] = 'send ' .. tostring(r.error)
      end
      if i % 10 == 0 then
        local g = w:call('Darkchat_GetMessagesByNumber', '5550101', id, nil, 20)
        if not g.success then failures[#failures + 1] = 'messages ' .. tostring(g.error) end
        local l = w:call('Darkchat_GetConversationsByNumber', '5550101')
        if not l.success then failures[#failures + 1] = 'list ' .. tostring(l.error) end
      end
      if i % 25 == 0 then
        alive = T.alive(pid)
        if alive then overlapped = overlapped + 25 end
        if not backupAsked and #serverAcks > 200 then
          w.srv:console('darkchat backup ' .. serverBackup)
          backupAsked = true
        end
        w.srv:runFor(50)
      end
      T.ok(i < 200000, 'the second process never finished')
    end
    -- The server's backup finishes on its own thread; let the emulated server poll it.
    local deadline = os.time() + 20
    repeat
      w.srv:runFor(100)
      os.execute('sleep 0.05')
    until table.concat(w.srv:output(), '\n'):find('backup written', 1, true) or os.time() > deadline
    local said = table.concat(w.srv:output(), '\n')
    T.ok(said:find('backup written to ' .. serverBackup, 1, true), said)
    w:stop()

    local text = assert(io.open(out)):read('a')
    T.ok(text:find('DONE\n', 1, true), 'the second process ran to the end:\n' .. text:sub(-2000))
    T.ok(
      not text:find('FAIL', 1, true),
      'the second process saw a failure:\n' .. (text:match('[^\n]*FAIL[^\n]*') or '')
    )
    T.ok(text:find('BACKUP done', 1, true), "the second process's backup finished")
    T.eq(failures, {}, 'the server saw no failure')
    local secondAcks = {}
    for ack in text:gmatch('ACK (%d+)\n') do
      secondAcks[#secondAcks + 1] = ack
    end
    T.eq(#secondAcks, 3000, 'every write of the second process was acknowledged')
    T.ok(
      overlapped >= 100,
      ('the server wrote while the second process ran (%d writes)'):format(overlapped)
    )

    T.eq(T.sh(("sqlite3 %s 'PRAGMA integrity_check'"):format(db)), 'ok\n')
    T.eq(T.sh(("sqlite3 %s 'PRAGMA integrity_check'"):format(secondBackup)), 'ok\n')
    T.eq(T.sh(("sqlite3 %s 'PRAGMA integrity_check'"):format(serverBackup)), 'ok\n')
    -- Every acknowledged message of both processes is in the file (checked in batches).
    local all = {}
    for _, a in ipairs(serverAcks) do
      all[#all + 1] = tostring(a)
    end
    for _, a in ipairs(secondAcks) do
      all[#all + 1] = a
    end
    local found = 0
    for first = 1, #all, 500 do
      local batch = table.concat(all, ',', first, math.min(first + 499, #all))
      found = found
        + tonumber(
          T.sh(('sqlite3 %s "SELECT count(*) FROM messages WHERE id IN (%s)"'):format(db, batch))
        )
    end
    T.eq(found, #all, ('all %d acknowledged messages are there'):format(#all))
    local convs = {}
    for conv in text:gmatch('CONV (%d+)\n') do
      convs[#convs + 1] = conv
    end
    T.eq(#convs, 30, "the second process's conversations were acknowledged")
    T.eq(
      tonumber(
        T.sh(
          ('sqlite3 %s "SELECT count(*) FROM conversations WHERE id IN (%s)"'):format(
            db,
            table.concat(convs, ',')
          )
        )
      ),
      #convs,
      'and are there'
    )
    local texts =
      T.sh(('sqlite3 %s "SELECT count(*) FROM messages WHERE kind = \'text\'"'):format(db))
    T.eq(tonumber(texts), #all, 'and nothing else was written as text')
    print(
      ("     two processes: server %d writes (%d during the second's run), second 3000 writes"):format(
        #serverAcks,
        overlapped
      )
    )
  end
)
