-- A tiny test library for the Lua end-to-end tests (run by tests/lua/run.lua). Equality is
-- strict about number subtypes on purpose: values cross FXServer boundaries through MessagePack,
-- and an integer that came back as a float (1 vs 1.0) is a bug these tests must see.
local T = { tests = {} }

---Absolute path of the repository root (set by run.lua; derived from this file otherwise).
T.repoRoot = rawget(_G, 'TEST_REPO_ROOT')
  or (function()
    local here = debug.getinfo(1, 'S').source:sub(2):match('^(.*)/tests/lua/[^/]*$') or '.'
    if here:sub(1, 1) ~= '/' then here = (os.getenv('PWD') or '.') .. '/' .. here end
    return here
  end)()

---Registers a test.
---@param name string
---@param fn fun()
function T.test(name, fn) T.tests[#T.tests + 1] = { name = name, fn = fn } end

local function key(k)
  if type(k) == 'string' and k:match('^[%a_][%w_]*$') then return k end
  return '[' .. T.show(k) .. ']'
end

---A readable, deterministic rendering of a value (floats always show as floats).
---@param v any
---@return string
function T.show(v, seen)
  local tv = type(v)
  if tv == 'string' then
    return ('%q'):format(v):gsub('\\\n', '\\n')
  elseif math.type(v) == 'float' then
    if v ~= v then
      return 'nan'
    elseif v == math.huge then
      return 'inf'
    elseif v == -math.huge then
      return '-inf'
    end
    local s = ('%.17g'):format(v)
    return s:find('[.eEn]') and s or s .. '.0'
  elseif tv ~= 'table' then
    return tostring(v)
  end
  seen = seen or {}
  if seen[v] then return '<cycle>' end
  seen[v] = true
  local keys = {}
  for k in pairs(v) do
    keys[#keys + 1] = k
  end
  table.sort(keys, function(a, b)
    local ta, tb = type(a), type(b)
    if ta ~= tb then return ta < tb end
    if ta == 'number' or ta == 'string' then return a < b end
    return tostring(a) < tostring(b)
  end)
  local parts, n = {}, #v
  for _, k in ipairs(keys) do
    if math.type(k) == 'integer' and k >= 1 and k <= n then
      parts[#parts + 1] = T.show(v[k], seen)
    else
      parts[#parts + 1] = key(k) .. ' = ' .. T.show(v[k], seen)
    end
  end
  seen[v] = nil
  local mt = getmetatable(v)
  return (mt and mt.__call and 'callable' or '') .. '{ ' .. table.concat(parts, ', ') .. ' }'
end

local function same(a, b)
  if type(a) ~= type(b) then return false end
  if type(a) == 'number' then
    if math.type(a) ~= math.type(b) then return false end
    return a == b or (a ~= a and b ~= b)
  end
  if type(a) ~= 'table' or a == b then return a == b end
  for k, v in pairs(a) do
    if not same(v, b[k]) then return false end
  end
  for k in pairs(b) do
    if a[k] == nil then return false end
  end
  return true
end

---Deep, type-strict equality (integer 1 ~= float 1.0; NaN equals NaN).
function T.eq(actual, expected, msg)
  if not same(actual, expected) then
    error(
      ('%sexpected %s\n     got %s'):format(
        msg and (msg .. ': ') or '',
        T.show(expected),
        T.show(actual)
      ),
      2
    )
  end
end

function T.ok(v, msg)
  if not v then error(msg or ('expected a true value, got ' .. T.show(v)), 2) end
  return v
end

---Asserts that fn raises; with a pattern, that the message matches it (plain substring first).
---@return string message
function T.raises(fn, pattern)
  local ok, err = pcall(fn)
  if ok then error('expected an error' .. (pattern and (' matching ' .. pattern) or ''), 2) end
  local msg = tostring(err)
  if pattern and not msg:find(pattern, 1, true) and not msg:find(pattern) then
    error(('error %q does not match %q'):format(msg, pattern), 2)
  end
  return msg
end

local tmpdirs = {}

---A fresh temporary directory (removed when the process ends normally).
---@return string
function T.tmpdir()
  local base = os.getenv('TMPDIR') or '/tmp'
  for _ = 1, 100 do
    local dir = ('%s/fxtest-%d-%06d'):format(base, os.time(), math.random(0, 999999))
    if os.execute(('mkdir %q 2>/dev/null'):format(dir)) then
      tmpdirs[#tmpdirs + 1] = dir
      return dir
    end
  end
  error('cannot create a temporary directory under ' .. base)
end

---Writes a file (creating its folder).
function T.write(path, text)
  os.execute(('mkdir -p %q'):format(path:match('^(.*)/') or '.'))
  local f = assert(io.open(path, 'wb'))
  f:write(text)
  f:close()
end

---Runs a shell command and returns everything it printed on stdout.
---@param cmd string
---@return string
function T.sh(cmd)
  local pipe = assert(io.popen(cmd))
  local out = pipe:read('a')
  pipe:close()
  return out
end

---Whether process `pid` is alive, as the lock check decides it: a process that has ended, or
---that is dead but not yet reaped by its parent (a zombie), is not.
---@param pid integer|string
---@return boolean
function T.alive(pid)
  local f = io.open(('/proc/%s/stat'):format(pid), 'rb')
  if f then
    local state = f:read('a'):match('.*%)%s+(%a)')
    f:close()
    return state ~= 'Z' and state ~= 'X'
  end
  local proc = io.open('/proc/self/stat', 'rb')
  if proc then
    proc:close()
    return false
  end
  return os.execute(('kill -0 %s 2>/dev/null'):format(pid)) == true
end

function T.cleanup()
  for _, dir in ipairs(tmpdirs) do
    os.execute(('rm -rf %q'):format(dir))
  end
  tmpdirs = {}
end

math.randomseed(os.time(), tonumber(tostring({}):match('0x(%x+)') or '0', 16) or 0)
return T
