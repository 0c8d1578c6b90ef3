// The CAS write script and the batch writer.
#include "runtime/writer.h"

#include <fmt/format.h>

#include "runtime/journal.h"
#include "runtime/script_safety.h"

namespace keyshift {

// KEYS: data key, its journal hash, target key, target's journal hash.
// ARGV: digest, expire_at, action (W|D|R), type, elements...
const char* const kWriteValueLua = R"LUA(
local WRITE_COMMAND = { string = 'SET', hash = 'HSET', list = 'RPUSH', set = 'SADD', zset = 'ZADD' }
local function write_value(dest, typ, args, first, expire_at)
  if typ == 'string' then
    redis.call('SET', dest, args[first])
  else
    local command = WRITE_COMMAND[typ]
    local i, n = first, #args
    while i <= n do  -- chunks of 1000: unpack has a stack limit; pairs never split
      local last = math.min(i + 999, n)
      redis.call(command, dest, unpack(args, i, last))
      i = last + 1
    end
  end
  if expire_at ~= '-1' then redis.call('PEXPIREAT', dest, expire_at) end
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
local function record_change(key, jkey, code, typ, target, tjkey, expire_at, dump, write)
  local checks = {{'DEL', key}, {'HSET', jkey}, {'RESTORE', key}, {'HDEL', jkey}}
  if code == 'W' then add_write_checks(checks, key, typ, expire_at) end
  if code == 'R' then
    add_write_checks(checks, target, typ, expire_at)
    for _, c in ipairs({{'HSET', tjkey}, {'DEL', target}, {'HDEL', tjkey}}) do checks[#checks + 1] = c end
  end
  local refusal = refused(checks)
  if refusal then return refusal end
  local ok, err = pcall(function()
    redis.call('DEL', key)
    if code == 'D' then
      redis.call('HSET', jkey, key, journal_entry('D', expire_at, '', '', dump))
    elseif code == 'W' then
      redis.call('HSET', jkey, key, journal_entry('W', expire_at, write(key), '', dump))
    else
      local post = write(target)
      redis.call('HSET', jkey, key, journal_entry('R', expire_at, post, target, dump))
      redis.call('HSET', tjkey, target, journal_entry('C', expire_at, post, key, ''))
    end
  end)
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

const char* const kWriteScript = R"LUA(-- keyshift CAS write
local key, jkey, target, tjkey = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local digest, expire_at, action, typ = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
if already_done(jkey, key) then return 'done' end
local dump = redis.call('DUMP', key)
if not dump or redis.call('TYPE', key).ok ~= typ
   or string.format('%d', redis.call('PEXPIRETIME', key)) ~= expire_at
   or digest_of(key, typ) ~= digest then
  return 'changed'
end
local old_target
if action == 'R' and redis.call('EXISTS', target) == 1 then
  if not may_replace(tjkey, target, key) then return 'target_exists' end
  local refusal = refused({{'DEL', target}, {'RESTORE', target}, {'HSET', tjkey}})
  if refusal then return refusal end
  old_target = {redis.call('DUMP', target), redis.call('PEXPIRETIME', target), redis.call('HGET', tjkey, target)}
  redis.call('DEL', target)
end
local function write(dest) return write_value(dest, typ, ARGV, 5, expire_at) end
local refusal = record_change(key, jkey, action, typ, target, tjkey, expire_at, dump, write)
if refusal and old_target then  -- put back the target this call removed
  local at = old_target[2] == -1 and 0 or old_target[2]
  redis.call('RESTORE', target, at, old_target[1], 'REPLACE', 'ABSTTL')
  redis.call('HSET', tjkey, target, old_target[3])
end
if refusal then return refusal end
return 'ok'
)LUA";

namespace {

// `up`: any entry means done, and a rename never replaces a key. Catch-up:
// caught_up (journal.h), a key it rewrites gets a new entry in place of the
// old one, and a reappeared key renamed again may replace the target keyshift
// made from it (replaceable_target): the application's later write wins.
const LuaScript& WriteScript(bool catchup) {
  static const auto build = [](const char* done_rule) {
    return std::string(kScriptSafetyLua) + kJournalEntryLua + kCatchupDoneLua + done_rule + kWriteValueLua +
           kWriteScript;
  };
  static const LuaScript up(build("local function already_done(j, k) return redis.call('HEXISTS', j, k) == 1 end\n"
                                  "local function may_replace() return false end\n"));
  static const LuaScript catchup_script(build("local already_done, may_replace = caught_up, replaceable_target\n"));
  return catchup ? catchup_script : up;
}

const char* ActionCode(WriteOp::Action a) { return a == WriteOp::kDelete ? "D" : a == WriteOp::kRename ? "R" : "W"; }

}  // namespace

std::vector<std::string> WriteArgs(const WriteOp& op) {
  const KeySnapshot& b = *op.before;
  std::vector<std::string> args{b.digest, std::to_string(b.expire_at), ActionCode(op.action), b.type_name};
  if (op.action == WriteOp::kDelete) return args;
  const Value& v = op.value;
  switch (v.type) {
    case KeyType::kString:
      args.push_back(v.str);
      break;
    case KeyType::kHash:
      for (const auto& [field, text] : v.pairs) args.insert(args.end(), {field, text});
      break;
    case KeyType::kZSet:  // ZADD wants score before member
      for (const auto& [member, score] : v.pairs) args.insert(args.end(), {score, member});
      break;
    default:
      args.insert(args.end(), v.items.begin(), v.items.end());
  }
  return args;
}

Result<std::vector<WriteStatus>> WriteBatch(ScriptCache& scripts, const StateKeys& state, long long version,
                                            const std::vector<WriteOp>& ops, bool catchup) {
  std::vector<Command> commands;
  commands.reserve(ops.size());
  for (const auto& op : ops) {
    const std::string& key = op.before->key;
    const std::string& target = op.action == WriteOp::kRename ? op.new_key : key;
    commands.push_back(scripts.Evalsha(
        WriteScript(catchup), {key, state.journal(version, key), target, state.journal(version, target)}, WriteArgs(op)));
  }
  auto replies = scripts.Run(commands);
  if (!replies.ok()) return replies.error();
  std::vector<WriteStatus> out;
  for (size_t i = 0; i < ops.size(); ++i) {
    const Reply& r = (*replies)[i];
    if (r.is_error()) return Fail(fmt::format("writing key '{}': {}", ops[i].before->key, r.str));
    if (r.str == "ok") out.push_back(WriteStatus::kWritten);
    else if (r.str == "done") out.push_back(WriteStatus::kDone);
    else if (r.str == "target_exists") out.push_back(WriteStatus::kTargetExists);
    else out.push_back(WriteStatus::kChanged);
  }
  return out;
}

}  // namespace keyshift
