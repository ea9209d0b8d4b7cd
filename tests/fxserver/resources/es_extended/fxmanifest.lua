-- Fake es_extended (ESX Legacy) for the emulator; like the real one it depends on oxmysql.
fx_version 'cerulean'
game 'gta5'
lua54 'yes'
name 'es_extended'
description 'Fake ESX (tests only)'
dependencies { '/native:0x6AE51D4B', 'oxmysql' }
shared_script 'imports.lua'
server_script 'server.lua'
