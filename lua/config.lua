-- Darkchat settings a server owner may change. Convars (server.cfg) cover what differs per
-- server; everything else is here:
--   set darkchat:db "data/darkchat.db"   -- SQLite file; relative paths are under the resource folder
--   set darkchat:framework "auto"        -- auto | qbcore | qbox | esx | ox | standalone
--   set darkchat:storage "sqlite"        -- sqlite | mysql (the database of mysql_connection_string,
--                                        -- the convar oxmysql reads; runs on the wasm core)
--   set darkchat:serverId "city-1"       -- MySQL: this server's id when several share the database

Config = {}

-- Enforced by the core on every call, whoever makes it.
Config.Limits = {
  maxMembers = 100, -- members in one conversation
  maxConversationsPerNumber = 100, -- conversations one phone number may be in
  maxMessageLength = 1000, -- characters in one message
  pageSize = 50, -- messages in a conversation's latest page
  maxPageSize = 100, -- largest page a client may ask for when scrolling back
  maxList = 200, -- conversations listed at once
  maxBans = 200, -- bans kept per conversation (a kick that would ban beyond it is refused)
  editWindowSeconds = 300, -- how long after sending a member may edit their text message
  -- Hosts an image message's URL may point at (https only, exact host names, no ports).
  imageHosts = { 'i.imgur.com', 'cdn.discordapp.com', 'media.discordapp.net' },
  maxStaffBans = 10000, -- staff bans in force at once (`darkchat ban`; beyond it a ban is refused)
  maxReports = 1000, -- reports kept; a new one beyond it drops the oldest
  -- Disappearing messages for every conversation, whatever its owner chose (0: off). Expired
  -- messages are deleted from the database in the background (Config.Retention).
  maxMessageAgeSeconds = 0, -- e.g. 604800: no message is kept longer than 7 days
  maxMessagesPerConversation = 0, -- e.g. 500: a conversation keeps only its newest 500
}

-- The sweep of expired messages (an owner's retention, the caps above): every
-- `intervalSeconds` the server deletes what expired, one short step of at most `batch`
-- messages at a time with `pauseMs` between steps, so the server never stalls on it; when the
-- database's log is behind (a step says so; SQLite only) the next step waits `behindPauseMs`.
-- A step costs the main thread about 40-60 µs a message on stock FXServer (the wasm core): 50
-- keeps each under 5 ms; a larger batch sweeps a backlog sooner in longer steps.
Config.Retention = {
  intervalSeconds = 60,
  batch = 50,
  pauseMs = 50,
  behindPauseMs = 500,
}

-- Per player (by license: a reconnect does not reset them), counted over a sliding window;
-- beyond it the request gets `rate_limited`. Every request counts in `request`; some also in
-- one or two of the others.
Config.RateLimits = {
  join = { count = 5, seconds = 60 }, -- join-code guesses, and creates with a custom code (both tell whether a code exists)
  message = { count = 10, seconds = 10 }, -- messages sent and conversations created
  owner = { count = 10, seconds = 60 }, -- owner and moderator actions that push to every member: rename, new code, transfer, kick, unban, moderators, retention, delete
  member = { count = 10, seconds = 60 }, -- a member's own settings: alias changes (pushed to every member), mute
  report = { count = 3, seconds = 60 }, -- reports of messages (each is stored and told to staff)
  request = { count = 30, seconds = 5 }, -- any request from the phone UI
}

-- Words members may not write (README "Word filter"), checked by the core: in messages a match
-- is refused (`forbidden`, nothing stored) with mode 'refuse', or stored with the matched
-- characters as `*` with mode 'mask'; conversation names, join codes and aliases holding one
-- are always refused. A word matches whole words, whatever the case or accents, with letters
-- repeated (`baaad`), look-alikes (`b4d`, `$`, `@`, `0 1 3 5 7`) or spaced out (`b.a.d`, `b a d`).
-- Each entry is one word of 2-64 letters; `*` at an end lets it continue into other letters
-- (`bad*` also matches `badly`). At most 2000 words. A bad entry stops Darkchat starting, with
-- one line naming the problem.
Config.Filter = {
  words = {}, -- e.g. { 'badword', 'slur*' }
  mode = 'mask', -- 'mask' | 'refuse'
}

-- An optional Discord webhook (README "Discord log"): one line per create, join, leave, kick,
-- ban (a conversation's and staff's), unban and report, sent in batches (at most 10 lines or
-- 2000 characters per post, one post every `intervalMs`), never blocking the server. When the
-- queue is full new lines are dropped and counted; the next post says how many. Discord's
-- 429 answers are honoured (its retry-after). Message text is sent only with `messages = true`.
Config.Webhook = {
  url = '', -- https://discord.com/api/webhooks/...; empty: no webhook
  messages = false, -- also log every message's text (members' words leave the server)
  username = 'Darkchat',
  intervalMs = 2000, -- at most one post per this many milliseconds
  maxQueue = 200, -- lines waiting at most; beyond it new lines are dropped (and counted)
}

-- MySQL/MariaDB storage (darkchat:storage "mysql").
Config.Mysql = {
  deadlineMs = 5000, -- a call the database has not answered by then gives storage_error
}

-- Several servers on one MySQL/MariaDB database (README "Several servers on one database"):
-- each reads the others' changes from a log in that database and tells its own players and
-- resources (each server's id: darkchat:serverId above, default generated once, kept in data/).
Config.Network = {
  pollMs = 300, -- how often this server reads the other servers' changes (a push crosses within about this)
  readLimit = 200, -- entries read at once (more are read at once after)
  keep = 20000, -- entries the log keeps (the newest) ...
  keepMinutes = 60, -- ... and none older: a server away longer than this misses what it did not read, and says so
  pruneSeconds = 5, -- how often each server deletes what the log no longer keeps (in batches)
  pruneBatch = 500,
}

-- Automatic backups of the SQLite database into data/backups/ (README "Backups, restores and
-- updates"): one every `intervalMinutes`, each checked, the newest `keep` kept. 0 in either
-- turns them off. (MySQL storage: back the database up with its own tools.)
Config.Backups = {
  intervalMinutes = 360,
  keep = 8,
}

-- Players whose rate-limit windows are remembered at once (memory stays bounded). When full,
-- players idle for longer than the longest window above are forgotten first, then the least
-- recently seen.
Config.RateLimitMemory = 4096

-- Print one line per failed call into the core (bad input from scripts, refusals).
Config.Debug = false
