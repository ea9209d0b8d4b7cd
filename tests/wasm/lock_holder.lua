-- Child process of lock_race.test.js: one native-core server (bin/darkchat.so) that opens and
-- closes one database when told. Reads commands from stdin, one a line, and answers each:
--   open  → "got" | "refused <message>" (a line break in it shown as \n)
--   close → "closed"
--   lua5.4 lock_holder.lua <repo> <db>
package.cpath = arg[1] .. '/bin/?.so;' .. package.cpath
local darkchat = require('darkchat')
local db = arg[2]
local core

local function say(line)
  io.write(line, '\n')
  io.flush()
end

say('ready')
for command in io.lines() do
  if command == 'open' then
    local opened, err = darkchat.open({ path = db })
    if opened then
      core = opened
      say('got')
    else
      say('refused ' .. (tostring(err):gsub('\n', '\\n')))
    end
  elseif command == 'close' then
    core:close()
    core = nil
    say('closed')
  end
end
