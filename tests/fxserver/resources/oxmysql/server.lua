-- Fake oxmysql. The real one (JavaScript) exports query, single, scalar, update, insert,
-- transaction, prepare, rawExecute, execute, fetch, isReady, awaitConnection, and for each query
-- method `<name>_async` and `<name>Sync` (promise forms, which a Lua caller awaits in a thread).
-- Callback forms answer ASYNCHRONOUSLY (a later tick), as the real database does; `(query, cb)`
-- is accepted too. The database is the `users` table only, and the only statement understood is
--   SELECT phone_number FROM users WHERE identifier = ?      with params { identifier }
-- anything else raises, so that a resource cannot silently depend on SQL nobody checked.
-- Test hooks: exports __SetUser(identifier, phone), __QueryCount() and __SetDelay(ms): how long
-- (emulated) every answer takes from now on, 0 (the next tick) by default, so that a test can
-- send a request while a query is still in flight.
local SELECT = 'SELECT phone_number FROM users WHERE identifier = ?'
local users = {} -- identifier → phone_number
local queries = 0
local delay = 0 -- ms

local function isCallable(v)
  return type(v) == 'function'
    or (type(v) == 'table' and rawget(v, '__cfx_functionReference') ~= nil)
end

local function run(query, params)
  if type(query) ~= 'string' then
    error(('Query expects a string, received %s'):format(tostring(query)), 0)
  end
  local normalized = query:gsub('%s+', ' '):gsub('^ ', ''):gsub(' ?;? ?$', '')
  if normalized ~= SELECT then
    error(('fake oxmysql only understands %q, got %q'):format(SELECT, query), 0)
  end
  if type(params) ~= 'table' or type(params[1]) ~= 'string' then
    error('fake oxmysql: expected parameters { identifier }', 0)
  end
  queries = queries + 1
  local phone = users[params[1]]
  return phone ~= nil and { { phone_number = phone } } or {}
end

local shapes = {
  query = function(rows) return rows end,
  rawExecute = function(rows) return rows end,
  single = function(rows) return rows[1] end,
  scalar = function(rows) return rows[1] and rows[1].phone_number end,
  prepare = function(rows) -- one row of one column → the value; one row → the row
    if #rows ~= 1 then return rows[1] and rows or nil end
    local k = next(rows[1])
    return next(rows[1], k) == nil and rows[1][k] or rows[1]
  end,
}
shapes.execute, shapes.fetch = shapes.query, shapes.query

local function unsupported(name)
  return function() error(('fake oxmysql: %s is not supported (only %q)'):format(name, SELECT), 0) end
end

local methods = {}
for name, shape in pairs(shapes) do
  methods[name] = function(query, params, cb)
    if isCallable(params) then
      params, cb = nil, params
    end
    local result = shape(run(query, params))
    if cb then SetTimeout(delay, function() cb(result) end) end
  end
  exports(name, methods[name])
  local function awaited(query, params)
    local result = shape(run(query, params))
    Wait(delay)
    return result
  end
  exports(name .. '_async', awaited)
  exports(name .. 'Sync', awaited)
end
for _, name in ipairs({ 'update', 'insert', 'transaction' }) do
  exports(name, unsupported(name))
  exports(name .. '_async', unsupported(name))
  exports(name .. 'Sync', unsupported(name))
end
exports('isReady', function() return true end)
exports('awaitConnection', function() return true end)

exports('__SetUser', function(identifier, phone) users[identifier] = phone end)
exports('__QueryCount', function() return queries end)
exports('__SetDelay', function(ms) delay = ms end)
