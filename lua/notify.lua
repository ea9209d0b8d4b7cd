-- Who hears about a change: the online members it concerns (a client event to each member's
-- own source, never a broadcast), and other resources (a server event after each change).
--
-- Pushes name members by alias only (lua/client.lua builds every payload a client gets);
-- server events keep phone numbers (server scripts are trusted). A member who muted a
-- conversation gets no pushes about what happens in it (messages, joins, leaves, renames,
-- ownership, aliases, moderators); pushes about their own membership (added, removed, the
-- conversation deleted) still reach them.

local Bridge <const> = Darkchat.Bridge
local Client <const> = Darkchat.Client

local Notify <const> = {}
Darkchat.Notify = Notify

Notify.CLIENT_EVENT = '17mov_Phone:darkchat:push'

--- Sends `kind, payload` to each online player among `numbers` (none banned by staff).
---@param numbers string[]
---@param kind string
---@param payload table
function Notify.members(numbers, kind, payload)
  local sources, online = Bridge.onlineSources(numbers)
  if Notify.mayHaveStaffBans() then sources = Notify.withoutStaffBanned(sources, online) end
  for _, src in ipairs(sources) do
    TriggerClientEvent(Notify.CLIENT_EVENT, src, kind, payload)
  end
end

--- The numbers of the core's members, in their order.
---@param list table[] the core's members ({ number, isMuted, ... })
---@return string[]
function Notify.numbersOf(list)
  local out = {}
  for i, m in ipairs(list) do
    out[i] = m.number
  end
  return out
end

