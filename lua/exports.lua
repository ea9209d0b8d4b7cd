-- The documented exports (DESIGN "The documented API"), exactly:
--   Darkchat_CreateConversationBySrc(src, name, joinCode?)    → { success, newConv? | error }
--   Darkchat_CreateConversationByNumber(number, name, joinCode?)
--   Darkchat_AddToConversationBySrc(src, conversationId)      → true | false, code
--   Darkchat_AddToConversationByNumber(number, conversationId)
--   Darkchat_RemoveFromConversationBySrc(src, conversationId, isSelf)     → true | false, code
--   Darkchat_RemoveFromConversationByNumber(number, conversationId, isSelf)
-- A failure is a value, never a Lua error. For BySrc, the source is checked first, then
-- resolved to a number through the bridge, then the core checks the rest.

--- The phone number for a player source, or nil and an error code.
---@param src any
---@return string? number, string? code
function Darkchat.numberOfSource(src)
  local ok, checked = Darkchat.call('checkSource', src)
  if not ok then return nil, checked end
  local number = Bridge.numberOf(checked)
  if not number then return nil, 'player_not_found' end
  return number
end

---@param number string|integer
---@param name string
---@param joinCode string?
---@return { success: boolean, newConv: table?, error: string? }
local function createConversation(number, name, joinCode)
  local ok, conv = Darkchat.call('create', number, name, joinCode)
  if not ok then return { success = false, error = conv } end
  Notify.server('conversationCreated', {
    conversationId = conv.id, number = conv.recipients[1], name = conv.name,
  })
  return { success = true, newConv = conv }
end

---@param number string|integer
---@param conversationId integer
---@return boolean added, string? code
local function addToConversation(number, conversationId)
  local ok, change = Darkchat.call('add', number, conversationId)
  if not ok then return false, change end
  Notify.memberAdded(change)
  return true
end

---@param number string|integer
---@param conversationId integer
---@param isSelf boolean?
---@return boolean removed, string? code
local function removeFromConversation(number, conversationId, isSelf)
  local ok, change = Darkchat.call('remove', number, conversationId, isSelf)
  if not ok then return false, change end
  Notify.memberRemoved(change, isSelf == true)
  return true
end

--- The same operations for the console and the phone UI: one code path, one set of events.
Darkchat.actions = {
  create = createConversation,
  add = addToConversation,
  remove = removeFromConversation,
}

exports('Darkchat_CreateConversationBySrc', function(src, name, joinCode)
  local number, code = Darkchat.numberOfSource(src)
  if not number then return { success = false, error = code } end
  return createConversation(number, name, joinCode)
end)

exports('Darkchat_CreateConversationByNumber', createConversation)

exports('Darkchat_AddToConversationBySrc', function(src, conversationId)
  local number, code = Darkchat.numberOfSource(src)
  if not number then return false, code end
  return addToConversation(number, conversationId)
end)

exports('Darkchat_AddToConversationByNumber', addToConversation)

exports('Darkchat_RemoveFromConversationBySrc', function(src, conversationId, isSelf)
  local number, code = Darkchat.numberOfSource(src)
  if not number then return false, code end
  return removeFromConversation(number, conversationId, isSelf)
end)

exports('Darkchat_RemoveFromConversationByNumber', removeFromConversation)
