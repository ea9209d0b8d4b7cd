-- Fake oxmysql for the emulator: the real export names, one table, one query.
fx_version 'cerulean'
game 'common'
name 'oxmysql'
description 'Fake oxmysql (tests only)'
server_script 'server.lua'
