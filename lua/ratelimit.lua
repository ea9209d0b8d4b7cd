-- Per-player sliding-window rate limits (Config.RateLimits).
--
-- A player is known by their license identifier, not their source: a reconnect gives a new
-- source, and must not give a fresh set of limits (five more join-code guesses, say). So the
-- windows outlive the connection, in bounded memory: at most Config.RateLimitMemory players
-- are remembered. When a new one needs room, players idle for longer than the longest window
-- go first (every window of theirs is empty anyway), then the least recently seen.

local RateLimit <const> = {}
Darkchat.RateLimit = RateLimit

local entries = {} -- identity → { seen = ms of the last request, windows = bucket → timestamps (ms), oldest first }
local tracked = 0 -- entries in `entries`
local identities = {} -- src → identity, while the player is connected

local function identityOf(src)
  local identity = identities[src]
  if identity then return identity end
  identity = GetPlayerIdentifierByType(src, 'license')
  if type(identity) ~= 'string' or identity == '' then identity = 'source:' .. src end
  identities[src] = identity
  return identity
end

local function capacity() return math.max(1, math.tointeger(Config.RateLimitMemory) or 4096) end

local function longestWindow()
  local longest = 0
  for _, rule in pairs(Config.RateLimits) do
    longest = math.max(longest, rule.seconds * 1000)
  end
  return longest
end

--- Makes room for one more player: the idle are forgotten, then the least recently seen.
local function makeRoom(now)
  local idle = longestWindow()
  for identity, entry in pairs(entries) do
    if now - entry.seen >= idle then
      entries[identity] = nil
      tracked = tracked - 1
    end
  end
  while tracked >= capacity() do
    local oldest, seen = nil, math.huge
    for identity, entry in pairs(entries) do
      if entry.seen < seen then
        oldest, seen = identity, entry.seen
      end
    end
    entries[oldest] = nil
    tracked = tracked - 1
  end
end

--- The timestamps of `bucket` still inside its window.
local function window(entry, bucket, rule, now)
  local stamps = entry.windows[bucket]
  if not stamps then
    stamps = {}
    entry.windows[bucket] = stamps
  end
  local span = rule.seconds * 1000
  local keep = 1
  while stamps[keep] and now - stamps[keep] >= span do
    keep = keep + 1
  end
  if keep > 1 then table.move(stamps, keep, #stamps + keep, 1) end
  return stamps
end

--- Counts one attempt in each of the `buckets` for the player `src`: all of them, or (when one
--- is over its configured limit) none.
---@param src integer
---@param ... string keys of Config.RateLimits
---@return boolean allowed
function RateLimit.take(src, ...)
  local now = GetGameTimer()
  local identity = identityOf(src)
  local entry = entries[identity]
  if not entry then
    if tracked >= capacity() then makeRoom(now) end
    entry = { windows = {} }
    entries[identity] = entry
    tracked = tracked + 1
  end
  entry.seen = now
  local windows = {}
  for i = 1, select('#', ...) do
    local bucket = select(i, ...)
    local rule = Config.RateLimits[bucket]
    if rule then
      local stamps = window(entry, bucket, rule, now)
      if #stamps >= rule.count then return false end
      windows[#windows + 1] = stamps
    end
  end
  for _, stamps in ipairs(windows) do
    stamps[#stamps + 1] = now
  end
  return true
end

--- How many players' windows are remembered (at most Config.RateLimitMemory).
---@return integer
function RateLimit.tracked() return tracked end

AddEventHandler('playerDropped', function()
  local src = Darkchat.integer(source)
  if src then identities[src] = nil end
end)
