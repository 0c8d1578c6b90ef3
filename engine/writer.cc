// The CAS write script and the batch writer.
#include "engine/writer.h"

#include <algorithm>
#include <cstdlib>
#include <iterator>

#include <fmt/format.h>

#include "engine/journal.h"
#include "engine/rollback.h"
#include "redis/script_safety.h"

namespace keyshift {

// Several ops per call. KEYS: per op its data key, journal hash, target key
// and target's journal hash. ARGV: per op the count of its arguments (n),
// the content digest of what it writes ('' to read it back), then n
// arguments: the CAS content ('=': compared by value, else the content
// digest), expire_at, action (W|D|R), type, m, the m elements as read (by
// value) and the elements to write; last, 'u' when the user is unrestricted
// (no permission checks, script_safety.h) or ''. Returns per op 'ok:' and the
// previous DUMP's size, 'done', 'changed', 'target_exists', or 'E' and the
// error: one op's failure (a refused command) leaves the others' results standing.
const char* const kWriteScript = R"LUA(-- keyshift CAS write
-- A rewritten hash changes in place: only the fields that differ from `now`
-- (its elements, as the CAS found them) are set and the dropped ones deleted,
-- set first so that it is never empty (and keeps its TTL). A DEL and every
-- field written again would cost Redis per field, not per change.
local function send_in_chunks(command, key, items)
  for i = 1, #items, 1000 do  -- unpack has a stack limit; pairs never split
    redis.call(command, key, unpack(items, i, math.min(i + 999, #items)))
  end
end
local function rewrite_hash(key, now, first, last, post)
  local old = {}
  for i = 1, #now, 2 do old[now[i]] = now[i + 1] end
  local set = {}
  for i = first, last, 2 do
    local f, v = ARGV[i], ARGV[i + 1]
    if old[f] ~= v then set[#set + 1] = f; set[#set + 1] = v end
    old[f] = nil
  end
  local gone = {}
  for f in pairs(old) do gone[#gone + 1] = f end
  send_in_chunks('HSET', key, set)
  send_in_chunks('HDEL', key, gone)
  if post ~= '' then return post end
  return digest_of(key, 'hash')
end
local function write_one(key, jkey, target, tjkey, first, last, post)
  local cas, expire_at, action, typ = ARGV[first], ARGV[first + 1], ARGV[first + 2], ARGV[first + 3]
  local m = tonumber(ARGV[first + 4])
  if already_done(jkey, key) then return 'done' end
  local dump = redis.call('DUMP', key)
  if not dump or string.format('%d', redis.call('PEXPIRETIME', key)) ~= expire_at then return 'changed' end
  local same, now = content_is(key, typ, cas, ARGV, first + 5, m)
  if not same then return 'changed' end
  local old_target
  if action == 'R' and redis.call('EXISTS', target) == 1 then
    if not may_replace(tjkey, target, key) then return 'target_exists' end
    local refusal = refused({{'DEL', target}, {'RESTORE', target}, {'HSET', tjkey}})
    if refusal then return refusal end
    old_target = {redis.call('DUMP', target), redis.call('PEXPIRETIME', target), redis.call('HGET', tjkey, target)}
    redis.call('DEL', target)
  end
  local in_place = action == 'W' and typ == 'hash'
  local function write(dest)
    if in_place then return rewrite_hash(dest, now, first + 5 + m, last, post) end
    return write_value(dest, typ, ARGV, first + 5 + m, expire_at, last, post)
  end
  local refusal = record_change(key, jkey, action, typ, target, tjkey, expire_at, dump, write, in_place)
  if refusal and old_target then  -- put back the target this call removed
    local at = old_target[2] == -1 and 0 or old_target[2]
    redis.call('RESTORE', target, at, old_target[1], 'REPLACE', 'ABSTTL')
    redis.call('HSET', tjkey, target, old_target[3])
  end
  if refusal then return refusal end
  return 'ok:' .. #dump
end
acl_unrestricted = ARGV[#ARGV] == 'u'
local out, at = {}, 1
for i = 1, #KEYS, 4 do
  local n = tonumber(ARGV[at])
  local ok, r = pcall(write_one, KEYS[i], KEYS[i + 1], KEYS[i + 2], KEYS[i + 3], at + 2, at + 1 + n, ARGV[at + 1])
  if not ok or type(r) == 'table' then
    local e = type(r) == 'table' and (r.err or r.ok) or r
    r = 'E' .. tostring(e)
  end
  out[#out + 1] = r
  at = at + n + 2
end
return out
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

void AppendFlatArgs(const Value& v, std::vector<std::string>* args) {
  if (v.type == KeyType::kZSet) {  // as ZRANGE WITHSCORES replies: member, score
    for (const auto& [member, score] : v.pairs) args->insert(args->end(), {member, score});
    return;
  }
  AppendValueArgs(v, args);
}

std::vector<std::string> WriteArgs(const WriteOp& op) {
  const CasCondition& c = op.expect;
  std::vector<std::string> args{c.content ? "=" : c.digest, std::to_string(c.expire_at), KeyActionCode(op.action),
                                c.type_name, "0"};
  if (c.content) {
    AppendFlatArgs(*c.content, &args);
    args[4] = std::to_string(args.size() - 5);
  }
  if (op.action != KeyAction::kDelete) AppendValueArgs(op.value, &args);
  return args;
}

namespace {

// The content digest of what `op` writes, as Redis will hold it: a string,
// hash, list or set holds exactly the elements written (a hash's fields and
// a set's members are unique in a Value). Redis reformats zset scores
// ("1.0" reads back as "1"): "" lets the script read those back.
std::string PostDigest(const WriteOp& op) {
  if (op.action == KeyAction::kDelete || op.value.type == KeyType::kZSet) return "";
  return ContentDigest(op.value);
}

Result<WriteResult> ResultOf(const std::string& key, const Reply& r) {
  if (r.is_error()) return KeyRefusal(fmt::format("writing key '{}'", key), r.str);
  if (r.str.compare(0, 3, "ok:") == 0) return WriteResult{WriteStatus::kWritten, std::atoll(r.str.c_str() + 3)};
  if (r.str == "done") return WriteResult{WriteStatus::kDone, 0};
  if (r.str == "target_exists") return WriteResult{WriteStatus::kTargetExists, 0};
  if (r.str == "changed") return WriteResult{WriteStatus::kChanged, 0};
  if (r.str.empty()) return Fail(fmt::format("writing key '{}': unexpected reply", key));
  return KeyRefusal(fmt::format("writing key '{}'", key), r.str.substr(1));
}

}  // namespace

Command WriteCall(ScriptCache& scripts, const StateKeys& state, long long version, const std::vector<WriteOp>& ops,
                     size_t from, size_t to, bool catchup) {
  std::vector<std::string> names, args;
  names.reserve(4 * (to - from));
  for (size_t i = from; i < to; ++i) {
    const WriteOp& op = ops[i];
    const std::string& target = op.action == KeyAction::kRename ? op.new_key : op.key;
    names.insert(names.end(), {op.key, state.journal(version, op.key), target, state.journal(version, target)});
    std::vector<std::string> own = WriteArgs(op);
    args.push_back(std::to_string(own.size()));
    args.push_back(PostDigest(op));
    std::move(own.begin(), own.end(), std::back_inserter(args));
  }
  args.push_back(scripts.acl_unrestricted() ? "u" : "");
  return scripts.Evalsha(WriteScript(catchup), std::move(names), std::move(args));
}

Status ResultsFromCall(const std::vector<WriteOp>& ops, size_t from, size_t to, const Reply& reply,
                       std::vector<WriteResult>* out) {
  if (reply.is_error())  // the call as a whole: a NOPERM on one of its keys names none
    return KeyRefusal(CallKeys("writing", ops[from].key, ops[to - 1].key, to - from), reply.str);
  if (reply.kind != Reply::kArray || reply.elements.size() != to - from)
    return Fail(fmt::format("writing key '{}': unexpected reply", ops[from].key));
  for (size_t i = from; i < to; ++i) {
    auto one = ResultOf(ops[i].key, reply.elements[i - from]);
    if (!one.ok()) return one.error();
    out->push_back(*one);
  }
  return Status::Ok();
}

Result<std::vector<WriteResult>> WriteBatch(ScriptCache& scripts, const StateKeys& state, long long version,
                                            const std::vector<WriteOp>& ops, bool catchup, size_t per_call) {
  per_call = std::max<size_t>(1, per_call);
  std::vector<Command> commands;
  for (size_t from = 0; from < ops.size(); from += per_call)
    commands.push_back(WriteCall(scripts, state, version, ops, from, std::min(ops.size(), from + per_call), catchup));
  auto replies = scripts.Run(commands);
  if (!replies.ok()) return replies.error();
  std::vector<WriteResult> out;
  out.reserve(ops.size());
  for (size_t c = 0; c < commands.size(); ++c) {
    size_t from = c * per_call;
    if (Status st = ResultsFromCall(ops, from, std::min(ops.size(), from + per_call), (*replies)[c], &out); !st)
      return st.error();
  }
  return out;
}

}  // namespace keyshift
