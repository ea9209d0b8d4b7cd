-- What QBCore and Qbox share: the Player shape (`PlayerData.charinfo.phone`, a string) and
-- the character load/unload events after which a source's number may change.

local QbFamily <const> = {}
Darkchat.QbFamily = QbFamily

---@param player table? a QBCore/Qbox Player
---@return string?
function QbFamily.phoneOf(player)
  local charinfo = player and player.PlayerData and player.PlayerData.charinfo
  return charinfo and charinfo.phone
end

QbFamily.forgetOn = {
  ['QBCore:Server:PlayerLoaded'] = function(player)
    return player and player.PlayerData and player.PlayerData.source
  end,
  ['QBCore:Server:OnPlayerUnload'] = function(src) return src end,
}
QbFamily.lookUpOn = { ['QBCore:Server:PlayerLoaded'] = true }
-- The number is `phone` of the `charinfo` JSON column, the character keyed by `citizenid`.
QbFamily.numbersAt = {
  table = 'players',
  key = 'citizenid',
  phone = 'charinfo',
  phones = 'charinfo',
}
