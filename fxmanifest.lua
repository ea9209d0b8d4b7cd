-- 17mov_Phone: the Darkchat backend (anonymous group chats joined by a code).
-- The repository root is the resource folder: `ensure 17mov_Phone` in server.cfg.
fx_version 'cerulean'
game 'gta5'
lua54 'yes'
-- js/host.js serves the WebAssembly core where Lua cannot load the native module (stock FXServer).
node_version '22'

name '17mov_Phone'
description 'Darkchat backend for 17mov_Phone: Rust core, SQLite store'
-- The release package (scripts/package.sh) writes Cargo.toml's version here.
version '0.1.0'

server_scripts {
  'js/host.js', -- first: registers the in-resource export lua/core.lua falls back to
  'lua/config.lua',
  'lua/darkchat.lua', -- creates the namespace table Darkchat every file below adds to
  'lua/wire.lua', -- before core.lua, which starts the core as it loads
  'lua/core.lua',
  'lua/bridge/base.lua',
  'lua/bridge/qb_family.lua',
  'lua/bridge/qbox.lua',
  'lua/bridge/qbcore.lua',
  'lua/bridge/esx.lua',
  'lua/bridge/ox.lua',
  'lua/bridge/standalone.lua',
  'lua/bridge/select.lua',
  'lua/client.lua',
  'lua/notify.lua',
  'lua/hooks.lua',
  'lua/ratelimit.lua',
  'lua/actions.lua',
  'lua/network.lua',
  'lua/retention.lua',
  'lua/exports.lua',
  'lua/requests.lua',
  'lua/commands.lua',
  'lua/backups.lua',
  'lua/webhook.lua',
}
