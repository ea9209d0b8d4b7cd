-- QBCore: `exports['qb-core']:GetCoreObject().Functions.GetPlayer(src)`.

local Bridge <const> = Darkchat.Bridge
local QbFamily <const> = Darkchat.QbFamily

local QBCore

Bridge.register('qbcore', {
  resource = 'qb-core',
  aliases = { 'qb-core', 'qb' },
  init = function() QBCore = exports['qb-core']:GetCoreObject() end,
  numberOf = function(src) return QbFamily.phoneOf(QBCore.Functions.GetPlayer(src)) end,
  forgetOn = QbFamily.forgetOn,
  lookUpOn = QbFamily.lookUpOn,
  numbersAt = QbFamily.numbersAt,
})
