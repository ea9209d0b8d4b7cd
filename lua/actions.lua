-- Every Darkchat operation once, as the acting phone number does it: exports, the phone UI's
-- requests and the console all come through here, so hooks, notifications and server events
-- are the same whoever asks. Each returns `true, ...` or `false, code[, detail]`.
-- `actor` nil means a server admin (passes owner checks); otherwise it is a phone number.
-- Arguments are as the caller gave them; the types below are what the core accepts (it checks
-- every one and answers invalid_argument otherwise): a phone number as a string or an integer,
-- ids as integers.

local Hooks <const> = Darkchat.Hooks
local Notify <const> = Darkchat.Notify

local Actions <const> = {}
Darkchat.Actions = Actions

--- A conversation id the core accepted, as the core has it: an integer (a client may send 5.0,
--- which pushes and events must not echo).
local function idOf(conversationId) return math.tointeger(conversationId) end

---@param number string|integer
---@param name string
---@param joinCode string?
---@param alias string?
---@return boolean ok
---@return any ... the answer's values, or the error code and its detail
function Actions.create(number, name, joinCode, alias)
  local allowed, code, reason = Hooks.allow('create', number, name, joinCode, alias)
  if not allowed then return false, code, reason end
  local ok, conv, detail = Darkchat.call('create', number, name, joinCode, alias)
  if not ok then return false, conv, detail end
  Notify.created(conv.id, conv.recipients[1], conv.name)
  return true, conv
end

---@param number string|integer
---@param conversationId integer
---@param alias string?
---@return boolean ok
---@return any ... the answer's values, or the error code and its detail
function Actions.add(number, conversationId, alias)
  local ok, change, detail = Darkchat.call('add', number, conversationId, alias)
  if not ok then return false, change, detail end
  Notify.memberAdded(change)
  return true, change
end

---@param number string|integer
---@param conversationId integer
---@param isSelf boolean?
---@return boolean ok
---@return any ... the answer's values, or the error code and its detail
function Actions.remove(number, conversationId, isSelf)
  local ok, change, detail = Darkchat.call('remove', number, conversationId, isSelf)
  if not ok then return false, change, detail end
  Notify.memberRemoved(change, isSelf == true)
  return true, change
end

---@param number string|integer
---@param joinCode string?
---@param alias string?
---@return boolean ok
---@return any ... the answer's values, or the error code and its detail
function Actions.join(number, joinCode, alias)
  local allowed, code, reason = Hooks.allow('join', number, joinCode, alias)
  if not allowed then return false, code, reason end
  local ok, conv, change = Darkchat.call('join', number, joinCode, alias)
  if not ok then return false, conv, change end
  Notify.memberAdded(change, true)
  return true, conv
end

--- Posts a text message; `replyTo` (optional) is the id of the message it answers.
---@param number string|integer
---@param conversationId integer
---@param content string
---@param replyTo integer?
---@return boolean ok
---@return any ... the answer's values, or the error code and its detail
function Actions.send(number, conversationId, content, replyTo)
  return Actions.post('send', number, conversationId, content, replyTo)
end

---@param number string|integer
---@return boolean ok
---@return any ... the answer's values, or the error code and its detail
function Actions.list(number) return Darkchat.call('list', number) end

---@param number string|integer
---@param conversationId integer
---@return boolean ok
---@return any ... the answer's values, or the error code and its detail
function Actions.get(number, conversationId)
  return Darkchat.call('conversation', number, conversationId)
end

---@param number string|integer
---@param conversationId integer
---@param beforeId integer?
---@param limit integer?
---@return boolean ok
---@return any ... the answer's values, or the error code and its detail
function Actions.messages(number, conversationId, beforeId, limit)
  return Darkchat.call('messages', number, conversationId, beforeId, limit)
end

---@param number string|integer
---@param conversationId integer
---@param messageId integer
---@return boolean ok
---@return any ... the answer's values, or the error code and its detail
function Actions.markRead(number, conversationId, messageId)
  return Darkchat.call('markRead', number, conversationId, messageId)
end

---@param actor string|integer|nil
---@param conversationId integer
---@param name string
---@return boolean ok
---@return any ... the answer's values, or the error code and its detail
function Actions.rename(actor, conversationId, name)
  local ok, message, members, list = Darkchat.call('rename', actor, conversationId, name)
  if not ok then return false, message, members end
  Notify.renamed(idOf(conversationId), message, members, list)
  return true, message
end

---@param actor string|integer|nil
---@param conversationId integer
---@return boolean ok
---@return any ... the answer's values, or the error code and its detail
function Actions.regenerateCode(actor, conversationId)
  local ok, code, detail = Darkchat.call('regenerateCode', actor, conversationId)
  if not ok then return false, code, detail end
  Notify.codeChanged(idOf(conversationId))
  return true, code
end

---@param actor string|integer|nil
---@param conversationId integer
---@return boolean ok
---@return any ... the answer's values, or the error code and its detail
function Actions.delete(actor, conversationId)
  local ok, members, detail = Darkchat.call('delete', actor, conversationId)
  if not ok then return false, members, detail end
  Notify.deleted(idOf(conversationId), members)
  return true
