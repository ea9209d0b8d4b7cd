-- The generated bad-input matrix (issue 6): every export, every net-event action and every
-- console subcommand; each argument position gets each hostile value while the other positions
-- hold valid values, so each case isolates one argument. The expected answer is computed from
-- the input rules (README "API", src/input.rs), mirrored here as classifiers: a value is either refused
-- with a code, or valid, in which case the domain answers (success, or a code such as
-- not_member). Every refused case must: return the documented failure shape with that code,
-- raise nothing, send no client event to anyone (the requester's own response excepted), and
-- leave the database content checksum unchanged. A case whose value is valid and succeeds runs
-- on a fresh server, since it writes.

local T = require('testlib')
local World = require('world')

local MAX_SAFE = (1 << 53) - 1
local MAX_INPUT_BYTES = 4096

local HUGE = ('x'):rep(10 * 1024 * 1024) -- made once; strings are shared, never copied
local SQL = "'; DROP TABLE conversations; --"
local LOWER_CODE = 'abcd12' -- a valid code (stored upper-case): conversation B's
local LONG_CODE = 'ABCDEFGHJKLMNPQRS' -- 17 characters: one too many for a code

-- The hostile values, in order. `v` nil is nil.
local VALUES = {
  { 'nil', nil },
  { 'boolean', true },
  { 'table', {} },
  { 'function', function() end },
  { 'NaN', 0 / 0 },
  { '+inf', math.huge },
  { '-inf', -math.huge },
  { '1.5', 1.5 },
  { '0', 0 },
  { '-1', -1 },
  { '2^53', 2 ^ 53 },
  { '2^63', 2 ^ 63 },
  { 'maxinteger', math.maxinteger },
  { 'empty string', '' },
  { 'whitespace', '   ' },
  { '10 MB string', HUGE },
  { 'invalid UTF-8', '\xff\xfe\xc3' },
  { 'control characters', 'a\0b\7\27[31m' },
  { 'SQL metacharacters', SQL },
  { 'lower-case join code', LOWER_CODE },
  { 'too-long join code', LONG_CODE },
  { 'unknown id', 99999 },
}

-- Input rules (mirrors src/input.rs and src/lua.rs) ----------------------------------------

local function trim(s) return (s:match('^%s*(.-)%s*$')) end

--- Rust's char::is_control: C0 controls, DEL and the C1 controls (U+0080-U+009F).
local function hasControl(s)
  return s:find('[%z\1-\31\127]') ~= nil or s:find('\xc2[\x80-\x9f]') ~= nil
end

local function goodString(v)
  return type(v) == 'string' and #v <= MAX_INPUT_BYTES and utf8.len(v) ~= nil
end

--- The binding's integer: an integer, or a float that is an exact integer in the safe range.
local function integerOf(v)
  if math.type(v) == 'integer' then return v end
  if math.type(v) == 'float' and v == v and v % 1 == 0 and math.abs(v) <= MAX_SAFE then
    return math.tointeger(v)
  end
end

local IA = 'invalid_argument'

-- Each classifier returns `false, code` (refused) or `true, normalized`.
local RULES = {}

function RULES.src(v)
  local i = integerOf(v)
  if not i or i <= 0 or i > 0x7fffffff then return false, IA end
  return false, 'player_not_found' -- no value of the matrix is an online player's source
end

function RULES.number(v)
  if type(v) == 'string' then
    if not goodString(v) then return false, IA end
    local t = trim(v)
    local n = utf8.len(t)
    if n == 0 or n > 20 or hasControl(t) then return false, IA end
    return true, t
  end
  local i = integerOf(v)
  if not i or i <= 0 or i > MAX_SAFE then return false, IA end
  return true, tostring(i)
end

--- A member's alias: 2-24 characters after trimming, no control characters.
function RULES.alias(v)
  if not goodString(v) then return false, IA end
  local t = trim(v)
  local n = utf8.len(t)
  if n < 2 or n > 24 or hasControl(t) then return false, IA end
  return true, t
end

function RULES.name(v)
  if not goodString(v) then return false, IA end
  local t = trim(v)
  local n = utf8.len(t)
  if n == 0 or n > 64 or hasControl(t) then return false, 'invalid_name' end
  return true, t
end

function RULES.code(v)
  if not goodString(v) then return false, IA end
  local t = trim(v)
  if #t < 4 or #t > 16 or t:find('[^%w]') then return false, 'invalid_join_code' end
  return true, t:upper()
end

function RULES.optCode(v)
  if v == nil then return true, nil end
  return RULES.code(v)
end

function RULES.id(v)
  local i = integerOf(v)
  if not i or i <= 0 or i > MAX_SAFE then return false, IA end
  return true, i
end

function RULES.optId(v)
  if v == nil then return true, nil end
  local i = integerOf(v)
  if not i or i <= 0 then return false, IA end
  return true, i
end

function RULES.limit(v)
  if v == nil then return true, nil end
  local i = integerOf(v)
  if not i or i <= 0 or i > 0xffffffff then return false, IA end
  return true, i
end

--- A conversation's retention: an integer, one of off (0), an hour, a day, a week.
function RULES.retention(v)
  local i = integerOf(v)
  if i ~= 0 and i ~= 3600 and i ~= 86400 and i ~= 604800 then return false, IA end
  return true, i
end

function RULES.flag(v)
  if v == nil or type(v) == 'boolean' then return true, v end
  return false, IA
end

--- A report's or a staff ban's reason: trimmed, 1-200 characters, no control characters but
--- newline and tab.
function RULES.reason(v)
  if not goodString(v) then return false, IA end
  local t = trim(v)
  local n = utf8.len(t)
  if n == 0 or n > 200 or t:gsub('[\n\t]', ''):find('[%z\1-\31\127]') then return false, IA end
  return true, t
end

function RULES.content(v)
  if type(v) ~= 'string' or #v > 4000 or utf8.len(v) == nil then return false, IA end
  local t = trim(v)
  local n = utf8.len(t)
  if n == 0 or n > 1000 or t:gsub('[\n\t]', ''):find('[%z\1-\31\127]') then return false, IA end
  return true, t
end

--- An image URL: https on an allowed host (the fixture uses i.imgur.com), at most 512 bytes, no
--- spaces, quotes, angle brackets or backslashes. No hostile value of the matrix is one.
function RULES.url(v)
  if
    type(v) == 'string'
    and #v <= 512
    and v:lower():find('^https://i%.imgur%.com[/?#]')
    and not v:find('[%s%c"<>\\^`{|}\128-\255]')
  then
    return true, v
  end
  return false, IA
end

--- A coordinate: a finite number on the map (x ±4,500; y -4,500 to 8,500; z -500 to 2,000; the
--- matrix's numbers are inside all three ranges or outside every one).
function RULES.coordinate(v)
  if math.type(v) == nil or v ~= v or v < -500 or v > 2000 then return false, IA end
  return true, v + 0.0
end

--- A location's optional label: 1-64 characters after trimming, no control characters.
function RULES.label(v)
  if v == nil then return true, nil end
  if not goodString(v) then return false, IA end
  local t = trim(v)
  local n = utf8.len(t)
  if n == 0 or n > 64 or hasControl(t) then return false, IA end
  return true, t
end

--- A staff ban's duration: nil (permanent); seconds, 1 up to ten years; or a word: `permanent`
--- or a positive whole number and a unit (s m h d w), up to ten years.
local TEN_YEARS = 3650 * 86400
function RULES.duration(v)
  if v == nil then return true, nil end
  if type(v) == 'string' then
    if not goodString(v) then return false, IA end
    local t = trim(v)
    if t:lower() == 'permanent' then return true, nil end
    local n, unit = t:match('^(%d+)([smhdwSMHDW])$')
    local seconds = ({ s = 1, m = 60, h = 3600, d = 86400, w = 604800 })[(unit or ''):lower()]
    n = n and math.tointeger(tonumber(n))
    if not n or not seconds or n * seconds < 1 or n * seconds > TEN_YEARS then return false, IA end
    return true, n * seconds
  end
  local i = integerOf(v)
  if not i or i < 1 or i > TEN_YEARS then return false, IA end
  return true, i
end

--- An optional reason (a staff ban's): nil, or a reason.
function RULES.optReason(v)
  if v == nil then return true, nil end
  return RULES.reason(v)
end

--- The staff lists' bound: nil (the default) or 1-1000.
function RULES.staffLimit(v)
  if v == nil then return true, nil end
  local i = integerOf(v)
  if not i or i <= 0 or i > 1000 then return false, IA end
  return true, i
end

--- A report's id: any positive integer (no report exists in the fixture, so every valid one is
--- unknown: invalid_argument too).
function RULES.reportId(v)
  local i = integerOf(v)
  if not i or i <= 0 then return false, IA end
  return true, i
end

--- The message a reply answers: only the fixture's own message exists (none of the matrix's
--- valid ids is one), so a valid id other than nil names no message.
local function replyOutcome(id) return id == nil and 'ok' or IA end

-- The fixture ------------------------------------------------------------------------------
-- Conversation A: owner 5550101 (player 1, alias Ace), member 5550102 (player 2, alias Bee),
-- one message. Conversation B: owner 5550102, code ABCD12. Player 3 (5550103) is in neither.

local function fixture(w)
  local a =
    w:call('Darkchat_CreateConversationByNumber', '5550101', 'Crew', 'CREWAAAA', 'Ace').newConv.id
  assert(w:call('Darkchat_AddToConversationByNumber', '5550102', a, 'Bee'))
  local m = w:call('Darkchat_SendMessageByNumber', '5550101', a, 'hello').message.id
  local b = w:call('Darkchat_CreateConversationByNumber', '5550102', 'Other', 'ABCD12').newConv.id
  w.srv:runFor(10)
  w.srv:clearClientEvents()
  w.srv:clearOutput()
  return { a = a, b = b, m = m }
end

local function newWorld(opts)
  local w = World.new(opts)
  return w, fixture(w)
end

-- What a success returns ---------------------------------------------------------------------
-- Checked against the documented shapes and the fixture, not merely present.

local DOCUMENTED_ALPHABET = 'ABCDEFGHJKLMNPQRSTUVWXYZ23456789'

local function checkGeneratedCode(code, label)
  T.eq(type(code), 'string', label .. ': a code')
  T.ok(
    #code == 6 and not code:find('[^' .. DOCUMENTED_ALPHABET .. ']'),
    label .. ': generated code ' .. code
  )
end

--- Whether `label` is a player's request (answers name members by alias) rather than an
--- export (numbers: server scripts are trusted).
local function isClient(label) return label:find('^request ') ~= nil end

--- `actual` names the member `number` as the caller may see them: the number for a script; an
--- alias for a player (`alias` when known), never anything that looks like a phone number.
local function named(actual, number, label, alias)
  if not isClient(label) then return T.eq(actual, number, label) end
  T.eq(type(actual), 'string', label .. ': an alias')
  T.ok(not actual:find('%d%d%d%d%d'), label .. ': an alias, not a number: ' .. tostring(actual))
  if alias then T.eq(actual, alias, label) end
end

local function checkMessage(m, label)
  T.eq(math.type(m.id), 'integer', label .. ': message id')
  local kinds = { text = true, system = true, image = true, location = true }
  T.ok(kinds[m.type], label .. ': message type ' .. tostring(m.type))
  T.eq(type(m.content), 'string', label .. ': message content')
  T.eq(type(m.sender), 'string', label .. ': message sender')
  T.eq(math.type(m.createdAt), 'integer', label .. ': message time')
end

--- The contents of a list of messages, each checked for the message shape.
local function contents(messages, label)
  local out = {}
  for i, m in ipairs(messages) do
    checkMessage(m, label)
    out[i] = m.content
  end
  return out
end

--- A DarkchatConversation as documented: every field there, with its type.
local function checkConversation(c, label)
  T.eq(type(c), 'table', label .. ': a conversation')
  for _, field in ipairs({ 'id', 'createdAt', 'updatedAt', 'unreadCount' }) do
    T.eq(math.type(c[field]), 'integer', label .. ': ' .. field)
  end
  if isClient(label) then
    T.eq(c.createdBy, nil, label .. ': no creator id for players')
    T.eq(type(c.alias), 'string', label .. ": the player's own alias")
  else
    T.eq(math.type(c.createdBy), 'integer', label .. ': createdBy')
    T.eq(type(c.owner), 'string', label .. ': owner')
  end
  for _, field in ipairs({ 'name', 'joinCode' }) do
    T.eq(type(c[field]), 'string', label .. ': ' .. field)
  end
  T.eq(c.appName, 'darkchat', label)
  T.eq(c.isItRead, c.unreadCount == 0, label .. ': isItRead')
  T.eq(type(c.recipients), 'table', label .. ': recipients')
  for _, number in ipairs(c.recipients) do
    T.eq(type(number), 'string', label .. ': a recipient')
  end
  contents(c.messages, label)
end

-- The fixture's conversations as a member sees them.
local A_MESSAGES = { 'Bee joined', 'hello' }

local function checkConversationA(c, f, label)
  checkConversation(c, label)
  T.eq({ c.id, c.name, c.joinCode }, { f.a, 'Crew', 'CREWAAAA' }, label)
  named(c.owner, '5550101', label, 'Ace')
  T.eq(#c.recipients, 2, label)
  named(c.recipients[1], '5550101', label, 'Ace')
  named(c.recipients[2], '5550102', label, 'Bee')
  T.eq(contents(c.messages, label), A_MESSAGES, label)
  named(c.messages[1].sender, '5550102', label, 'Bee')
end

--- A conversation just created by `who` with `name` and `code` (nil: generated).
local function checkCreated(c, who, name, code, label)
  checkConversation(c, label)
  T.eq({ c.name, c.unreadCount }, { name, 0 }, label)
  named(c.owner, who, label)
  T.eq(#c.recipients, 1, label)
  named(c.recipients[1], who, label)
  T.eq(c.messages, {}, label)
  if code then
    T.eq(c.joinCode, code, label)
  else
    checkGeneratedCode(c.joinCode, label)
  end
end

--- B after `who` joined it by code.
local function checkJoinedB(c, who, f, label)
  checkConversation(c, label)
  T.eq({ c.id, c.name, c.joinCode }, { f.b, 'Other', 'ABCD12' }, label)
  named(c.owner, '5550102', label)
  T.eq(#c.recipients, 2, label)
  named(c.recipients[1], '5550102', label)
  named(c.recipients[2], who, label)
  named(c.messages[1].sender, who, label)
  T.eq(contents(c.messages, label), { c.alias .. ' joined' }, label)
  T.eq(c.isItRead, true, label .. ': the joiner has read up to their join')
end

--- The conversations `who` lists: A for its owner, nothing for a stranger.
local function checkListed(list, who, f, label)
  T.eq(type(list), 'table', label)
  local ids = {}
  for i, c in ipairs(list) do
    checkConversation(c, label)
    T.ok(#c.messages <= 1, label .. ': only the last message')
    ids[i] = c.id
  end
  T.eq(ids, who == '5550101' and { f.a } or {}, label)
  if list[1] then T.eq(contents(list[1].messages, label), { 'hello' }, label) end
end

--- A's messages older than `before` (all of them when nil).
local function checkPage(page, before, label)
  local want = {}
  if before == nil or before > 2 then want = A_MESSAGES end -- the fixture's ids are 1 and 2
  T.eq(contents(page, label), want, label)
end

-- What an argument is worth when its value is valid but not the default: the domain's answer.
local function joinOutcome(code) return code == 'ABCD12' and 'ok' or 'conversation_not_found' end
local function createCodeOutcome(code) return code == 'ABCD12' and 'join_code_taken' or 'ok' end

-- An argument: { rule, default(f) , outcome when valid (a code, "ok", or a function of the value) }
local function arg(rule, default, outcome)
  return { rule = rule, default = default, outcome = outcome }
end
local function conv(_, f) return f.a end
local function const(v)
  return function() return v end
end

-- Exports -----------------------------------------------------------------------------------
-- who: the player (index) the call is about by default; stranger: the answer for a valid number
-- that is nobody in the fixture; writes: whether success writes (then it runs on a fresh server).
local EXPORTS = {
  {
    name = 'Darkchat_CreateConversation',
    shape = 'create',
    who = 1,
    stranger = 'ok',
    writes = true,
    args = { arg('name', const('Fresh'), 'ok'), arg('optCode', const(nil), createCodeOutcome) },
    success = function(r, c, label) checkCreated(r.newConv, c.who, c.v[2], c.v[3], label) end,
  },
  {
    name = 'Darkchat_AddToConversation',
    shape = 'boolean',
    who = 3,
    stranger = 'ok',
    writes = true,
    args = { arg('id', conv, 'conversation_not_found') },
  },
  {
    name = 'Darkchat_RemoveFromConversation',
    shape = 'boolean',
    who = 2,
    stranger = 'not_member',
    writes = true,
    args = { arg('id', conv, 'conversation_not_found'), arg('flag', const(true), 'ok') },
  },
  {
    name = 'Darkchat_JoinConversation',
    shape = 'conversation',
    who = 3,
    stranger = 'ok',
    writes = true,
    args = { arg('code', const('ABCD12'), joinOutcome) },
    success = function(r, c, label) checkJoinedB(r.conversation, c.who, c.f, label) end,
  },
  {
    name = 'Darkchat_SendMessage',
    shape = 'message',
    who = 1,
    stranger = 'not_member',
    writes = true,
    args = {
      arg('id', conv, 'conversation_not_found'),
      arg('content', const('hi'), 'ok'),
      arg('optId', const(nil), replyOutcome),
    },
    success = function(r, c, label)
      checkMessage(r.message, label)
      T.eq(
        { r.message.type, r.message.sender, r.message.content },
        { 'text', c.who, c.v[3] },
        label
      )
      T.ok(r.message.id > c.f.m, label .. ': a new message')
    end,
  },
  {
    name = 'Darkchat_GetConversations',
    shape = 'conversations',
    who = 1,
    stranger = 'ok',
    writes = false,
    args = {},
    success = function(r, c, label) checkListed(r.conversations, c.who, c.f, label) end,
  },
  {
    name = 'Darkchat_GetConversation',
    shape = 'conversation',
    who = 1,
    stranger = 'not_member',
    writes = false,
    args = { arg('id', conv, 'conversation_not_found') },
    success = function(r, c, label) checkConversationA(r.conversation, c.f, label) end,
  },
  {
    name = 'Darkchat_GetMessages',
    shape = 'messages',
    who = 1,
    stranger = 'not_member',
    writes = false,
    args = {
      arg('id', conv, 'conversation_not_found'),
      arg('optId', const(nil), 'ok'),
      arg('limit', const(nil), 'ok'),
    },
    success = function(r, c, label) checkPage(r.messages, c.v[3], label) end,
  },
  {
    name = 'Darkchat_MarkRead',
    shape = 'boolean',
    who = 1,
    stranger = 'not_member',
    writes = true,
    args = { arg('id', conv, 'conversation_not_found'), arg('optId', const(nil), 'ok') },
  },
  {
    name = 'Darkchat_RenameConversation',
    shape = 'boolean',
    who = 1,
    stranger = 'not_member',
    writes = true,
    args = { arg('id', conv, 'conversation_not_found'), arg('name', const('Renamed'), 'ok') },
  },
  {
    name = 'Darkchat_RegenerateJoinCode',
    shape = 'joinCode',
    who = 1,
    stranger = 'not_member',
    writes = true,
    args = { arg('id', conv, 'conversation_not_found') },
    success = function(r, _, label)
      checkGeneratedCode(r.joinCode, label)
      T.ok(r.joinCode ~= 'CREWAAAA', label .. ': a new code')
    end,
  },
  {
    name = 'Darkchat_DeleteConversation',
    shape = 'boolean',
    who = 1,
    stranger = 'not_member',
    writes = true,
    args = { arg('id', conv, 'conversation_not_found') },
  },
  {
    name = 'Darkchat_TransferOwnership',
    shape = 'boolean',
    who = 1,
    stranger = 'not_member',
    writes = true,
    args = {
      arg('id', conv, 'conversation_not_found'),
      arg('number', const('5550102'), 'not_member'),
    },
  },
  {
    name = 'Darkchat_KickFromConversation',
    shape = 'boolean',
    who = 1,
    stranger = 'not_member',
    writes = true,
    args = {
      arg('id', conv, 'conversation_not_found'),
      arg('number', const('5550102'), 'not_member'),
    },
  },
  {
    name = 'Darkchat_SendImage',
    shape = 'message',
    who = 1,
    stranger = 'not_member',
    writes = true,
    args = {
      arg('id', conv, 'conversation_not_found'),
      arg('url', const('https://i.imgur.com/a.png'), 'ok'),
      arg('optId', const(nil), replyOutcome),
    },
    success = function(r, _, label)
      checkMessage(r.message, label)
      T.eq(
        { r.message.type, r.message.content, r.message.data.url },
        { 'image', '', 'https://i.imgur.com/a.png' },
        label
      )
    end,
  },
  {
    name = 'Darkchat_SendLocation',
    shape = 'message',
    who = 1,
    stranger = 'not_member',
    writes = true,
    args = {
      arg('id', conv, 'conversation_not_found'),
      arg('coordinate', const(1.5), 'ok'),
      arg('coordinate', const(-2), 'ok'),
      arg('coordinate', const(3), 'ok'),
      arg('label', const(nil), 'ok'),
      arg('optId', const(nil), replyOutcome),
    },
    success = function(r, c, label)
      checkMessage(r.message, label)
      T.eq(r.message.type, 'location', label)
      local d = r.message.data
      T.eq({ d.x + 0.0, d.y + 0.0, d.z + 0.0, d.label }, { c.v[3], c.v[4], c.v[5], c.v[6] }, label)
    end,
  },
  {
    name = 'Darkchat_EditMessage',
    shape = 'message',
    who = 1,
    stranger = 'not_member',
    writes = true,
    args = {
      arg('id', conv, 'conversation_not_found'),
      arg('id', function(_, f) return f.m end, IA),
      arg('content', const('hello again'), 'ok'),
    },
    success = function(r, c, label)
      checkMessage(r.message, label)
      T.eq({ r.message.id, r.message.content, r.message.edited }, { c.f.m, c.v[4], true }, label)
    end,
  },
  {
    name = 'Darkchat_DeleteMessage',
    shape = 'boolean',
    who = 1,
    stranger = 'not_member',
    writes = true,
    args = {
      arg('id', conv, 'conversation_not_found'),
      arg('id', function(_, f) return f.m end, IA),
    },
  },
  {
    name = 'Darkchat_SetRetention',
    shape = 'boolean',
    who = 1,
    stranger = 'not_member',
    writes = true,
    args = { arg('id', conv, 'conversation_not_found'), arg('retention', const(3600), 'ok') },
  },
  -- Bee reports Ace's message (one's own cannot be reported).
  {
    name = 'Darkchat_ReportMessage',
    shape = 'report',
    who = 2,
    stranger = 'not_member',
    writes = true,
    args = {
      arg('id', conv, 'conversation_not_found'),
      arg('id', function(_, f) return f.m end, IA),
      arg('reason', const('spam'), 'ok'),
    },
    success = function(r, c, label)
      local report = r.report
      T.eq(
        { report.conversationId, report.messageId, report.reporter, report.sender, report.reason },
        { c.f.a, c.f.m, c.who, '5550101', c.v[4] },
        label
      )
      T.eq(math.type(report.id), 'integer', label)
    end,
  },
}

-- The staff exports (for an admin resource: no player is the subject). The fixture holds no
-- staff ban and no report.
local STAFF_EXPORTS = {
  {
    name = 'Darkchat_StaffBan',
    shape = 'boolean',
    writes = true,
    args = {
      arg('number', const('5550103'), 'ok'),
      arg('duration', const('1h'), 'ok'),
      arg('optReason', const(nil), 'ok'),
    },
    success = function(w, c, label)
      local bans = w:call('Darkchat_GetStaffBans').bans
      T.eq(#bans, 1, label)
      T.eq({ bans[1].number, bans[1].reason }, { c.v[1], c.v[3] }, label)
      T.eq(
        bans[1].expiresAt and bans[1].expiresAt - bans[1].createdAt,
        c.v[2],
        label .. ': its end'
      )
    end,
  },
  {
    name = 'Darkchat_StaffUnban',
    shape = 'boolean',
    writes = true,
    args = { arg('number', const('5550103'), 'not_member') },
  },
  {
    name = 'Darkchat_GetStaffBans',
    shape = 'bans',
    writes = false,
    args = { arg('staffLimit', const(nil), 'ok') },
    success = function(r, _, label) T.eq(r.bans, {}, label) end,
  },
  {
    name = 'Darkchat_GetReports',
    shape = 'reports',
    writes = false,
    args = { arg('staffLimit', const(nil), 'ok') },
    success = function(r, _, label) T.eq(r.reports, {}, label) end,
  },
  {
    name = 'Darkchat_DismissReport',
    shape = 'boolean',
    writes = true,
    args = { arg('reportId', const(1), IA) },
  },
}

--- Expected answer for `value` in argument `a`: "ok" or a code.
local function expect(a, value)
  local valid, normalized = RULES[a.rule](value)
  if not valid then return normalized end
  local outcome = a.outcome
  if type(outcome) == 'function' then return outcome(normalized) end
  return outcome
end

--- Checks an export's answer against the expected outcome and its documented shape; a success
--- with `success(result, context, label)`.
local function checkExport(shape, results, want, label, success, context)
  if shape == 'boolean' then
    if want == 'ok' then
      T.eq(results, { n = 1, true }, label)
    else
      T.eq(results, { n = 2, false, want }, label)
    end
    return
  end
  T.eq(results.n, 1, label .. ': one value')
  local r = results[1]
  T.eq(type(r), 'table', label)
  if want == 'ok' then
    T.eq(r.success, true, label .. ': ' .. tostring(r.error))
    local field = shape == 'create' and 'newConv' or shape
    for k in pairs(r) do
      T.ok(k == 'success' or k == field, label .. ': unexpected field ' .. tostring(k))
    end
    success(r, context, label)
    return
  end
  if shape == 'create' then
    T.eq(r, { success = false, error = want }, label)
  else
    T.eq(r.success, false, label)
    T.eq(r.error, want, label)
    for k, v in pairs(r) do
      T.ok(
        k == 'success' or k == 'error' or (k == 'reason' and type(v) == 'string'),
        label .. ': unexpected field ' .. tostring(k)
      )
    end
  end
end

--- No client event reached anybody, except `allowed` (a net request's own response).
local function assertQuiet(w, label, allowedSrc)
  for _, src in ipairs(w.players) do
    for _, e in ipairs(w.srv:clientEvents(src)) do
      T.ok(
        src == allowedSrc and e.name == World.RESPONSE,
        ('%s: %s received %s'):format(label, src, e.name)
      )
    end
  end
  for _, line in ipairs(w.srv:output()) do
    T.ok(
      not line:find('SCRIPT ERROR', 1, true) and not line:find('internal error', 1, true),
      label .. ': ' .. line
    )
  end
end

--- Runs one case: `run(w, f)` returns what to check; on `want ~= "ok"` (or read-only success)
--- on the shared world with the checksum compared, else on a fresh world.
local Runner = {}
Runner.__index = Runner

--- `opts`: World.new's options for every world of the run.
function Runner.new(opts)
  local self = setmetatable({ counts = {}, opts = opts }, Runner)
  self.w, self.f = newWorld(opts)
  self.sum = self.w:checksum()
  return self
end

function Runner:case(group, label, want, writes, run)
  self.counts[group] = (self.counts[group] or 0) + 1
  local fresh = want == 'ok' and writes
  local w, f = self.w, self.f
  if fresh then
    w, f = newWorld(self.opts)
  end
  w.srv:clearClientEvents()
  w.srv:clearOutput()
  local called, err = pcall(run, w, f, label)
  T.ok(called, label .. ': ' .. tostring(err))
  if fresh then
    w:stop()
  else
    T.eq(w:checksum(), self.sum, label .. ': database unchanged')
  end
end

function Runner:finish()
  self.w:stop()
  local total, parts = 0, {}
  for group, n in pairs(self.counts) do
    total = total + n
    parts[#parts + 1] = ('%s %d'):format(group, n)
  end
  table.sort(parts)
  print(('     matrix: %d cases (%s)'):format(total, table.concat(parts, ', ')))
  return total
end

T.test('every export, every argument position, every hostile value', function()
  local R = Runner.new()
  local numbers = { '5550101', '5550102', '5550103' }
  for _, spec in ipairs(EXPORTS) do
    for _, suffix in ipairs({ 'BySrc', 'ByNumber' }) do
      local exportName = spec.name .. suffix
      local whoArg = suffix == 'BySrc'
          and arg('src', function(w) return w.players[spec.who] end, 'ok')
        or arg('number', const(numbers[spec.who]), spec.stranger)
      local args = { whoArg, table.unpack(spec.args) }
      for position, a in ipairs(args) do
        for _, value in ipairs(VALUES) do
          local want = expect(a, value[2])
          local label = ('%s arg %d = %s → %s'):format(exportName, position, value[1], want)
          R:case('exports', label, want, spec.writes, function(w, f)
            local call = { n = #args }
            for i, other in ipairs(args) do
              if i == position then
                call[i] = value[2]
              else
                call[i] = other.default(w, f)
              end
            end
            local results = table.pack(w:call(exportName, table.unpack(call, 1, call.n)))
            local context = { f = f, v = {} }
            if want == 'ok' then
              context.who = suffix == 'BySrc' and numbers[spec.who]
                or select(2, RULES.number(call[1]))
              for i = 2, #args do
                context.v[i] = select(2, RULES[args[i].rule](call[i]))
              end
            end
            checkExport(spec.shape, results, want, label, spec.success, context)
            if want ~= 'ok' then assertQuiet(w, label) end
          end)
        end
      end
    end
  end
  for _, spec in ipairs(STAFF_EXPORTS) do
    for position, a in ipairs(spec.args) do
      for _, value in ipairs(VALUES) do
        local want = expect(a, value[2])
        local label = ('%s arg %d = %s → %s'):format(spec.name, position, value[1], want)
        R:case('exports', label, want, spec.writes, function(w, f)
          local call = { n = #spec.args }
          for i, other in ipairs(spec.args) do
            if i == position then
              call[i] = value[2]
            else
              call[i] = other.default(w, f)
            end
          end
          local results = table.pack(w:call(spec.name, table.unpack(call, 1, call.n)))
          local context = { f = f, v = {} }
          for i = 1, #spec.args do
            context.v[i] = select(2, RULES[spec.args[i].rule](call[i]))
          end
          checkExport(spec.shape, results, want, label, spec.success, context)
          if want == 'ok' and spec.shape == 'boolean' and spec.success then
            spec.success(w, context, label)
          end
          if want ~= 'ok' then assertQuiet(w, label) end
        end)
      end
    end
  end
  -- The hook exports: only the three kinds and a callable are accepted; unknown ids are false.
  for _, value in ipairs(VALUES) do
    local label = ('Darkchat_AddHook arg 1 = %s → invalid_argument'):format(value[1])
    R:case('exports', label, IA, false, function(w)
      T.eq(
        table.pack(w:call('Darkchat_AddHook', value[2], function() end)),
        { n = 2, false, IA },
        label
      )
      assertQuiet(w, label)
    end)
    local callable = type(value[2]) == 'function'
    label = ('Darkchat_AddHook arg 2 = %s → %s'):format(value[1], callable and 'ok' or IA)
    R:case('exports', label, callable and 'ok' or IA, false, function(w)
      local r = table.pack(w:call('Darkchat_AddHook', 'send', value[2]))
      if callable then
        T.eq(math.type(r[1]), 'integer', label)
        T.eq(w:call('Darkchat_RemoveHook', r[1]), true, label)
      else
        T.eq(r, { n = 2, false, IA }, label)
      end
      assertQuiet(w, label)
    end)
    label = ('Darkchat_RemoveHook arg 1 = %s → false'):format(value[1])
    R:case('exports', label, 'false', false, function(w)
      T.eq(table.pack(w:call('Darkchat_RemoveHook', value[2])), { n = 1, false }, label)
      assertQuiet(w, label)
    end)
  end
  T.ok(R:finish() > 1500)
end)

-- Net events --------------------------------------------------------------------------------

-- action → { requester (player index), writes, fields = { { field, arg } } }
local function yes(data, _, label) T.eq(data, true, label .. ': true') end
--- A valid alias names Bee (any case) or nobody.
local function aliasOutcome(t) return t:lower() == 'bee' and 'ok' or 'not_member' end

local ACTIONS = {
  {
    'list',
    who = 1,
    writes = false,
    fields = {},
    success = function(data, c, label) checkListed(data, c.who, c.f, label) end,
  },
  {
    'get',
    who = 1,
    writes = false,
    fields = { { 'conversationId', arg('id', conv, 'conversation_not_found') } },
    success = function(data, c, label) checkConversationA(data, c.f, label) end,
  },
  {
    'messages',
    who = 1,
    writes = false,
    fields = {
      { 'conversationId', arg('id', conv, 'conversation_not_found') },
      { 'before', arg('optId', const(nil), 'ok') },
      { 'limit', arg('limit', const(nil), 'ok') },
    },
    success = function(data, c, label) checkPage(data, c.p.before, label) end,
  },
  {
    'create',
    who = 1,
    writes = true,
    fields = {
      { 'name', arg('name', const('Fresh'), 'ok') },
      { 'joinCode', arg('optCode', const(nil), createCodeOutcome) },
    },
    success = function(data, c, label) checkCreated(data, c.who, c.p.name, c.p.joinCode, label) end,
  },
  {
    'join',
    who = 3,
    writes = true,
    fields = { { 'joinCode', arg('code', const('ABCD12'), joinOutcome) } },
    success = function(data, c, label) checkJoinedB(data, c.who, c.f, label) end,
  },
  {
    'send',
    who = 1,
    writes = true,
    fields = {
      { 'conversationId', arg('id', conv, 'conversation_not_found') },
      { 'content', arg('content', const('hi'), 'ok') },
      { 'replyTo', arg('optId', const(nil), replyOutcome) },
    },
    success = function(data, c, label)
      checkMessage(data, label)
      T.eq({ data.type, data.content }, { 'text', c.p.content }, label)
      named(data.sender, c.who, label, 'Ace')
    end,
  },
  {
    'markRead',
    who = 1,
    writes = true,
    fields = {
      { 'conversationId', arg('id', conv, 'conversation_not_found') },
      { 'messageId', arg('optId', const(nil), 'ok') },
    },
    success = yes,
  },
  {
    'leave',
    who = 2,
    writes = true,
    fields = { { 'conversationId', arg('id', conv, 'conversation_not_found') } },
    success = function(data, _, label) T.eq(data, true, label) end,
  },
  {
    'rename',
    who = 1,
    writes = true,
    fields = {
      { 'conversationId', arg('id', conv, 'conversation_not_found') },
      { 'name', arg('name', const('Renamed'), 'ok') },
    },
    success = function(data, c, label)
      checkMessage(data, label)
      T.eq(
        { data.type, data.event, data.content },
        { 'system', 'renamed', 'Renamed to ' .. c.p.name },
        label
      )
      named(data.sender, c.who, label, 'Ace')
    end,
  },
  {
    'regenerateCode',
    who = 1,
    writes = true,
    fields = { { 'conversationId', arg('id', conv, 'conversation_not_found') } },
    success = function(data, _, label)
      checkGeneratedCode(data, label)
      T.ok(data ~= 'CREWAAAA', label .. ': a new code')
    end,
  },
  {
    'delete',
    who = 1,
    writes = true,
    fields = { { 'conversationId', arg('id', conv, 'conversation_not_found') } },
    success = yes,
  },
  {
    'transfer',
    who = 1,
    writes = true,
    fields = {
      { 'conversationId', arg('id', conv, 'conversation_not_found') },
      { 'to', arg('alias', const('Bee'), aliasOutcome) },
    },
    success = yes,
  },
  {
    'kick',
    who = 1,
    writes = true,
    fields = {
      { 'conversationId', arg('id', conv, 'conversation_not_found') },
      { 'alias', arg('alias', const('Bee'), aliasOutcome) },
      { 'ban', arg('flag', const(nil), 'ok') },
    },
    success = yes,
  },
  {
    'setModerator',
    who = 1,
    writes = true,
    fields = {
      { 'conversationId', arg('id', conv, 'conversation_not_found') },
      { 'alias', arg('alias', const('Bee'), aliasOutcome) },
      { 'isModerator', arg('flag', const(nil), 'ok') },
    },
    success = yes,
  },
  {
    'setRetention',
    who = 1,
    writes = true,
    fields = {
      { 'conversationId', arg('id', conv, 'conversation_not_found') },
      { 'retentionSeconds', arg('retention', const(86400), 'ok') },
    },
    success = yes,
  },
  {
    'setAlias',
    who = 1,
    writes = true,
    fields = {
      { 'conversationId', arg('id', conv, 'conversation_not_found') },
      {
        'alias',
        arg('alias', const('Chief'), function(t) return t:lower() == 'bee' and IA or 'ok' end),
      },
    },
    success = function(data, c, label)
      checkMessage(data, label)
      T.eq({ data.event, data.sender }, { 'alias', c.p.alias }, label)
    end,
  },
  {
    'mute',
    who = 1,
    writes = true,
    fields = {
      { 'conversationId', arg('id', conv, 'conversation_not_found') },
      { 'muted', arg('flag', const(nil), 'ok') },
    },
    success = yes,
  },
  {
    'members',
    who = 1,
    writes = false,
    fields = { { 'conversationId', arg('id', conv, 'conversation_not_found') } },
    success = function(data, _, label)
      T.eq(data, {
        { alias = 'Ace', isOwner = true, isModerator = false, isYou = true },
        { alias = 'Bee', isOwner = false, isModerator = false, isYou = false },
      }, label)
    end,
  },
  {
    'bans',
    who = 1,
    writes = false,
    fields = { { 'conversationId', arg('id', conv, 'conversation_not_found') } },
    success = function(data, _, label) T.eq(data, {}, label) end,
  },
  {
    'unban',
    who = 1,
    writes = true,
    fields = {
      { 'conversationId', arg('id', conv, 'conversation_not_found') },
      { 'banId', arg('id', const(1), 'not_member') },
    },
    success = yes,
  },
  {
    'sendImage',
    who = 1,
    writes = true,
    fields = {
      { 'conversationId', arg('id', conv, 'conversation_not_found') },
      { 'url', arg('url', const('https://i.imgur.com/a.png'), 'ok') },
      { 'replyTo', arg('optId', const(nil), replyOutcome) },
    },
    success = function(data, c, label)
      checkMessage(data, label)
      T.eq({ data.type, data.data.url }, { 'image', c.p.url }, label)
      named(data.sender, c.who, label, 'Ace')
    end,
  },
  {
    'sendLocation',
    who = 1,
    writes = true,
    fields = {
      { 'conversationId', arg('id', conv, 'conversation_not_found') },
      { 'x', arg('coordinate', const(1.5), 'ok') },
      { 'y', arg('coordinate', const(-2), 'ok') },
      { 'z', arg('coordinate', const(3), 'ok') },
      { 'label', arg('label', const(nil), 'ok') },
      { 'replyTo', arg('optId', const(nil), replyOutcome) },
    },
    success = function(data, c, label)
      checkMessage(data, label)
      local d = data.data
      T.eq(
        { data.type, d.x + 0.0, d.y + 0.0, d.z + 0.0, d.label },
        { 'location', c.p.x, c.p.y, c.p.z, c.p.label },
        label
      )
    end,
  },
  {
    'editMessage',
    who = 1,
    writes = true,
    fields = {
      { 'conversationId', arg('id', conv, 'conversation_not_found') },
      { 'messageId', arg('id', function(_, f) return f.m end, IA) },
      { 'content', arg('content', const('hello again'), 'ok') },
    },
    success = function(data, c, label)
      checkMessage(data, label)
      T.eq({ data.id, data.content, data.edited }, { c.f.m, c.p.content, true }, label)
    end,
  },
  {
    'deleteMessage',
    who = 1,
    writes = true,
    fields = {
      { 'conversationId', arg('id', conv, 'conversation_not_found') },
      { 'messageId', arg('id', function(_, f) return f.m end, IA) },
    },
    success = function(data, c, label)
      checkMessage(data, label)
      T.eq({ data.id, data.content, data.deleted }, { c.f.m, '', true }, label)
    end,
  },
  -- Bee reports Ace's "hello" in A (a message id that is not A's is invalid_argument).
  {
    'report',
    who = 2,
    writes = true,
    fields = {
      { 'conversationId', arg('id', conv, 'conversation_not_found') },
      { 'messageId', arg('id', function(_, f) return f.m end, IA) },
      { 'reason', arg('reason', const('spam'), 'ok') },
    },
    success = yes,
  },
}

--- Sends one request as player `src` and returns the single response event's arguments.
local function request(w, src, label, requestId, action, payload)
  -- Spaced out in emulated time so no rate limit (5 joins a minute is the tightest) applies.
  w.srv:runFor(12001)
  local responses = w:request(src, requestId, action, payload)
  T.eq(#responses, 1, label .. ': exactly one response')
  return responses[1]
end

--- Checks a response; a success's data with `success(data, context, label)`, where context is
--- { who = the requester's number, p = the payload's fields as the input rules normalize them, f }.
local function checkResponse(response, want, label, success, context)
  if want == 'ok' then
    T.eq(response.ok, true, label .. ': ' .. tostring(response.error))
    for k in pairs(response) do
      T.ok(k == 'ok' or k == 'data', label .. ': unexpected field ' .. tostring(k))
    end
    success(response.data, context, label)
  else
    T.eq(response, { ok = false, error = want }, label)
  end
end

local NUMBERS = { '5550101', '5550102', '5550103' } -- the fixture's players, in order

--- What a success of `action` with `payload` is checked against (see checkResponse).
local function requestContext(action, payload, f)
  local p = {}
  for _, field in ipairs(action.fields) do
    local valid, normalized = RULES[field[2].rule](payload[field[1]])
    if valid then p[field[1]] = normalized end
  end
  return { who = NUMBERS[action.who], p = p, f = f }
end

local function defaultPayload(action, w, f)
  local p = {}
  for _, field in ipairs(action.fields) do
    p[field[1]] = field[2].default(w, f)
  end
  return p
end

T.test('every net-event action, every payload field, every hostile value', function()
  -- Reports have a tight limit of their own (3 a minute); the matrix sends hundreds.
  local R = Runner.new({
    resourceDir = World.resourceWithConfig(
      function(text) return (text:gsub('report = { count = 3,', 'report = { count = 100000,')) end
    ),
  })
  for _, action in ipairs(ACTIONS) do
    local name = action[1]
    for _, field in ipairs(action.fields) do
      for _, value in ipairs(VALUES) do
        local want = expect(field[2], value[2])
        local label = ('request %s.%s = %s → %s'):format(name, field[1], value[1], want)
        R:case('requests', label, want, action.writes, function(w, f)
          local payload = defaultPayload(action, w, f)
          payload[field[1]] = value[2]
          local src = w.players[action.who]
          local args = request(w, src, label, 7, name, payload)
          T.eq(args[1], 7, label .. ': the request id comes back')
          checkResponse(args[2], want, label, action.success, requestContext(action, payload, f))
          if want ~= 'ok' then assertQuiet(w, label, src) end
        end)
      end
    end
    -- The payload as a whole: nil is an empty payload; anything but a plain table is refused.
    for _, value in ipairs(VALUES) do
      local v = value[2]
      local want = IA -- not a table of fields, or (for nil and {}) every required field missing
      if (v == nil or type(v) == 'table') and #action.fields == 0 then want = 'ok' end
      local label = ('request %s payload = %s → %s'):format(name, value[1], want)
      R:case('requests', label, want, action.writes, function(w, f)
        local args = request(w, w.players[action.who], label, 'id-1', name, v)
        T.eq(args[1], 'id-1', label)
        checkResponse(args[2], want, label, action.success, requestContext(action, {}, f))
        assertQuiet(w, label, w.players[action.who])
      end)
    end
  end
  -- The envelope: the action name and the request id.
  for _, value in ipairs(VALUES) do
    local label = ('request action = %s → invalid_argument'):format(value[1])
    R:case('requests', label, IA, false, function(w, f)
      local args = request(w, w.players[1], label, 8, value[2], { conversationId = f.a })
      T.eq(args[1], 8, label)
      checkResponse(args[2], IA, label)
      assertQuiet(w, label, w.players[1])
    end)
    local v = value[2]
    local validId = math.type(v) == 'integer' or (type(v) == 'string' and #v <= 64)
    local want = validId and 'ok' or IA
    label = ('request requestId = %s → %s'):format(value[1], want)
    R:case('requests', label, want, false, function(w, f)
      local args = request(w, w.players[1], label, v, 'get', { conversationId = f.a })
      T.eq(args[1], validId and v or nil, label .. ': the id comes back only when it is valid')
      local get = ACTIONS[2]
      checkResponse(
        args[2],
        want,
        label,
        get.success,
        requestContext(get, { conversationId = f.a }, f)
      )
      assertQuiet(w, label, w.players[1])
    end)
  end
  T.ok(R:finish() > 500)
end)

-- Console -------------------------------------------------------------------------------------
-- Console arguments are words of a typed line, so the matrix there is over string shapes.
-- A shape with spaces, a `;` (FXServer splits lines on it) or nothing in it is typed quoted.

-- 1 MiB (256 times the 4 KiB cap): the emulator's console splits a typed line byte by byte,
-- so 10 MB lines would cost seconds each without testing anything more.
local CONSOLE_HUGE = ('x'):rep(1024 * 1024)
local SHAPES = {
  { 'missing', nil },
  { 'empty', '' },
  { 'whitespace', '   ' },
  { 'huge', CONSOLE_HUGE },
  { 'invalid UTF-8', '\xff\xfe\xc3' },
  { 'control characters', 'a\1b\7\27[31m' },
  { 'SQL metacharacters', SQL },
  { 'lower-case code', LOWER_CODE },
  { 'too-long code', LONG_CODE },
  { 'short code', 'ab1' },
  { 'word', 'abc' },
  { 'fraction', '1.5' },
  { 'negative', '-1' },
  { 'zero', '0' },
  { 'exponent', '1e3' },
  { 'hex', '0x10' },
  { 'nan', 'nan' },
  { 'inf', 'inf' },
  { '2^53+1', '9007199254740993' },
  { 'overflow', '99999999999999999999' },
  { 'unknown id', '99999' },
}

local function typed(word)
  if word == '' or word:find('[%s;]') then return '"' .. word .. '"' end
  return word
end

--- What the resource printed since the output was last cleared, line by line.
local function printed(w)
  local lines = {}
  for _, line in ipairs(w.srv:output()) do
    local text = line:match('^%[script:' .. World.RESOURCE:gsub('%p', '%%%0') .. '%] (.*)$')
    if text then lines[#lines + 1] = text end
  end
  return lines
end

--- `darkchat list [number]`: with no number every conversation, newest first (the fixture's
--- B, then A with its last message); a number in none of them: one line saying so.
local function checkListing(w, f, number, label)
  local lines = printed(w)
  if number ~= nil then
    T.eq(lines, { 'no conversations' }, label)
    return
  end
  local rows = {
    '^ID%s+NAME%s+CODE%s+OWNER%s+UPDATED%s+LAST MESSAGE$',
    '^#' .. f.b .. '%s+Other%s+ABCD12%s+5550102%s+%d%d%d%d%-%d%d%-%d%d %d%d:%d%d%s+%-$',
    '^#' .. f.a .. '%s+Crew%s+CREWAAAA%s+5550101%s+%d%d%d%d%-%d%d%-%d%d %d%d:%d%d%s+hello$',
  }
  T.eq(#lines, #rows, label .. ':\n' .. table.concat(lines, '\n'))
  for i, row in ipairs(rows) do
    T.ok(lines[i]:find(row), label .. ': line ' .. i .. ': ' .. lines[i])
  end
end

--- `darkchat backup <word>`: started at once, then written (on its own thread) to <word> in the
--- resource folder, as a database holding the fixture's conversations.
local function checkBackup(w, _, word, label)
  local path = w.resourceDir .. '/' .. word
  -- The console prints the path escaped on one line (controls as \u{XXXX}, backslashes doubled).
  local NAMED = { ['\\'] = '\\\\', ['\n'] = '\\n', ['\r'] = '\\r', ['\t'] = '\\t' }
  local shown = path:gsub(
    '[%z\1-\31\127\\]',
    function(c) return NAMED[c] or ('\\u{%04X}'):format(c:byte()) end
  )
  local lines = printed(w)
  T.eq(lines[1], ('backup to %s started'):format(shown), label)
  local deadline = os.time() + 20
  while #lines < 2 and os.time() <= deadline do
    w.srv:runFor(50)
    os.execute('sleep 0.02')
    lines = printed(w)
  end
  T.eq(
    lines,
    { ('backup to %s started'):format(shown), ('backup written to %s'):format(shown) },
    label
  )
  -- The file name may hold any byte: read it here, inspect a copy with a plain name.
  local f = assert(io.open(path, 'rb'), label .. ': no file at ' .. path)
  local copy = T.tmpdir() .. '/copy.db'
  T.write(copy, f:read('a'))
  f:close()
  T.eq(
    T.sh(
      ("sqlite3 %q 'PRAGMA integrity_check; SELECT name FROM conversations ORDER BY id'"):format(
        copy
      )
    ),
    'ok\nCrew\nOther\n',
    label
  )
end

--- The console's id parser (lua/commands.lua parseId), then the core's id rule.
local function idWord(word)
  local id = math.tointeger(tonumber(word or ''))
  if not id or id <= 0 then return false, 'usage' end
  if id > MAX_SAFE then return false, IA end
  return true, id
end

--- Word rules: a missing word is a usage line; otherwise the export rules apply to the string.
local function wordRule(rule)
  return function(word)
    if word == nil then return false, 'usage' end
    return RULES[rule](word)
  end
end

--- A staff ban's duration word: a positive whole number and a unit (s m h d w) up to ten
--- years, or `permanent`; absent: permanent.
local function durationWord(word)
  if word == nil or word:lower() == 'permanent' then return true end
  local n, unit = word:match('^(%d+)([smhdwSMHDW])$')
  local seconds = ({ s = 1, m = 60, h = 3600, d = 86400, w = 604800 })[(unit or ''):lower()]
  n = n and math.tointeger(tonumber(n))
  if not n or not seconds or n * seconds < 1 or n * seconds > 3650 * 86400 then return false, IA end
  return true
end

--- An optional count word (lua/commands.lua parseId), then the core's bound `max`.
local function countWord(max)
  return function(word)
    if word == nil then return true end
    local n = math.tointeger(tonumber(word))
    if not n or n <= 0 then return false, 'usage' end
    if n > max then return false, IA end
    return true, n
  end
end

--- `darkchat messages <id> [n]`: A's history names Ace by number and alias; B has none.
local function checkHistory(w, f, _, label)
  local out = table.concat(printed(w), '\n')
  T.ok(
    out:find('5550101 (Ace): hello', 1, true)
      or out:find(('#%d has no messages'):format(f.b), 1, true),
    label .. ':\n' .. out
  )
end

-- subcommand → { writes, args = { { rule(word) → ok, value | false, code, default, outcome } }, success = text }
local function idOutcome(id, f) return (id == f.a or id == f.b) and 'ok' or 'conversation_not_found' end

local SUBCOMMANDS = {
  {
    'help',
    writes = false,
    success = 'darkchat create',
    args = {
      arg(function() return true end, nil, 'ok'),
    },
  }, -- help ignores its arguments
  {
    'create',
    writes = true,
    success = 'created #',
    args = {
      arg(wordRule('number'), '5550101', 'ok'),
      arg(wordRule('name'), 'Fresh', 'ok'), -- the quoted-name form, so that the code may follow
      arg(RULES.optCode, nil, createCodeOutcome),
    },
    quoteName = true,
  },
  {
    'add',
    writes = true,
    success = 'added ',
    args = {
      arg(wordRule('number'), '5550103', 'ok'),
      arg(idWord, 'A', idOutcome),
    },
  },
  {
    'remove',
    writes = true,
    success = 'removed ',
    args = {
      arg(wordRule('number'), '5550102', 'not_member'),
      arg(idWord, 'A', idOutcome),
    },
  },
  {
    'list',
    writes = false,
    check = checkListing,
    args = {
      arg(function(word)
        if word == nil then return true end
        return RULES.number(word)
      end, '5550101', 'ok'),
    },
  },
  { 'show', writes = false, success = 'members', args = { arg(idWord, 'A', idOutcome) } },
  {
    'rename',
    writes = true,
    success = 'renamed #',
    args = {
      arg(idWord, 'A', idOutcome),
      arg(wordRule('name'), 'Renamed', 'ok'),
    },
  },
  { 'code', writes = true, success = 'new code', args = { arg(idWord, 'A', idOutcome) } },
  {
    'delete',
    writes = true,
    success = 'deleted #',
    args = {
      arg(idWord, 'A', idOutcome),
      arg(function(word)
        if word == nil then return true, 'prompt' end -- asks for confirmation, writes nothing
        if word == '--yes' then return true end
        return false, 'usage'
      end, '--yes', function(v) return v or 'ok' end),
    },
  },
  {
    'purge',
    writes = true,
    success = 'purged message #',
    args = {
      arg(idWord, 'A', idOutcome),
      arg(idWord, 'M', function(id, f) return id == f.m and 'ok' or IA end),
    },
  },
  {
    'stats',
    writes = false,
    success = 'conversations',
    args = {
      arg(function(word)
        if word == nil then return true end
        return false, 'usage'
      end, nil, 'ok'),
    },
  },
  {
    'ban',
    writes = true,
    success = 'banned ',
    args = {
      arg(wordRule('number'), '5550103', 'ok'),
      arg(durationWord, '1h', 'ok'),
      arg(function(word)
        if word == nil then return true end
        return RULES.reason(word)
      end, nil, 'ok'),
    },
  },
  { 'unban', writes = true, args = { arg(wordRule('number'), '5550103', 'not_member') } },
  {
    'bans',
    writes = false,
    success = 'no staff bans',
    args = {
      arg(function(word)
        if word == nil then return true end
        return false, 'usage'
      end, nil, 'ok'),
    },
  },
  {
    'messages',
    writes = false,
    check = checkHistory,
    args = {
      arg(idWord, 'A', idOutcome),
      arg(countWord(100), nil, 'ok'),
    },
  },
  { 'reports', writes = false, success = 'no reports', args = { arg(countWord(1000), nil, 'ok') } },
  {
    'backup',
    writes = false,
    check = checkBackup,
    args = {
      arg(function(word)
        if word == nil or trim(word) == '' then return false, 'usage' end
        if not goodString(word) then return false, IA end
        return true, word
      end, nil, 'ok'),
    },
  },
  -- Reads nothing here: the native core answers that importing needs the wasm core, the wasm
  -- core that mysql_connection_string is empty; both begin "import ".
  {
    'import',
    writes = false,
    success = 'import ',
    args = {
      arg(function(word)
        if word == 'npwd' or word == 'lbphone' then return true end
        return false, 'usage'
      end, 'npwd', 'ok'),
      arg(function(word)
        if word == nil or word == '--dry-run' then return true end
        return false, 'usage'
      end, nil, 'ok'),
    },
  },
}

--- Runs `darkchat <words>` on the console; returns what the resource printed.
local function console(w, words)
  w.srv:clearOutput()
  w.srv:console('darkchat ' .. table.concat(words, ' '))
  w.srv:runFor(10)
  return table.concat(w.srv:output(), '\n')
end

T.test('every console subcommand, every argument position, every string shape', function()
  -- A resource folder of its own: backups to relative paths are written inside it.
  local R = Runner.new({ resourceDir = World.resourceWithConfig(function(text) return text end) })
  for _, sub in ipairs(SUBCOMMANDS) do
    local name = sub[1]
    for position, a in ipairs(sub.args) do
      for _, shape in ipairs(SHAPES) do
        local word = shape[2]
        local ok, value = a.rule(word)
        local want
        if not ok then
          want = value
        elseif word == nil and position < #sub.args and sub.args[position + 1].default ~= nil then
          want = 'usage' -- a missing word shifts the next one into its place
        elseif type(a.outcome) == 'function' then
          want = a.outcome(value, R.f)
        else
          want = a.outcome
        end
        if want ~= 'skip' then
          local label = ('darkchat %s arg %d = %s → %s'):format(name, position, shape[1], want)
          R:case('console', label, want, sub.writes, function(w, f)
            local words = { name }
            for i, other in ipairs(sub.args) do
              local wd = other.default
              if i == position then wd = word end
              if wd == 'A' then wd = tostring(f.a) end
              if wd == 'M' then wd = tostring(f.m) end
              if wd ~= nil then
                if sub.quoteName and i == 2 then
                  wd = '"' .. wd .. '"'
                elseif i == position then
                  wd = typed(wd)
                end
                words[#words + 1] = wd
              elseif i < #sub.args then
                break -- nothing after a missing word
              end
            end
            local out = console(w, words)
            T.ok(
              not out:find('SCRIPT ERROR', 1, true) and not out:find('internal error', 1, true),
              label .. ':\n' .. out:sub(1, 2000)
            )
            if want == 'usage' then
              T.ok(
                out:find('usage: darkchat ' .. name, 1, true),
                label .. ':\n' .. out:sub(1, 2000)
              )
            elseif want == 'prompt' then
              T.ok(out:find('repeat with --yes', 1, true), label .. ':\n' .. out:sub(1, 2000))
            elseif want == 'ok' then
              T.ok(
                not out:find('error:', 1, true) and not out:find('usage:', 1, true),
                label .. ':\n' .. out:sub(1, 2000)
              )
              if sub.check then
                sub.check(w, f, value, label)
              else
                T.ok(out:find(sub.success, 1, true), label .. ': ' .. out:sub(1, 2000))
              end
            else
              T.ok(out:find('error: ' .. want, 1, true), label .. ':\n' .. out:sub(1, 2000))
            end
            if want ~= 'ok' then
              for _, src in ipairs(w.players) do
                T.eq(#w.srv:clientEvents(src), 0, label .. ': no client event')
              end
            end
          end)
        end
      end
    end
  end
  -- The subcommand name itself.
  for _, shape in ipairs(SHAPES) do
    if shape[2] ~= nil then
      local label = ('darkchat <%s>'):format(shape[1])
      R:case('console', label, 'unknown', false, function(w)
        local out = console(w, { typed(shape[2]) })
        T.ok(out:find('unknown subcommand', 1, true), label .. ':\n' .. out:sub(1, 2000))
      end)
    end
  end
  T.ok(R:finish() > 150)
end)
