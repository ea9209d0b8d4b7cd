-- Chooses the framework adapter: the `darkchat:framework` convar, else the first whose
-- resource is started (Qbox before QBCore), else standalone. Installs the cache-forgetting
-- events, and fills the cache: for the players online now, and for each character that loads.

local aliases = { auto = 'auto', qbcore = 'qbcore', ['qb-core'] = 'qbcore', qbox = 'qbox',
  qbx = 'qbox', esx = 'esx', ox = 'ox', ox_core = 'ox', standalone = 'standalone' }

local function choose()
  local wanted = aliases[(Darkchat.settings.framework or 'auto'):lower()]
  if not wanted then
    Darkchat.log(('unknown darkchat:framework %q; detecting instead'):format(Darkchat.settings.framework))
    wanted = 'auto'
  end
  if wanted ~= 'auto' then return wanted end
  for _, name in ipairs(Bridge.order) do
    local resource = Bridge.adapters[name].resource
    if resource and GetResourceState(resource) == 'started' then return name end
  end
  return 'standalone'
end

local name = choose()
local adapter = Bridge.adapters[name]
Bridge.name, Bridge.adapter = name, adapter
local ok, err = pcall(adapter.init or function() end)
if ok then
  Darkchat.log(('framework: %s'):format(name))
else
  Bridge.adapter = nil
  Darkchat.log(('framework %s could not be used (%s); players will not be found'):format(name, tostring(err)))
end

local lookUpOn = adapter.lookUpOn or {}
for event, sourceOf in pairs(adapter.forgetOn or {}) do
  AddEventHandler(event, function(...)
    local src = math.tointeger(tonumber(sourceOf(...)))
    if src then Bridge.forget(src) else Bridge.forgetAll() end
    if src and lookUpOn[event] then Bridge.numberOf(src) end
  end)
end

if Bridge.adapter then
  for _, id in ipairs(GetPlayers()) do
    local src = math.tointeger(tonumber(id))
    if src then Bridge.numberOf(src) end
  end
end

AddEventHandler('playerDropped', function()
  local src = math.tointeger(tonumber(source))
  if src then Bridge.forget(src) end
end)
