-- Who hears about a change: the online members it concerns (a client event to each member's
-- own source, never a broadcast), and other resources (a server event after each change).
--
-- Pushes name members by alias only (lua/client.lua builds every payload a client gets);
-- server events keep phone numbers (server scripts are trusted). A member who muted a
-- conversation gets no pushes about what happens in it (messages, joins, leaves, renames,
-- ownership, aliases, moderators); pushes about their own membership (added, removed, the
-- conversation deleted) still reach them.

Notify = {}

Notify.CLIENT_EVENT = '17mov_Phone:darkchat:push'

--- Sends `kind, payload` to each online player among `numbers`.
---@param numbers string[]
---@param kind string
---@param payload table
function Notify.members(numbers, kind, payload)
  for _, src in ipairs(Bridge.onlineSources(numbers)) do
    TriggerClientEvent(Notify.CLIENT_EVENT, src, kind, payload)
  end
end

--- Sends `kind, payload` to the members who did not mute the conversation, but `except`.
---@param members table[] the core's members ({ number, isMuted, ... })
---@param kind string
---@param payload table
---@param except string? a number left out (the one who acted)
function Notify.active(members, kind, payload, except)
  local numbers = {}
  for _, m in ipairs(members or {}) do
    if not m.isMuted and m.number ~= except then numbers[#numbers + 1] = m.number end
  end
  Notify.members(numbers, kind, payload)
end

--- Threads replaying another server's change (lua/network.lua) → that server's id: the server
--- events they fire carry it as `fromServer`.
Notify.replaying = setmetatable({}, { __mode = 'k' })

--- Fires `17mov_Phone:darkchat:<name>` for other resources, after the change is stored.
---@param name string conversationCreated | memberAdded | memberRemoved | messageSent | conversationRenamed | conversationDeleted | ownerChanged | joinCodeChanged | aliasChanged | moderatorChanged | memberUnbanned
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
    conversationId = change.conversationId, alias = change.alias, message = Client.message(change.message),
  }, change.number)
  if not selfJoined and #Bridge.onlineSources({ change.number }) > 0 then
    local ok, conv = Darkchat.call('conversation', change.number, change.conversationId)
    if ok then Notify.members({ change.number }, 'conversationAdded', Client.conversation(conv, change.number)) end
  end
  Notify.server('memberAdded', {
    conversationId = change.conversationId, number = change.number, alias = change.alias,
    recipients = change.recipients,
  })
end

--- After a member left or was removed: the rest hear it, and so does the one who went.
---@param change table the core's membership change
---@param isSelf boolean
---@param banned boolean? true when the removal banned the number
function Notify.memberRemoved(change, isSelf, banned)
  local payload = {
    conversationId = change.conversationId, alias = change.alias, isSelf = isSelf,
    newOwner = change.newOwnerAlias, deleted = change.deleted, message = Client.message(change.message),
  }
  Notify.active(change.members, 'memberLeft', payload)
  Notify.members({ change.number }, 'conversationRemoved', {
    conversationId = change.conversationId, isSelf = isSelf, deleted = change.deleted, banned = banned == true,
  })
  Notify.server('memberRemoved', {
    conversationId = change.conversationId, number = change.number, isSelf = isSelf,
    newOwner = change.newOwner, deleted = change.deleted, recipients = change.recipients,
    banned = banned == true,
  })
  if change.deleted then
    Notify.server('conversationDeleted', { conversationId = change.conversationId, recipients = {} })
  end
end

--- After a rename: members see the new name and its system message.
---@param conversationId integer
---@param message table the "renamed" system message
---@param members string[]
---@param list table[] the core's members
function Notify.renamed(conversationId, message, members, list)
  Notify.active(list, 'conversationRenamed', { conversationId = conversationId, message = Client.message(message) })
  Notify.server('conversationRenamed', { conversationId = conversationId, recipients = members })
end

--- After a deletion: whoever was a member is told.
---@param conversationId integer
---@param members string[] who were members
function Notify.deleted(conversationId, members)
  Notify.members(members, 'conversationDeleted', { conversationId = conversationId })
  Notify.server('conversationDeleted', { conversationId = conversationId, recipients = members })
end

-- After the other changes. Each is what follows one action (lua/actions.lua), and the same
-- function replays it for the players of another server (lua/network.lua).

---@param conversationId integer
---@param number string the creator
---@param name string
function Notify.created(conversationId, number, name)
  Notify.server('conversationCreated', { conversationId = conversationId, number = number, name = name })
end

--- After a message: the members hear it, but the sender.
---@param conversationId integer
---@param message table the core's message
---@param members string[]
---@param list table[] the core's members
function Notify.messageSent(conversationId, message, members, list)
  Notify.active(list, 'messageReceived', { conversationId = conversationId, message = Client.message(message) }, message.sender)
  Notify.server('messageSent', { conversationId = conversationId, number = message.sender, messageId = message.id, recipients = members })
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
  Notify.active(list, 'ownerChanged', { conversationId = conversationId, owner = message.senderAlias, message = Client.message(message) })
  Notify.server('ownerChanged', { conversationId = conversationId, owner = message.sender, recipients = members })
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
    conversationId = conversationId, alias = message.senderAlias, isModerator = granted, message = Client.message(message),
  })
  Notify.server('moderatorChanged', { conversationId = conversationId, number = message.sender, isModerator = granted, recipients = members })
end

--- After a member changed their alias: the others hear it.
---@param conversationId integer
---@param message table the system message (its sender is the member)
---@param members string[]
---@param list table[] the core's members
function Notify.aliasChanged(conversationId, message, members, list)
  Notify.active(list, 'aliasChanged', { conversationId = conversationId, alias = message.senderAlias, message = Client.message(message) }, message.sender)
  Notify.server('aliasChanged', { conversationId = conversationId, number = message.sender, alias = message.senderAlias, recipients = members })
end
