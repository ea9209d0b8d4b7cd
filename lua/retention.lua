-- Disappearing messages: expired messages (a conversation's retention, the caps of
-- Config.Limits) are deleted in the background. Every Config.Retention.intervalSeconds a round
-- walks the conversations with the core's `sweepExpired`, one step at a time: each step is one
-- short transaction that reads a few conversations and deletes at most Config.Retention.batch
-- messages through index ranges (src/service/retention.rs), then the thread waits `pauseMs`
-- before the next, so that even a million messages due at once never hold the server for
-- long; a step that finds the database's log behind (the checkpointer has not caught up)
-- makes the next wait `behindPauseMs`, time for the log to be copied and restarted. On MySQL
-- the steps run asynchronously like any call. The rules (what expires) are the core's; this
-- only paces it.

local Retention <const> = {}
Darkchat.Retention = Retention

--- Config.Retention with the shipped values for what a config.lua of an older version lacks.
local function settings()
  local r = Config.Retention or {}
  return {
    intervalSeconds = r.intervalSeconds or 60,
    batch = r.batch or 50,
    pauseMs = r.pauseMs or 50,
    behindPauseMs = r.behindPauseMs or 500,
  }
end

--- One round: steps until the core says the round is over (or a step fails: one line, and the
--- next round tries again). Returns how many messages went.
---@return integer deleted
function Retention.round()
  local r, after, total = settings(), 0, 0
  repeat
    local ok, step, detail = Darkchat.call('sweepExpired', after, r.batch)
    if not ok then
      Darkchat.log(
        ('sweeping expired messages failed: %s %s'):format(tostring(step), tostring(detail or ''))
      )
      return total
    end
    total = total + step.deleted
    after = step.next
    if step.more then Wait(step.behind and r.behindPauseMs or r.pauseMs) end
  until not step.more
  return total
end

if Darkchat.core and settings().intervalSeconds > 0 then
  CreateThread(function()
    while Darkchat.core do
      Wait(settings().intervalSeconds * 1000)
      if Darkchat.core then Retention.round() end
    end
  end)
end
