-- Standalone (no framework): a number generated once per `license` identifier and kept in
-- the Darkchat database. Numbers are assigned when a player joins (and, by select.lua, for
-- players already online at start), so a later lookup only reads.

local Bridge <const> = Darkchat.Bridge

local function numberOf(src)
  local license = GetPlayerIdentifierByType(src, 'license')
  if not license then return nil end
  local ok, number = Darkchat.call('standaloneNumber', license)
  return ok and number or nil
end

Bridge.register('standalone', {
  init = function()
    AddEventHandler('playerJoining', function()
      local src = Darkchat.integer(source)
      if src then Bridge.numberOf(src) end
    end)
  end,
  numberOf = numberOf,
  -- No player table: the numbers Darkchat gave each license.
  numbersAt = { phones = 'standalone' },
})
