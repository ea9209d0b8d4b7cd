-- What a value looks like after it crossed a resource boundary on FXServer (event arguments,
-- export arguments and results, function-reference calls). FXServer packs such values with
-- MessagePack in the sender's Lua state and unpacks them in the receiver's; this module makes the
-- same deep copy without the bytes in between:
--   * tables are copied, never shared; metatables are dropped; keys and values are copied
--     recursively, so integer keys stay integer keys (`set_array('without_hole')`: a table with
--     holes travels as a map, which gives the same keys and values back);
--   * integers stay integers, floats stay floats (NaN and ±inf included); strings are copied byte
--     for byte (`set_string('string_compat')`, no UTF-8 check); booleans as they are;
--   * a function (or a function reference received earlier) becomes a function reference in the
--     receiver: `on_function` decides what it is (fxserver.lua makes a callable table, as FXServer
--     does, whose calls copy arguments and results the same way);
--   * a table met again while it is being copied (a cycle) raises, where real msgpack would
--     overflow the stack; a table shared twice without a cycle is copied twice, as msgpack does;
--   * userdata and threads cannot be packed and raise.
-- Argument lists follow FXServer too: `pack_args` keeps every argument up to the last non-nil
-- one (nils inside survive), while results travel as a table `{ f() }` that is packed with the
-- hole rule, so a result list stops at its first nil (`return nil, "x"` arrives as nothing).
local M = {}

local function copy(v, onFunction, visiting)
  local tv = type(v)
  if tv == 'table' then
    local replacement = onFunction(v, true)
    if replacement ~= nil then return replacement end
    if visiting[v] then error('cannot pack a cyclic table (msgpack would recurse forever)', 0) end
    visiting[v] = true
    local out = {}
    for k, val in next, v do
      out[copy(k, onFunction, visiting)] = copy(val, onFunction, visiting)
    end
    visiting[v] = nil
    return out
  elseif tv == 'function' then
    return onFunction(v, false)
  elseif tv == 'userdata' or tv == 'thread' then
    error(("pack '%s' is unimplemented"):format(tv), 0)
  end
  return v -- nil, boolean, number (integer or float, NaN and inf included), string
end

---Deep-copies one value with MessagePack semantics.
---@param value any
---@param onFunction fun(v: any, isTable: boolean): any  returns a function reference for a function (or a funcref table); nil for a plain table
---@return any
function M.copy(value, onFunction) return copy(value, onFunction, {}) end

---Copies an argument list: `n` values in, same count out (trailing nils dropped).
---@return table packed  with field n
function M.args(onFunction, ...)
  local src, n = table.pack(...), select('#', ...)
  while n > 0 and src[n] == nil do
    n = n - 1
  end
  local out = { n = n }
  for i = 1, n do
    out[i] = copy(src[i], onFunction, {})
  end
  return out
end

---Copies a result list: it stops at the first nil, as `{ f() }` packed without holes does.
---@param packed table  from table.pack
---@return table packed  with field n
function M.results(onFunction, packed)
  local out, n = {}, 0
  for i = 1, packed.n or #packed do
    if packed[i] == nil then break end
    n = i
    out[i] = copy(packed[i], onFunction, {})
  end
  out.n = n
  return out
end

return M
