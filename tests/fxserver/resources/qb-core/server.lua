-- Fake QBCore: `exports['qb-core']:GetCoreObject()` with the same lookups and the same Player
-- shape as qb-core (PlayerData.charinfo.phone is a string). GetPlayer compares like the real
-- one: a number is a source, anything else is looked up as a license identifier, and
-- GetPlayerByPhone compares with `==` (the string "5550101" only). Test hooks: exports
-- __SetCharacter(src, { phone, citizenid, firstname, lastname }), __SetPhone(src, phone),
-- __SetPlayerData(src, key, value), __SetMetaData(src, key, value), __Lookups() (how many
-- times a player was asked for by source) and __Logout(src).
local QBCore = { Functions = {}, Players = {} }

function QBCore.Functions.GetSource(identifier)
  for src, player in pairs(QBCore.Players) do
    if player.PlayerData.license == identifier then return src end
  end
  return 0
end

local lookups = 0 -- GetPlayer calls by source, for the tests of Darkchat's cache

function QBCore.Functions.GetPlayer(source)
  if type(source) == 'number' then
    lookups = lookups + 1
    return QBCore.Players[source]
  end
  return QBCore.Players[QBCore.Functions.GetSource(source)]
end

function QBCore.Functions.GetPlayerByPhone(number)
  for src in pairs(QBCore.Players) do
    if QBCore.Players[src].PlayerData.charinfo.phone == number then return QBCore.Players[src] end
  end
  return nil
end

function QBCore.Functions.GetPlayers()
  local sources = {}
  for k in pairs(QBCore.Players) do
    sources[#sources + 1] = k
  end
  return sources
end

local function newPlayer(src, c)
  local self = { Offline = false, Functions = {} }
  self.PlayerData = {
    source = src,
    citizenid = c.citizenid or ('CID%05d'):format(src),
    license = GetPlayerIdentifierByType(src, 'license'),
    name = GetPlayerName(src),
    charinfo = {
      firstname = c.firstname or 'John',
      lastname = c.lastname or ('Doe' .. src),
      phone = c.phone,
      birthdate = '1990-01-01',
      gender = 0,
      nationality = 'USA',
    },
    metadata = {},
  }
  -- As qb-core: every change of the data fires QBCore:Player:SetPlayerData with all of it.
  function self.Functions.UpdatePlayerData()
    TriggerEvent('QBCore:Player:SetPlayerData', self.PlayerData)
  end
  function self.Functions.SetPlayerData(key, value)
    self.PlayerData[key] = value
    self.Functions.UpdatePlayerData()
  end
  function self.Functions.SetMetaData(meta, value)
    self.PlayerData.metadata[meta] = value
    self.Functions.UpdatePlayerData()
  end
  function self.Functions.GetMetaData(meta) return self.PlayerData.metadata[meta] end
  return self
end

exports('GetCoreObject', function() return QBCore end)

exports('__SetCharacter', function(src, character)
  local player = newPlayer(src, character or {})
  QBCore.Players[src] = player
  TriggerEvent('QBCore:Server:PlayerLoaded', player)
  return true
end)

-- A number changed on a loaded character with no event Darkchat listens to (as a script that
-- edits `charinfo` does).
exports('__SetPhone', function(src, phone)
  if not QBCore.Players[src] then return false end
  QBCore.Players[src].PlayerData.charinfo.phone = phone
  return true
end)

-- What a script does through the Player object: `Player.Functions.SetPlayerData(key, value)`
-- (a new `charinfo` with another phone, say) or `SetMetaData(key, value)`.
exports('__SetPlayerData', function(src, key, value)
  if not QBCore.Players[src] then return false end
  QBCore.Players[src].Functions.SetPlayerData(key, value)
  return true
end)

exports('__SetMetaData', function(src, key, value)
  if not QBCore.Players[src] then return false end
  QBCore.Players[src].Functions.SetMetaData(key, value)
  return true
end)

exports('__Lookups', function() return lookups end)

exports('__Logout', function(src)
  if not QBCore.Players[src] then return false end
  TriggerEvent('QBCore:Server:OnPlayerUnload', src)
  QBCore.Players[src] = nil
  return true
end)

-- qb-core forgets the player on drop without firing OnPlayerUnload.
AddEventHandler('playerDropped', function()
  local src = source
  QBCore.Players[src] = nil
end)
