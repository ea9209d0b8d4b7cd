-- Fake ox_core: `exports.ox_core:CallPlayer(src, 'get', 'phoneNumber')` gives the active
-- character's phone number (nil without one). Events as ox_core: ox:playerLoaded and
-- ox:playerLogout with (source, userId, charId); a drop logs the character out.
-- Test hooks: exports __SetCharacter(src, { phone, charId }) and __Logout(src).
local players = {} -- src → { userId, charId, metadata }
local nextUserId = 0

local function player(src)
  local p = players[src]
  if not p and GetPlayerName(src) then
    nextUserId = nextUserId + 1
    p = { userId = nextUserId, metadata = {} }
    players[src] = p
  end
  return p
end

exports('CallPlayer', function(src, method, ...)
  local p = players[tonumber(src)]
  if not p then return nil end
  if method == 'get' then
    local key = ...
    return p.metadata[key]
  end
  error(("OxPlayer has no method '%s' (fake ox_core supports 'get')"):format(tostring(method)), 0)
end)

local function logout(src)
  local p = players[src]
  if not p or not p.charId then return false end
  TriggerEvent('ox:playerLogout', src, p.userId, p.charId)
  p.charId, p.metadata = nil, {}
  return true
end

exports('__SetCharacter', function(src, c)
  c = c or {}
  local p = assert(player(src), 'no such player')
  if p.charId then logout(src) end
  p.charId = c.charId or src
  p.metadata = { phoneNumber = c.phone }
  TriggerEvent('ox:playerLoaded', src, p.userId, p.charId)
  return true
end)

exports('__Logout', logout)

AddEventHandler('playerDropped', function()
  local src = source
  logout(src)
  players[src] = nil
end)
