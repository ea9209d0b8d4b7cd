-- What QBCore and Qbox share: the Player shape (`PlayerData.charinfo.phone`, a string) and
-- the events after which a source's number may change (a character loads, unloads, or has
-- its data set).

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
  -- Fired with the whole PlayerData after any change to a loaded character (its money, its
  -- hunger every few minutes, ...), and after a script gives it another number through
  -- `Player.Functions.SetPlayerData('charinfo', ...)`. Only a number that moved is forgotten
  -- (and looked up anew): the others keep their cached number.
  ['QBCore:Player:SetPlayerData'] = function(playerData)
    local src = type(playerData) == 'table' and Darkchat.integer(playerData.source)
    if not src then return false end
    local phone = QbFamily.phoneOf({ PlayerData = playerData })
    if phone ~= nil and Darkchat.Bridge.cached(src) == tostring(phone) then return false end
    return src
  end,
}
QbFamily.lookUpOn =
  { ['QBCore:Server:PlayerLoaded'] = true, ['QBCore:Player:SetPlayerData'] = true }
-- The number is `phone` of the `charinfo` JSON column, the character keyed by `citizenid`.
QbFamily.numbersAt = {
  table = 'players',
  key = 'citizenid',
  phone = 'charinfo',
  phones = 'charinfo',
}
