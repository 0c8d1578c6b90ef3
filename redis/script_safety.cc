// The shared Lua snippets (see script_safety.h).
#include "redis/script_safety.h"

namespace keyshift {

const char* const kScriptSafetyLua = R"LUA(
local READ_COMMAND = { string = 'GET', hash = 'HGETALL', list = 'LRANGE', set = 'SMEMBERS', zset = 'ZRANGE' }
local function read_flat(key, typ)
  if typ == 'string' then return {redis.call('GET', key)} end
  if typ == 'list' then return redis.call('LRANGE', key, 0, -1) end
  if typ == 'zset' then return redis.call('ZRANGE', key, 0, -1, 'WITHSCORES') end
  return redis.call(READ_COMMAND[typ], key)
end
-- Lua's '<' on strings follows the server's locale; digests are compared
-- across restarts, so order bytewise. Both are 40 hex digits, a ~= b.
local function hex_less(a, b)
  if a == b then return false end
  local i = 1
  while string.byte(a, i) == string.byte(b, i) do i = i + 1 end
  return string.byte(a, i) < string.byte(b, i)
end
-- Sorts sha1 hex digests bytewise without a Lua comparator call per
-- comparison: for lowercase hex of one length, bytewise order is numeric
-- order, and the first 12 digits (48 bits) convert exactly, so the C sort
-- compares numbers (never strcoll). Digests sharing those 12 digits, a
-- ~2^-48 chance per pair, take the comparator.
local function sort_hex(parts)
  local n = #parts
  if n < 2 then return end
  local numbers, by_number = {}, {}
  for i = 1, n do
    local h = parts[i]
    local x = tonumber(string.sub(h, 1, 12), 16)
    if by_number[x] then table.sort(parts, hex_less) return end
    by_number[x], numbers[i] = h, x
  end
  table.sort(numbers)
  for i = 1, n do parts[i] = by_number[numbers[i]] end
end
local function content_digest(typ, flat)
  local sha1, n, parts = redis.sha1hex, #flat, {}
  if typ == 'hash' or typ == 'set' then
    local step = typ == 'hash' and 2 or 1
    for i = 1, n, step do
      local item = flat[i]
      if step == 2 then item = #item .. ':' .. item .. flat[i + 1] end
      parts[#parts + 1] = sha1(item)
    end
    sort_hex(parts)
    return sha1(typ .. '|' .. table.concat(parts))
  end
  parts[1] = typ
  for i = 1, n do parts[i + 1] = #flat[i] .. ':' .. flat[i] end
  return sha1(table.concat(parts, '|'))
end
local function digest_of(key, typ) return content_digest(typ, read_flat(key, typ)) end
-- Whether key holds, as type typ, what the caller read: by value (cas '=':
-- the m elements read, from args[at]; hashes, sets and zsets in any order)
-- or by content digest; and the elements it holds. Another type now fails
-- the read: not the same.
local function content_is(key, typ, cas, args, at, m)
  local ok, flat = pcall(read_flat, key, typ)
  if not ok then return false end
  if cas ~= '=' then return content_digest(typ, flat) == cas, flat end
  if #flat ~= m then return false end
  if typ == 'string' or typ == 'list' then
    for i = 1, m do
      if flat[i] ~= args[at + i - 1] then return false end
    end
    return true, flat
  end
  -- Unique names (fields, members) on both sides and as many: equal when
  -- every name now was read, with the same value.
  local want, step = {}, typ == 'set' and 1 or 2
  for i = at, at + m - 1, step do want[args[i]] = step == 1 or args[i + 1] end
  for i = 1, m, step do
    if want[flat[i]] ~= (step == 1 or flat[i + 1]) then return false end
  end
  return true, flat
end
-- Set by a script whose caller found this connection's user unrestricted
-- (ScriptCache::acl_unrestricted): every check would pass, so none is made.
local acl_unrestricted = false
local function refused(checks)
  if acl_unrestricted then return nil end
  for i = 1, #checks do
    local c = checks[i]
    if not redis.acl_check_cmd(unpack(c)) then
      return redis.error_reply(string.format(
        "NOPERM this Redis user may not run %s on this key, which keyshift needs; nothing was written " ..
        "(docs/cli.md lists the ACL keyshift needs)", c[1]))
    end
  end
  return nil
end
)LUA";

}  // namespace keyshift