--- The numbers of those of the core's members who muted the conversation.
---@param list table[] the core's members ({ number, isMuted, ... })
---@return string[]
function Notify.mutedOf(list)
  local out = {}
  for _, m in ipairs(list) do
    if m.isMuted then out[#out + 1] = m.number end
  end
  return out
end

--- Sends `kind, payload` to the members who did not mute the conversation, but `except`.
---@param members table[] the core's members ({ number, isMuted, ... })
---@param kind string
---@param payload table
---@param except string? a number left out (the one who acted)
function Notify.active(members, kind, payload, except)
  members = members or {}
  Notify.listening(Notify.numbersOf(members), Notify.mutedOf(members), kind, payload, except)
end

--- Sends `kind, payload` to the numbers of `members` but those in `muted` and `except`: a
--- message's listeners, as the core answers a send, an edit or a deletion.
---@param members string[]
---@param muted string[] those of `members` who muted the conversation
---@param kind string
---@param payload table
---@param except string? a number left out (the one who acted)
function Notify.listening(members, muted, kind, payload, except)
  local numbers = members
  if #muted > 0 or except then
    local skip = {}
    if except then skip[except] = true end
    for _, n in ipairs(muted) do
      skip[n] = true
    end
    numbers = {}
    for _, n in ipairs(members) do
      if not skip[n] then numbers[#numbers + 1] = n end
    end
  end
  Notify.members(numbers, kind, payload)
end

--- Threads replaying another server's change (lua/network.lua) → that server's id: the server
--- events they fire carry it as `fromServer`.
Notify.replaying = setmetatable({}, { __mode = 'k' })

--- Fires `17mov_Phone:darkchat:<name>` for other resources, after the change is stored.
---@param name string conversationCreated | memberAdded | memberRemoved | messageSent | messageDeleted | messageEdited | conversationRenamed | conversationDeleted | ownerChanged | joinCodeChanged | aliasChanged | moderatorChanged | retentionChanged | memberUnbanned | staffBanned | staffUnbanned | messageReported | reportDismissed
---@param payload table
function Notify.server(name, payload)
  local from = Notify.replaying[coroutine.running()]
  if from then payload.fromServer = from end
  TriggerEvent('17mov_Phone:darkchat:' .. name, payload)
end

--- After a member was added (by a script or by code): everyone hears it, and the new member
--- gets the conversation as they see it.
---@param change table the core's membership change
---@param selfJoined boolean? true when the member joined by code (they have their answer)
function Notify.memberAdded(change, selfJoined)
  Notify.active(change.members, 'memberJoined', {
    conversationId = change.conversationId,
    alias = change.alias,
    message = Client.message(change.message),
  }, change.number)
  if not selfJoined and #Bridge.onlineSources({ change.number }) > 0 then
    local ok, conv = Darkchat.call('conversation', change.number, change.conversationId)
    if ok then
      Notify.members(
        { change.number },
        'conversationAdded',
        Client.conversation(conv, change.number)
      )
    end
  end
  Notify.server('memberAdded', {
    conversationId = change.conversationId,
    number = change.number,
    alias = change.alias,
    recipients = change.recipients,
  })
end

--- After a member left or was removed: the rest hear it, and so does the one who went.
---@param change table the core's membership change
---@param isSelf boolean
---@param banned boolean? true when the removal banned the number
function Notify.memberRemoved(change, isSelf, banned)
  local payload = {
    conversationId = change.conversationId,
    alias = change.alias,
    isSelf = isSelf,
    newOwner = change.newOwnerAlias,
    deleted = change.deleted,
    message = Client.message(change.message),
  }
  Notify.active(change.members, 'memberLeft', payload)
  Notify.members({ change.number }, 'conversationRemoved', {
    conversationId = change.conversationId,
    isSelf = isSelf,
    deleted = change.deleted,
    banned = banned == true,
  })
  Notify.server('memberRemoved', {
    conversationId = change.conversationId,
    number = change.number,
    isSelf = isSelf,
    newOwner = change.newOwner,
    deleted = change.deleted,
    recipients = change.recipients,
    banned = banned == true,
  })
  if change.deleted then
    Notify.server(
      'conversationDeleted',
      { conversationId = change.conversationId, recipients = {} }
    )
  end
end

--- After a rename: members see the new name and its system message.
---@param conversationId integer
---@param message table the "renamed" system message
---@param members string[]
---@param list table[] the core's members
function Notify.renamed(conversationId, message, members, list)
  Notify.active(
    list,
    'conversationRenamed',
    { conversationId = conversationId, message = Client.message(message) }
  )
  Notify.server('conversationRenamed', { conversationId = conversationId, recipients = members })
end

--- After a deletion: whoever was a member is told.
---@param conversationId integer
---@param members string[] who were members
function Notify.deleted(conversationId, members)
  Notify.members(members, 'conversationDeleted', { conversationId = conversationId })
  Notify.server('conversationDeleted', { conversationId = conversationId, recipients = members })
end

-- Staff bans and pushes --------------------------------------------------------------------
-- A number banned from Darkchat by staff gets no pushes: whether it is banned is the core's to
-- say, asked once per push about the online members only, and only while a ban may be in
-- force. That is known here from the bans written through this server (Actions.staffBan) and
-- from the stored ones, read with the first push and then at most once a minute, as pushes
-- go out (another server on the same MySQL database may have written one; no timer runs while
-- nothing happens). Should the core not answer, the push goes out (the ban itself is still
-- enforced on every call).

local STAFF_BANS_EVERY_MS = 60000

--- Whether a staff ban may be in force (as last read, or written here since).
Notify.staffBansMayExist = false
local staffBansReadAt = nil -- GetGameTimer() of the last read of the stored bans

--- Whether a staff ban may be in force, the stored bans read again when a minute has passed.
---@return boolean
function Notify.mayHaveStaffBans()
  local now = GetGameTimer()
  if not staffBansReadAt or now - staffBansReadAt >= STAFF_BANS_EVERY_MS then
    local ok, bans = Darkchat.call('staffBans', 1)
    if ok then
      Notify.staffBansMayExist = #bans > 0
      staffBansReadAt = now
    end
  end
  return Notify.staffBansMayExist
end

--- A number banned from Darkchat by staff, here or on another server of the network: pushes
--- skip it from now on (not only from the next read of the stored bans).
---@param ban { number: string, reason: string?, expiresAt: integer? }
function Notify.staffBanned(ban)
  Notify.staffBansMayExist = true
  Notify.server('staffBanned', {
    number = ban.number,
    reason = ban.reason,
    expiresAt = ban.expiresAt,
  })
end

---@param number string
function Notify.staffUnbanned(number) Notify.server('staffUnbanned', { number = number }) end

--- `sources` less those of players banned by staff.
---@param sources integer[] online players (Bridge.onlineSources)
---@param online string[] their numbers, `online[i]` the number of `sources[i]`
---@return integer[]
function Notify.withoutStaffBanned(sources, online)
  if #online == 0 then return sources end
  local ok, banned = Darkchat.call('staffBanned', table.unpack(online))
  if not ok or #banned == 0 then return sources end
  local skip, out = {}, {}
  for _, number in ipairs(banned) do
    skip[number] = true
  end
  for i, number in ipairs(online) do
    if not skip[number] then out[#out + 1] = sources[i] end
  end
  return out
end

-- After the other changes. Each is what follows one action (lua/actions.lua), and the same
-- function replays it for the players of another server (lua/network.lua).

---@param conversationId integer
---@param number string the creator
---@param name string
function Notify.created(conversationId, number, name)
  Notify.server(
    'conversationCreated',
    { conversationId = conversationId, number = number, name = name }
  )
end

--- After a message: the members hear it, but the sender.
---@param conversationId integer
---@param message table the core's message
---@param members string[]
---@param muted string[] those of `members` who muted the conversation
function Notify.messageSent(conversationId, message, members, muted)
  Notify.listening(
    members,
    muted,
    'messageReceived',
    { conversationId = conversationId, message = Client.message(message) },
    message.sender
  )
  Notify.server('messageSent', {
    conversationId = conversationId,
    number = message.sender,
    messageId = message.id,
    recipients = members,
    type = message.type,
    replyTo = message.replyTo and message.replyTo.id or nil,
    content = message.content,
  })
end

--- After a message was deleted: the members see its tombstone.
---@param conversationId integer
---@param message table the tombstone
---@param deletedBy string? the member who deleted it; nil for the console
---@param members string[]
---@param muted string[] those of `members` who muted the conversation
function Notify.messageDeleted(conversationId, message, deletedBy, members, muted)
  Notify.listening(
    members,
    muted,
    'messageDeleted',
    { conversationId = conversationId, messageId = message.id, message = Client.message(message) },
    deletedBy
  )
  Notify.server('messageDeleted', {
    conversationId = conversationId,
    messageId = message.id,
    number = message.sender,
    deletedBy = deletedBy,
    recipients = members,
  })
end

--- After the sender edited a message: the others see the new text.
---@param conversationId integer
---@param message table the edited message
---@param members string[]
---@param muted string[] those of `members` who muted the conversation
function Notify.messageEdited(conversationId, message, members, muted)
  Notify.listening(
    members,
    muted,
    'messageEdited',
    { conversationId = conversationId, messageId = message.id, message = Client.message(message) },
    message.sender
  )
  Notify.server('messageEdited', {
    conversationId = conversationId,
    messageId = message.id,
    number = message.sender,
    recipients = members,
  })
end

---@param conversationId integer
function Notify.codeChanged(conversationId)
  Notify.server('joinCodeChanged', { conversationId = conversationId })
end

---@param conversationId integer
---@param message table the "now the owner" system message (its sender is the new owner)
---@param members string[]
---@param list table[] the core's members
function Notify.ownerChanged(conversationId, message, members, list)
  Notify.active(list, 'ownerChanged', {
    conversationId = conversationId,
    owner = message.senderAlias,
    message = Client.message(message),
  })
  Notify.server(
    'ownerChanged',
    { conversationId = conversationId, owner = message.sender, recipients = members }
  )
end

---@param conversationId integer
---@param number string normalised
function Notify.unbanned(conversationId, number)
  Notify.server('memberUnbanned', { conversationId = conversationId, number = number })
end

---@param conversationId integer
---@param message table the system message (its sender is the member concerned)
---@param granted boolean
---@param members string[]
---@param list table[] the core's members
function Notify.moderatorChanged(conversationId, message, granted, members, list)
  Notify.active(list, 'moderatorChanged', {
    conversationId = conversationId,
    alias = message.senderAlias,
    isModerator = granted,
    message = Client.message(message),
  })
  Notify.server('moderatorChanged', {
    conversationId = conversationId,
    number = message.sender,
    isModerator = granted,
    recipients = members,
  })
end

--- After the conversation's retention changed: every member hears it with its system message.
---@param conversationId integer
---@param message table the "retention" system message
---@param seconds integer the new retention (0: off)
---@param members string[]
---@param list table[] the core's members
function Notify.retentionChanged(conversationId, message, seconds, members, list)
  Notify.active(list, 'retentionChanged', {
    conversationId = conversationId,
    retentionSeconds = seconds,
    message = Client.message(message),
  })
  Notify.server(
    'retentionChanged',
    { conversationId = conversationId, retentionSeconds = seconds, recipients = members }
  )
end

--- After a member changed their alias: the others hear it.
---@param conversationId integer
---@param message table the system message (its sender is the member)
---@param members string[]
---@param list table[] the core's members
function Notify.aliasChanged(conversationId, message, members, list)
  Notify.active(list, 'aliasChanged', {
    conversationId = conversationId,
    alias = message.senderAlias,
    message = Client.message(message),
  }, message.sender)
  Notify.server('aliasChanged', {
    conversationId = conversationId,
    number = message.sender,
    alias = message.senderAlias,
    recipients = members,
  })
end
