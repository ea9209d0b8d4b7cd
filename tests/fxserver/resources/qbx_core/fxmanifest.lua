-- Fake qbx_core (Qbox) for the emulator.
fx_version 'cerulean'
game 'gta5'
lua54 'yes'
name 'qbx_core'
description 'Fake Qbox core (tests only)'
server_script 'server.lua'
