#include "server_mode/write_lua.h"

namespace keyshift {

const char* const kJournalEntryLua = R"LUA(
local function journal_entry(action, expire_at, post_digest, other, dump)
  return '2|' .. action .. '|' .. expire_at .. '|' .. post_digest .. '|' .. #other .. '|' .. other .. dump
end
)LUA";

const char* const kWriteValueLua = R"LUA(
local WRITE_COMMAND = { string = 'SET', hash = 'HSET', list = 'RPUSH', set = 'SADD', zset = 'ZADD' }
local function write_value(dest, typ, args, first, expire_at, last, post)
  if typ == 'string' then
    redis.call('SET', dest, args[first])
  else
    local command = WRITE_COMMAND[typ]
    local i, n = first, last or #args
    while i <= n do  -- chunks of 1000: unpack has a stack limit; pairs never split
      local last = math.min(i + 999, n)
      redis.call(command, dest, unpack(args, i, last))
      i = last + 1
    end
  end
  if expire_at ~= '-1' then redis.call('PEXPIREAT', dest, expire_at) end
  if post and post ~= '' then return post end
  -- A copy writes the source's absolute expiry, which may have passed on the
  -- way: PEXPIREAT then deleted the key, and there is no content to digest.
  if expire_at ~= '-1' and redis.call('EXISTS', dest) == 0 then return '' end
  return digest_of(dest, typ)
end

-- Every command write_value(dest, ...) runs, for refused().
local function add_write_checks(checks, dest, typ, expire_at)
  checks[#checks + 1] = {WRITE_COMMAND[typ], dest}
  if expire_at ~= '-1' then checks[#checks + 1] = {'PEXPIREAT', dest} end
  checks[#checks + 1] = {READ_COMMAND[typ], dest}
end

-- The change itself, journaled in the same script: D deletes key; W writes
-- it again through write(key); R writes target and leaves a C entry there.
-- Returns nil, or an error reply with the key as it was: every command is
-- permission-checked first, and a command that still fails part-way (a bad
-- zset score, say) is undone here, since Redis keeps a failed script's writes.
local function change_checks(key, jkey, code, typ, target, tjkey, expire_at)
  local checks = {{'DEL', key}, {'HSET', jkey}, {'RESTORE', key}, {'HDEL', jkey}}
  if code == 'W' then add_write_checks(checks, key, typ, expire_at) end
  if code == 'W' and typ == 'hash' then checks[#checks + 1] = {'HDEL', key} end  -- in place (in_place)
  if code == 'R' then
    add_write_checks(checks, target, typ, expire_at)
    for _, c in ipairs({{'HSET', tjkey}, {'DEL', target}, {'HDEL', tjkey}}) do checks[#checks + 1] = c end
  end
  return checks
end
-- SET replaces a string whole (its TTL too, put back by write_value), and a
-- caller may change a key in place (in_place: the host's hashes): a DEL first
-- would cost a command per key for nothing.
local function apply_change(key, jkey, code, typ, target, tjkey, expire_at, dump, write, in_place)
  if not in_place and (code ~= 'W' or typ ~= 'string') then redis.call('DEL', key) end
  if code == 'D' then
    redis.call('HSET', jkey, key, journal_entry('D', expire_at, '', '', dump))
  elseif code == 'W' then
    redis.call('HSET', jkey, key, journal_entry('W', expire_at, write(key), '', dump))
  else
    local post = write(target)
    redis.call('HSET', jkey, key, journal_entry('R', expire_at, post, target, dump))
    redis.call('HSET', tjkey, target, journal_entry('C', expire_at, post, key, ''))
  end
end
local function record_change(key, jkey, code, typ, target, tjkey, expire_at, dump, write, in_place)
  -- An unrestricted user passes every check: not even the list is built.
  if not acl_unrestricted then
    local refusal = refused(change_checks(key, jkey, code, typ, target, tjkey, expire_at))
    if refusal then return refusal end
  end
  local ok, err = pcall(apply_change, key, jkey, code, typ, target, tjkey, expire_at, dump, write, in_place)
  if ok then return nil end
  if code == 'R' then
    redis.call('DEL', target)
    redis.call('HDEL', tjkey, target)
  end
  redis.call('HDEL', jkey, key)
  redis.call('RESTORE', key, expire_at == '-1' and '0' or expire_at, dump, 'REPLACE', 'ABSTTL')
  local why = type(err) == 'table' and err.err or tostring(err)
  return redis.error_reply(why .. ' (the key was left as it was; nothing was journaled)')
end
)LUA";

}  // namespace keyshift
