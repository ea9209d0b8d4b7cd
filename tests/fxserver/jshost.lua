-- The emulator's JS runtime: a resource's `.js` server scripts run in a Node process
-- (tests/wasm/sidecar.js, under tests/wasm/fxjs.js) that the emulator talks to over two FIFOs
-- with length-prefixed MessagePack frames. Exports the scripts register become exports of the
-- resource here, callable from Lua (the resource's own `exports[res]:Name(...)` included), and
-- every call crosses real MessagePack bytes, as between FXServer's Lua and JS runtimes.
-- Node's event loop runs on its own between requests (the sidecar reads its pipe without
-- blocking); fxserver.lua ticks the runtime's timers on its clock and collects what settled.
-- The request and reply maps are described at the top of sidecar.js.
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
  assert(
    os.execute(
      ('node %q %q %q %q %q 2>%q &'):format(SIDECAR, name, dir, req, rep, tmp .. '/stderr')
    )
  )
  -- due/pending/queue/waiting: the emulator's bookkeeping of this runtime (fxserver.lua)
  local self = setmetatable(
    { tmp = tmp, name = name, lastId = 0, due = nil, pending = 0, queue = {}, waiting = {} },
    JsHost
  )
  self.w = assert(io.open(req, 'wb')) -- returns once node has opened its end
  self.r = assert(io.open(rep, 'rb'))
  self.w:setvbuf('no')
  return self
end

---Sends one request (a map with `op`) and returns the reply map: `ok`, the op's own fields,
---and `lines`, `settled`, `pending`, `due` (sidecar.js).
---@param request table
---@return table reply
function JsHost:ask(request)
  if not self.w then error('the JS runtime of ' .. self.name .. ' has stopped', 0) end
  self.w:write(string.pack('>s4', Msgpack.encode(request)))
  local head = self.r:read(4)
  if not head or #head < 4 then
    local f = io.open(self.tmp .. '/stderr', 'rb')
    local err = f and f:read('a') or ''
    if f then f:close() end
    error('the JS runtime of ' .. self.name .. ' died: ' .. err, 0)
  end
  local reply = Msgpack.decode(self.r:read((string.unpack('>I4', head))))
  reply.lines, reply.settled = reply.lines or {}, reply.settled or {}
  reply.pending = reply.pending or 0
  return reply
end

---Runs a script; the reply's `exports` are the names of the exports registered so far.
---@param file string
---@param now integer the emulator's clock
function JsHost:load(file, now) return self:ask({ op = 'load', file = file, now = now }) end

---An id for the next call, so that its settlement can be told apart.
function JsHost:newCallId()
  self.lastId = self.lastId + 1
  return self.lastId
end

---Calls an export with the packed arguments; the reply has `value`, or `async` (a promise whose
---settlement comes later under `id`).
---@param id integer from newCallId
---@param exportName string
---@param args table from table.pack
---@param now integer the emulator's clock
---@param invoker string? the calling resource (what the script's GetInvokingResource answers)
function JsHost:call(id, exportName, args, now, invoker)
  return self:ask({
    op = 'call',
    id = id,
    name = exportName,
    args = args,
    n = args.n,
    now = now,
    invoker = invoker,
  })
end

---Fires onResourceStop in the JS runtime and ends it; returns the lines it printed.
function JsHost:stop()
  if not self.w then return {} end
  local ok, reply = pcall(self.ask, self, { op = 'stop' })
  self.w:close()
  self.r:close()
  self.w, self.r = nil, nil
  os.execute(('rm -rf %q'):format(self.tmp))
  return ok and reply.lines or {}
end

return JsHost
