-- Server exports for other resources.
--
-- The documented six (README "The documented exports"), exactly:
--   Darkchat_CreateConversationBySrc(src, name, joinCode?)    → { success, newConv? | error }
--   Darkchat_CreateConversationByNumber(number, name, joinCode?)
--   Darkchat_AddToConversationBySrc(src, conversationId)      → true | false, code
--   Darkchat_AddToConversationByNumber(number, conversationId)
--   Darkchat_RemoveFromConversationBySrc(src, conversationId, isSelf)     → true | false, code
--   Darkchat_RemoveFromConversationByNumber(number, conversationId, isSelf)
-- and the rest of what a player does, in the same style (README lists them). Every export
-- exists as BySrc and ByNumber where a player is the subject. A failure is a value, never a
-- Lua error. For BySrc, the source is checked first, then resolved through the bridge, then
-- the core checks the rest.

local Actions <const> = Darkchat.Actions
local Bridge <const> = Darkchat.Bridge
local Hooks <const> = Darkchat.Hooks

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

-- Result shapes ---------------------------------------------------------------------------

--- `{ success = true, [field] = value }` or `{ success = false, error = code }`.
local function record(field)
  return function(ok, value, detail)
    if not ok then return { success = false, error = value, reason = detail } end
    return { success = true, [field] = value }
  end
end

--- `true`, or `false, code`.
local function boolean(ok, code)
  if ok then return true end
  return false, code
end

--- Registers `<name>ByNumber(number, ...)` and `<name>BySrc(src, ...)` for an action.
---@param name string export name without the suffix
---@param action function Actions.* taking the number first
---@param shape function one of the result shapes above
local function player(name, action, shape)
  exports(name .. 'ByNumber', function(number, ...)
    -- nil is how the actions spell "a server admin": a script must never become one by
    -- passing no number (it would list everything, or pass owner checks).
    if number == nil then return shape(false, 'invalid_argument') end
    return shape(action(number, ...))
  end)
  exports(name .. 'BySrc', function(src, ...)
    local number, code = Darkchat.numberOfSource(src)
    if not number then return shape(false, code) end
    return shape(action(number, ...))
  end)
end

-- The documented exports ------------------------------------------------------------------

player('Darkchat_CreateConversation', Actions.create, function(ok, conv, detail)
  if not ok then return { success = false, error = conv } end
  return { success = true, newConv = conv }
end)
player('Darkchat_AddToConversation', Actions.add, boolean)
player('Darkchat_RemoveFromConversation', Actions.remove, boolean)

-- What else a player does -----------------------------------------------------------------

player('Darkchat_JoinConversation', Actions.join, record('conversation'))
player('Darkchat_SendMessage', Actions.send, record('message'))
player('Darkchat_GetConversations', Actions.list, record('conversations'))
player('Darkchat_GetConversation', Actions.get, record('conversation'))
player('Darkchat_GetMessages', Actions.messages, record('messages'))
player('Darkchat_MarkRead', Actions.markRead, boolean)
-- Owner actions: the acting player must own the conversation.
player('Darkchat_RenameConversation', Actions.rename, boolean)
player('Darkchat_RegenerateJoinCode', Actions.regenerateCode, record('joinCode'))
player('Darkchat_DeleteConversation', Actions.delete, boolean)
player('Darkchat_TransferOwnership', Actions.transfer, boolean)
-- Owner or moderator: `(actor, conversationId, number, ban?)`, `ban` true unless false.
player('Darkchat_KickFromConversation', Actions.kick, boolean)
player('Darkchat_UnbanFromConversation', Actions.unban, boolean)
player('Darkchat_GetBans', Actions.bans, record('bans'))
player('Darkchat_SetModerator', Actions.setModerator, boolean)
-- `(actor, conversationId, retentionSeconds)`: 0 (off), 3600, 86400 or 604800.
player('Darkchat_SetRetention', Actions.setRetention, boolean)
-- A member's own settings, and the member list with numbers and aliases (server side).
player('Darkchat_SetAlias', Actions.setAlias, boolean)
player('Darkchat_MuteConversation', Actions.setMuted, boolean)
player('Darkchat_GetMembers', Actions.members, record('members'))

-- Messages of other kinds, edits and deletions (`replyTo`, optional, names the message
-- answered; Darkchat_SendMessage* takes it as a fourth argument too).
player('Darkchat_SendImage', Actions.sendImage, record('message'))
player('Darkchat_SendLocation', Actions.sendLocation, record('message'))
player('Darkchat_EditMessage', Actions.editMessage, record('message'))
player('Darkchat_DeleteMessage', Actions.deleteMessage, boolean)
-- Reports and staff tools ------------------------------------------------------------------

-- A member reports a message: `(who, conversationId, messageId, reason)` → `{ success, report? }`.
player('Darkchat_ReportMessage', Actions.report, record('report'))
-- For staff resources (an admin menu): the reports kept, newest first, and dismissing one; staff
-- bans of numbers from Darkchat.
exports('Darkchat_GetReports', function(limit) return record('reports')(Actions.reports(limit)) end)
exports(
  'Darkchat_DismissReport',
  function(reportId) return boolean(Actions.dismissReport(reportId)) end
)
exports('Darkchat_StaffBan', function(number, duration, reason)
  if number == nil then return false, 'invalid_argument' end
  return boolean(Actions.staffBan(number, duration, reason))
end)
exports('Darkchat_StaffUnban', function(number)
  if number == nil then return false, 'invalid_argument' end
  return boolean(Actions.staffUnban(number))
end)
exports(
  'Darkchat_GetStaffBans',
  function(limit) return record('bans')(Actions.staffBans(limit)) end
)

-- Hooks ------------------------------------------------------------------------------------

exports('Darkchat_AddHook', Hooks.add)
exports('Darkchat_RemoveHook', Hooks.remove)
