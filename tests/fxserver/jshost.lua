-- The emulator's JS runtime: a resource's `.js` server scripts run in a Node process
-- (tests/wasm/sidecar.js, under tests/wasm/fxjs.js) that the emulator talks to over two FIFOs
-- with length-prefixed MessagePack frames. Exports the scripts register become exports of the
-- resource here, callable from Lua (the resource's own `exports[res]:Name(...)` included), and
-- every call crosses real MessagePack bytes, as between FXServer's Lua and JS runtimes.
-- Needs `node` and `mkfifo`; enabled per server with FX.new{ jsHost = true }.
local HERE = (debug.getinfo(1, 'S').source:sub(2):match('^(.*)[/\\]') or '.')
local Msgpack = dofile(HERE .. '/msgpack.lua')
local SIDECAR = HERE .. '/../wasm/sidecar.js'

local JsHost = {}
JsHost.__index = JsHost

---Starts the JS runtime of one resource.
---@param name string resource name
---@param dir string resource folder
---@return table
function JsHost.start(name, dir)
  local pipe = io.popen('mktemp -d')
  local tmp = pipe:read('l')
  pipe:close()
  local req, rep = tmp .. '/req', tmp .. '/rep'
  assert(os.execute(('mkfifo %q %q'):format(req, rep)), 'mkfifo failed')
  assert(os.execute(('node %q %q %q %q %q 2>%q &'):format(SIDECAR, name, dir, req, rep, tmp .. '/stderr')))
  local self = setmetatable({ tmp = tmp, name = name }, JsHost)
  self.w = assert(io.open(req, 'wb')) -- returns once node has opened its end
  self.r = assert(io.open(rep, 'rb'))
  self.w:setvbuf('no')
  return self
end

function JsHost:_ask(request)
  if not self.w then error('the JS runtime of ' .. self.name .. ' has stopped', 0) end
  local body = Msgpack.encode(request)
  self.w:write(string.pack('>s4', body))
  local head = self.r:read(4)
  if not head or #head < 4 then
    local f = io.open(self.tmp .. '/stderr', 'rb')
    local err = f and f:read('a') or ''
    if f then f:close() end
    error('the JS runtime of ' .. self.name .. ' died: ' .. err, 0)
  end
  local reply = Msgpack.decode(self.r:read((string.unpack('>I4', head))))
  return reply[1] == 'ok', reply[2], reply[3] or {}
end

---Runs a script; returns ok, export names or error, printed lines.
function JsHost:load(file) return self:_ask({ 'load', file }) end

---Calls an export with the given arguments on behalf of resource `invoker` (what the script's
---GetInvokingResource answers); returns ok, result or error, printed lines.
function JsHost:call(exportName, args, invoker) return self:_ask({ 'call', exportName, args, args.n, invoker }) end

---Fires onResourceStop in the JS runtime and ends it.
function JsHost:stop()
  if not self.w then return {} end
  local _, _, lines = pcall(self._ask, self, { 'stop' })
  self.w:close()
  self.r:close()
  self.w, self.r = nil, nil
  os.execute(('rm -rf %q'):format(self.tmp))
  return type(lines) == 'table' and lines or {}
end

return JsHost
