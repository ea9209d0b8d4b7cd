-- Who hears about a change: the online members it concerns (a client event to each member's
-- own source, never a broadcast), and other resources (a server event after each change).

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

--- Fires `17mov_Phone:darkchat:<name>` for other resources, after the change is stored.
---@param name string conversationCreated | memberAdded | memberRemoved | messageSent | conversationRenamed | conversationDeleted | ownerChanged | joinCodeChanged
---@param payload table
function Notify.server(name, payload)
  TriggerEvent('17mov_Phone:darkchat:' .. name, payload)
end

--- After a member was added (by a script or by code): everyone hears it, and the new member
--- gets the conversation as they see it.
---@param change table the core's membership change
---@param selfJoined boolean? true when the member joined by code (they have their answer)
function Notify.memberAdded(change, selfJoined)
  local others = {}
  for _, number in ipairs(change.recipients) do
    if number ~= change.number then others[#others + 1] = number end
  end
  Notify.members(others, 'memberJoined', {
    conversationId = change.conversationId, number = change.number, message = change.message,
  })
  if not selfJoined and #Bridge.onlineSources({ change.number }) > 0 then
    local ok, conv = Darkchat.call('conversation', change.number, change.conversationId)
    if ok then Notify.members({ change.number }, 'conversationAdded', conv) end
  end
  Notify.server('memberAdded', {
    conversationId = change.conversationId, number = change.number, recipients = change.recipients,
  })
end

--- After a member left or was removed: the rest hear it, and so does the one who went.
---@param change table the core's membership change
---@param isSelf boolean
function Notify.memberRemoved(change, isSelf)
  local payload = {
    conversationId = change.conversationId, number = change.number, isSelf = isSelf,
    newOwner = change.newOwner, deleted = change.deleted, message = change.message,
  }
  Notify.members(change.recipients, 'memberLeft', payload)
  Notify.members({ change.number }, 'conversationRemoved', payload)
  Notify.server('memberRemoved', {
    conversationId = change.conversationId, number = change.number, isSelf = isSelf,
    newOwner = change.newOwner, deleted = change.deleted, recipients = change.recipients,
  })
  if change.deleted then
    Notify.server('conversationDeleted', { conversationId = change.conversationId, recipients = {} })
  end
end

--- After a rename: members see the new name and its system message.
---@param conversationId integer
---@param message table the "renamed" system message
---@param members string[]
function Notify.renamed(conversationId, message, members)
  Notify.members(members, 'conversationRenamed', { conversationId = conversationId, message = message })
  Notify.server('conversationRenamed', { conversationId = conversationId, recipients = members })
end

--- After a deletion: whoever was a member is told.
---@param conversationId integer
---@param members string[] who were members
function Notify.deleted(conversationId, members)
  Notify.members(members, 'conversationDeleted', { conversationId = conversationId })
  Notify.server('conversationDeleted', { conversationId = conversationId, recipients = members })
end
