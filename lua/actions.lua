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

function Actions.create(number, name, joinCode, alias)
  local allowed, code, reason = Hooks.allow('create', number, name, joinCode, alias)
  if not allowed then return false, code, reason end
  local ok, conv, detail = Darkchat.call('create', number, name, joinCode, alias)
  if not ok then return false, conv, detail end
  Notify.server('conversationCreated', { conversationId = conv.id, number = conv.recipients[1], name = conv.name })
  return true, conv
end

function Actions.add(number, conversationId, alias)
  local ok, change, detail = Darkchat.call('add', number, conversationId, alias)
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

function Actions.join(number, joinCode, alias)
  local allowed, code, reason = Hooks.allow('join', number, joinCode, alias)
  if not allowed then return false, code, reason end
  local ok, conv, change = Darkchat.call('join', number, joinCode, alias)
  if not ok then return false, conv, change end
  Notify.memberAdded(change, true)
  return true, conv
end

--- Posts a text message; `replyTo` (optional) is the id of the message it answers.
function Actions.send(number, conversationId, content, replyTo)
  return Actions.post('send', number, conversationId, content, replyTo)
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
  local ok, message, members, list = Darkchat.call('rename', actor, conversationId, name)
  if not ok then return false, message, members end
  Notify.renamed(idOf(conversationId), message, members, list)
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
  local ok, message, members, list = Darkchat.call('transfer', actor, conversationId, toNumber)
  if not ok then return false, message, members end
  conversationId = idOf(conversationId)
  Notify.active(list, 'ownerChanged', { conversationId = conversationId, owner = message.senderAlias, message = Client.message(message) })
  Notify.server('ownerChanged', { conversationId = conversationId, owner = message.sender, recipients = members })
  return true
end

--- Removes `number`; the number is banned from coming back unless `ban` is false.
function Actions.kick(actor, conversationId, number, ban)
  local ok, change, detail = Darkchat.call('kick', actor, conversationId, number, ban)
  if not ok then return false, change, detail end
  Notify.memberRemoved(change, false, ban ~= false)
  return true
end

--- Lifts a ban (the owner, or an admin when `actor` is nil).
function Actions.unban(actor, conversationId, number)
  local ok, code, detail = Darkchat.call('unban', actor, conversationId, number)
  if not ok then return false, code, detail end
  local _, normalised = Darkchat.call('checkNumber', number)
  Notify.server('memberUnbanned', { conversationId = idOf(conversationId), number = normalised })
  return true
end

function Actions.bans(actor, conversationId)
  return Darkchat.call('bans', actor, conversationId)
end

--- Makes `number` a moderator (`isModerator` true or nil) or not (false): the owner, or an admin.
function Actions.setModerator(actor, conversationId, number, isModerator)
  local ok, message, members, list = Darkchat.call('setModerator', actor, conversationId, number, isModerator)
  if not ok then return false, message, members end
  if message then
    conversationId = idOf(conversationId)
    local granted = isModerator ~= false
    Notify.active(list, 'moderatorChanged', {
      conversationId = conversationId, alias = message.senderAlias, isModerator = granted, message = Client.message(message),
    })
    Notify.server('moderatorChanged', { conversationId = conversationId, number = message.sender, isModerator = granted, recipients = members })
  end
  return true
end

--- The member changes their own alias in the conversation.
function Actions.setAlias(number, conversationId, alias)
  local ok, message, members, list = Darkchat.call('setAlias', number, conversationId, alias)
  if not ok then return false, message, members end
  conversationId = idOf(conversationId)
  Notify.active(list, 'aliasChanged', { conversationId = conversationId, alias = message.senderAlias, message = Client.message(message) }, message.sender)
  Notify.server('aliasChanged', { conversationId = conversationId, number = message.sender, alias = message.senderAlias, recipients = members })
  return true, message
end

--- Mutes (`muted` true or nil) or unmutes (false) a conversation for the member.
function Actions.setMuted(number, conversationId, muted)
  return Darkchat.call('setMuted', number, conversationId, muted)
end

--- The members with their numbers, aliases and roles (for server scripts; a member's view).
function Actions.members(number, conversationId)
  return Darkchat.call('members', number, conversationId)
end

-- Messages: kinds, replies, edits, deletions --------------------------------------------------

--- Posts a message through the core method `method` (`send`, `sendImage`, `sendLocation`,
--- with that method's arguments after the number and conversation): the `send` hooks are
--- asked, the members told, `messageSent` fired.
function Actions.post(method, number, conversationId, ...)
  local allowed, code, reason = Hooks.allowAction('send', method, number, conversationId, ...)
  if not allowed then return false, code, reason end
  local ok, message, members, list = Darkchat.call(method, number, conversationId, ...)
  if not ok then return false, message, members end
  conversationId = idOf(conversationId)
  Notify.active(list, 'messageReceived',
    { conversationId = conversationId, message = Client.message(message) }, message.sender)
  Notify.server('messageSent', {
    conversationId = conversationId, number = message.sender, messageId = message.id,
    recipients = members, type = message.type,
    replyTo = message.replyTo and message.replyTo.id or nil,
  })
  return true, message
end

--- Posts an image: `url` is https on a host of Config.Limits.imageHosts.
function Actions.sendImage(number, conversationId, url, replyTo)
  return Actions.post('sendImage', number, conversationId, url, replyTo)
end

--- Posts a map location (x, y, z within the map; `label` optional).
function Actions.sendLocation(number, conversationId, x, y, z, label, replyTo)
  return Actions.post('sendLocation', number, conversationId, x, y, z, label, replyTo)
end

--- Deletes a message, leaving a tombstone: the sender their own, the owner and moderators
--- anyone's, an admin (`actor` nil: the console's `purge`) any message.
function Actions.deleteMessage(actor, conversationId, messageId)
  local ok, message, members, list =
    Darkchat.call('deleteMessage', actor, conversationId, messageId)
  if not ok then return false, message, members end
  conversationId = idOf(conversationId)
  Notify.active(list, 'messageDeleted', {
    conversationId = conversationId, messageId = message.id, message = Client.message(message),
  }, actor)
  Notify.server('messageDeleted', {
    conversationId = conversationId, messageId = message.id, number = message.sender,
    deletedBy = actor, recipients = members,
  })
  return true, message
end

--- The sender edits their own text message (within Config.Limits.editWindowSeconds).
function Actions.editMessage(number, conversationId, messageId, content)
  -- The new text is a message sent: the send hooks (a word filter) see it, marked `edited`.
  local allowed, code, reason =
    Hooks.allowAction('send', 'editMessage', number, conversationId, messageId, content)
  if not allowed then return false, code, reason end
  local ok, message, members, list =
    Darkchat.call('editMessage', number, conversationId, messageId, content)
  if not ok then return false, message, members end
  conversationId = idOf(conversationId)
  Notify.active(list, 'messageEdited', {
    conversationId = conversationId, messageId = message.id, message = Client.message(message),
  }, message.sender)
  Notify.server('messageEdited', {
    conversationId = conversationId, messageId = message.id, number = message.sender,
    recipients = members,
  })
  return true, message
end
