-- Loads the native Darkchat core and opens the database. Everything else reaches the core
-- through `Darkchat.core`; when it cannot be loaded, this says why in one line and the
-- exports answer `storage_error` instead of raising.

Darkchat = { core = nil, config = Config }

local resourceName = GetCurrentResourceName()
local resourcePath = GetResourcePath(resourceName)

--- Settings from convars, read once at start.
Darkchat.settings = {
  db = GetConvar('darkchat:db', 'data/darkchat.db'),
  framework = GetConvar('darkchat:framework', 'auto'),
}

---@param message string
function Darkchat.log(message)
  print(('[Darkchat] %s'):format(message))
end

local function databasePath()
  local path = Darkchat.settings.db
  if path:sub(1, 1) == '/' or path:match('^%a:[\\/]') then
    return path
  end
  return resourcePath .. '/' .. path
end

local function loadNative()
  if type(package) ~= 'table' or type(require) ~= 'function' then
    return nil, 'this Lua runtime cannot load native modules (no package library, as on stock '
      .. 'FXServer); use the WebAssembly core (see README)'
  end
  package.cpath = ('%s/bin/?.so;%s/bin/?.dll;%s'):format(resourcePath, resourcePath, package.cpath)
  local ok, native = pcall(require, 'darkchat')
  if not ok then
    return nil, ('cannot load native module bin/darkchat: %s'):format(tostring(native):gsub('\n.*', ''))
  end
  return native
end

local native, loadError = loadNative()
if not native then
  Darkchat.log('core not started: ' .. loadError)
else
  local path = databasePath()
  local core, openError = native.open({ path = path, limits = Config.Limits })
  if not core then
    Darkchat.log('refusing to start: ' .. tostring(openError))
  else
    Darkchat.core = core
    Darkchat.log(('native core %s ready (database %s)'):format(native.version, path))
    AddEventHandler('onResourceStop', function(name)
      if name == resourceName and Darkchat.core then
        Darkchat.core:close()
        Darkchat.core = nil
      end
    end)
  end
end

--- Calls a core method; a missing core answers like a storage failure, never raises.
---@param method string
---@return boolean ok, any ...
function Darkchat.call(method, ...)
  local core = Darkchat.core
  if not core then
    return false, 'storage_error', 'Darkchat core is not running'
  end
  local result = table.pack(core[method](core, ...))
  if not result[1] and Config.Debug then
    Darkchat.log(('%s failed: %s (%s)'):format(method, tostring(result[2]), tostring(result[3])))
  end
  return table.unpack(result, 1, result.n)
end
