-- Live across servers: several servers on one MySQL/MariaDB database tell each other's players
-- and resources about every change, through the change log in that database (no service to
-- run besides it).
--
-- The core writes an entry with every change, in the change's own transaction (src/changes.rs,
-- src/mysql/changes.rs): its kind (the server event's name), the conversation, and what the
-- notify layer needs besides the members, numbers included (server-side only). Every
-- `Config.Network.pollMs` this server reads the entries after where it last was, skipping its
-- own (its players and resources heard those at once, from lua/actions.lua), and replays each
-- in order through the same Notify function the action calls: pushes go to this server's
-- online members who did not mute the conversation (lua/client.lua builds them, aliases only),
-- server events fire with `fromServer` = the id of the server that made the change. The
-- members are read with the entries (as they are then). A separate thread prunes the log.
-- This server's id is `Darkchat.serverId` (lua/core.lua settles it before the core opens).
-- SQLite storage keeps no log (one server per file): none of this runs there.

local Notify <const> = Darkchat.Notify

local Network <const> = {
  --- The last entry this server has handled (nil until the first read: then where the
  --- database says it was, or the log's end for a server never seen).
  position = nil,
}
Darkchat.Network = Network

local numbersOf <const>, mutedOf <const> = Notify.numbersOf, Notify.mutedOf

--- A membership change as the core answers it, from an entry and the members.
local function membershipChange(conversationId, data, list)
  local change = {}
  for k, v in pairs(data) do
    change[k] = v
  end
  change.conversationId, change.members, change.recipients = conversationId, list, numbersOf(list)
  return change
end

--- Entry kind → its replay: `(conversationId, data, members)` calls the Notify function the
--- action that made it calls (lua/actions.lua). A new kind of change needs one line here, its
--- constructor in src/changes.rs and one `tx.record` in src/service.rs (README "Several
--- servers on one database").
local N = Notify
Network.kinds = {
  conversationCreated = function(id, d) N.created(id, d.number, d.name) end,
  memberAdded = function(id, d, l) N.memberAdded(membershipChange(id, d, l), d.selfJoined) end,
  memberRemoved = function(id, d, l)
    N.memberRemoved(membershipChange(id, d, l), d.isSelf, d.banned)
  end,
  messageSent = function(id, d, l) N.messageSent(id, d.message, numbersOf(l), mutedOf(l)) end,
  messageDeleted = function(id, d, l)
    N.messageDeleted(id, d.message, d.deletedBy, numbersOf(l), mutedOf(l))
  end,
  messageEdited = function(id, d, l) N.messageEdited(id, d.message, numbersOf(l), mutedOf(l)) end,
  conversationRenamed = function(id, d, l) N.renamed(id, d.message, numbersOf(l), l) end,
  conversationDeleted = function(id, d) N.deleted(id, d.members) end,
  ownerChanged = function(id, d, l) N.ownerChanged(id, d.message, numbersOf(l), l) end,
  joinCodeChanged = function(id) N.codeChanged(id) end,
  aliasChanged = function(id, d, l) N.aliasChanged(id, d.message, numbersOf(l), l) end,
  moderatorChanged = function(id, d, l)
    N.moderatorChanged(id, d.message, d.isModerator, numbersOf(l), l)
  end,
  memberUnbanned = function(id, d) N.unbanned(id, d.number) end,
  retentionChanged = function(id, d, l)
    N.retentionChanged(id, d.message, d.retentionSeconds, numbersOf(l), l)
  end,
  -- Darkchat as a whole (no conversation).
  staffBanned = function(_, d) N.staffBanned(d) end,
  staffUnbanned = function(_, d) N.staffUnbanned(d.number) end,
}

--- Replays one entry of another server; a broken one is one line, never a stop.
local function replay(entry, lists)
  local run = Network.kinds[entry.kind]
  local decoded, data = pcall(json.decode, entry.data)
  if not run or not decoded or type(data) ~= 'table' then
    Darkchat.log(
      ('change %d from server %s (%s) skipped: not understood by this version'):format(
        entry.id,
        entry.server,
        entry.kind
      )
    )
    return
  end
  local thread = coroutine.running()
  Notify.replaying[thread] = entry.server
  local ok, err = pcall(run, entry.conversationId, data, lists[entry.conversationId] or {})
  Notify.replaying[thread] = nil
  if not ok then
    Darkchat.log(
      ('change %d from server %s (%s) failed: %s'):format(
        entry.id,
        entry.server,
        entry.kind,
        tostring(err)
      )
    )
  end
end

local said = {}

--- A refusal other than the database being away (which has its own lines: it says so when it
--- goes and when it is back) is said once: a bad value in Config.Network.
local function refused(what, code, detail)
  if code == 'storage_error' or said[what] then return end
  said[what] = true
  Darkchat.log(
    ('cannot %s the change log: %s (%s); check Config.Network'):format(
      what,
      tostring(code),
      tostring(detail)
    )
  )
end

--- One read of the log (which also stores where this server was): handles what it gave and
--- answers whether to read again at once (entries came: the next read stores the new position
--- and picks up what the limit left).
function Network.poll()
  local ok, batch, detail =
    Darkchat.call('changes', Darkchat.serverId, Network.position, Config.Network.readLimit)
  if not ok then
    refused('read', batch, detail)
    return false
  end
  if batch.missed > 0 then
    Darkchat.log(
      (
        'this server missed %d changes of the other servers (it was away longer '
        .. 'than the change log keeps, Config.Network); carrying on from the oldest kept'
      ):format(batch.missed)
    )
  end
  local lists = {}
  for _, c in ipairs(batch.conversations) do
    lists[c.id] = c.members
  end
  for _, entry in ipairs(batch.entries) do
    replay(entry, lists)
  end
  local moved = batch.position ~= Network.position and Network.position ~= nil
  Network.position = batch.position
  return moved or batch.more
end

--- Deletes what the log keeps no longer, a batch at a time (each its own short transaction).
function Network.prune()
  local n = Config.Network
  repeat
    local ok, deleted, detail =
      Darkchat.call('pruneChanges', n.keep, n.keepMinutes * 60, n.pruneBatch)
    if not ok then refused('prune', deleted, detail) end
    if ok and deleted >= n.pruneBatch then Wait(0) end
  until not ok or deleted < n.pruneBatch
end

if Darkchat.settings.storage == 'mysql' and Darkchat.core and Darkchat.serverId then
  CreateThread(function()
    while Darkchat.core do
      Wait(Network.poll() and 0 or Config.Network.pollMs)
    end
  end)
  CreateThread(function()
    while Darkchat.core do
      Wait(Config.Network.pruneSeconds * 1000)
      Network.prune()
    end
  end)
end
