-- What a player's client is shown of the core's values. The core answers server-side callers
-- with phone numbers (`recipients`, a message's `sender`, `owner`, `createdBy`): server scripts
-- are trusted. A player sees the other members of a conversation only by their alias there,
-- so everything sent to a client (request answers and pushes) is built here, field by field
-- from a list of what may go out: a field the core gains later stays on the server until it
-- is added here on purpose. README "Anonymity" documents these shapes.

local Client <const> = {}
Darkchat.Client = Client

--- A message as a client sees it: `sender` is the sender's (or subject's) alias when written.
---@param m table? the core's message
---@return table?
function Client.message(m)
  if type(m) ~= 'table' then return nil end
  return {
    id = m.id,
    sender = m.senderAlias,
    content = m.content,
    type = m.type,
    event = m.event,
    createdAt = m.createdAt,
    data = Client.messageData(m.data),
    replyTo = Client.quote(m.replyTo),
    edited = m.edited,
    deleted = m.deleted,
  }
end

--- An image's `{ url }` or a location's `{ x, y, z, label }`.
---@param d table?
---@return table?
function Client.messageData(d)
  if type(d) ~= 'table' then return nil end
  return { url = d.url, x = d.x, y = d.y, z = d.z, label = d.label }
end

--- The quote a reply carries: `{ id, sender (alias), content, type, deleted }`.
---@param q table?
---@return table?
function Client.quote(q)
  if type(q) ~= 'table' then return nil end
  return {
    id = q.id,
    sender = q.senderAlias,
    content = q.content,
    type = q.type,
    deleted = q.deleted,
  }
end

---@param list table? the core's messages
---@return table
function Client.messages(list)
  local out = {}
  for i, m in ipairs(list or {}) do
    out[i] = Client.message(m)
  end
  return out
end

--- Members as `viewer` sees them: `{ alias, isOwner, isModerator, isYou }`, longest-standing
--- first (whether others muted the conversation is theirs alone).
---@param members table? the core's members
---@param viewer string the viewing member's number
---@return table
function Client.members(members, viewer)
  local out = {}
  for i, m in ipairs(members or {}) do
    out[i] = {
      alias = m.alias,
      isOwner = m.isOwner,
      isModerator = m.isModerator,
      isYou = m.number == viewer,
    }
  end
  return out
end

--- A conversation as its member `viewer` sees it. `recipients` holds aliases; `owner` is the
--- owner's alias (when the member list is there: not in listings); `createdBy` is left out (a
--- stable id per phone would link a player's conversations together).
---@param c table? the core's conversation
---@param viewer string
---@return table?
function Client.conversation(c, viewer)
  if type(c) ~= 'table' then return nil end
  local members = Client.members(c.members, viewer)
  local recipients, owner = {}, nil
  for i, m in ipairs(members) do
    recipients[i] = m.alias
    if m.isOwner then owner = m.alias end
  end
  return {
    id = c.id,
    name = c.name,
    appName = c.appName,
    joinCode = c.joinCode,
    createdAt = c.createdAt,
    updatedAt = c.updatedAt,
    recipients = recipients,
    members = members,
    owner = owner,
    messages = Client.messages(c.messages),
    isItRead = c.isItRead,
    unreadCount = c.unreadCount,
    alias = c.alias,
    isOwner = c.owner == viewer,
    isModerator = c.isModerator,
    isMuted = c.isMuted,
    retentionSeconds = c.retentionSeconds,
  }
end

---@param list table? the core's conversations
---@param viewer string
---@return table
function Client.conversations(list, viewer)
  local out = {}
  for i, c in ipairs(list or {}) do
    out[i] = Client.conversation(c, viewer)
  end
  return out
end

--- An owner's ban list: `{ id, alias, createdAt }` (the ban's id names it for `unban`).
---@param list table? the core's bans
---@return table
function Client.bans(list)
  local out = {}
  for i, b in ipairs(list or {}) do
    out[i] = { id = b.id, alias = b.alias, createdAt = b.createdAt }
  end
  return out
end