end

---@param actor string|integer|nil
---@param conversationId integer
---@param toNumber string|integer
---@return boolean ok
---@return any ... the answer's values, or the error code and its detail
function Actions.transfer(actor, conversationId, toNumber)
  local ok, message, members, list = Darkchat.call('transfer', actor, conversationId, toNumber)
  if not ok then return false, message, members end
  Notify.ownerChanged(idOf(conversationId), message, members, list)
  return true
end

--- Removes `number`; the number is banned from coming back unless `ban` is false.
---@param actor string|integer|nil
---@param conversationId integer
---@param number string|integer
---@param ban boolean?
---@return boolean ok
---@return any ... the answer's values, or the error code and its detail
function Actions.kick(actor, conversationId, number, ban)
  local ok, change, detail = Darkchat.call('kick', actor, conversationId, number, ban)
  if not ok then return false, change, detail end
  Notify.memberRemoved(change, false, ban ~= false)
  return true
end

--- Lifts a ban (the owner, or an admin when `actor` is nil).
---@param actor string|integer|nil
---@param conversationId integer
---@param number string|integer
---@return boolean ok
---@return any ... the answer's values, or the error code and its detail
function Actions.unban(actor, conversationId, number)
  local ok, code, detail = Darkchat.call('unban', actor, conversationId, number)
  if not ok then return false, code, detail end
  local _, normalised = Darkchat.call('checkNumber', number)
  Notify.unbanned(idOf(conversationId), normalised)
  return true
end

---@param actor string|integer|nil
---@param conversationId integer
---@return boolean ok
---@return any ... the answer's values, or the error code and its detail
function Actions.bans(actor, conversationId) return Darkchat.call('bans', actor, conversationId) end

--- Makes `number` a moderator (`isModerator` true or nil) or not (false): the owner, or an admin.
---@param actor string|integer|nil
---@param conversationId integer
---@param number string|integer
---@param isModerator boolean?
---@return boolean ok
---@return any ... the answer's values, or the error code and its detail
function Actions.setModerator(actor, conversationId, number, isModerator)
  local ok, message, members, list =
    Darkchat.call('setModerator', actor, conversationId, number, isModerator)
  if not ok then return false, message, members end
  if message then
    Notify.moderatorChanged(idOf(conversationId), message, isModerator ~= false, members, list)
  end
  return true
end

--- Sets how long the conversation keeps its messages (`retentionSeconds`: 0 off, 3600, 86400
--- or 604800): the owner, a moderator, or an admin. Members hear it with its system message.
---@param actor string|integer|nil
---@param conversationId integer
---@param retentionSeconds integer
---@return boolean ok
---@return any ... the answer's values, or the error code and its detail
function Actions.setRetention(actor, conversationId, retentionSeconds)
  local ok, message, members, list =
    Darkchat.call('setRetention', actor, conversationId, retentionSeconds)
  if not ok then return false, message, members end
  if message then
    Notify.retentionChanged(idOf(conversationId), message, retentionSeconds, members, list)
  end
  return true
end

--- The member changes their own alias in the conversation.
---@param number string|integer
---@param conversationId integer
---@param alias string?
---@return boolean ok
---@return any ... the answer's values, or the error code and its detail
function Actions.setAlias(number, conversationId, alias)
  local ok, message, members, list = Darkchat.call('setAlias', number, conversationId, alias)
  if not ok then return false, message, members end
  Notify.aliasChanged(idOf(conversationId), message, members, list)
  return true, message
end

--- Mutes (`muted` true or nil) or unmutes (false) a conversation for the member.
---@param number string|integer
---@param conversationId integer
---@param muted boolean?
---@return boolean ok
---@return any ... the answer's values, or the error code and its detail
function Actions.setMuted(number, conversationId, muted)
  return Darkchat.call('setMuted', number, conversationId, muted)
end

