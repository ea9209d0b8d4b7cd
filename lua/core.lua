-- Loads the Darkchat core and opens the database: the native module where this Lua can
-- `require` it, else the WebAssembly core served by js/host.js (stock FXServer). Everything
-- else reaches the core through `Darkchat.core` / `Darkchat.call`, the same on both; one line
-- says which core runs. When neither can start, one line says why and the exports answer
-- `storage_error` instead of raising.

local Wire <const> = Darkchat.Wire

--- The core's handle (the native module's, or one with the same methods that calls the wasm
--- core), once started; nil while none runs. Call it through `Darkchat.call`.
Darkchat.core = nil

--- The core that runs, once started: `kind` ('native' or 'wasm') and `version` (the build's
--- version, Cargo.toml's package version, as the core reports it). Nil while none runs.
Darkchat.running = nil

local resourceName = GetCurrentResourceName()
local resourcePath = GetResourcePath(resourceName)

--- Settings from convars, read once at start.
Darkchat.settings = {
  db = GetConvar('darkchat:db', 'data/darkchat.db'),
  framework = GetConvar('darkchat:framework', 'auto'),
  -- `sqlite` (a file under the resource folder) or `mysql` (the server's own database, through
  -- the connection oxmysql reads); MySQL runs on the wasm core, served by js/host.js.
  storage = GetConvar('darkchat:storage', 'sqlite'):lower(),
  mysqlConnection = GetConvar('mysql_connection_string', ''),
}

---@param message string
function Darkchat.log(message) print(('[Darkchat] %s'):format(message)) end

--- An integer from a value a client, an event or the console gave (a number, or a string of
--- one), or nil: the one reading of sources and ids that do not come from the core.
---@param value any
---@return integer?
function Darkchat.integer(value) return math.tointeger(tonumber(value)) end

--- `path` as written when absolute (`/...`, or `C:\...` on Windows), else under the resource
--- folder.
---@param path string
---@return string
function Darkchat.resourceFile(path)
  if path:sub(1, 1) == '/' or path:match('^%a:[\\/]') then return path end
  return resourcePath .. '/' .. path
end

local function databasePath() return Darkchat.resourceFile(Darkchat.settings.db) end

local function loadNative()
  if type(package) ~= 'table' or type(require) ~= 'function' then
    return nil,
      'this Lua runtime cannot load native modules (no package library, as on stock ' .. 'FXServer)'
  end
  package.cpath = ('%s/bin/?.so;%s/bin/?.dll;%s'):format(resourcePath, resourcePath, package.cpath)
  local ok, native = pcall(require, 'darkchat')
  if not ok then
    return nil,
      ('cannot load native module bin/darkchat: %s'):format(tostring(native):gsub('\n.*', ''))
  end
  return native
end

-- The WebAssembly core -----------------------------------------------------------------------
-- Served by js/host.js through this resource's own export `DarkchatCore(method, argsJson)`,
-- the arguments written by lua/wire.lua.

--- The limits the core opens with: Config.Limits (the image hosts, a list in config.lua, joined
--- into one string: host values cross to the core as scalars) and the word filter
--- (Config.Filter).
local function openLimits()
  local limits = {}
  for key, value in pairs(Config.Limits) do
    limits[key] = value
  end
  if type(limits.imageHosts) == 'table' then
    limits.imageHosts = table.concat(limits.imageHosts, ',')
  end
  limits.filter = Config.Filter
  return limits
end

--- A core object with the native handle's methods (`core:create(...)` → `true, ...` or
--- `false, code, message`), each a call of the export.
local function wasmCore(serve)
  return setmetatable({}, {
    __index = function(self, method)
      local fn = function(_, ...)
        -- On MySQL the answer is a promise this thread waits for. Code called from C without
        -- yield support (a sort comparator, a gsub callback) cannot wait: a clear answer
        -- rather than FXServer's "attempt to yield across a C-call boundary".
        if Darkchat.settings.storage == 'mysql' and not coroutine.isyieldable() then
          return false,
            'storage_error',
            'called where it cannot wait: MySQL storage answers '
              .. 'asynchronously; call from a thread, an event handler or an export'
        end
        local reply = serve(nil, method, Wire.args(...))
        -- On SQLite the reply comes as the MessagePack bytes the core packed (js/host.js
        -- callPacked): unpacked here in C, where an object would cost the JS thread a parse
        -- and a packing of every field.
        if type(reply) == 'string' then
          local unpacked, value = pcall(msgpack.unpack, reply)
          reply = unpacked and value or nil
        end
        if type(reply) ~= 'table' then
          return false, 'storage_error', 'the wasm core did not answer'
        end
        if reply.ok then
          local values = reply.v or {}
          return true, table.unpack(values, 1, #values)
        end
        return false, reply.code or 'storage_error', reply.message
      end
      rawset(self, method, fn)
      return fn
    end,
  })
end

local function findWasm()
  local ok, serve = pcall(function() return exports[resourceName].DarkchatCore end)
  if not ok or type(serve) == 'nil' then
    return nil,
      'the wasm core is not running (js/host.js did not register DarkchatCore: '
        .. 'check bin/darkchat.wasm and node_version in fxmanifest.lua; see README "Hosts and cores")'
  end
  return serve
end

--- Calls a core method; a missing core answers like a storage failure, never raises.
---@param method string
---@return boolean ok, any ...
function Darkchat.call(method, ...)
  local core = Darkchat.core
  if not core then return false, 'storage_error', 'Darkchat core is not running' end
  if not Config.Debug then return core[method](core, ...) end
  local result = table.pack(core[method](core, ...))
  if not result[1] then
    Darkchat.log(('%s failed: %s (%s)'):format(method, tostring(result[2]), tostring(result[3])))
  end
  return table.unpack(result, 1, result.n)
end

local path = databasePath()

--- Where backups go (automatic ones, players' and the copy a restore keeps), under the
--- resource folder.
Darkchat.BACKUP_FOLDER = 'data/backups'

--- Whether the SQLite database existed before the core opened (and so created) it.
local databaseExisted = false
if Darkchat.settings.storage == 'sqlite' then
  local f = io.open(path, 'rb')
  if f then
    databaseExisted = f:seek('end') > 0
    f:close()
  end
end

--- Takes an opened core into service, or says why not. On resource stop the native core is
--- closed here; the wasm core's store belongs to js/host.js, which closes it on the same event.
---@param kind string 'native' or 'wasm'
---@param version string the version the core reports
---@param closeOnStop boolean false when the host closes the store itself
local function start(core, openError, kind, version, closeOnStop)
  if not core then
    Darkchat.log('refusing to start: ' .. tostring(openError))
    return
  end
  Darkchat.core = core
  Darkchat.running = { kind = kind, version = tostring(version) }
  local size = ''
  if Darkchat.settings.storage == 'sqlite' then
    local ok, stats = Darkchat.call('stats')
    if ok then size = (', %.1f MiB'):format(stats.sizeBytes / 1048576) end
  end
  Darkchat.log(('%s core %s ready (database %s%s)'):format(kind, tostring(version), path, size))
  if Darkchat.settings.storage == 'sqlite' and not databaseExisted then
    -- A fresh database where backups exist: an update that lost data/, or a wrong darkchat:db.
    local ok, newest = Darkchat.call('newestBackup', resourcePath .. '/' .. Darkchat.BACKUP_FOLDER)
    if ok and newest then
      local shown = newest:sub(1, #resourcePath + 1) == resourcePath .. '/'
          and newest:sub(#resourcePath + 2)
        or newest
      Darkchat.log(
        ('no database was at %s (a new, empty one was made) but backups exist; the newest is %s: to restore it, darkchat restore %s'):format(
          path,
          shown,
          shown
        )
      )
    end
  end
  AddEventHandler('onResourceStop', function(name)
    if name == resourceName and Darkchat.core == core then
      if closeOnStop then core:close() end
      Darkchat.core = nil
      Darkchat.running = nil
    end
  end)
end

--- This server's id among the servers sharing a MySQL database (lua/network.lua; nil on
--- SQLite): the convar
--- `darkchat:serverId`, else one generated once and kept in data/darkchat-server-id, so that a
--- restart carries on where this server was. Servers that share a copy of that file must set
--- the convar, each its own.
local function networkServerId()
  local id = GetConvar('darkchat:serverId', '')
  if id ~= '' then return id end
  local file = Darkchat.resourceFile('data/darkchat-server-id')
  local f = io.open(file, 'rb')
  if f then
    id = f:read('l') or ''
    f:close()
    if #id <= 64 and id:match('^[%w%-_.:]+$') then return id end
  end
  id = ('srv-%08x%06x'):format(
    math.random(0, 0x7fffffff),
    (os.time() ~ math.random(0, 0xffffff)) & 0xffffff
  )
  f = io.open(file, 'wb')
  if f then
    f:write(id, '\n')
    f:close()
  else
    Darkchat.log(
      ("cannot keep this server's id in %s: after a restart it will not catch up on the other servers' changes (set darkchat:serverId)"):format(
        file
      )
    )
  end
  return id
end

local function startMysql()
  local serve, wasmError = findWasm()
  if not serve then
    Darkchat.log(
      ('core not started: MySQL storage runs on the wasm core, and %s'):format(wasmError)
    )
    return
  end
  Darkchat.serverId = networkServerId()
  local options = ('{"storage":"mysql","connection":%s,"limits":%s,"deadlineMs":%s,"serverId":%s}'):format(
    Wire.value(Darkchat.settings.mysqlConnection),
    Wire.limits(openLimits()),
    Wire.value(Config.Mysql.deadlineMs),
    Wire.value(Darkchat.serverId)
  )
  local opened = serve(nil, 'open', options)
  if type(opened) == 'table' and opened.ok then
    path = 'MySQL ' .. tostring(opened.database)
    start(wasmCore(serve), nil, 'wasm', opened.version, false)
  else
    start(nil, type(opened) == 'table' and opened.message or opened)
  end
end

local native, nativeError
if Darkchat.settings.storage == 'mysql' then
  startMysql()
elseif Darkchat.settings.storage ~= 'sqlite' then
  Darkchat.log(
    ('refusing to start: darkchat:storage is %q; use sqlite or mysql'):format(
      Darkchat.settings.storage
    )
  )
else
  native, nativeError = loadNative()
end
if Darkchat.settings.storage ~= 'sqlite' then
  -- started above, or refused
elseif native then
  local core, openError =
    native.open({ path = path, limits = openLimits(), announce = Darkchat.log })
  start(core, openError, 'native', native.version, true)
else
  local serve, wasmError = findWasm()
  if not serve then
    Darkchat.log(('core not started: %s; and %s'):format(nativeError, wasmError))
  else
    local options = ('{"path":%s,"limits":%s}'):format(Wire.value(path), Wire.limits(openLimits()))
    local opened = serve(nil, 'open', options)
    if type(opened) == 'table' and opened.ok then
      start(wasmCore(serve), nil, 'wasm', opened.version, false)
    else
      start(nil, type(opened) == 'table' and opened.message or opened)
    end
  end
end
