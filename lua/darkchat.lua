-- The one global this resource defines besides the owner's `Config` (lua/config.lua): the
-- table `Darkchat`, created here, the first of the resource's Lua files to load after the
-- configuration (fxmanifest.lua lists them in load order).
--
-- Every other file adds to it. The core's entry points are its own fields (`Darkchat.call`,
-- `Darkchat.log`, `Darkchat.settings`, lua/core.lua); each module is a table under it, named
-- like its file:
--   Darkchat.Wire       lua/wire.lua             values as they cross to the wasm core
--   Darkchat.Bridge     lua/bridge/base.lua      source ↔ phone number, per framework
--   Darkchat.QbFamily   lua/bridge/qb_family.lua what QBCore's and Qbox's adapters share
--   Darkchat.Client     lua/client.lua           what a player's client is shown
--   Darkchat.Notify     lua/notify.lua           pushes and server events
--   Darkchat.Hooks      lua/hooks.lua            other resources' vetoes
--   Darkchat.RateLimit  lua/ratelimit.lua        per-player request limits
--   Darkchat.Actions    lua/actions.lua          every operation, once
--   Darkchat.Network    lua/network.lua          changes from the other servers on MySQL
--   Darkchat.Webhook    lua/webhook.lua          the Discord log
--   Darkchat.Retention  lua/retention.lua        the background sweep of expired messages
--
-- A file starts by naming the modules it uses, the way `local X = require(...)` would where
-- there is a `require` (FXServer's Lua has none for resource files):
--   local Bridge <const> = Darkchat.Bridge
-- A module is there once its file has loaded, so a file names only modules loaded before it.

Darkchat = {}

--- The core's bound on names, numbers and codes, in bytes: a longer one is invalid_argument.
Darkchat.MAX_INPUT_BYTES = 4096
--- The largest string any argument may be: a message at the configured length, 4 bytes a
--- character, and never under MAX_INPUT_BYTES (the core's own bound, src/input.rs). A longer
--- string is refused by its length alone, never scanned, escaped or copied.
Darkchat.MAX_ARG_BYTES =
  math.max(Darkchat.MAX_INPUT_BYTES, (math.tointeger(Config.Limits.maxMessageLength) or 0) * 4)