--- The members with their numbers, aliases and roles (for server scripts; a member's view).
---@param number string|integer
---@param conversationId integer
---@return boolean ok
---@return any ... the answer's values, or the error code and its detail
function Actions.members(number, conversationId)
  return Darkchat.call('members', number, conversationId)
end

-- Messages: kinds, replies, edits, deletions --------------------------------------------------

--- Posts a message through the core method `method` (`send`, `sendImage`, `sendLocation`,
--- with that method's arguments after the number and conversation): the `send` hooks are
--- asked, the members told, `messageSent` fired.
---@param method string
---@param number string|integer
---@param conversationId integer
---@param ... any the method's arguments after the conversation
---@return boolean ok
---@return any ... the answer's values, or the error code and its detail
function Actions.post(method, number, conversationId, ...)
  local allowed, code, reason = Hooks.allowAction('send', method, number, conversationId, ...)
  if not allowed then return false, code, reason end
  local ok, message, members, muted = Darkchat.call(method, number, conversationId, ...)
  if not ok then return false, message, members end
  Notify.messageSent(idOf(conversationId), message, members, muted)
  return true, message
end

--- Posts an image: `url` is https on a host of Config.Limits.imageHosts.
---@param number string|integer
---@param conversationId integer
---@param url string
---@param replyTo integer?
---@return boolean ok
---@return any ... the answer's values, or the error code and its detail
function Actions.sendImage(number, conversationId, url, replyTo)
  return Actions.post('sendImage', number, conversationId, url, replyTo)
end

--- Posts a map location (x, y, z within the map; `label` optional).
---@param number string|integer
---@param conversationId integer
---@param x number
---@param y number
---@param z number
---@param label string?
---@param replyTo integer?
---@return boolean ok
---@return any ... the answer's values, or the error code and its detail
function Actions.sendLocation(number, conversationId, x, y, z, label, replyTo)
  return Actions.post('sendLocation', number, conversationId, x, y, z, label, replyTo)
end

--- Deletes a message, leaving a tombstone: the sender their own, the owner and moderators
--- anyone's, an admin (`actor` nil: the console's `purge`) any message.
---@param actor string|integer|nil
---@param conversationId integer
---@param messageId integer
---@return boolean ok
---@return any ... the answer's values, or the error code and its detail
function Actions.deleteMessage(actor, conversationId, messageId)
  local ok, message, members, muted =
    Darkchat.call('deleteMessage', actor, conversationId, messageId)
  if not ok then return false, message, members end
  -- The event names who deleted it as stored, whatever form the caller passed.
  local deletedBy = actor ~= nil and select(2, Darkchat.call('checkNumber', actor)) or nil
  Notify.messageDeleted(idOf(conversationId), message, deletedBy, members, muted)
  return true, message
end

--- The sender edits their own text message (within Config.Limits.editWindowSeconds).
---@param number string|integer
---@param conversationId integer
---@param messageId integer
---@param content string
---@return boolean ok
---@return any ... the answer's values, or the error code and its detail
function Actions.editMessage(number, conversationId, messageId, content)
  -- The new text is a message sent: the send hooks (a word filter) see it, marked `edited`.
  local allowed, code, reason =
    Hooks.allowAction('send', 'editMessage', number, conversationId, messageId, content)
  if not allowed then return false, code, reason end
  local ok, message, members, muted =
    Darkchat.call('editMessage', number, conversationId, messageId, content)
  if not ok then return false, message, members end
  Notify.messageEdited(idOf(conversationId), message, members, muted)
  return true, message
end

-- Staff tools and reports -------------------------------------------------------------------
-- Staff act as a server admin (the console, server scripts): no acting number.

--- Bans `number` from Darkchat: `duration` '30m' | '12h' | '7d' | 'permanent' (or seconds;
--- nil: permanent), `reason` optional. A second ban of a number replaces the first.
---@param number string|integer
---@param duration string|integer|nil
---@param reason string?
---@return boolean ok
---@return any ... the answer's values, or the error code and its detail
function Actions.staffBan(number, duration, reason)
  local ok, ban, detail = Darkchat.call('staffBan', number, duration, reason)
  if not ok then return false, ban, detail end
  Notify.staffBanned(ban)
  return true, ban
end

---@param number string|integer
---@return boolean ok
---@return any ... the answer's values, or the error code and its detail
function Actions.staffUnban(number)
  local ok, ban, detail = Darkchat.call('staffUnban', number)
  if not ok then return false, ban, detail end
  Notify.staffUnbanned(ban.number)
  return true, ban
end

---@param limit integer?
---@return boolean ok
---@return any ... the answer's values, or the error code and its detail
function Actions.staffBans(limit) return Darkchat.call('staffBans', limit) end

--- A conversation's latest `limit` messages with senders' numbers and aliases (staff).
---@param conversationId integer
---@param limit integer?
---@return boolean ok
---@return any ... the answer's values, or the error code and its detail
function Actions.history(conversationId, limit)
  return Darkchat.call('history', conversationId, limit)
end

--- A member reports a message of a conversation they are in; staff hear of it.
---@param number string|integer
---@param conversationId integer
---@param messageId integer
---@param reason string
---@return boolean ok
---@return any ... the answer's values, or the error code and its detail
function Actions.report(number, conversationId, messageId, reason)
  local ok, report, detail = Darkchat.call('report', number, conversationId, messageId, reason)
  if not ok then return false, report, detail end
  Notify.server('messageReported', {
    reportId = report.id,
    conversationId = report.conversationId,
    messageId = report.messageId,
    reporter = report.reporter,
    reporterAlias = report.reporterAlias,
    sender = report.sender,
    senderAlias = report.senderAlias,
    content = report.content,
    reason = report.reason,
  })
  return true, report
end

---@param limit integer?
---@return boolean ok
---@return any ... the answer's values, or the error code and its detail
function Actions.reports(limit) return Darkchat.call('reports', limit) end

---@param reportId integer
---@return boolean ok
---@return any ... the answer's values, or the error code and its detail
function Actions.dismissReport(reportId)
  local ok, report, detail = Darkchat.call('dismissReport', reportId)
  if not ok then return false, report, detail end
  Notify.server('reportDismissed', { reportId = report.id, conversationId = report.conversationId })
  return true, report
end
