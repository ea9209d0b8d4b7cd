-- Fake ox_core for the emulator.
fx_version 'cerulean'
game 'gta5'
lua54 'yes'
name 'ox_core'
description 'Fake ox_core (tests only)'
server_script 'server.lua'
