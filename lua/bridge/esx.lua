-- ESX: the number lives in `users.phone_number`, keyed by the xPlayer's identifier, read
-- through oxmysql (asynchronous). It is fetched when the character loads and kept; a lookup
-- that misses waits for the query when it runs in a thread, otherwise starts it and answers
-- "not found" this once.
local ESX
local QUERY = 'SELECT phone_number FROM users WHERE identifier = ?'
local QUERY_TIMEOUT_MS = 2000
local pending = {}  -- src → true while a query is in flight

local function fetch(src, identifier)
  if pending[src] then return end
  pending[src] = true
  exports.oxmysql:scalar(QUERY, { identifier }, function(phone)
    pending[src] = nil
    if phone ~= nil and GetPlayerName(src) ~= nil then
      local valid, number = Darkchat.call('checkNumber', phone)
      if valid then Bridge.remember(src, number) end
    end
  end)
end

Bridge.register('esx', {
  resource = 'es_extended',
  init = function()
    ESX = exports.es_extended:getSharedObject()
    for _, xPlayer in pairs(ESX.GetExtendedPlayers() or {}) do
      if xPlayer.source and xPlayer.identifier then fetch(xPlayer.source, xPlayer.identifier) end
    end
  end,
  numberOf = function(src)
    local xPlayer = ESX.GetPlayerFromId(src)
    if not xPlayer or not xPlayer.identifier then return nil end
    fetch(src, xPlayer.identifier)
    if not coroutine.isyieldable() then return nil end
    local waited = 0
    while pending[src] and waited < QUERY_TIMEOUT_MS do
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
})
