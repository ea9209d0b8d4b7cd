-- Veto hooks for other resources: a word filter, a job check, a ban list can refuse a create,
-- join or send before anything is stored.
--
--   local id = exports['17mov_Phone']:Darkchat_AddHook('send', function(payload)
--     if payload.content:find('forbidden word') then return false, 'watch your language' end
--   end)
--
-- A hook returns `false` (and optionally a reason) to refuse; anything else allows. A hook that
-- errors (or whose resource stopped) is logged and allows: a broken filter must not take chat
-- down. Hooks of a resource are dropped when it stops, and only the resource that added a hook
-- can remove it (ids are plain counters, easy to guess).
--
-- What a hook sees: only actions the core would carry out, with the values it would store.
-- Before the hooks of a kind are asked, the core rehearses the action (method `rehearse`): it
-- runs it in full (input rules, membership, limits, codes) inside a transaction it then rolls
-- back, and answers as the real call would. A refusal there is the action's answer and no hook
-- runs; otherwise the hooks get the rehearsal's normalised values:
--   create { number, name, joinCode? }          (joinCode only when the caller chose one)
--   join   { number, joinCode, conversationId }
--   send   { number, conversationId, content, type, data?, replyTo? }
--          (content trimmed; '' for an image or a location, whose fields are in `data`;
--          `replyTo` the id of the message answered; an edit's new text comes as a send too,
--          with `edited = true` and the edited message's `messageId`)
-- Why a rehearsal rather than checks here: the rules live in the core alone, and a second copy
-- of them would drift. The cost (the write done twice, once rolled back) is paid only for kinds
-- that have hooks. The real call still checks everything: a hook may change things meanwhile.

local Hooks <const> = {}
Darkchat.Hooks = Hooks

local KINDS = { create = true, join = true, send = true }
local registered = {} -- id → { kind, fn, resource }
local counts = { create = 0, join = 0, send = 0 }
local nextId = 0

-- kind → function(rehearsal's values, call's arguments) → the payload hooks see
local PAYLOADS = {
  create = function(conv, _, _, _, joinCode)
    return {
      number = conv.owner,
      name = conv.name,
      joinCode = joinCode ~= nil and conv.joinCode or nil,
    }
  end,
  join = function(conv, change)
    return { number = change.number, joinCode = conv.joinCode, conversationId = conv.id }
  end,
  send = function(message, _, _, conversationId)
    return {
      number = message.sender,
      conversationId = math.tointeger(conversationId),
      content = message.content,
      type = message.type,
      data = message.data,
      replyTo = message.replyTo and message.replyTo.id or nil,
      messageId = message.edited and message.id or nil,
      edited = message.edited,
    }
  end,
}

---@param kind 'create'|'join'|'send'
---@param fn function
---@return integer|false id, string? code
function Hooks.add(kind, fn)
  local callable = type(fn) == 'function'
    or (type(fn) == 'table' and getmetatable(fn) ~= nil and getmetatable(fn).__call ~= nil)
  if not KINDS[kind] or not callable then return false, 'invalid_argument' end
  nextId = nextId + 1
  registered[nextId] = { kind = kind, fn = fn, resource = GetInvokingResource() }
  counts[kind] = counts[kind] + 1
  return nextId
end

local function drop(id)
  local hook = registered[id]
  registered[id] = nil
  counts[hook.kind] = counts[hook.kind] - 1
end

--- Removes a hook the calling resource added; false for any other id.
---@param id integer
---@return boolean removed
function Hooks.remove(id)
  local hook = registered[id]
  if hook == nil or hook.resource ~= GetInvokingResource() then return false end
  drop(id)
  return true
end

--- Whether the action `kind` (`create`, `join`, `send`, with the arguments of the core method of
--- that name) may go ahead: true when no hook of that kind exists, or none refuses; otherwise
--- false and the answer to give: the core's own refusal from the rehearsal, or `forbidden` and
--- the first refusing hook's reason.
---@param kind string
---@return boolean allowed, string? code, string? reason
function Hooks.allow(kind, ...) return Hooks.allowAction(kind, kind, ...) end

--- [Hooks.allow] for an action the core names `method` (`sendImage`, `sendLocation` and
--- `editMessage` are `send` actions to hooks).
---@param kind string
---@param method string
---@return boolean allowed, string? code, string? reason
function Hooks.allowAction(kind, method, ...)
  if counts[kind] == 0 then return true end
  local ok, first, second = Darkchat.call('rehearse', method, ...)
  if not ok then return false, first, second end
  local payload = PAYLOADS[kind](first, second, ...)
  -- A hook may add or remove hooks: walk a copy.
  local hooks = {}
  for id, hook in pairs(registered) do
    if hook.kind == kind then hooks[#hooks + 1] = { id = id, hook = hook } end
  end
  table.sort(hooks, function(a, b) return a.id < b.id end) -- the oldest hook is asked first
  for _, entry in ipairs(hooks) do
    local id, hook = entry.id, entry.hook
    if registered[id] then
      local called, verdict, reason = pcall(hook.fn, payload)
      if not called then
        Darkchat.log(
          ('hook %d (%s) failed: %s'):format(id, tostring(hook.resource), tostring(verdict))
        )
      elseif verdict == false then
        return false, 'forbidden', type(reason) == 'string' and reason or nil
      end
    end
  end
  return true
end

AddEventHandler('onResourceStop', function(resource)
  for id, hook in pairs(registered) do
    if hook.resource == resource then drop(id) end
  end
end)
