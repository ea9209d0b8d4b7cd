-- A small JSON codec that behaves like the `json` global of FXServer's Lua runtime (lua-cjson
-- with `empty_table_as_array` and `with_hole` set), so that code which passes here encodes and
-- decodes the same way there:
--   * an empty table encodes as `[]`; a table whose keys are all positive integers is an array
--     (holes become `null`); any other table is an object (number keys become strings);
--   * integers encode without a fraction, floats with up to 14 significant digits ("%.14g"),
--     NaN and ±inf are refused, as cjson refuses them by default;
--   * `/` is escaped as `\/`, as cjson does;
--   * decoding gives integers for numbers written without fraction or exponent, floats otherwise.
-- Simplification: cjson decodes `null` to the `json.null` light userdata; plain Lua cannot make
-- one, so `null` decodes to nil here (most FiveM code treats it as nil anyway).
local json = {}

local escapes = {
  ['"'] = '\\"',
  ['\\'] = '\\\\',
  ['/'] = '\\/',
  ['\b'] = '\\b',
  ['\f'] = '\\f',
  ['\n'] = '\\n',
  ['\r'] = '\\r',
  ['\t'] = '\\t',
}

local function encodeString(s)
  return '"'
    .. s:gsub(
      '[%c"\\/]',
      function(c) return escapes[c] or (c == '\127' and c) or ('\\u%04x'):format(c:byte()) end
    )
    .. '"'
end

local function encodeNumber(n)
  if math.type(n) == 'integer' then return ('%d'):format(n) end
  if n ~= n or n == math.huge or n == -math.huge then
    error('Cannot serialise number: must not be NaN or Inf', 0)
  end
  return ('%.14g'):format(n)
end

local encodeValue

local function encodeTable(t, stack)
  if stack[t] then error('Cannot serialise, excessive nesting (cycle)', 0) end
  stack[t] = true
  local max, count, isArray = 0, 0, true
  for k in pairs(t) do
    count = count + 1
    if math.type(k) == 'integer' and k > 0 then
      if k > max then max = k end
    else
      isArray = false
    end
  end
  local parts = {}
  if isArray then
    for i = 1, max do
      parts[i] = encodeValue(t[i], stack)
    end
    stack[t] = nil
    return '[' .. table.concat(parts, ',') .. ']'
  end
  local keys = {}
  for k in pairs(t) do
    local kt = type(k)
    if kt ~= 'string' and kt ~= 'number' then
      error('Cannot serialise table: table key must be a number or string', 0)
    end
    keys[#keys + 1] = kt == 'number' and encodeNumber(k) or k
  end
  -- cjson follows `next` order; sorting is one valid order and keeps output reproducible.
  table.sort(keys)
  for i, k in ipairs(keys) do
    local v = t[k]
    if v == nil then v = t[tonumber(k)] end
    parts[i] = encodeString(k) .. ':' .. encodeValue(v, stack)
  end
  stack[t] = nil
  return '{' .. table.concat(parts, ',') .. '}'
end

function encodeValue(v, stack)
  local tv = type(v)
  if v == nil then
    return 'null'
  elseif tv == 'boolean' then
    return tostring(v)
  elseif tv == 'number' then
    return encodeNumber(v)
  elseif tv == 'string' then
    return encodeString(v)
  elseif tv == 'table' then
    return encodeTable(v, stack)
  end
  error('Cannot serialise ' .. tv .. ': type not supported', 0)
end

---Encodes a Lua value as JSON text, like FXServer's `json.encode`.
---@param value any
---@return string
function json.encode(value) return encodeValue(value, {}) end

local function decodeError(s, i, what)
  error(('Expected %s but found invalid token at character %d'):format(what, i), 0)
end

local function skip(s, i) return s:find('[^ \t\r\n]', i) or #s + 1 end

local decodeValue

local function decodeString(s, i)
  local out, j = {}, i + 1
  while true do
    local c = s:sub(j, j)
    if c == '' then decodeError(s, i, 'closing quote') end
    if c == '"' then return table.concat(out), j + 1 end
    if c == '\\' then
      local e = s:sub(j + 1, j + 1)
      local simple = {
        b = '\b',
        f = '\f',
        n = '\n',
        r = '\r',
        t = '\t',
        ['"'] = '"',
        ['\\'] = '\\',
        ['/'] = '/',
      }
      if simple[e] then
        out[#out + 1], j = simple[e], j + 2
      elseif e == 'u' then
        local cp = tonumber(s:sub(j + 2, j + 5), 16) or decodeError(s, j, 'hex escape')
        j = j + 6
        if cp >= 0xD800 and cp <= 0xDBFF and s:sub(j, j + 1) == '\\u' then
          local lo = tonumber(s:sub(j + 2, j + 5), 16)
          if lo and lo >= 0xDC00 and lo <= 0xDFFF then
            cp, j = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00), j + 6
          end
        end
        out[#out + 1] = utf8.char(cp)
      else
        decodeError(s, j, 'escape sequence')
      end
    else
      local k = s:find('["\\]', j) or #s + 1
      out[#out + 1], j = s:sub(j, k - 1), k
    end
  end
end

function decodeValue(s, i)
  i = skip(s, i)
  local c = s:sub(i, i)
  if c == '{' then
    local t = {}
    i = skip(s, i + 1)
    if s:sub(i, i) == '}' then return t, i + 1 end
    while true do
      if s:sub(i, i) ~= '"' then decodeError(s, i, 'object key string') end
      local k
      k, i = decodeString(s, i)
      i = skip(s, i)
      if s:sub(i, i) ~= ':' then decodeError(s, i, 'colon') end
      t[k], i = decodeValue(s, i + 1)
      i = skip(s, i)
      local d = s:sub(i, i)
      if d == '}' then return t, i + 1 end
      if d ~= ',' then decodeError(s, i, 'comma or object end') end
      i = skip(s, i + 1)
    end
  elseif c == '[' then
    local t, n = {}, 0
    i = skip(s, i + 1)
    if s:sub(i, i) == ']' then return t, i + 1 end
    while true do
      n = n + 1
      t[n], i = decodeValue(s, i)
      i = skip(s, i)
      local d = s:sub(i, i)
      if d == ']' then return t, i + 1 end
      if d ~= ',' then decodeError(s, i, 'comma or array end') end
      i = i + 1
    end
  elseif c == '"' then
    return decodeString(s, i)
  elseif s:sub(i, i + 3) == 'true' then
    return true, i + 4
  elseif s:sub(i, i + 4) == 'false' then
    return false, i + 5
  elseif s:sub(i, i + 3) == 'null' then
    return nil, i + 4
  end
  local num = s:match('^-?%d+%.?%d*[eE]?[-+]?%d*', i)
  if not num or num == '' or num == '-' then decodeError(s, i, 'value') end
  local v = num:find('[.eE]') and tonumber(num) + 0.0
    or math.tointeger(tonumber(num))
    or tonumber(num)
  if v == nil then decodeError(s, i, 'number') end
  return v, i + #num
end

---Decodes JSON text into Lua values, like FXServer's `json.decode`.
---@param text string
---@return any
function json.decode(text)
  if type(text) ~= 'string' then error("bad argument #1 to 'decode' (string expected)", 2) end
  local v, i = decodeValue(text, 1)
  i = skip(text, i)
  if i <= #text then decodeError(text, i, 'the end') end
  return v
end

return json
