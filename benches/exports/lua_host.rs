//! The resource running in a Lua 5.4 state, the way FXServer runs it: the scripts listed in
//! `fxmanifest.lua` (shared, then server), in order, under a minimal stub of the server API,
//! with `require("darkchat")` answered by the in-process Rust module (`package.preload`).
//!
//! The stub is inert on purpose: nobody is online, events and client pushes go nowhere, threads
//! never run. What remains on an export call is exactly the resource's own work (argument
//! checks, hooks, the bridge, notifications, the module, the store). FXServer's MessagePack
//! copy of arguments and results between resources is not included: it is the host's cost,
//! paid the same by any resource, and the benchmark calls the export function directly.

use std::path::Path;
use std::time::Instant;

use mlua::{AnyUserData, Function, Lua, Table, Value};

pub struct LuaHost {
    pub lua: Lua,
    /// Export name → function, as registered through `exports(name, fn)`.
    pub exports: Table,
    /// `Darkchat.core`: the module handle the scripts opened.
    pub core: AnyUserData,
    /// A Lua function with the shape of an export that only calls an empty Rust function.
    pub noop: Function,
    /// What the scripts printed while loading.
    pub log: Vec<String>,
}

const RESOURCE_NAME: &str = "17mov_Phone";

/// The FXServer globals the resource uses (those tests/fxserver/fxserver.lua emulates), reduced
/// to what loading and calling exports needs.
const STUB: &str = r#"
local bench = __bench
local function noop() end

-- `exports(name, fn)` registers; `exports[res]:Fn()` calls another resource (none running).
exports = setmetatable({}, {
  __call = function(_, name, fn) bench.exports[name] = fn end,
  __index = function(_, resource)
    return setmetatable({}, { __index = function(_, name)
      return function()
        error(('exports[%q]:%s: no other resource runs in the benchmark'):format(resource, name), 2)
      end
    end })
  end,
})

function GetCurrentResourceName() return bench.resourceName end
function GetResourcePath(name)
  if name == bench.resourceName then return bench.resourcePath end
  return nil
end
-- Only this resource is started: no framework, so the bridge goes standalone.
function GetResourceState(name)
  if name == bench.resourceName then return 'started' end
  return 'missing'
end
function GetInvokingResource() return 'bench' end
function GetConvar(name, default)
  local value = bench.convars[name]
  if value == nil then return default end
  return value
end
function GetConvarInt(name, default)
  return math.tointeger(tonumber(bench.convars[name])) or default
end
function GetGameTimer() return bench.gameTimer() end

AddEventHandler = function(name) return { name = name } end
RegisterNetEvent = function(name) return { name = name } end
RegisterCommand = noop
TriggerEvent = noop
TriggerClientEvent = noop

-- Nobody is online.
function GetPlayers() return {} end
function GetPlayerName() return nil end
function GetPlayerIdentifiers() return {} end
function GetPlayerIdentifierByType() return nil end
function IsPlayerAceAllowed() return false end

-- No scheduler: threads and timers are background work the benchmark does not run.
CreateThread = noop
Wait = noop
SetTimeout = noop
Citizen = { CreateThread = CreateThread, Wait = Wait, SetTimeout = SetTimeout }

json = setmetatable({}, { __index = function(_, name)
  return function() error(('json.%s is not available in the benchmark'):format(name), 2) end
end })

