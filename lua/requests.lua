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

local Actions <const> = Darkchat.Actions
local Bridge <const> = Darkchat.Bridge
local Client <const> = Darkchat.Client
local RateLimit <const> = Darkchat.RateLimit

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

local function optionalBoolean(v) return v == nil or type(v) == 'boolean' end

-- Owner and moderator actions reach every member with a push: they share a bucket of their
-- own. Changing one's alias pushes to every member too, as muting would if spammed: `member`.
local OWNER = { 'owner' }
local MEMBER = { 'member' }

--- The number of the member a player named by alias in a conversation (requests never carry
--- numbers: a player does not know them). The core checks the asker is a member.
local function numberOf(asker, conversationId, alias)
  return Darkchat.call('memberByAlias', asker, conversationId, alias)
end

--- Runs `action(asker, conversationId, <number of alias>, ...)` once the alias is found.
local function onAlias(action, conversationId, alias, asker, ...)
  local ok, number = numberOf(asker, conversationId, alias)
  if not ok then return false, number end
  return action(asker, conversationId, number, ...)
end

local function conversationView(value, n) return Client.conversation(value, n) end

-- action → { fields = { name = check }, buckets = rate-limit buckets besides `request`,
--            run = function(number, payload) → ok, value...,
--            view = function(value, number) → what the client gets (default: true) }
-- Every answer goes through `view`: what a core value holds beyond it (phone numbers, the
-- creator's phone id) never reaches the client.
local ACTIONS = {
  list = {
    fields = {},
    run = function(n) return Actions.list(n) end,
    view = function(value, n) return Client.conversations(value, n) end,
  },
  get = {
    fields = { conversationId = number },
    run = function(n, p) return Actions.get(n, p.conversationId) end,
    view = conversationView,
  },
  messages = {
    fields = { conversationId = number, before = optionalNumber, limit = optionalNumber },
    run = function(n, p) return Actions.messages(n, p.conversationId, p.before, p.limit) end,
    view = function(value) return Client.messages(value) end,
  },
  -- A custom code is a guess at whether that code exists (join_code_taken): a join attempt.
  create = {
    fields = { name = text, joinCode = optionalText, alias = optionalText },
    buckets = function(p) return p.joinCode ~= nil and { 'join', 'message' } or { 'message' } end,
    run = function(n, p) return Actions.create(n, p.name, p.joinCode, p.alias) end,
    view = conversationView,
  },
  join = {
    fields = { joinCode = text, alias = optionalText },
    buckets = { 'join' },
    run = function(n, p) return Actions.join(n, p.joinCode, p.alias) end,
    view = conversationView,
  },
  send = {
    fields = { conversationId = number, content = content, replyTo = optionalNumber },
    buckets = { 'message' },
    run = function(n, p) return Actions.send(n, p.conversationId, p.content, p.replyTo) end,
    view = function(value) return Client.message(value) end,
  },
  markRead = {
    fields = { conversationId = number, messageId = optionalNumber },
    run = function(n, p) return Actions.markRead(n, p.conversationId, p.messageId) end,
  },
  leave = {
    fields = { conversationId = number },
    run = function(n, p) return Actions.remove(n, p.conversationId, true) end,
  },
  rename = {
    fields = { conversationId = number, name = text },
    buckets = OWNER,
    run = function(n, p) return Actions.rename(n, p.conversationId, p.name) end,
    view = function(value) return Client.message(value) end,
  },
  regenerateCode = {
    fields = { conversationId = number },
    buckets = OWNER,
    run = function(n, p) return Actions.regenerateCode(n, p.conversationId) end,
    view = function(code) return code end,
  },
  delete = {
    fields = { conversationId = number },
    buckets = OWNER,
    run = function(n, p) return Actions.delete(n, p.conversationId) end,
  },
  transfer = {
    fields = { conversationId = number, to = text },
    buckets = OWNER,
    run = function(n, p) return onAlias(Actions.transfer, p.conversationId, p.to, n) end,
  },
  -- Owners and moderators; `ban` (default true) keeps the member from coming back.
  kick = {
    fields = { conversationId = number, alias = text, ban = optionalBoolean },
    buckets = OWNER,
    run = function(n, p) return onAlias(Actions.kick, p.conversationId, p.alias, n, p.ban) end,
  },
  members = {
    fields = { conversationId = number },
    run = function(n, p) return Actions.members(n, p.conversationId) end,
    view = function(value, n) return Client.members(value, n) end,
  },
  bans = {
    fields = { conversationId = number },
    run = function(n, p) return Actions.bans(n, p.conversationId) end,
    view = function(value) return Client.bans(value) end,
  },
  -- A ban is named by the id the ban list shows (the banned member is no longer a member).
  unban = {
    fields = { conversationId = number, banId = number },
    buckets = OWNER,
    run = function(n, p)
      local banId = math.tointeger(p.banId)
      if not banId or banId <= 0 or banId > (1 << 53) - 1 then return false, 'invalid_argument' end
      local ok, bans = Actions.bans(n, p.conversationId)
      if not ok then return false, bans end
      for _, ban in ipairs(bans) do
        if ban.id == banId then return Actions.unban(n, p.conversationId, ban.number) end
      end
      return false, 'not_member'
    end,
  },
  setModerator = {
    fields = { conversationId = number, alias = text, isModerator = optionalBoolean },
    buckets = OWNER,
    run = function(n, p)
      return onAlias(Actions.setModerator, p.conversationId, p.alias, n, p.isModerator)
    end,
  },
  setRetention = {
    fields = { conversationId = number, retentionSeconds = number },
    buckets = OWNER,
    run = function(n, p) return Actions.setRetention(n, p.conversationId, p.retentionSeconds) end,
  },
  setAlias = {
    fields = { conversationId = number, alias = text },
    buckets = MEMBER,
    run = function(n, p) return Actions.setAlias(n, p.conversationId, p.alias) end,
    view = function(value) return Client.message(value) end,
  },
  mute = {
    fields = { conversationId = number, muted = optionalBoolean },
    buckets = MEMBER,
    run = function(n, p) return Actions.setMuted(n, p.conversationId, p.muted) end,
  },
  -- A member reports a message of that conversation to staff (answer: true; what staff see of
  -- it, numbers included, stays on the server).
  report = {
    fields = { conversationId = number, messageId = number, reason = text },
    buckets = { 'report' },
    run = function(n, p) return Actions.report(n, p.conversationId, p.messageId, p.reason) end,
  },
}

-- Messages of other kinds, edits and deletions: each pushes to every member, so they count as
-- messages sent. A message is named by its id, which players see (not a stable id of anyone).
local MESSAGE = { 'message' }
local function messageView(value) return Client.message(value) end
ACTIONS.sendImage = {
  fields = { conversationId = number, url = text, replyTo = optionalNumber },
  buckets = MESSAGE,
  run = function(n, p) return Actions.sendImage(n, p.conversationId, p.url, p.replyTo) end,
  view = messageView,
}
ACTIONS.sendLocation = {
  fields = {
    conversationId = number,
    x = number,
    y = number,
    z = number,
    label = optionalText,
    replyTo = optionalNumber,
  },
  buckets = MESSAGE,
  run = function(n, p)
    return Actions.sendLocation(n, p.conversationId, p.x, p.y, p.z, p.label, p.replyTo)
  end,
  view = messageView,
}
ACTIONS.deleteMessage = {
  fields = { conversationId = number, messageId = number },
  buckets = MESSAGE,
  run = function(n, p) return Actions.deleteMessage(n, p.conversationId, p.messageId) end,
  view = messageView,
}
ACTIONS.editMessage = {
  fields = { conversationId = number, messageId = number, content = content },
  buckets = MESSAGE,
  run = function(n, p) return Actions.editMessage(n, p.conversationId, p.messageId, p.content) end,
  view = messageView,
}

--- What the client gets back from a successful action.
local function data(spec, value, number)
  if spec.view then return spec.view(value, number) end
  return true -- the value (a membership change, nothing) concerns the server only
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
  local src = Darkchat.integer(source)
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
  return answer({ ok = true, data = data(spec, value, number) })
end)
