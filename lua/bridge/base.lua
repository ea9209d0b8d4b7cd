-- The bridge to the player framework: source (server id) → phone number, and back.
-- Framework files (`lua/bridge/<name>.lua`) register an adapter here; `select.lua` picks one
-- (convar `darkchat:framework`, else detection) and this file adds a per-player cache that
-- is forgotten when the player drops or their character unloads. Framework names appear only
-- in the adapters.
--
-- The cache is filled when a player's character loads (and, at start, for everyone online),
-- so that a push to a conversation's members reads it alone: asking the framework about every
-- online player on each push cost a database query each on ESX.

---@class DarkchatAdapter
---@field resource string?          resource whose `started` state means the framework is there
---@field aliases string[]?         other names `darkchat:framework` accepts for it (its own name always works)
---@field init fun()?               called once when chosen
---@field numberOf fun(src: integer): (string|integer|nil)  asks the framework
---@field forgetOn table<string, fun(...): integer|false|nil>?  events after which a player's number may change; each returns the source to forget (nil: forget all; false: nothing)
---@field lookUpOn table<string, boolean>?  those of the `forgetOn` events after which a character is loaded: its number is looked up at once
---@field numbersAt DarkchatNumbersAt?  where its database keeps a character's number (for `darkchat import`)

--- Where `darkchat import` (js/import.js) reads the phone number of a character that another
--- phone's rows name by the framework's identifier (docs/import.md).
---@class DarkchatNumbersAt
---@field table string?   the framework's player table (nil: Darkchat's own standalone numbers)
---@field key string?     its column of the identifier
---@field phone string?   its column holding the number
---@field phones 'charinfo'|'plain'|'standalone'  how the core reads the value (src/import.rs)

local Bridge <const> = {
  adapters = {}, ---@type table<string, DarkchatAdapter>
  order = {}, -- detection order
  name = nil, -- chosen adapter's name
  adapter = nil, ---@type DarkchatAdapter?
}
Darkchat.Bridge = Bridge

local numberBySource = {} -- src → number (string)
local sourceByNumber = {} -- number → src

---@param name string
---@param adapter DarkchatAdapter
function Bridge.register(name, adapter)
  Bridge.adapters[name] = adapter
  Bridge.order[#Bridge.order + 1] = name
end

---@param src integer
function Bridge.forget(src)
  local number = numberBySource[src]
  if number then
    numberBySource[src] = nil
    if sourceByNumber[number] == src then sourceByNumber[number] = nil end
  end
end

function Bridge.forgetAll()
  numberBySource, sourceByNumber = {}, {}
end

---@param src integer
---@param number string
function Bridge.remember(src, number)
  Bridge.forget(src)
  local previous = sourceByNumber[number]
  if previous then numberBySource[previous] = nil end
  numberBySource[src], sourceByNumber[number] = number, src
end

--- The number already known for `src`, without asking the framework.
---@param src integer
---@return string?
function Bridge.cached(src) return numberBySource[src] end

--- The phone number of an online player's source, or nil (offline, no character loaded).
---@param src integer a validated source
---@return string?
function Bridge.numberOf(src)
  local cached = numberBySource[src]
  if cached then return cached end
  if not Bridge.adapter or GetPlayerName(src) == nil then return nil end
  local ok, raw = pcall(Bridge.adapter.numberOf, src)
  if not ok then
    Darkchat.log(('%s bridge failed for player %d: %s'):format(Bridge.name, src, tostring(raw)))
    return nil
  end
  if raw == nil then return nil end
  local valid, number = Darkchat.call('checkNumber', raw)
  if not valid then return nil end
  Bridge.remember(src, number)
  return number
end

--- Where the chosen framework keeps its characters' numbers (its adapter's `numbersAt`), with
--- the framework's name as `framework`: what `darkchat import` is handed.
---@return table
function Bridge.numbersAt()
  local at = { framework = Bridge.name }
  local adapter = Bridge.adapters[Bridge.name or '']
  for key, value in pairs(adapter and adapter.numbersAt or {}) do
    at[key] = value
  end
  return at
end

--- Sources of the online players among `numbers` (each player at most once), from the cache
--- alone: the framework is never asked here. The second list holds their numbers, each where
--- its player's source is in the first.
---@param numbers string[]
---@return integer[] sources, string[] online
function Bridge.onlineSources(numbers)
  local sources, online = {}, {}
  for _, number in ipairs(numbers) do
    local src = sourceByNumber[number]
    if src then
      sources[#sources + 1], online[#online + 1] = src, number
    end
  end
  return sources, online
end
