-- Fake Qbox: exports GetPlayer(src) and GetPlayerByPhone(number) with QBCore's Player shape;
-- fires the same QBCore:Server:PlayerLoaded / QBCore:Server:OnPlayerUnload events as Qbox.
-- Test hooks: exports __SetCharacter(src, { phone, citizenid, firstname, lastname }),
-- __SetPlayerData(src, key, value), __SetMetaData(src, key, value), __Lookups() (how many
-- times a player was asked for by source), __Logout(src).
local Players = {}

local function getSource(identifier)
  for src, player in pairs(Players) do
    if player.PlayerData.license == identifier or player.PlayerData.citizenid == identifier then
      return src
    end
  end
end

local lookups = 0 -- GetPlayer calls by source, for the tests of Darkchat's cache

exports('GetPlayer', function(source)
  if type(source) == 'number' then
    lookups = lookups + 1
    return Players[source]
  end
  local src = getSource(source)
  return src and Players[src]
end)

exports('GetPlayerByPhone', function(number)
  for _, player in pairs(Players) do
    if player.PlayerData.charinfo.phone == number then return player end
  end
end)

exports('GetPlayerByCitizenId', function(citizenid)
  for _, player in pairs(Players) do
    if player.PlayerData.citizenid == citizenid then return player end
  end
end)

exports('__SetCharacter', function(src, c)
  c = c or {}
  local player = {
    Offline = false,
    Functions = {},
    PlayerData = {
      source = src,
      citizenid = c.citizenid or ('QBX%05d'):format(src),
      license = GetPlayerIdentifierByType(src, 'license'),
      name = GetPlayerName(src),
      charinfo = {
        firstname = c.firstname or 'Jane',
        lastname = c.lastname or ('Roe' .. src),
        phone = c.phone,
        birthdate = '1990-01-01',
        gender = 1,
        nationality = 'USA',
      },
      metadata = {},
    },
  }
  -- As Qbox: every change of the data fires QBCore:Player:SetPlayerData with all of it.
  function player.Functions.UpdatePlayerData()
    TriggerEvent('QBCore:Player:SetPlayerData', player.PlayerData)
  end
  function player.Functions.SetPlayerData(key, value)
    player.PlayerData[key] = value
    player.Functions.UpdatePlayerData()
  end
  function player.Functions.SetMetaData(meta, value)
    player.PlayerData.metadata[meta] = value
    player.Functions.UpdatePlayerData()
  end
  Players[src] = player
  TriggerEvent('QBCore:Server:PlayerLoaded', player)
  return true
end)

exports('__SetPlayerData', function(src, key, value)
  if not Players[src] then return false end
  Players[src].Functions.SetPlayerData(key, value)
  return true
end)

exports('__SetMetaData', function(src, key, value)
  if not Players[src] then return false end
  Players[src].Functions.SetMetaData(key, value)
  return true
end)

exports('__Lookups', function() return lookups end)

exports('__Logout', function(src)
  if not Players[src] then return false end
  TriggerEvent('QBCore:Server:OnPlayerUnload', src)
  Players[src] = nil
  return true
end)

AddEventHandler('playerDropped', function() Players[source] = nil end)
