// The CAS write script and the batch writer.
#include "engine/writer.h"

#include <fmt/format.h>

#include "engine/journal.h"
#include "redis/script_safety.h"

namespace keyshift {

// KEYS: data key, its journal hash, target key, target's journal hash.
// ARGV: digest, expire_at, action (W|D|R), type, elements...
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

}  // namespace

void AppendValueArgs(const Value& v, std::vector<std::string>* args) {
  switch (v.type) {
    case KeyType::kString:
      args->push_back(v.str);
      break;
    case KeyType::kHash:
      for (const auto& [field, text] : v.pairs) args->insert(args->end(), {field, text});
      break;
    case KeyType::kZSet:  // ZADD wants score before member
      for (const auto& [member, score] : v.pairs) args->insert(args->end(), {score, member});
      break;
    default:
      args->insert(args->end(), v.items.begin(), v.items.end());
  }
}

std::vector<std::string> WriteArgs(const WriteOp& op) {
  const CasCondition& c = op.expect;
  std::vector<std::string> args{c.digest, std::to_string(c.expire_at), KeyActionCode(op.action), c.type_name};
  if (op.action != KeyAction::kDelete) AppendValueArgs(op.value, &args);
  return args;
}

Result<std::vector<WriteStatus>> WriteBatch(ScriptCache& scripts, const StateKeys& state, long long version,
                                            const std::vector<WriteOp>& ops, bool catchup) {
  std::vector<Command> commands;
  commands.reserve(ops.size());
  for (const auto& op : ops) {
    const std::string& key = op.key;
    const std::string& target = op.action == KeyAction::kRename ? op.new_key : key;
    commands.push_back(scripts.Evalsha(
        WriteScript(catchup), {key, state.journal(version, key), target, state.journal(version, target)}, WriteArgs(op)));
  }
  auto replies = scripts.Run(commands);
  if (!replies.ok()) return replies.error();
  std::vector<WriteStatus> out;
  for (size_t i = 0; i < ops.size(); ++i) {
    const Reply& r = (*replies)[i];
    if (r.is_error()) return Fail(fmt::format("writing key '{}': {}", ops[i].key, r.str));
    if (r.str == "ok") out.push_back(WriteStatus::kWritten);
    else if (r.str == "done") out.push_back(WriteStatus::kDone);
    else if (r.str == "target_exists") out.push_back(WriteStatus::kTargetExists);
    else out.push_back(WriteStatus::kChanged);
  }
  return out;
}

}  // namespace keyshift
