-- The Discord log (Config.Webhook): one line per create, join, leave, kick, ban, unban and
-- report, taken from Darkchat's own server events (lua/notify.lua), and each message's text
-- only when `messages` is on. Lines wait in a bounded queue and go out in batches through
-- FXServer's PerformHttpRequest, which answers in a callback: nothing here ever waits.
--
-- Limits, so that a flood can neither block the server nor get the webhook banned: one post
-- at a time and at most one every `intervalMs`; a post holds at most MAX_LINES lines of at
-- most LINE_CHARS characters (Discord takes 2000 characters of content per message); when
-- Discord answers 429 the batch goes back to the front of the queue and nothing is posted
-- before its retry-after has passed; past `maxQueue` waiting lines new ones are dropped and
-- counted, and the next post says how many in one line. A post that fails otherwise (no
-- answer, another error) is dropped and counted the same way. Pings are off
-- (`allowed_mentions`), and what members wrote is escaped for Discord's markdown.

local Webhook <const> = {}
Darkchat.Webhook = Webhook

local PREFIX = '17mov_Phone:darkchat:'
local MAX_LINES = 10
local LINE_CHARS = 190 -- 10 lines and their newlines stay under Discord's 2000 characters
local MAX_RETRY_MS = 600000

local queue = {} -- lines waiting, oldest first
local dropped = 0 -- lines dropped since the last post that said so
local inFlight = false -- a post is on its way
local scheduled = false -- a flush is due (SetTimeout)
local notBefore = 0 -- GetGameTimer() before which nothing is posted

local function settings()
  local c = Config.Webhook
  if type(c) ~= 'table' or type(c.url) ~= 'string' or c.url == '' then return nil end
  return c
end

local function interval(c) return math.max(0, math.tointeger(c.intervalMs) or 2000) end

--- `text` cut to at most `max` characters (whole characters, `…` marking the cut).
local function cut(text, max)
  local length = utf8.len(text)
  if not length then return text:sub(1, max) end
  if length <= max then return text end
  return text:sub(1, utf8.offset(text, max) - 1) .. '…'
end

--- Text written by members or scripts, for one line of Discord markdown: on one line, cut to
--- `max` characters, its markdown characters escaped.
local function escaped(text, max)
  text = cut((tostring(text):gsub('%c', ' ')), max)
  return (text:gsub('[\\*_~`|>#%[%]]', '\\%0'))
end

local flush

local function schedule()
  local c = settings()
  if not c or scheduled or inFlight or (#queue == 0 and dropped == 0) then return end
  scheduled = true
  SetTimeout(math.max(0, notBefore - GetGameTimer()), function()
    scheduled = false
    flush()
  end)
end

--- Seconds Discord asks to wait: the Retry-After header, or `retry_after` in the body.
local function retryAfterMs(headers, errorData)
  local seconds
  for name, value in pairs(type(headers) == 'table' and headers or {}) do
    if type(name) == 'string' and name:lower() == 'retry-after' then seconds = tonumber(value) end
  end
  if not seconds and type(errorData) == 'string' then
    seconds = tonumber(errorData:match('"retry_after"%s*:%s*([%d%.]+)'))
  end
  return math.min(MAX_RETRY_MS, math.ceil((seconds or 5) * 1000))
end

flush = function()
  local c = settings()
  if not c or inFlight then return end
  if GetGameTimer() < notBefore then return schedule() end
  local batch = {}
  while #batch < MAX_LINES and #queue > 0 do
    batch[#batch + 1] = table.remove(queue, 1)
  end
  local lines = {}
  if dropped > 0 then
    lines[1] = ('(%d log lines dropped: too many at once)'):format(dropped)
    dropped = 0
  end
  for _, line in ipairs(batch) do
    lines[#lines + 1] = line
  end
  if #lines == 0 then return end
  local body = json.encode({
    content = table.concat(lines, '\n'),
    username = type(c.username) == 'string' and c.username or nil,
    allowed_mentions = { parse = {} },
  })
  inFlight = true
  notBefore = GetGameTimer() + interval(c)
  PerformHttpRequest(c.url, function(status, _, headers, errorData)
    inFlight = false
    if status == 429 then
      -- Not posted: the batch waits at the front, Discord's wait is kept.
      for i = #batch, 1, -1 do
        table.insert(queue, 1, batch[i])
      end
      notBefore = math.max(notBefore, GetGameTimer() + retryAfterMs(headers, errorData))
    elseif type(status) ~= 'number' or status < 200 or status >= 300 then
      dropped = dropped + #batch
    end
    schedule()
  end, 'POST', body, { ['Content-Type'] = 'application/json' })
end

--- Queues one line for the log (dropped and counted when the queue is full).
---@param line string
function Webhook.log(line)
  local c = settings()
  if not c then return end
  if #queue >= math.max(1, math.tointeger(c.maxQueue) or 200) then
    dropped = dropped + 1
  else
    queue[#queue + 1] = line
  end
  schedule()
end

local function conv(p) return ('#%s'):format(tostring(p.conversationId)) end

-- One line per event; `nil` leaves the event out.
local LINES = {
  conversationCreated = function(p)
    return ('%s created "%s" by %s'):format(conv(p), escaped(p.name, 64), escaped(p.number, 20))
  end,
  memberAdded = function(p)
    return ('%s %s joined as %s'):format(conv(p), escaped(p.number, 20), escaped(p.alias, 24))
  end,
  memberRemoved = function(p)
    local what = p.isSelf and 'left' or (p.banned and 'was kicked and banned' or 'was removed')
    return ('%s %s %s%s'):format(
      conv(p),
      escaped(p.number, 20),
      what,
      p.deleted and ' (the last member: conversation deleted)' or ''
    )
  end,
  memberUnbanned = function(p) return ('%s %s unbanned'):format(conv(p), escaped(p.number, 20)) end,
  messageSent = function(p, c)
    if c.messages ~= true then return nil end
    return ('%s %s: %s'):format(conv(p), escaped(p.number, 20), escaped(p.content or '', 120))
  end,
  messageReported = function(p, c)
    local said = c.messages == true and (': "' .. escaped(p.content or '', 60) .. '"') or ''
    return ('report %d: %s reported message %d in %s by %s%s (reason: %s)'):format(
      p.reportId,
      escaped(p.reporter, 20),
      p.messageId,
      conv(p),
      escaped(p.sender or '?', 20),
      said,
      escaped(p.reason, 40)
    )
  end,
  staffBanned = function(p)
    local untilText = 'permanently'
    if p.expiresAt then untilText = os.date('!until %Y-%m-%d %H:%M UTC', p.expiresAt) end
    return ('staff banned %s %s%s'):format(
      escaped(p.number, 20),
      untilText,
      p.reason and (' (' .. escaped(p.reason, 60) .. ')') or ''
    )
  end,
  staffUnbanned = function(p) return ('staff lifted the ban of %s'):format(escaped(p.number, 20)) end,
}

for name, line in pairs(LINES) do
  AddEventHandler(PREFIX .. name, function(payload)
    local c = settings()
    if not c or type(payload) ~= 'table' then return end
    local ok, text = pcall(line, payload, c)
    if ok and text then Webhook.log(cut(text, LINE_CHARS)) end
  end)
end
