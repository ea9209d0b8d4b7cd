-- ESX: the number lives in `users.phone_number`, keyed by the xPlayer's identifier, read
-- through oxmysql (asynchronous). It is fetched when the character loads and kept; a lookup
-- that misses waits for the query when it runs in a thread, otherwise starts it and answers
-- "not found" this once.
--
-- A fetch belongs to the identifier (the character) it was started for: a player may log out
-- and load another character before the query answers, and that late answer must not give the
-- new character the old one's number. An answer is kept only while the player's current
-- character is still the one it was asked for.

local Bridge <const> = Darkchat.Bridge

local ESX
local QUERY = 'SELECT phone_number FROM users WHERE identifier = ?'
local QUERY_TIMEOUT_MS = 2000
local fetching = {} -- src → identifier whose query is in flight (the latest one asked)

local function currentIdentifier(src)
  local xPlayer = ESX.GetPlayerFromId(src)
  return xPlayer and xPlayer.identifier
end

local function fetch(src, identifier)
  if fetching[src] == identifier then return end
  fetching[src] = identifier
  exports.oxmysql:scalar(QUERY, { identifier }, function(phone)
    if fetching[src] ~= identifier then return end -- a newer fetch owns this player now
    fetching[src] = nil
    if phone == nil or currentIdentifier(src) ~= identifier then return end -- gone, or another character
    local valid, number = Darkchat.call('checkNumber', phone)
    if valid then Bridge.remember(src, number) end
  end)
end

Bridge.register('esx', {
  resource = 'es_extended',
  aliases = { 'es_extended' },
  init = function() ESX = exports.es_extended:getSharedObject() end,
  numberOf = function(src)
    local identifier = currentIdentifier(src)
    if not identifier then return nil end
    fetch(src, identifier)
    if not coroutine.isyieldable() then return nil end
    local waited = 0
    while fetching[src] == identifier and waited < QUERY_TIMEOUT_MS do
      Wait(10)
      waited = waited + 10
    end
    return Bridge.cached(src)
  end,
  forgetOn = {
    ['esx:playerLoaded'] = function(src, xPlayer)
      if xPlayer and xPlayer.identifier then
        SetTimeout(0, function() fetch(src, xPlayer.identifier) end)
      end
      return src
    end,
    ['esx:playerLogout'] = function(src) return src end,
  },
  numbersAt = { table = 'users', key = 'identifier', phone = 'phone_number', phones = 'plain' },
})
