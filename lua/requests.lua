-- The phone UI's side. The client asks with
--   TriggerServerEvent('17mov_Phone:darkchat:request', requestId, action, payload)
-- and only that player gets the answer
--   '17mov_Phone:darkchat:response' (requestId, { ok = true, data = ... } | { ok = false, error = code })
-- The acting number always comes from the event's `source` through the bridge, never from
-- the payload; the core checks membership and ownership on every action. Rate limits apply
-- per player before anything reaches the core. README documents every action.

local REQUEST = '17mov_Phone:darkchat:request'
local RESPONSE = '17mov_Phone:darkchat:response'
local MAX_REQUEST_ID_BYTES = 64

-- action → { bucket, handler(number, payload) → ok, value... , shape of `data` }
local handlers = {
  list = function(number) return Actions.list(number) end,
  get = function(number, p) return Actions.get(number, p.conversationId) end,
  messages = function(number, p) return Actions.messages(number, p.conversationId, p.before, p.limit) end,
  create = function(number, p) return Actions.create(number, p.name, p.joinCode) end,
  join = function(number, p) return Actions.join(number, p.joinCode) end,
  send = function(number, p) return Actions.send(number, p.conversationId, p.content) end,
  markRead = function(number, p) return Actions.markRead(number, p.conversationId, p.messageId) end,
  leave = function(number, p) return Actions.remove(number, p.conversationId, true) end,
  rename = function(number, p) return Actions.rename(number, p.conversationId, p.name) end,
  regenerateCode = function(number, p) return Actions.regenerateCode(number, p.conversationId) end,
  delete = function(number, p) return Actions.delete(number, p.conversationId) end,
  transfer = function(number, p) return Actions.transfer(number, p.conversationId, p.to) end,
  kick = function(number, p) return Actions.kick(number, p.conversationId, p.number) end,
}

-- Extra rate-limit bucket per action (every request also counts in `request`).
local buckets = { join = 'join', send = 'message', create = 'message' }

--- What the client gets back from a successful action.
local function data(action, value)
  if action == 'leave' then return true end -- the membership change concerns the server only
  return value
end

--- A payload is a plain table of fields; a function sent by a client arrives as a function
--- reference (a table with a metatable that raises when indexed), which is not one.
local function validPayload(payload)
  return payload == nil or (type(payload) == 'table' and getmetatable(payload) == nil)
end

local function validRequestId(id)
  local kind = math.type(id)
  if kind == 'integer' then return true end
  return type(id) == 'string' and #id <= MAX_REQUEST_ID_BYTES
end

RegisterNetEvent(REQUEST, function(requestId, action, payload)
  local src = math.tointeger(tonumber(source))
  if not src then return end
  if not validRequestId(requestId) then requestId = nil end
  local function answer(response) TriggerClientEvent(RESPONSE, src, requestId, response) end
  if not RateLimit.take(src, 'request') then
    return answer({ ok = false, error = 'rate_limited' })
  end
  local handler = type(action) == 'string' and handlers[action]
  if not handler or requestId == nil or not validPayload(payload) then
    return answer({ ok = false, error = 'invalid_argument' })
  end
  local bucket = buckets[action]
  if bucket and not RateLimit.take(src, bucket) then
    return answer({ ok = false, error = 'rate_limited' })
  end
  local number = Bridge.numberOf(src)
  if not number then return answer({ ok = false, error = 'player_not_found' }) end
  local called, ok, value = pcall(handler, number, payload or {})
  if not called then
    Darkchat.log(('request %s from %d failed: %s'):format(action, src, tostring(ok)))
    return answer({ ok = false, error = 'storage_error' })
  end
  if not ok then return answer({ ok = false, error = value }) end
  return answer({ ok = true, data = data(action, value) })
end)
