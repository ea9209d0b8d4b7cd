-- Values as they cross to the WebAssembly core (js/host.js serves it through this resource's
-- export `DarkchatCore(method, argsJson)`; lua/core.lua calls it). Arguments cross as one JSON
-- array that says exactly what the native module would see: exports and the JS runtime carry
-- values as MessagePack, which would turn 3.0 into 3, NaN into null and bytes that are not
-- UTF-8 into U+FFFD. Integers are written as JSON integers, floats as
-- {"f": "<%.17g>" | "nan" | "inf" | "-inf"}, strings that are not UTF-8 (or longer than any
-- argument may be) as {"b": <length>}, tables and functions as {"o": "<type>"}.

local Wire <const> = {}
Darkchat.Wire = Wire

local MAX_ARG_BYTES = Darkchat.MAX_ARG_BYTES
local ESCAPES = { ['"'] = '\\"', ['\\'] = '\\\\', ['\n'] = '\\n', ['\r'] = '\\r', ['\t'] = '\\t' }

local function escape(c) return ESCAPES[c] or ('\\u%04x'):format(c:byte()) end

local function jsonString(s) return '"' .. s:gsub('[%c"\\]', escape) .. '"' end

--- One value as the core's argument.
---@param v any
---@return string
function Wire.value(v)
  local t = type(v)
  if t == 'nil' then return 'null' end
  if t == 'boolean' then return v and 'true' or 'false' end
  if t == 'number' then
    if math.type(v) == 'integer' then return ('%d'):format(v) end
    if v ~= v then return '{"f":"nan"}' end
    if v == math.huge then return '{"f":"inf"}' end
    if v == -math.huge then return '{"f":"-inf"}' end
    return ('{"f":"%.17g"}'):format(v)
  end
  if t == 'string' then
    if #v > MAX_ARG_BYTES or not utf8.len(v) then return ('{"b":%d}'):format(#v) end
    return jsonString(v)
  end
  return ('{"o":"%s"}'):format(t)
end

--- A call's arguments: the JSON array of each one's `Wire.value`.
---@return string
function Wire.args(...)
  local n = select('#', ...)
  local parts = {}
  for i = 1, n do
    parts[i] = Wire.value((select(i, ...)))
  end
  return '[' .. table.concat(parts, ',') .. ']'
end

--- A JSON object of `t`'s string-keyed fields, each written by `write[key]`, else `Wire.value`.
---@param t table
---@param write table<string, fun(value: any): string>?
---@return string
function Wire.object(t, write)
  local parts = {}
  for key, value in pairs(t) do
    if type(key) == 'string' then
      parts[#parts + 1] = jsonString(key) .. ':' .. (write and write[key] or Wire.value)(value)
    end
  end
  return '{' .. table.concat(parts, ',') .. '}'
end

--- The word filter (Config.Filter) as the open options carry it: `{"words": [...], "mode": ...}`.
local function filter(f)
  if type(f) ~= 'table' then return Wire.value(f) end
  local words = {}
  if type(f.words) == 'table' then
    for i, word in ipairs(f.words) do
      words[i] = Wire.value(word)
    end
  end
  local list = Wire.value(f.words)
  if type(f.words) == 'table' then list = '[' .. table.concat(words, ',') .. ']' end
  return ('{"words":%s,"mode":%s}'):format(list, Wire.value(f.mode))
end

--- The limits the core opens with (their `filter` the word filter), as the open options carry
--- them.
---@param limits table?
---@return string
function Wire.limits(limits)
  if type(limits) ~= 'table' then return 'null' end
  return Wire.object(limits, { filter = filter })
end
