-- A minimal MessagePack codec for the emulator's JS bridge (jshost.lua): the bytes FXServer puts
-- between a Lua and a JS runtime; also the emulated Lua's `msgpack` global. It writes the 32-bit
-- and 64-bit forms only, and reads every form. Integers stay integers and floats floats;
-- strings travel byte for byte (the JS side decodes them as UTF-8, as FXServer's does); a table
-- that is a sequence without holes is an array, any other table a map; a function cannot cross
-- here and raises.
local M = {}

local function isArray(t)
  local n = 0
  for _ in next, t do
    n = n + 1
  end
  for i = 1, n do
    if rawget(t, i) == nil then return false end
  end
  return true, n
end

local function enc(v, out)
  local tv = type(v)
  if v == nil then
    out[#out + 1] = '\xc0'
  elseif tv == 'boolean' then
    out[#out + 1] = v and '\xc3' or '\xc2'
  elseif math.type(v) == 'integer' then
    out[#out + 1] = '\xd3' .. string.pack('>i8', v)
  elseif tv == 'number' then
    out[#out + 1] = '\xcb' .. string.pack('>d', v)
  elseif tv == 'string' then
    out[#out + 1] = '\xdb' .. string.pack('>s4', v)
  elseif tv == 'table' then
    local array, n = isArray(v)
    if array then
      out[#out + 1] = '\xdd' .. string.pack('>I4', n)
      for i = 1, n do
        enc(v[i], out)
      end
    else
      local keys = {}
      for k in next, v do
        keys[#keys + 1] = k
      end
      out[#out + 1] = '\xdf' .. string.pack('>I4', #keys)
      for _, k in ipairs(keys) do
        enc(k, out)
        enc(v[k], out)
      end
    end
  else
    error(('cannot pass a %s to the JS runtime in this emulation'):format(tv), 0)
  end
end

---@return string bytes
function M.encode(v)
  local out = {}
  enc(v, out)
  return table.concat(out)
end

---@param s string
---@return any
function M.decode(s)
  local at = 1
  local dec
  local function list(n)
    local t = {}
    for i = 1, n do
      t[i] = dec()
    end
    return t
  end
  local function map(n)
    local t = {}
    for _ = 1, n do
      local k = dec()
      t[k] = dec()
    end
    return t
  end
  local function take(fmt)
    local v
    v, at = string.unpack(fmt, s, at)
    return v
  end
  dec = function()
    local b = s:byte(at)
    at = at + 1
    if b <= 0x7f then return b end
    if b >= 0xe0 then return b - 0x100 end
    if b & 0xe0 == 0xa0 then
      local n = b & 0x1f
      local v = s:sub(at, at + n - 1)
      at = at + n
      return v
    end
    if b & 0xf0 == 0x90 then return list(b & 0x0f) end
    if b & 0xf0 == 0x80 then return map(b & 0x0f) end
    if b == 0xc0 then return nil end
    if b == 0xc2 then return false end
    if b == 0xc3 then return true end
    if b == 0xcc then return take('>I1') end
    if b == 0xcd then return take('>I2') end
    if b == 0xce then return take('>I4') end
    if b == 0xcf then return take('>i8') end -- beyond 2^63 wraps, as Lua's integers do
    if b == 0xd0 then return take('>i1') end
    if b == 0xd1 then return take('>i2') end
    if b == 0xd2 then return take('>i4') end
    if b == 0xd3 then return take('>i8') end
    if b == 0xca then return take('>f') end
    if b == 0xcb then return take('>d') end
    if b == 0xd9 or b == 0xc4 then return take('>s1') end -- str 8, bin 8
    if b == 0xda or b == 0xc5 then return take('>s2') end -- str 16, bin 16
    if b == 0xdb or b == 0xc6 then return take('>s4') end -- str 32, bin 32
    if b == 0xdc then return list(take('>I2')) end
    if b == 0xdd then return list(take('>I4')) end
    if b == 0xde then return map(take('>I2')) end
    if b == 0xdf then return map(take('>I4')) end
    error(('msgpack type 0x%02x not handled'):format(b), 0)
  end
  return dec()
end

return M
