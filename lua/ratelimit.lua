-- Per-player sliding-window rate limits (Config.RateLimits). A player's windows are dropped
-- when they leave, so the table never grows with the number of players ever seen.

RateLimit = {}

local windows = {}  -- src → bucket → array of timestamps (ms), oldest first

--- Counts one attempt of `bucket` for `src`; false when over the configured limit.
---@param src integer
---@param bucket string a key of Config.RateLimits
---@return boolean allowed
function RateLimit.take(src, bucket)
  local rule = Config.RateLimits[bucket]
  if not rule then return true end
  local now = GetGameTimer()
  local span = rule.seconds * 1000
  local byBucket = windows[src]
  if not byBucket then
    byBucket = {}
    windows[src] = byBucket
  end
  local stamps = byBucket[bucket] or {}
  byBucket[bucket] = stamps
  local keep = 1
  while stamps[keep] and now - stamps[keep] >= span do keep = keep + 1 end
  if keep > 1 then table.move(stamps, keep, #stamps + keep, 1) end
  if #stamps >= rule.count then return false end
  stamps[#stamps + 1] = now
  return true
end

AddEventHandler('playerDropped', function()
  local src = math.tointeger(tonumber(source))
  if src then windows[src] = nil end
end)
