-- Veto hooks for other resources: a word filter, a job check, a ban list can refuse a create,
-- join or send before anything is stored.
--
--   local id = exports['17mov_Phone']:Darkchat_AddHook('send', function(payload)
--     if payload.content:find('forbidden word') then return false, 'watch your language' end
--   end)
--
-- A hook returns `false` (and optionally a reason) to refuse; anything else allows. A hook that
-- errors (or whose resource stopped) is logged and allows: a broken filter must not take chat
-- down. Hooks of a resource are dropped when it stops.

Hooks = {}

local KINDS = { create = true, join = true, send = true }
local registered = {}  -- id → { kind, fn, resource }
local nextId = 0

---@param kind 'create'|'join'|'send'
---@param fn function
---@return integer|false id, string? code
function Hooks.add(kind, fn)
  local callable = type(fn) == 'function'
    or (type(fn) == 'table' and getmetatable(fn) ~= nil and getmetatable(fn).__call ~= nil)
  if not KINDS[kind] or not callable then return false, 'invalid_argument' end
  nextId = nextId + 1
  registered[nextId] = { kind = kind, fn = fn, resource = GetInvokingResource() }
  return nextId
end

---@param id integer
---@return boolean removed
function Hooks.remove(id)
  if registered[id] == nil then return false end
  registered[id] = nil
  return true
end

--- Asks every hook of `kind`; the first refusal wins.
---@param kind string
---@param payload table
---@return boolean allowed, string? reason
function Hooks.allow(kind, payload)
  for id, hook in pairs(registered) do
    if hook.kind == kind then
      local ok, verdict, reason = pcall(hook.fn, payload)
      if not ok then
        Darkchat.log(('hook %d (%s) failed: %s'):format(id, tostring(hook.resource), tostring(verdict)))
      elseif verdict == false then
        return false, type(reason) == 'string' and reason or nil
      end
    end
  end
  return true
end

AddEventHandler('onResourceStop', function(resource)
  for id, hook in pairs(registered) do
    if hook.resource == resource then registered[id] = nil end
  end
end)
