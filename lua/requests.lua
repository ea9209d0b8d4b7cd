-- The phone UI's side. The client asks with
--   TriggerServerEvent('17mov_Phone:darkchat:request', requestId, action, payload)
-- and only that player gets the answer
--   '17mov_Phone:darkchat:response' (requestId, { ok = true, data = ... } | { ok = false, error = code })
-- The acting number always comes from the event's `source` through the bridge, never from
-- the payload; the core checks membership and ownership on every action. README documents
-- every action.
--
-- A request is worked through cheapest first, so that a hostile client costs little: the
-- player's request rate; the action's name and the payload's shape; every field of the action,
-- by type and size (a few MB in a field is refused by its length, before anything reads it);
-- the action's own rate limits; then the bridge (source → number) and the action itself.

local REQUEST = '17mov_Phone:darkchat:request'
local RESPONSE = '17mov_Phone:darkchat:response'
local MAX_REQUEST_ID_BYTES = 64

-- Field checks: type and size only. The values' own rules (a positive integer id, a name's
-- characters) are the core's, which answers invalid_argument for both kinds of failure alike.
local function number(v) return math.type(v) ~= nil end
local function optionalNumber(v) return v == nil or math.type(v) ~= nil end
local function text(v) return type(v) == 'string' and #v <= Darkchat.MAX_INPUT_BYTES end
local function optionalText(v) return v == nil or text(v) end
local function content(v) return type(v) == 'string' and #v <= Darkchat.MAX_ARG_BYTES end
local function phoneNumber(v) return text(v) or number(v) end

-- Owner actions reach every member with a push: they share a bucket of their own.
local OWNER = { 'owner' }

-- action → { fields = { name = check }, buckets = rate-limit buckets besides `request`,
--            run = function(number, payload) → ok, value... }
local ACTIONS = {
  list = { fields = {}, run = function(n) return Actions.list(n) end },
  get = { fields = { conversationId = number },
    run = function(n, p) return Actions.get(n, p.conversationId) end },
  messages = { fields = { conversationId = number, before = optionalNumber, limit = optionalNumber },
    run = function(n, p) return Actions.messages(n, p.conversationId, p.before, p.limit) end },
  -- A custom code is a guess at whether that code exists (join_code_taken): a join attempt.
  create = { fields = { name = text, joinCode = optionalText },
    buckets = function(p) return p.joinCode ~= nil and { 'join', 'message' } or { 'message' } end,
    run = function(n, p) return Actions.create(n, p.name, p.joinCode) end },
  join = { fields = { joinCode = text }, buckets = { 'join' },
    run = function(n, p) return Actions.join(n, p.joinCode) end },
  send = { fields = { conversationId = number, content = content }, buckets = { 'message' },
    run = function(n, p) return Actions.send(n, p.conversationId, p.content) end },
  markRead = { fields = { conversationId = number, messageId = optionalNumber },
    run = function(n, p) return Actions.markRead(n, p.conversationId, p.messageId) end },
  leave = { fields = { conversationId = number },
    run = function(n, p) return Actions.remove(n, p.conversationId, true) end },
  rename = { fields = { conversationId = number, name = text }, buckets = OWNER,
    run = function(n, p) return Actions.rename(n, p.conversationId, p.name) end },
  regenerateCode = { fields = { conversationId = number }, buckets = OWNER,
    run = function(n, p) return Actions.regenerateCode(n, p.conversationId) end },
  delete = { fields = { conversationId = number }, buckets = OWNER,
    run = function(n, p) return Actions.delete(n, p.conversationId) end },
  transfer = { fields = { conversationId = number, to = phoneNumber }, buckets = OWNER,
    run = function(n, p) return Actions.transfer(n, p.conversationId, p.to) end },
  kick = { fields = { conversationId = number, number = phoneNumber }, buckets = OWNER,
    run = function(n, p) return Actions.kick(n, p.conversationId, p.number) end },
}

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

--- Every field the action reads has the right type and size (other fields are never read).
local function validFields(fields, payload)
  for field, check in pairs(fields) do
    if not check(payload[field]) then return false end
  end
  return true
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
  local spec = type(action) == 'string' and ACTIONS[action]
  if not spec or requestId == nil or not validPayload(payload) then
    return answer({ ok = false, error = 'invalid_argument' })
  end
  payload = payload or {}
  if not validFields(spec.fields, payload) then
    return answer({ ok = false, error = 'invalid_argument' })
  end
  local buckets = spec.buckets
  if type(buckets) == 'function' then buckets = buckets(payload) end
  if buckets and not RateLimit.take(src, table.unpack(buckets)) then
    return answer({ ok = false, error = 'rate_limited' })
  end
  local number = Bridge.numberOf(src)
  if not number then return answer({ ok = false, error = 'player_not_found' }) end
  local called, ok, value = pcall(spec.run, number, payload)
  if not called then
    Darkchat.log(('request %s from %d failed: %s'):format(action, src, tostring(ok)))
    return answer({ ok = false, error = 'storage_error' })
  end
  if not ok then return answer({ ok = false, error = value }) end
  return answer({ ok = true, data = data(action, value) })
end)
