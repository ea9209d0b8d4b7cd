-- Fake ESX: `exports.es_extended:getSharedObject()` → { GetPlayerFromId, GetExtendedPlayers }.
-- xPlayer carries `identifier` (e.g. "char1:<license hash>") but NOT the phone number: that
-- lives in the `users.phone_number` column, which this fake keeps in the fake oxmysql.
-- Test hooks: exports __SetCharacter(src, { identifier, phone }) and __Logout(src).
local ESX = { Players = {} }

function ESX.GetPlayerFromId(source) return ESX.Players[tonumber(source)] end

function ESX.GetExtendedPlayers(key, val)
  local xPlayers = {}
  for _, xPlayer in pairs(ESX.Players) do
    if not key or (key == 'job' and xPlayer.job.name == val) or xPlayer[key] == val then
      xPlayers[#xPlayers + 1] = xPlayer
    end
  end
  return xPlayers
end

local function newXPlayer(src, identifier)
  local self = {
    source = src,
    playerId = src,
    identifier = identifier,
    name = GetPlayerName(src),
    license = GetPlayerIdentifierByType(src, 'license'),
    group = 'user',
    job = { name = 'unemployed', grade = 0 },
  }
  function self.getIdentifier() return self.identifier end
  function self.getName() return self.name end
  return self
end

exports('getSharedObject', function() return ESX end)

exports('__SetCharacter', function(src, c)
  c = c or {}
  local license = (GetPlayerIdentifierByType(src, 'license') or ('license:' .. src)):gsub(
    '^license:',
    ''
  )
  local identifier = c.identifier or ('char1:' .. license)
  exports.oxmysql:__SetUser(identifier, c.phone)
  local xPlayer = newXPlayer(src, identifier)
  ESX.Players[src] = xPlayer
  TriggerEvent('esx:playerLoaded', src, xPlayer, false)
  return identifier
end)

exports('__Logout', function(src)
  if not ESX.Players[src] then return false end
  TriggerEvent('esx:playerLogout', src)
  ESX.Players[src] = nil
  return true
end)

AddEventHandler('playerDropped', function(reason)
  local playerId = source
  if ESX.Players[playerId] then
    TriggerEvent('esx:playerDropped', playerId, reason)
    ESX.Players[playerId] = nil
  end
end)