print = function(...)
  local parts = table.pack(...)
  for i = 1, parts.n do parts[i] = tostring(parts[i]) end
  bench.log[#bench.log + 1] = table.concat(parts, ' ', 1, parts.n)
end
"#;

/// Reads `fxmanifest.lua` (every directive is a function call) and runs the server-side
/// scripts it lists, in order.
const LOADER: &str = r#"
local bench = __bench
local root = bench.resourcePath
local lists = {}
local env = setmetatable({}, { __index = function(_, key)
  local function directive(value)
    lists[key] = lists[key] or {}
    if type(value) == 'table' then
      for _, item in ipairs(value) do table.insert(lists[key], item) end
    else
      table.insert(lists[key], value)
    end
    return directive -- `data_file 'KIND' 'path'` style
  end
  return directive
end })
local manifest = assert(loadfile(root .. '/fxmanifest.lua', 't', env))
manifest()

local scripts = {}
for _, key in ipairs({ 'shared_script', 'shared_scripts', 'server_script', 'server_scripts' }) do
  for _, file in ipairs(lists[key] or {}) do scripts[#scripts + 1] = file end
end
for _, file in ipairs(scripts) do
  assert(not file:find('[*?]'), 'manifest globs are not supported by the benchmark: ' .. file)
  -- Only Lua scripts run in a Lua state (FXServer hands `.js` ones to its Node runtime; the
  -- native module loads here, so the wasm host script has nothing to serve).
  if not file:match('^@') and file:match('%.lua$') then
    local chunk = assert(loadfile(root .. '/' .. file))
    chunk()
  end
end
bench.scripts = scripts
"#;

impl LuaHost {
    /// Loads the resource at `resource` with its database at `db`.
    pub fn start(resource: &Path, db: &Path) -> mlua::Result<LuaHost> {
        let lua = Lua::new();
        let module = darkchat::lua::module_table(&lua)?;
        let preload: Table = lua.globals().get::<Table>("package")?.get("preload")?;
        preload.set("darkchat", lua.create_function(move |_, ()| Ok(module.clone()))?)?;

        let bench = lua.create_table()?;
        bench.set("resourceName", RESOURCE_NAME)?;
        bench.set("resourcePath", resource.display().to_string())?;
        let convars = lua.create_table()?;
        convars.set("darkchat:db", db.display().to_string())?;
        convars.set("darkchat:framework", "standalone")?;
        bench.set("convars", convars)?;
        bench.set("exports", lua.create_table()?)?;
        bench.set("log", lua.create_table()?)?;
        let started = Instant::now();
        bench.set(
            "gameTimer",
            lua.create_function(move |_, ()| Ok(started.elapsed().as_millis() as i64))?,
        )?;
        bench.set("noop", lua.create_function(|_, _: mlua::MultiValue| Ok(()))?)?;
        lua.globals().set("__bench", bench.clone())?;

        lua.load(STUB).set_name("=bench stub").exec()?;
        let loaded = lua.load(LOADER).set_name("=bench loader").exec();
        let log: Vec<String> =
            bench.get::<Table>("log")?.sequence_values().collect::<mlua::Result<_>>()?;
        if let Err(e) = loaded {
            return Err(mlua::Error::runtime(format!(
                "loading the resource failed: {e}\n{}",
                log.join("\n")
            )));
        }

        let darkchat: Table = lua.globals().get("Darkchat")?;
        let core = match darkchat.get::<Value>("core")? {
            Value::UserData(ud) => ud,
            _ => {
                return Err(mlua::Error::runtime(format!(
                    "the resource loaded but its core did not start:\n{}",
                    log.join("\n")
                )))
            }
        };
        let noop: Function = lua
            .load("local noop = __bench.noop\nreturn function(a, b, c) return noop(a, b, c) end")
            .set_name("=bench noop")
            .eval()?;
        let exports = bench.get("exports")?;
        Ok(LuaHost { lua, exports, core, noop, log })
    }

    pub fn export(&self, name: &str) -> Option<Function> {
        self.exports.get::<Option<Function>>(name).ok().flatten()
    }

    /// A value from `Config.Limits` (the limits the scripts opened the core with).
    pub fn limit(&self, key: &str) -> Option<i64> {
        let config: Table = self.lua.globals().get("Config").ok()?;
        let limits: Table = config.get("Limits").ok()?;
        limits.get::<Option<i64>>(key).ok().flatten()
    }
}
