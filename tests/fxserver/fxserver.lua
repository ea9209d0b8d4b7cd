-- An emulation of FXServer's server-side Lua API, in plain Lua 5.4, so that a resource's server
-- scripts can be run and tested without FXServer. It reproduces what a resource can observe:
-- one global table per resource, events and net events with FXServer's rules (a client may only
-- trigger events registered with RegisterNetEvent; `source` is a global set during dispatch),
-- exports built the way citizen/scripting/lua/scheduler.lua builds them (an event
-- `__cfx_export_<res>_<name>` hands back a function reference), MessagePack copies at every
-- resource boundary, a coroutine scheduler with an emulated clock, commands with ACE checks,
-- convars and fake players. Only the FXServer globals the resource may use exist (the natives
-- below, which docs/fxserver-runtime.md describes from FXServer's source), so a resource that
-- uses anything else fails here as it would be wrong there.
--
-- Deliberate differences from FXServer (each documented where it is implemented):
--   * one Lua state for all resources: libraries are copied per resource, but the string
--     metatable and anything a C module reaches through the real globals are shared;
--   * `package`/`require` (unless stockLua) are per resource, like one lua_State per resource:
--     own `package.loaded`, own paths, Lua modules loaded into the resource's environment;
--   * every host input (ensure, a player joining, a net event, a console line) is followed by
--     one scheduler pass, as a live server keeps ticking; `srv:tick()`/`srv:runFor()` drive it;
--   * when a function reference call fails, the caller gets the callee's message (FXServer gives
--     nil and prints the details in the callee, which happens here too);
--   * a resource's `.js` scripts run in a Node process of their own (jshost.lua). Its event loop
--     runs in real time; its timers (FXServer's tick timers) run in the scheduler passes, on the
--     emulated clock. While a JS export's promise is pending, the clock never runs ahead of real
--     time (see Server:_step). docs/fxserver-runtime.md has the FXServer side of all this.
local HERE = (debug.getinfo(1, 'S').source:sub(2):match('^(.*)[/\\]') or '.')
local Copy = dofile(HERE .. '/msgpack_copy.lua')
local Json = dofile(HERE .. '/json.lua')
local Msgpack = dofile(HERE .. '/msgpack.lua')
local JsHost = dofile(HERE .. '/jshost.lua')

local FX = {}
local Server = {}
Server.__index = Server

local WAIT = setmetatable({}, { __name = 'fx.wait' }) -- the value a scheduler thread yields
local AWAIT = setmetatable({}, { __name = 'fx.await' }) -- yielded by a thread woken by an event (Server:_wake)
local REF = setmetatable({}, { __mode = 'k' }) -- funcref table → { srv, fn, owner, holder }
local LIBS = { 'string', 'table', 'math', 'utf8', 'coroutine', 'os', 'io', 'debug' }
local BASE = {
  'assert',
  'collectgarbage',
  'error',
  'getmetatable',
  'ipairs',
  'next',
  'pairs',
  'pcall',
  'rawequal',
  'rawget',
  'rawlen',
  'rawset',
  'select',
  'setmetatable',
  'tonumber',
  'tostring',
  'type',
  'xpcall',
  'warn',
  '_VERSION',
}

local FUNCREF_MT = {
  __call = function(t, ...)
    local info = REF[t]
    return info.srv:_callRef(info, ...)
  end,
  __index = function() error('Cannot index a funcref', 2) end,
  __newindex = function() error('Cannot set indexes on a funcref', 2) end,
}

local function toint(v)
  local n = tonumber(v)
  return n and math.tointeger(n)
end

local function shallow(t)
  local c = {}
  for k, v in pairs(t) do
    c[k] = v
  end
  return c
end

---Absolute folder of a fake framework resource shipped with the emulator.
---@param name string  e.g. "qb-core", "oxmysql"
---@return string
function FX.fakeResourceDir(name) return HERE .. '/resources/' .. name end

---Creates an emulated server.
---`jsTimeout`: the real time (ms) srv:export waits for a JS promise before it gives up (30 s).
---@param opts? { convars?: table<string,string>, stockLua?: boolean, quiet?: boolean, jsHost?: boolean, jsTimeout?: integer }
---@return table server
function FX.new(opts)
  opts = opts or {}
  local self = setmetatable({
    quiet = opts.quiet ~= false,
    stockLua = opts.stockLua == true,
    jsHost = opts.jsHost == true,
    jsTimeout = opts.jsTimeout or 30000,
    _convars = {},
    _resources = {},
    _order = {},
    _players = {},
    _nextSrc = 1,
    _clientEvents = {},
    _commands = {},
    _threads = {},
    _seq = 0,
    _now = 0,
    _frames = {},
    _current = nil,
    _output = {},
    _realWaited = 0,
  }, Server)
  for k, v in pairs(opts.convars or {}) do
    self._convars[k] = tostring(v)
  end
  return self
end

-- Output ---------------------------------------------------------------------------------------

function Server:_line(text)
  for line in (tostring(text) .. '\n'):gmatch('(.-)\n') do
    line = line:gsub('%^%d', '') -- FXServer's console renders ^0-^9 as colours
    self._output[#self._output + 1] = line
    if not self.quiet then
      io.stdout:write(line, '\n')
      io.stdout:flush()
    end
  end
end

function Server:_log(resName, text)
  for line in (tostring(text) .. '\n'):gmatch('(.-)\n') do
    self:_line(('[script:%s] %s'):format(resName, line))
  end
end

-- Prints an error as FXServer does: the message, then the resource frames of the stack.
function Server:_scriptError(inst, msg, traceback)
  self:_log(inst.name, 'SCRIPT ERROR: ' .. tostring(msg))
  for line in (traceback or ''):gmatch('[^\n]+') do
    line = line:gsub('^%s+', '')
    if
      line ~= 'stack traceback:'
      and not line:find('[C]', 1, true)
      and not line:find('fxserver.lua:', 1, true)
      and not line:find('msgpack_copy.lua:', 1, true)
      and not line:find('tail call', 1, true)
    then
      self:_log(inst.name, '> ' .. line)
    end
  end
end

---Every line printed so far (resource prints as `[script:<res>] text`, server lines as is).
---@return string[]
function Server:output() return self._output end
function Server:clearOutput() self._output = {} end

-- Copies and function references --------------------------------------------------------------

-- The copy hook for values travelling from `from` to `to` (instances; nil = the test host).
function Server:_hook(from, to)
  return function(v, isTable)
    if isTable then
      if not REF[v] then return nil end
      -- a reference passed on is re-registered by the sender, as FXServer does
      return self:_ref(function(...) return v(...) end, from, to)
    end
    return self:_ref(v, from, to)
  end
end

function Server:_ref(fn, owner, holder)
  self._seq = self._seq + 1
  local t = setmetatable(
    { __cfx_functionReference = ('%s:%d'):format(owner and owner.name or 'host', self._seq) },
    FUNCREF_MT
  )
  REF[t] = { srv = self, fn = fn, owner = owner, holder = holder }
  return t
end

-- Calls a function reference: arguments copied into the owner, run there in a new thread
-- (like Citizen.CreateThreadNow), results copied back. A callee that waits (a Lua export that
-- yields, a JS export whose promise is pending) makes the caller wait too: FXServer's callee
-- answers `{ __cfx_async_retval }` and the caller's funcref `__call` awaits it with
-- Citizen.Await (scheduler.lua), whose yield is plain Lua's. So a caller outside a scheduler
-- thread gets Lua's own error ("attempt to yield from outside a coroutine", or "attempt to
-- yield across a C-call boundary" in a sort comparator, a gsub callback, ...), as there on Lua
-- 5.4, and never the marker; the caller resumes the moment the callee ends.
function Server:_callRef(info, ...)
  local owner, holder = info.owner, info.holder
  if owner and not owner.alive then
    error(('cannot call a function reference of stopped resource %s'):format(owner.name), 2)
  end
  local args = Copy.args(self:_hook(holder, owner), ...)
  if not owner then
    local res =
      Copy.results(self:_hook(nil, holder), table.pack(info.fn(table.unpack(args, 1, args.n))))
    return table.unpack(res, 1, res.n)
  end
  local th = self:_thread(
    owner,
    function() return info.fn(table.unpack(args, 1, args.n)) end,
    holder and holder.name
  )
  self:_resume(th)
  if th.status == 'suspended' then
    local me = self._current
    if me and me.co == coroutine.running() and coroutine.isyieldable() then
      th.waiter = me
    elseif coroutine.isyieldable() then
      error('cannot await an export inside a coroutine of your own (not a scheduler thread)', 2)
    end
    coroutine.yield(AWAIT) -- raises outside a thread, as Citizen.Await's yield does
  end
  if th.status == 'error' then error(th.err, 0) end
  local res = Copy.results(self:_hook(owner, holder), th.results)
  return table.unpack(res, 1, res.n)
end

-- Scheduler -----------------------------------------------------------------------------------

function Server:_thread(inst, fn, invoker)
  self._seq = self._seq + 1
  return {
    co = coroutine.create(fn),
    inst = inst,
    invoker = invoker,
    seq = self._seq,
    status = 'new',
  }
end

-- Resumes a thread once (with `...` as the values its yield returns), with its resource on the
-- call stack (for GetInvokingResource). A thread that ends wakes the thread awaiting it.
function Server:_resume(th, ...)
  self._frames[#self._frames + 1] = { inst = th.inst, invoker = th.invoker }
  th.invoker = nil -- only the first run of a thread is "invoked" by someone
  local prev = self._current
  self._current = th
  local res = table.pack(coroutine.resume(th.co, ...))
  self._current = prev
  self._frames[#self._frames] = nil
  th.awaiting = nil
  if not res[1] then
    th.status, th.err = 'error', res[2]
    if not th.quiet then self:_scriptError(th.inst, res[2], debug.traceback(th.co)) end
  elseif coroutine.status(th.co) == 'dead' then
    th.status, th.results = 'dead', table.pack(table.unpack(res, 2, res.n))
  elseif res[2] == AWAIT then
    th.status, th.awaiting = 'suspended', true -- off the clock until Server:_wake
  else
    local ms = res[2] == WAIT and toint(math.ceil(math.max(0, tonumber(res[3]) or 0))) or 0
    th.status, th.wake = 'suspended', self._now + ms
    self._threads[th] = true
  end
  if th.status ~= 'suspended' and th.waiter then
    local waiter = th.waiter
    th.waiter = nil
    self:_wake(waiter)
  end
end

-- Resumes a thread that awaits an event (another thread's end, a JS promise), at once: as
-- FXServer's Citizen.Await resumes from the promise's callback.
function Server:_wake(th, ...)
  if th.awaiting and th.inst.alive then self:_resume(th, ...) end
end

function Server:_schedule(inst, fn, delay)
  local th = self:_thread(inst, fn, nil)
  th.status, th.wake =
    'suspended', self._now + math.max(0, toint(math.ceil(tonumber(delay) or 0)) or 0)
  self._threads[th] = true
  return th.seq
end

function Server:_nextWake()
  local best
  for th in pairs(self._threads) do
    if th.inst.alive and (not best or th.wake < best) then best = th.wake end
  end
  for _, inst in ipairs(self._order) do
    local js = inst.alive and inst.js
    if js then
      local at = #js.queue > 0 and self._now or js.due
      if at and (not best or at < best) then best = at end
    end
  end
  return best
end

---Runs one scheduler pass: first each JS runtime's tick (its timers due by the clock, and the
---threads awaiting what settled since resume), then every thread whose wake time has come,
---oldest first. Threads made during the pass wait for the next one, as on FXServer.
function Server:tick()
  self:_tickJs()
  local due = {}
  for th in pairs(self._threads) do
    if not th.inst.alive then
      self._threads[th] = nil
    elseif th.wake <= self._now then
      due[#due + 1] = th
    end
  end
  table.sort(due, function(a, b)
    if a.wake ~= b.wake then return a.wake < b.wake end
    return a.seq < b.seq
  end)
  for _, th in ipairs(due) do
    if th.inst.alive and self._threads[th] then
      self._threads[th] = nil
      self:_resume(th)
    end
  end
end

-- Advances the clock to the next wake-up (at least 1 ms when a thread is due now) and ticks.
-- While a JS runtime has a promise in flight (real I/O, Node's own timers), the clock may not
-- run ahead of real time: each millisecond it advances is first given to the JS runtimes as
-- real time (less when something settles sooner: the clock then stops there), and with nothing
-- due by the clock before `limit` the step waits for them in real time. `realLeft` caps that
-- real time (srv:export's guard). Returns false when there is nothing to run before `limit`.
function Server:_step(limit, realLeft)
  local nw = self:_nextWake()
  local busy = self:_jsBusy()
  if not nw or nw > limit then
    if not busy or self._now >= limit then return false end
    nw = limit
  end
  if busy and nw > self._now then
    local waited, settled = self:_jsWait(math.min(nw - self._now, realLeft or math.huge))
    local at = math.min(nw, self._now + waited)
    if settled or at < nw then
      self._now = at
      self:tick()
      return true
    end
  end
  if nw > self._now then self._now = nw end
  self:tick()
  if self._now < limit and (self:_nextWake() or math.huge) <= self._now then
    if self:_jsBusy() then self:_jsWait(1) end
    self._now = self._now + 1
  end
  return true
end

---Advances the emulated clock (GetGameTimer) by `ms`, running every thread and timeout due.
---@param ms integer
function Server:runFor(ms)
  local target = self._now + toint(math.ceil(ms))
  while self._now < target and self:_step(target) do
  end
  self._now = target
  self:tick()
end

-- Events --------------------------------------------------------------------------------------

-- Dispatches an event to every running resource, as Citizen.SetEventRoutine does in each one.
function Server:_trigger(name, from, eventSource, invoker, ...)
  local raw = table.pack(...)
  local order = table.move(self._order, 1, #self._order, 1, {})
  for _, inst in ipairs(order) do
    local entry = inst.alive and inst.events[name]
    if entry and next(entry.handlers) then
      local env = inst.env
      local last = rawget(env, 'source')
      rawset(env, 'source', eventSource)
      local deliver = true
      if eventSource:sub(1, 3) == 'net' then
        if not entry.safeForNet then
          self:_log(inst.name, ('event %s was not safe for net'):format(name))
          deliver = false
        end
        rawset(env, 'source', tonumber(eventSource:sub(5)))
      elseif eventSource:sub(1, 12) == 'internal-net' then
        rawset(env, 'source', tonumber(eventSource:sub(14)))
      end
      if deliver then
        local data = Copy.args(self:_hook(from, inst), table.unpack(raw, 1, raw.n))
        local keys = {}
        for k in pairs(entry.handlers) do
          keys[#keys + 1] = k
        end
        table.sort(keys)
        for _, k in ipairs(keys) do
          local h = entry.handlers[k]
          if h then
            self:_resume(
              self:_thread(inst, function() h(table.unpack(data, 1, data.n)) end, invoker)
            )
          end
        end
      end
      rawset(env, 'source', last)
    end
  end
end

---A client→server net event from player `src`; only RegisterNetEvent'd events receive it.
---@param src integer
---@param eventName string
function Server:triggerNetEvent(src, eventName, ...)
  if not self._players[src] then error(('player %s is not connected'):format(tostring(src)), 2) end
  self:_trigger(eventName, nil, 'net:' .. src, nil, ...)
  self:tick()
end

---A server event, as TriggerEvent from outside any resource (`source` is "" in handlers).
---@param eventName string
function Server:triggerEvent(eventName, ...)
  self:_trigger(eventName, nil, '', nil, ...)
  self:tick()
end

---Client events that player `src` received through TriggerClientEvent.
---@param src integer
---@return { name: string, args: table, n: integer }[]
function Server:clientEvents(src) return self._clientEvents[src] or {} end
function Server:clearClientEvents()
  for src in pairs(self._clientEvents) do
    self._clientEvents[src] = {}
  end
end

-- Players, convars, ACEs ----------------------------------------------------------------------

---Connects a fake player and fires `playerJoining`; returns its source (never reused).
---@param p? { name?: string, identifiers?: string[], aces?: string[] }
---@return integer src
function Server:addPlayer(p)
  p = p or {}
  local src = self._nextSrc
  self._nextSrc = src + 1
  local ids = p.identifiers and table.move(p.identifiers, 1, #p.identifiers, 1, {})
    or {
      ('license:%08x%032x'):format((src * 2654435761) & 0xffffffff, src),
      ('fivem:%d'):format(1000 + src),
    }
  local aces = {}
  for _, a in ipairs(p.aces or {}) do
    aces[a] = true
  end
  self._players[src] = { name = p.name or ('Player' .. src), identifiers = ids, aces = aces }
  self._clientEvents[src] = {}
  self:_trigger('playerJoining', nil, 'internal-net:' .. src, nil, tostring(65535 + src))
  self:tick()
  return src
end

---Fires `playerDropped` (arg: reason) with `source` = src, then removes the player.
---@param src integer
---@param reason? string
function Server:dropPlayer(src, reason)
  if not self._players[src] then return false end
  self:_trigger('playerDropped', nil, 'internal-net:' .. src, nil, reason or 'Exiting')
  self._players[src] = nil
  self:tick()
  return true
end

---Connected players, by source: { source, name, identifiers }.
---@return { source: integer, name: string, identifiers: string[] }[]
function Server:players()
  local list = {}
  for src, p in pairs(self._players) do
    list[#list + 1] = {
      source = src,
      name = p.name,
      identifiers = table.move(p.identifiers, 1, #p.identifiers, 1, {}),
    }
  end
  table.sort(list, function(a, b) return a.source < b.source end)
  return list
end

function Server:_player(src) return self._players[toint(src) or -1] end

---@param name string
---@param value string
function Server:setConvar(name, value) self._convars[name] = tostring(value) end

---@param src integer
---@param ace string  e.g. "command.darkchat"
---@param allowed boolean
function Server:setAce(src, ace, allowed)
  local p = assert(self._players[src], 'no such player')
  p.aces[ace] = allowed and true or false
end

-- The most specific entry wins: "command.x" is checked, then "command".
function Server:_aceAllowed(src, ace)
  if toint(src) == 0 then return true end
  local p = self:_player(src)
  if not p then return false end
  local name = tostring(ace)
  while true do
    if p.aces[name] ~= nil then return p.aces[name] end
    name = name:match('^(.*)%.[^.]*$')
    if not name then return false end
  end
end

-- Resource environment ------------------------------------------------------------------------

local function exportEventName(res, name)
  if res == 'txAdmin' then res = 'monitor' end
  return ('__cfx_export_%s_%s'):format(res, name)
end

local function prefixNewlines(str, prefix)
  str = tostring(str)
  if #str == 0 then return str end
  return prefix .. str:gsub('\n(.)', '\n' .. prefix .. '%1')
end

local function exportResult(resource, name, ok, ...)
  if not ok then
    local result = tostring((...))
    if #result > 2048 then
      result = result:sub(1, 1024)
        .. '\n... [large output partially truncated] ...\n'
        .. result:sub(-1024)
    end
    error(
      ('\n^5 An error occurred while calling export `%s` in resource `%s`:\n%s\n^5 ---'):format(
        name,
        resource,
        prefixNewlines(result, '  ')
      ),
      2
    )
  end
  return ...
end

-- A per-resource `package`/`require`, like a Lua state of its own with the package library.
local function makePackage(env)
  local pkg = {
    path = package.path,
    cpath = package.cpath,
    config = package.config,
    preload = {},
    loaded = {},
    searchpath = package.searchpath,
    loadlib = package.loadlib,
  }
  for _, lib in ipairs(LIBS) do
    pkg.loaded[lib] = env[lib]
  end
  pkg.loaded._G, pkg.loaded.package = env, pkg
  local function require(modname)
    modname = tostring(modname)
    if pkg.loaded[modname] ~= nil then return pkg.loaded[modname] end
    local loader, extra
    local msg = { ("\n\tno field package.preload['%s']"):format(modname) }
    if pkg.preload[modname] then
      loader, extra = pkg.preload[modname], ':preload:'
    else
      local file, err = package.searchpath(modname, pkg.path)
      if file then
        local chunk, lerr = loadfile(file, 'bt', env)
        if not chunk then
          error(("error loading module '%s' from file '%s':\n\t%s"):format(modname, file, lerr), 2)
        end
        loader, extra = chunk, file
      else
        msg[#msg + 1] = err
        local cfile, cerr = package.searchpath(modname, pkg.cpath)
        if not cfile then
          error(("module '%s' not found:%s%s"):format(modname, table.concat(msg), cerr), 2)
        end
        local sym = 'luaopen_' .. modname:gsub('%-.*$', ''):gsub('%.', '_')
        local f, lerr = package.loadlib(cfile, sym)
        if not f then
          error(("error loading module '%s' from file '%s':\n\t%s"):format(modname, cfile, lerr), 2)
        end
        loader, extra = f, cfile
      end
    end
    local r = loader(modname, extra)
    if r ~= nil then
      pkg.loaded[modname] = r
    elseif pkg.loaded[modname] == nil then
      pkg.loaded[modname] = true
    end
    return pkg.loaded[modname], extra
  end
  return pkg, require
end

-- Builds the global table of one resource instance: standard libraries (copied, so that one
-- resource's changes stay its own) plus exactly the FXServer globals of the documented surface.
function Server:_makeEnv(inst)
  local srv, env = self, {}
  for _, k in ipairs(BASE) do
    env[k] = _G[k]
  end
  for _, lib in ipairs(LIBS) do
    env[lib] = shallow(_G[lib])
  end
  env.os.exit = function() error('os.exit is not available to a resource', 2) end
  env._G = env
  env.load = function(...)
    local chunk, name, mode, e = ...
    if select('#', ...) < 4 then e = env end
    return load(chunk, name, mode, e)
  end
  env.loadfile = function(file, mode, ...)
    if select('#', ...) > 0 then return loadfile(file, mode, (...)) end
    return loadfile(file, mode, env)
  end
  env.dofile = function(file) return assert(loadfile(file, 'bt', env))() end
  if not self.stockLua then
    env.package, env.require = makePackage(env)
  end

  env.print = function(...)
    local parts = table.pack(...)
    for i = 1, parts.n do
      parts[i] = tostring(parts[i])
    end
    srv:_log(inst.name, table.concat(parts, '\t', 1, parts.n))
  end

  -- events
  function env.AddEventHandler(eventName, handler)
    local entry = inst.events[eventName]
    if not entry then
      entry = { handlers = {} }
      inst.events[eventName] = entry
    end
    inst.eventKey = inst.eventKey + 1
    entry.handlers[inst.eventKey] = handler
    return { key = inst.eventKey, name = eventName }
  end
  function env.RemoveEventHandler(data)
    if type(data) ~= 'table' or not data.key or not data.name then
      error('Invalid event data passed to RemoveEventHandler()', 2)
    end
    inst.events[data.name].handlers[data.key] = nil
  end
  function env.RegisterNetEvent(eventName, handler)
    local entry = inst.events[eventName]
    if not entry then
      entry = { handlers = {} }
      inst.events[eventName] = entry
    end
    entry.safeForNet = true
    if handler then return env.AddEventHandler(eventName, handler) end
  end
  function env.TriggerEvent(eventName, ...) srv:_trigger(eventName, inst, '', inst.name, ...) end
  function env.TriggerClientEvent(eventName, target, ...)
    local t = toint(target)
    local srcs = {}
    for src in pairs(srv._players) do
      if t == -1 or src == t then srcs[#srcs + 1] = src end
    end
    table.sort(srcs)
    for _, src in ipairs(srcs) do
      local data = Copy.args(srv:_hook(inst, nil), ...)
      local list = srv._clientEvents[src]
      list[#list + 1] = { name = eventName, args = data, n = data.n }
    end
  end

  -- exports, built on events exactly as citizen/scripting/lua/scheduler.lua builds them
  local cache, lazyDone = {}, false
  env.exports = setmetatable({}, {
    __index = function(_, resource)
      return setmetatable({}, {
        __index = function(_, k)
          if not lazyDone then
            lazyDone = true
            env.AddEventHandler('onServerResourceStop', function(res) cache[res] = {} end)
          end
          cache[resource] = cache[resource] or {}
          if not cache[resource][k] then
            env.TriggerEvent(
              exportEventName(resource, k),
              function(exportData) cache[resource][k] = exportData end
            )
            if not cache[resource][k] then
              error('No such export ' .. tostring(k) .. ' in resource ' .. tostring(resource), 2)
            end
          end
          return function(_, ...) return exportResult(resource, k, pcall(cache[resource][k], ...)) end
        end,
        __newindex = function() error('cannot set values on an export resource', 2) end,
      })
    end,
    __newindex = function() error('cannot set values on exports', 2) end,
    __call = function(_, exportName, func)
      env.AddEventHandler(exportEventName(inst.name, exportName), function(setCB) setCB(func) end)
    end,
  })
  for _, name in ipairs(inst.r.manifest and inst.r.manifest.server_export or {}) do
    env.AddEventHandler(exportEventName(inst.name, name), function(setCB)
      if env[name] then setCB(env[name]) end
    end)
  end

  -- commands
  function env.RegisterCommand(name, handler, restricted)
    srv._commands[tostring(name):lower()] = {
      name = tostring(name),
      handler = handler,
      restricted = restricted and true or false,
      inst = inst,
    }
  end

  -- resources, convars, players
  function env.GetCurrentResourceName() return inst.name end
  function env.GetResourcePath(name)
    local r = srv._resources[name]
    return r and r.dir
  end
  function env.GetResourceState(name)
    local r = srv._resources[name]
    return r and r.state or 'missing'
  end
  function env.GetInvokingResource()
    local f = srv._frames[#srv._frames]
    return f and f.invoker
  end
  function env.GetConvar(name, default)
    local v = srv._convars[name]
    if v ~= nil then return v end
    return default == nil and '' or tostring(default)
  end
  function env.GetConvarInt(name, default)
    local v = srv._convars[name]
    local n = v and (toint(v) or toint(v:match('^%s*([-+]?%d+)')))
    if n then return n end
    return toint(math.floor(tonumber(default) or 0))
  end
  function env.GetPlayers()
    local list = {}
    for src in pairs(srv._players) do
      list[#list + 1] = src
    end
    table.sort(list)
    for i, src in ipairs(list) do
      list[i] = tostring(src)
    end
    return list
  end
  function env.GetPlayerName(src)
    local p = srv:_player(src)
    return p and p.name
  end
  function env.GetPlayerIdentifiers(src)
    local p = srv:_player(src)
    return p and table.move(p.identifiers, 1, #p.identifiers, 1, {}) or {}
  end
  function env.GetPlayerIdentifierByType(src, idType)
    local p = srv:_player(src)
    for _, id in ipairs(p and p.identifiers or {}) do
      if id:sub(1, #idType + 1) == idType .. ':' then return id end
    end
    return nil
  end
  function env.IsPlayerAceAllowed(src, ace) return srv:_aceAllowed(src, ace) end

  -- scheduler
  local function Wait(ms)
    local _, main = coroutine.running()
    if main or not srv._current then error('attempt to yield from outside a coroutine', 2) end
    coroutine.yield(WAIT, ms)
  end
  local function CreateThread(fn) srv:_schedule(inst, fn, 0) end
  local function SetTimeout(ms, fn) return srv:_schedule(inst, fn, ms) end
  env.Wait, env.CreateThread, env.SetTimeout = Wait, CreateThread, SetTimeout
  env.Citizen = { Wait = Wait, CreateThread = CreateThread, SetTimeout = SetTimeout }
  function env.GetGameTimer() return srv._now end
  env.json = { encode = Json.encode, decode = Json.decode }
  -- FXServer's Lua `msgpack` global (C there), over the emulator's codec.
  env.msgpack = { pack = Msgpack.encode, unpack = Msgpack.decode }
  function env.PerformHttpRequest(url, cb, method, data, headers, options)
    srv:_httpRequest(inst, url, cb, method, data, headers, options)
  end
  return env
end

-- HTTP ----------------------------------------------------------------------------------------

---Emulated network latency of PerformHttpRequest: the callback runs this many ms of emulated
---time after the call (at least one scheduler pass later, as on FXServer).
Server.httpLatencyMs = 20

local function shellQuote(s) return "'" .. tostring(s):gsub("'", "'\\''") .. "'" end

-- PerformHttpRequest as FXServer's scheduler.lua defines it: the request goes out and the call
-- returns; the callback gets `(status, body, headers, errorData)` later in a scheduler pass: on
-- a status of 400 or more `body` is nil and `errorData` is "HTTP <status>: <body>"; when no
-- answer came, status 0. Here the request is made with curl, for real (so a test can post to a
-- receiver of its own), while the emulated clock stands still: the resource sees it in flight
-- for `httpLatencyMs` of emulated time, however long curl took. `srv.httpLog` lists the
-- requests made: { at = the emulated time, url, method, status }.
function Server:_httpRequest(inst, url, cb, method, data, headers, options)
  self.httpLog = self.httpLog or {}
  local entry = { at = self._now, url = url, method = method or 'GET' }
  self.httpLog[#self.httpLog + 1] = entry
  local dir = os.tmpname()
  os.remove(dir)
  assert(os.execute(('mkdir -p %s'):format(shellQuote(dir))))
  local f = assert(io.open(dir .. '/body', 'wb'))
  f:write(type(data) == 'string' and data or '')
  f:close()
  local args = {
    'curl',
    '-sS',
    '--max-time',
    '10',
    '-X',
    shellQuote(method or 'GET'),
    '--data-binary',
    shellQuote('@' .. dir .. '/body'),
    '-D',
    shellQuote(dir .. '/headers'),
    '-o',
    shellQuote(dir .. '/response'),
    '-w',
    "'%{http_code}'",
  }
  for name, value in pairs(type(headers) == 'table' and headers or {}) do
    args[#args + 1] = '-H'
    args[#args + 1] = shellQuote(('%s: %s'):format(name, value))
  end
  if not (type(options) == 'table' and options.followLocation == false) then
    args[#args + 1] = '-L'
  end
  args[#args + 1] = shellQuote(url)
  local pipe = io.popen(table.concat(args, ' ') .. ' 2>' .. shellQuote(dir .. '/error'))
  local status = tonumber(pipe:read('a')) or 0
  pipe:close()
  entry.status = status
  local function slurp(name)
    local file = io.open(dir .. '/' .. name, 'rb')
    if not file then return '' end
    local text = file:read('a')
    file:close()
    return text
  end
  local response, failure = slurp('response'), slurp('error')
  local responseHeaders = {}
  for line in slurp('headers'):gmatch('[^\r\n]+') do
    local name, value = line:match('^([^:%s]+):%s*(.*)$')
    if name then responseHeaders[name] = value end
  end
  os.execute(('rm -rf %s'):format(shellQuote(dir)))
  local body, errorData = response, nil
  if status == 0 then
    body, errorData, responseHeaders =
      nil, failure ~= '' and failure or 'Failure handling HTTP request', {}
  elseif status >= 400 then
    body, errorData = nil, ('HTTP %d: %s'):format(status, response)
  end
  self:_schedule(
    inst,
    function() cb(status, body, responseHeaders, errorData) end,
    self.httpLatencyMs
  )
end

-- Resources -----------------------------------------------------------------------------------

---Registers a resource folder (containing fxmanifest.lua). `dir` defaults to the fake
---framework folder of the same name.
---@param name string
---@param dir? string
function Server:addResourceDir(name, dir)
  dir = dir or FX.fakeResourceDir(name)
  if dir:sub(1, 1) ~= '/' then dir = (os.getenv('PWD') or '.') .. '/' .. dir end
  local r = self._resources[name]
  if r then
    r.dir = dir
  else
    self._resources[name] = { name = name, dir = dir, state = 'stopped', skipped = {} }
  end
end

local PLURAL = {
  server_scripts = 'server_script',
  shared_scripts = 'shared_script',
  client_scripts = 'client_script',
  dependencies = 'dependency',
  files = 'file',
  games = 'game',
  server_exports = 'server_export',
  exports = 'export',
}

-- Reads fxmanifest.lua: every directive `name 'value'` or `name { ... }` is metadata; plural
-- directives add to their singular key (as FXServer's manifest loader does).
local function readManifest(r)
  local path = r.dir .. '/fxmanifest.lua'
  local f = io.open(path, 'rb')
  if not f then error(('no fxmanifest.lua in %s'):format(r.dir), 0) end
  local text = f:read('a')
  f:close()
  local meta = {}
  local menv = setmetatable({}, {
    __index = function(_, key)
      local k = PLURAL[key] or key
      return function(value)
        local list = meta[k] or {}
        meta[k] = list
        if type(value) == 'table' then
          for _, v in ipairs(value) do
            list[#list + 1] = v
          end
        else
          list[#list + 1] = value
        end
        return function() end -- extra data (`dependency 'x' { ... }`) is accepted and ignored
      end
    end,
  })
  local chunk, err = load(text, '@@' .. r.name .. '/fxmanifest.lua', 't', menv)
  if not chunk then error(err, 0) end
  chunk()
  return meta
end

local function globPattern(g)
  local p = g:gsub('[%^%$%(%)%%%.%[%]%+%-%?]', '%%%0')
  p = p:gsub('%*%*/', '\1'):gsub('%*%*', '\2'):gsub('%*', '[^/]*'):gsub('\1', '.-'):gsub('\2', '.*')
  return '^' .. p .. '$'
end

-- Resolves script entries: `@res/path` (another resource's file) and globs (`*`, `**`).
function Server:_expand(r, list)
  local out = {}
  for _, entry in ipairs(list or {}) do
    local dir, resName, rel = r.dir, r.name, entry
    if entry:sub(1, 1) == '@' then
      resName, rel = entry:match('^@([^/]+)/(.+)$')
      local other = resName and self._resources[resName]
      if not other then
        error(('cannot find %s: resource %s is not known'):format(entry, tostring(resName)), 0)
      end
      dir = other.dir
    end
    if rel:find('*', 1, true) then
      local found, pat = {}, globPattern(rel)
      local p = io.popen(('cd %q && find . -type f'):format(dir))
      for file in p:lines() do
        file = file:gsub('^%./', '')
        if file:match(pat) then found[#found + 1] = file end
      end
      p:close()
      table.sort(found)
      for _, file in ipairs(found) do
        out[#out + 1] = { label = resName .. '/' .. file, path = dir .. '/' .. file }
      end
    else
      out[#out + 1] = { label = resName .. '/' .. rel, path = dir .. '/' .. rel }
    end
  end
  return out
end

-- Runs a script's main chunk in a thread of its own, as FXServer has done since 2023
-- (citizen-scripting-lua LoadHostFileInternal wraps every chunk in CreateThreadNow): a chunk may
-- Wait or await an export, and the next script loads while it waits. One difference kept on
-- purpose: an error before the chunk first yields fails the start (FXServer prints it and goes on).
function Server:_runScript(inst, script)
  local f = io.open(script.path, 'rb')
  if not f then
    self:_log(inst.name, ('Could not open script file %s.'):format(script.label))
    return false, 'cannot open ' .. script.path
  end
  local text = f:read('a')
  f:close()
  local chunk, err = load(text, '@@' .. script.label, 't', inst.env)
  if not chunk then
    self:_log(
      inst.name,
      ('Error parsing script @%s in resource %s: %s'):format(script.label, inst.name, err)
    )
    return false, err
  end
  local th = self:_thread(inst, chunk, nil)
  self:_resume(th)
  if th.status == 'error' then return false, tostring(th.err) end
  return true
end

-- Runs a `.js` server script in the resource's JS runtime (started on first use); its exports
-- become the resource's exports, reached through MessagePack bytes. An export that returns a
-- Promise makes its caller wait for the settlement (see Server:_callRef): the resolved value, or
-- the rejection's message raised as the export's error (FXServer's main.js setCallRefFunction).
function Server:_runJs(inst, script)
  inst.js = inst.js or JsHost.start(inst.name, inst.r.dir)
  local js = inst.js
  local reply = self:_jsReply(inst, js:load(script.path, self._now))
  if not reply.ok then
    self:_log(inst.name, 'SCRIPT ERROR: ' .. tostring(reply.error))
    return false, reply.error
  end
  for _, exportName in ipairs(reply.exports or {}) do
    if not inst.jsExports then inst.jsExports = {} end
    if not inst.jsExports[exportName] then
      inst.jsExports[exportName] = true
      inst.env.AddEventHandler(exportEventName(inst.name, exportName), function(setCB)
        setCB(function(...)
          local id = js:newCallId()
          local answer = self:_jsReply(
            inst,
            js:call(id, exportName, table.pack(...), self._now, inst.env.GetInvokingResource())
          )
          if not answer.ok then error(answer.error, 0) end
          if not answer.async then return answer.value end
          js.waiting[id] = self._current
          local ok, value = coroutine.yield(AWAIT)
          if not ok then error(value, 0) end
          return value
        end)
      end)
    end
  end
  return true
end

-- JS runtimes ---------------------------------------------------------------------------------

-- Takes in what a JS runtime's reply tells besides its answer: printed lines, the settlements
-- to deliver at the next pass, the promises still in flight, the game time of its next timer.
function Server:_jsReply(inst, reply)
  local js = inst.js
  for _, line in ipairs(reply.lines) do
    self:_log(inst.name, line)
  end
  if js then
    js.due, js.pending = reply.due, reply.pending
    for _, s in ipairs(reply.settled) do
      js.queue[#js.queue + 1] = s
    end
  end
  return reply
end

-- A JS runtime's turn in a scheduler pass: its timers due by the clock run (FXServer ticks each
-- resource's runtime every server frame; a tick with no timer due only moves its game time on,
-- which each request does too), then the threads awaiting what settled resume.
function Server:_tickJs()
  for _, inst in ipairs(table.move(self._order, 1, #self._order, 1, {})) do
    local js = inst.alive and inst.js
    if js then
      if (js.due and js.due <= self._now) or js.pending > 0 then
        self:_jsReply(inst, js:ask({ op = 'tick', now = self._now }))
      end
      while #js.queue > 0 and inst.alive do
        local s = table.remove(js.queue, 1)
        local th = js.waiting[s.id]
        js.waiting[s.id] = nil
        if th then
          if s.ok then
            self:_wake(th, true, s.value)
          else
            self:_wake(th, false, s.error)
          end
        end
      end
    end
  end
end

---Lets the server run (10 ms passes) while a JS runtime works on an export's promise, at most
---10 s of emulated time: what a command or an export started in the background (a MySQL call
---and the pushes after it) is done when a test looks at the output. Without JS work: nothing.
function Server:settle()
  for _ = 1, 1000 do
    if not self:_jsBusy() then return end
    self:runFor(10)
  end
end

---True while a JS runtime has a promise of an export in flight.
function Server:jsBusy() return self:_jsBusy() end

function Server:_jsBusy()
  for _, inst in ipairs(self._order) do
    if inst.alive and inst.js and inst.js.pending > 0 then return true end
  end
  return false
end

-- Gives the busy JS runtimes up to `ms` of real time (in slices when several are busy), until
-- one tells of a settlement. Returns the real time it took (ms) and whether something settled.
function Server:_jsWait(ms)
  local busy = {}
  for _, inst in ipairs(self._order) do
    if inst.alive and inst.js and inst.js.pending > 0 then busy[#busy + 1] = inst end
  end
  local waited, settled = 0, false
  local slice = #busy > 1 and 5 or ms
  while #busy > 0 and waited < ms and not settled do
    for _, inst in ipairs(busy) do
      if inst.js and waited < ms then
        local reply =
          self:_jsReply(inst, inst.js:ask({ op = 'wait', ms = math.min(slice, ms - waited) }))
        waited = waited + math.max(1, reply.waited or 0)
        if #reply.settled > 0 then
          settled = true
          break
        end
      end
    end
  end
  self._realWaited = self._realWaited + waited
  return waited, settled
end

---Gives every JS runtime up to `ms` of real time (its event loop runs on its own anyway) and
---collects what it printed and settled meanwhile: work a script started in the background (a
---database connecting) shows in the output without an export call to carry it.
---@param ms integer
function Server:runJs(ms)
  for _, inst in ipairs(table.move(self._order, 1, #self._order, 1, {})) do
    if inst.alive and inst.js then self:_jsReply(inst, inst.js:ask({ op = 'wait', ms = ms })) end
  end
end

function Server:_kill(r)
  local inst = r.inst
  r.state = 'stopped'
  if not inst then return end
  if inst.js then
    for _, line in ipairs(inst.js:stop()) do
      self:_log(inst.name, line)
    end
    inst.js = nil
  end
  inst.alive = false
  inst.events = {}
  for i = #self._order, 1, -1 do
    if self._order[i] == inst then table.remove(self._order, i) end
  end
  for name, cmd in pairs(self._commands) do
    if cmd.inst == inst then self._commands[name] = nil end
  end
end

function Server:_newInstance(r)
  local inst = { name = r.name, r = r, alive = true, events = {}, eventKey = 10 }
  r.inst, r.state = inst, 'starting'
  inst.env = self:_makeEnv(inst)
  self._order[#self._order + 1] = inst
  return inst
end

---Starts a resource (restarts it when started, like the `ensure` command): manifest, dependencies,
---shared_scripts then server_scripts (`.js` files are recorded in `skipped`), then
---onResourceStart / onServerResourceStart to every resource.
---@param name string
---@return boolean ok, string? err
function Server:ensure(name)
  local r = self._resources[name]
  if not r or not r.dir then
    self:_line(("Couldn't find resource %s."):format(name))
    return false, 'missing'
  end
  if r.state == 'started' then self:stop(name) end
  local ok, meta, scripts = pcall(function()
    local m = readManifest(r)
    local list = self:_expand(r, m.shared_script)
    for _, s in ipairs(self:_expand(r, m.server_script)) do
      list[#list + 1] = s
    end
    return m, list
  end)
  if not ok then
    self:_line(("Couldn't start resource %s: %s"):format(name, tostring(meta)))
    return false, tostring(meta)
  end
  r.manifest, r.skipped = meta, {}
  for _, dep in ipairs(meta.dependency or {}) do
    if dep:sub(1, 1) ~= '/' then
      local d = self._resources[dep]
      if not d or (d.state ~= 'started' and not self:ensure(dep)) then
        local msg = ('Could not find dependency %s for resource %s.'):format(dep, name)
        self:_line(msg)
        return false, msg
      end
    end
  end
  local inst = self:_newInstance(r)
  for _, script in ipairs(scripts) do
    if script.path:match('%.lua$') then
      local sok, err = self:_runScript(inst, script)
      if not sok then
        self:_log(name, ('Failed to load script %s.'):format(script.label))
        self:_kill(r)
        return false, err
      end
    elseif self.jsHost and script.path:match('%.js$') then
      local jok, err = self:_runJs(inst, script)
      if not jok then
        self:_log(name, ('Failed to load script %s.'):format(script.label))
        self:_kill(r)
        return false, err
      end
    else
      r.skipped[#r.skipped + 1] = script.label
    end
  end
  r.state = 'started'
  self:_trigger('onResourceStart', nil, '', nil, name)
  self:_trigger('onServerResourceStart', nil, '', nil, name)
  self:_line(('Started resource %s'):format(name))
  self:tick()
  return true
end

local function dependsOn(r, name)
  for _, dep in ipairs(r.manifest and r.manifest.dependency or {}) do
    if dep == name then return true end
  end
  return false
end

---Stops a resource (and, first, the started resources that depend on it): onResourceStop /
---onServerResourceStop to every resource, then its handlers, commands, exports and threads go.
---@param name string
---@return boolean
function Server:stop(name)
  local r = self._resources[name]
  if not r or r.state ~= 'started' then return false end
  for i = #self._order, 1, -1 do
    local o = self._order[i] and self._order[i].r
    if o and o ~= r and o.state == 'started' and dependsOn(o, name) then self:stop(o.name) end
  end
  r.state = 'stopping'
  self:_trigger('onResourceStop', nil, '', nil, name)
  self:_trigger('onServerResourceStop', nil, '', nil, name)
  if r.dir then self:_line(('Stopping resource %s'):format(name)) end
  self:_kill(r)
  return true
end

---Stops every started resource, last started first.
function Server:stopAll()
  for i = #self._order, 1, -1 do
    local inst = self._order[i]
    if inst and inst.r.state == 'started' then self:stop(inst.name) end
  end
end

---The global table of a started resource (white-box tests).
---@param name string
---@return table?
function Server:resourceEnv(name)
  local r = self._resources[name]
  return r and r.inst and r.inst.env
end

-- Commands ------------------------------------------------------------------------------------

-- FXServer's console splits on unquoted `;`, then on whitespace; "a b" is one argument.
local function splitCommands(line)
  local out, cur, quoted = {}, {}, false
  for c in line:gmatch('.') do
    if c == '"' then quoted = not quoted end
    if c == ';' and not quoted then
      out[#out + 1] = table.concat(cur)
      cur = {}
    else
      cur[#cur + 1] = c
    end
  end
  out[#out + 1] = table.concat(cur)
  return out
end

local function tokenize(s)
  local args, i = {}, 1
  while true do
    i = s:find('%S', i)
    if not i then break end
    if s:sub(i, i) == '"' then
      local j = s:find('"', i + 1, true)
      args[#args + 1] = s:sub(i + 1, (j or #s + 1) - 1)
      i = (j or #s) + 1
    else
      local j = s:find('%s', i) or #s + 1
      args[#args + 1] = s:sub(i, j - 1)
      i = j
    end
  end
  return args
end

local BUILTIN = { ensure = 'ensure', start = 'ensure', restart = 'ensure', stop = 'stop' }

function Server:_command(src, line)
  local ran = false
  for _, raw in ipairs(splitCommands(line)) do
    raw = raw:match('^%s*(.-)%s*$')
    local args = tokenize(raw)
    local name = table.remove(args, 1)
    if name then
      local cmd = self._commands[name:lower()]
      if cmd and cmd.inst.alive then
        if src ~= 0 and cmd.restricted and not self:_aceAllowed(src, 'command.' .. cmd.name) then
          self:_line(('Access denied for command %s.'):format(name))
        else
          -- the handler gets (source, args, rawCommand); FXServer calls it through a function
          -- reference, so the global `source` is not set for commands
          self:_resume(self:_thread(cmd.inst, function() cmd.handler(src, args, raw) end, nil))
          ran = true
        end
      elseif src == 0 and BUILTIN[name:lower()] and args[1] then
        ran = self[BUILTIN[name:lower()]](self, args[1]) and true or false
      elseif src == 0 then
        self:_line(('No such command %s.'):format(name))
      end
    end
  end
  self:tick()
  self:settle()
  return ran
end

---Runs a console line (source 0; restricted commands allowed). Unknown → "No such command x.".
---Also understands the server commands ensure/start/restart/stop <resource>.
---@param line string
---@return boolean ran
function Server:console(line) return self:_command(0, line) end

---Runs a command typed by player `src` (a leading "/" is ignored); a restricted command needs
---the ACE `command.<name>`, else "Access denied for command <name>." and it does not run.
---@param src integer
---@param line string
---@return boolean ran
function Server:playerCommand(src, line)
  assert(self._players[src], 'no such player')
  return self:_command(src, (line:gsub('^%s*/', '')))
end

-- Exports from the test ------------------------------------------------------------------------

function Server:_testCaller()
  local r = self._resources['test-caller']
  if not r then
    r = { name = 'test-caller', state = 'stopped', skipped = {} }
    self._resources['test-caller'] = r
  end
  if r.state ~= 'started' then
    self:_newInstance(r)
    r.state = 'started'
  end
  return r.inst
end

---Calls `exports[resName]:exportName(...)` as a resource named "test-caller" would, inside a
---thread of it; drives the scheduler until the call returns (an export may Wait, or return a JS
---promise). Returns every value that crossed back; raises what the call raised, and raises when
---the call has not returned within 300 s of emulated time or `jsTimeout` ms of real time spent
---waiting for a JS promise.
---@param resName string
---@param exportName string
---@return any ...
function Server:export(resName, exportName, ...)
  local args = table.pack(...)
  return self:_runThread(
    ('export %s.%s'):format(resName, exportName),
    function(env) return env.exports[resName][exportName](nil, table.unpack(args, 1, args.n)) end
  )
end

---Runs `fn(env)` in a thread of the test's own resource (`env` is that resource's environment)
---and drives the scheduler until it returns, as Server:export does for an export: for code
---that must wait as a script's thread would (a core call that awaits a JS promise).
---@param fn fun(env: table): any
---@return any ...
function Server:inThread(fn) return self:_runThread('a test thread', fn) end

function Server:_runThread(what, fn)
  local caller = self:_testCaller()
  local th = self:_thread(caller, function() return fn(caller.env) end, nil)
  th.quiet = true
  self:_resume(th)
  local limit, realStart = self._now + 300000, self._realWaited
  while th.status == 'suspended' do
    local realLeft = self.jsTimeout - (self._realWaited - realStart)
    if realLeft <= 0 then
      error(
        ('%s never returned (a JS promise still pending after %d ms of real time)'):format(
          what,
          self.jsTimeout
        ),
        3
      )
    end
    if not self:_step(limit, realLeft) then
      error(
        ('%s never returned (nothing left to run within 300 s of emulated time)'):format(what),
        3
      )
    end
  end
  if th.status == 'error' then
    -- drop the position of the emulator's own frame ("...fxserver.lua:123: No such export ...")
    error(type(th.err) == 'string' and th.err:gsub('^[^\n]-fxserver%.lua:%d+: ', '') or th.err, 3)
  end
  return table.unpack(th.results, 1, th.results.n)
end

return FX
