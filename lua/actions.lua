-- Every Darkchat operation once, as the acting phone number does it: exports, the phone UI's
-- requests and the console all come through here, so hooks, notifications and server events
-- are the same whoever asks. Each returns `true, ...` or `false, code[, detail]`.
-- `actor` nil means a server admin (passes owner checks); otherwise it is a phone number.

Actions = {}

--- A conversation id the core accepted, as the core has it: an integer (a client may send 5.0,
--- which pushes and events must not echo).
local function idOf(conversationId)
  return math.tointeger(conversationId)
end

local function others(numbers, except)
  local out = {}
  for _, number in ipairs(numbers) do
    if number ~= except then out[#out + 1] = number end
  end
  return out
end

function Actions.create(number, name, joinCode)
  local allowed, code, reason = Hooks.allow('create', number, name, joinCode)
  if not allowed then return false, code, reason end
  local ok, conv, detail = Darkchat.call('create', number, name, joinCode)
  if not ok then return false, conv, detail end
  Notify.server('conversationCreated', { conversationId = conv.id, number = conv.recipients[1], name = conv.name })
  return true, conv
end

function Actions.add(number, conversationId)
  local ok, change, detail = Darkchat.call('add', number, conversationId)
  if not ok then return false, change, detail end
  Notify.memberAdded(change)
  return true, change
end

function Actions.remove(number, conversationId, isSelf)
  local ok, change, detail = Darkchat.call('remove', number, conversationId, isSelf)
  if not ok then return false, change, detail end
  Notify.memberRemoved(change, isSelf == true)
  return true, change
end

function Actions.join(number, joinCode)
  local allowed, code, reason = Hooks.allow('join', number, joinCode)
  if not allowed then return false, code, reason end
  local ok, conv, change = Darkchat.call('join', number, joinCode)
  if not ok then return false, conv, change end
  Notify.memberAdded(change, true)
  return true, conv
end

function Actions.send(number, conversationId, content)
  local allowed, code, reason = Hooks.allow('send', number, conversationId, content)
  if not allowed then return false, code, reason end
  local ok, message, members = Darkchat.call('send', number, conversationId, content)
  if not ok then return false, message, members end
  conversationId = idOf(conversationId)
  Notify.members(others(members, message.sender), 'messageReceived', { conversationId = conversationId, message = message })
  Notify.server('messageSent', { conversationId = conversationId, number = message.sender, messageId = message.id, recipients = members })
  return true, message
end

function Actions.list(number)
  return Darkchat.call('list', number)
end

function Actions.get(number, conversationId)
  return Darkchat.call('conversation', number, conversationId)
end

function Actions.messages(number, conversationId, beforeId, limit)
  return Darkchat.call('messages', number, conversationId, beforeId, limit)
end

function Actions.markRead(number, conversationId, messageId)
  return Darkchat.call('markRead', number, conversationId, messageId)
end

function Actions.rename(actor, conversationId, name)
  local ok, message, members = Darkchat.call('rename', actor, conversationId, name)
  if not ok then return false, message, members end
  Notify.renamed(idOf(conversationId), message, members)
  return true, message
end

function Actions.regenerateCode(actor, conversationId)
  local ok, code, detail = Darkchat.call('regenerateCode', actor, conversationId)
  if not ok then return false, code, detail end
  Notify.server('joinCodeChanged', { conversationId = idOf(conversationId) })
  return true, code
end

function Actions.delete(actor, conversationId)
  local ok, members, detail = Darkchat.call('delete', actor, conversationId)
  if not ok then return false, members, detail end
  Notify.deleted(idOf(conversationId), members)
  return true
end

function Actions.transfer(actor, conversationId, toNumber)
  local ok, message, members = Darkchat.call('transfer', actor, conversationId, toNumber)
  if not ok then return false, message, members end
  conversationId = idOf(conversationId)
  Notify.members(members, 'ownerChanged', { conversationId = conversationId, owner = message.sender, message = message })
  Notify.server('ownerChanged', { conversationId = conversationId, owner = message.sender, recipients = members })
  return true
end

function Actions.kick(actor, conversationId, number)
  local ok, change, detail = Darkchat.call('kick', actor, conversationId, number)
  if not ok then return false, change, detail end
  Notify.memberRemoved(change, false)
  return true
end
