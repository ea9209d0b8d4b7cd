-- Chooses the framework adapter: the `darkchat:framework` convar, else the first whose
-- resource is started (Qbox before QBCore), else standalone. A convar naming a framework whose
-- resource is not started is said in one line and detection decides instead: forcing a
-- framework that is absent would fail every lookup. Installs the cache-forgetting events, and
-- fills the cache: for the players online now, and for each character that loads.

local Bridge <const> = Darkchat.Bridge

--- The adapter a convar value names (its registered name or one of its aliases, any case),
--- 'auto', or nil for a name no adapter answers to.
---@param wanted string
---@return string?
local function adapterNamed(wanted)
  wanted = wanted:lower()
  if wanted == 'auto' then return 'auto' end
  for _, name in ipairs(Bridge.order) do
    if name == wanted then return name end
    for _, alias in ipairs(Bridge.adapters[name].aliases or {}) do
      if alias == wanted then return name end
    end
  end
  return nil
end

---@param name string
local function started(name)
  local resource = Bridge.adapters[name].resource
  return resource == nil or GetResourceState(resource) == 'started'
end

local function detect()
  for _, name in ipairs(Bridge.order) do
    if Bridge.adapters[name].resource and started(name) then return name end
  end
  return 'standalone'
end

local function choose()
  local setting = Darkchat.settings.framework or 'auto'
  local wanted = adapterNamed(setting)
  if not wanted then
    Darkchat.log(('unknown darkchat:framework %q; detecting instead'):format(setting))
  elseif wanted ~= 'auto' and not started(wanted) then
    Darkchat.log(
      ('darkchat:framework is %s but %s is not started; detecting instead'):format(
        wanted,
        Bridge.adapters[wanted].resource
      )
    )
  elseif wanted ~= 'auto' then
    return wanted
  end
  return detect()
end

local name = choose()
local adapter = Bridge.adapters[name]
Bridge.name, Bridge.adapter = name, adapter
local ok, err = pcall(adapter.init or function() end)
if ok then
  Darkchat.log(('framework: %s'):format(name))
else
  Bridge.adapter = nil
  Darkchat.log(
    ('framework %s could not be used (%s); players will not be found'):format(name, tostring(err))
  )
end

local lookUpOn = adapter.lookUpOn or {}
for event, sourceOf in pairs(adapter.forgetOn or {}) do
  AddEventHandler(event, function(...)
    local who = sourceOf(...)
    if who == false then return end
    local src = Darkchat.integer(who)
    if src then
      Bridge.forget(src)
    else
      Bridge.forgetAll()
    end
    if src and lookUpOn[event] then Bridge.numberOf(src) end
  end)
end

if Bridge.adapter then
  for _, id in ipairs(GetPlayers()) do
    local src = Darkchat.integer(id)
    if src then Bridge.numberOf(src) end
  end
end

AddEventHandler('playerDropped', function()
  local src = Darkchat.integer(source)
  if src then Bridge.forget(src) end
end)
