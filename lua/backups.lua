-- Automatic backups (Config.Backups): every `intervalMinutes`, a consistent copy of the live
-- database into data/backups/darkchat-YYYYMMDD-HHMMSS.db (UTC; a new file, never an existing
-- one), checked by the core before it counts as written, then the automatic backups beyond the
-- newest `keep` are removed (files named otherwise are never touched). One line per backup.
-- SQLite only: on MySQL one line at start says so.

local settings = Config.Backups or {}
local interval = tonumber(settings.intervalMinutes) or 0
local keep = math.tointeger(settings.keep) or 0
local folder = Darkchat.BACKUP_FOLDER
--- Names tried within one second before giving up (a clock that stands still).
local SAME_SECOND = 9

if interval <= 0 or keep <= 0 then return end
if Darkchat.settings.storage ~= 'sqlite' then
  Darkchat.log(
    'automatic backups are for SQLite storage; back the MySQL database up with its own tools'
  )
  return
end

--- Starts one automatic backup; `done(line)` gets the one line that tells how it went.
local function backupOnce(done)
  local stamp = os.date('!%Y%m%d-%H%M%S')
  local function attempt(n)
    local name = ('darkchat-%s%s.db'):format(stamp, n > 1 and ('-' .. n) or '')
    local path = Darkchat.resourceFile(folder .. '/' .. name)
    Darkchat.backup(path, function(ok, code, message)
      if not ok then
        if tostring(message):find('already exists', 1, true) and n < SAME_SECOND then
          return attempt(n + 1)
        end
        return done(('automatic backup failed: %s (%s)'):format(tostring(code), tostring(message)))
      end
      local rotated, removed, why =
        Darkchat.call('rotateBackups', Darkchat.resourceFile(folder), keep)
      if not rotated then
        return done(
          ('automatic backup %s/%s written and checked; rotation failed: %s'):format(
            folder,
            name,
            tostring(why)
          )
        )
      end
      done(
        ('automatic backup %s/%s written and checked; %d older removed (keeping %d)'):format(
          folder,
          name,
          removed,
          keep
        )
      )
    end)
  end
  attempt(1)
end

CreateThread(function()
  while true do
    Wait(math.max(1000, math.floor(interval * 60000)))
    if Darkchat.core then
      local finished = false
      backupOnce(function(line)
        Darkchat.log(line)
        finished = true
      end)
      -- One at a time: the next interval starts counting when this one has ended.
      while not finished do
        Wait(100)
      end
    end
  end
end)
