-- Qbox: `exports.qbx_core:GetPlayer(src)`. Checked before QBCore because Qbox also answers to
-- the qb-core name for compatibility.

local Bridge <const> = Darkchat.Bridge
local QbFamily <const> = Darkchat.QbFamily

Bridge.register('qbox', {
  resource = 'qbx_core',
  aliases = { 'qbx', 'qbx_core' },
  numberOf = function(src) return QbFamily.phoneOf(exports.qbx_core:GetPlayer(src)) end,
  forgetOn = QbFamily.forgetOn,
  lookUpOn = QbFamily.lookUpOn,
  numbersAt = QbFamily.numbersAt,
})
