-- Qbox: `exports.qbx_core:GetPlayer(src).PlayerData.charinfo.phone`. Checked before QBCore
-- because Qbox also answers to the qb-core name for compatibility.
Bridge.register('qbox', {
  resource = 'qbx_core',
  numberOf = function(src)
    local player = exports.qbx_core:GetPlayer(src)
    local charinfo = player and player.PlayerData and player.PlayerData.charinfo
    return charinfo and charinfo.phone
  end,
  forgetOn = {
    ['QBCore:Server:PlayerLoaded'] = function(player) return player and player.PlayerData and player.PlayerData.source end,
    ['QBCore:Server:OnPlayerUnload'] = function(src) return src end,
  },
})
