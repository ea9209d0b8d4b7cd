-- QBCore: the number is `PlayerData.charinfo.phone` (a string).
local QBCore

Bridge.register('qbcore', {
  resource = 'qb-core',
  init = function()
    QBCore = exports['qb-core']:GetCoreObject()
  end,
  numberOf = function(src)
    local player = QBCore.Functions.GetPlayer(src)
    local charinfo = player and player.PlayerData and player.PlayerData.charinfo
    return charinfo and charinfo.phone
  end,
  forgetOn = {
    ['QBCore:Server:PlayerLoaded'] = function(player) return player and player.PlayerData and player.PlayerData.source end,
    ['QBCore:Server:OnPlayerUnload'] = function(src) return src end,
  },
})
