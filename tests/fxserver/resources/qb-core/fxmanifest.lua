-- Fake qb-core for the emulator: the shapes Darkchat's bridge reads, plus test hooks.
fx_version 'cerulean'
game 'gta5'
lua54 'yes'
name 'qb-core'
description 'Fake QBCore (tests only)'
server_script 'server.lua'
