-- A ready-made emulated server for Darkchat's end-to-end tests: a fake framework, the
-- 17mov_Phone resource from this repository, and players with phone numbers.
--
--   local world = World.new{ framework = "qbcore", players = { "5550101", "5550102" } }
--   world:call("Darkchat_CreateConversationBySrc", world.players[1], "Heist")

local T = require("testlib")
local FX = require("fxserver")

local World = {}
World.__index = World

World.RESOURCE = "17mov_Phone"

-- Framework → fake resources to start before ours, in order.
local FRAMEWORK_RESOURCES = {
  qbcore = { "qb-core" },
  qbox = { "qbx_core" },
  esx = { "oxmysql", "es_extended" },
  ox = { "ox_core" },
  standalone = {},
}

--- Which core a World runs by default: "native" (the Lua module), or "wasm" when the
--- environment says DARKCHAT_CORE=wasm (stock-Lua host, the JS host in Node, bin/darkchat.wasm).
World.defaultCore = os.getenv("DARKCHAT_CORE") == "wasm" and "wasm" or "native"

-- The wasm core writes only inside its resource folder: a World on it gets a resource folder
-- of its own (links to the repository's files) with the database inside.
local function wasmResourceDir()
  local dir = T.tmpdir()
  for _, name in ipairs({ "fxmanifest.lua", "lua", "js", "bin" }) do
    assert(os.execute(("ln -s %q %q"):format(T.repoRoot .. "/" .. name, dir .. "/" .. name)))
  end
  return dir
end

---@param opts { framework: string?, players: string[]?, db: string?, convars: table?, stockLua: boolean?, core: "native"|"wasm"|nil, resourceDir: string? }
function World.new(opts)
  opts = opts or {}
  local self = setmetatable({}, World)
  self.framework = opts.framework or "qbcore"
  self.core = opts.core or (opts.stockLua == nil and World.defaultCore) or "native"
  self.dir = T.tmpdir()
  self.resourceDir = opts.resourceDir or T.repoRoot
  if self.core == "wasm" and not opts.resourceDir then
    self.resourceDir = wasmResourceDir()
    self.dir = self.resourceDir .. "/data"
  end
  self.db = opts.db or (self.dir .. "/darkchat.db")
  local convars = { ["darkchat:db"] = self.db }
  for k, v in pairs(opts.convars or {}) do convars[k] = v end
  local wasm = self.core == "wasm"
  self.srv = FX.new({ convars = convars, stockLua = opts.stockLua or wasm, jsHost = wasm })
  for _, name in ipairs(FRAMEWORK_RESOURCES[self.framework]) do
    self.srv:addResourceDir(name, FX.fakeResourceDir(name))
    assert(self.srv:ensure(name), "could not start " .. name)
  end
  self.players = {}
  self.numbers = {}
  for _, number in ipairs(opts.players or { "5550101", "5550102", "5550103" }) do
    self:connect(number)
  end
  self.srv:addResourceDir(World.RESOURCE, self.resourceDir)
  self.started = self.srv:ensure(World.RESOURCE)
  self.srv:runFor(50)
  return self
end

--- A copy of the resource folder (manifest, lua/, and bin/ linked) in a fresh temporary
--- directory, with `lua/config.lua` passed through `edit(text) → text`: a server owner's edited
--- configuration. Give the result to World.new{ resourceDir = ... }.
function World.resourceWithConfig(edit)
  local dir = T.tmpdir() .. "/" .. World.RESOURCE
  assert(os.execute(("mkdir -p %q && cp %q/fxmanifest.lua %q/ && cp -r %q/lua %q/ && ln -s %q/bin %q/bin && ln -s %q/js %q/js")
    :format(dir, T.repoRoot, dir, T.repoRoot, dir, T.repoRoot, dir, T.repoRoot, dir)))
  local path = dir .. "/lua/config.lua"
  local f = assert(io.open(path))
  local text = f:read("a")
  f:close()
  T.write(path, edit(text))
  return dir
end

--- Connects a player and gives them a character with `number` (standalone: no character; the
--- resource assigns the number). Returns the source.
function World:connect(number, name)
  local src = self.srv:addPlayer({
    name = name or ("Player" .. (#self.players + 1)),
    identifiers = { ("license:%040x"):format(#self.players + 1000 + math.random(1, 1e6)) },
  })
  self.players[#self.players + 1] = src
  if number then self:login(src, number) end
  self.numbers[src] = number
  return src
end

--- Loads a character with `number` for `src` through the fake framework.
function World:login(src, number)
  local fw = self.framework
  if fw == "qbcore" then
    self.srv:export("qb-core", "__SetCharacter", src, { phone = number, citizenid = "C" .. src })
  elseif fw == "qbox" then
    self.srv:export("qbx_core", "__SetCharacter", src, { phone = number, citizenid = "C" .. src })
  elseif fw == "esx" then
    self.srv:export("es_extended", "__SetCharacter", src, { identifier = "char1:" .. src .. number, phone = number })
  elseif fw == "ox" then
    self.srv:export("ox_core", "__SetCharacter", src, { phone = number, charId = src })
  end
  self.numbers[src] = number
  self.srv:runFor(50)
end

function World:logout(src)
  local resource = ({ qbcore = "qb-core", qbox = "qbx_core", esx = "es_extended", ox = "ox_core" })[self.framework]
  if resource then self.srv:export(resource, "__Logout", src) end
  self.numbers[src] = nil
  self.srv:runFor(50)
end

--- Calls one of our exports as another resource would; returns every value.
function World:call(exportName, ...)
  return self.srv:export(World.RESOURCE, exportName, ...)
end

World.REQUEST, World.RESPONSE = "17mov_Phone:darkchat:request", "17mov_Phone:darkchat:response"

--- Sends the phone's request `action` as player `src` (a net event, so `source` is `src`),
--- lets 10 ms pass, and returns the arguments of every response `src` received meanwhile.
function World:request(src, id, action, payload)
  self.srv:clearClientEvents()
  self.srv:triggerNetEvent(src, World.REQUEST, id, action, payload)
  self.srv:runFor(10)
  local responses = {}
  for _, e in ipairs(self.srv:clientEvents(src)) do
    if e.name == World.RESPONSE then responses[#responses + 1] = e.args end
  end
  return responses
end

--- Client events `src` received, filtered to Darkchat pushes: array of { kind, payload }.
function World:pushes(src)
  local out = {}
  for _, e in ipairs(self.srv:clientEvents(src)) do
    if e.name == "17mov_Phone:darkchat:push" then out[#out + 1] = { kind = e.args[1], payload = e.args[2] } end
  end
  return out
end

--- A checksum of the database's whole content, read by a second process (sqlite3). The wasm
--- core holds its database exclusively (its WAL index is in its own memory), so there the
--- files are copied first and the copy is read.
function World:checksum()
  if self.core ~= "wasm" then return World.checksumOf(self.db) end
  local copy = T.tmpdir() .. "/copy.db"
  os.execute(("cp %q %q && (cp %q %q 2>/dev/null || true)"):format(self.db, copy, self.db .. "-wal", copy .. "-wal"))
  return World.checksumOf(copy)
end

--- Checksum of a database file's content as `sqlite3 .dump` prints it (WAL included). The
--- `wal_marker` row is left out: the background checkpointer bumps it (see
--- src/store/checkpoint.rs); it is bookkeeping, not content.
function World.checksumOf(path)
  return T.sh(("sqlite3 -readonly %q .dump | grep -v '^INSERT INTO wal_marker' | sha256sum"):format(path))
    :match("^%x+")
end

function World:stop()
  self.srv:stopAll()
end

return World
