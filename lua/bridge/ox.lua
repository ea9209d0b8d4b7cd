-- ox_core: `exports.ox_core:CallPlayer(src, 'get', 'phoneNumber')`.

local Bridge <const> = Darkchat.Bridge

Bridge.register('ox', {
  resource = 'ox_core',
  aliases = { 'ox_core' },
  numberOf = function(src) return exports.ox_core:CallPlayer(src, 'get', 'phoneNumber') end,
  forgetOn = {
    ['ox:playerLoaded'] = function(src) return src end,
    ['ox:playerLogout'] = function(src) return src end,
  },
  lookUpOn = { ['ox:playerLoaded'] = true },
})
