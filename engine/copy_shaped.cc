// The target-side scripts for transformed keys (copy_shaped.h).
#include "engine/copy_shaped.h"

#include "core/slot.h"
#include "engine/writer.h"
#include "redis/script_safety.h"
#include "server_mode/write_lua.h"

namespace keyshift {
namespace {

// Replaces dest with the value in ARGV[first..], after checking `checks`
// and the write's own commands; returns the refusal, or nil once written.
const char* const kReplaceLua = R"LUA(
local function replace(dest, checks, typ, first, expire_at)
  checks[#checks + 1] = {'DEL', dest}
  add_write_checks(checks, dest, typ, expire_at)
  local refusal = refused(checks)
  if refusal then return refusal end
  redis.call('DEL', dest)
  write_value(dest, typ, ARGV, first, expire_at)
end
)LUA";

// KEYS: target name, the source key's progress hash, its names hash.
// ARGV: source key, absolute expiry (-1: none), mode, batch, G (dropped) or
// W, type, elements. Every command is checked before the first write, so a
// refusal leaves neither key nor mark.
const char* const kShapedWriteLua = R"LUA(
local dest, marks, names = KEYS[1], KEYS[2], KEYS[3]
local field, expire_at, mode, batch, code, typ = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6]
local done = redis.call('HGET', marks, field)
if done then return 'd' .. done end
if code == 'G' then
  redis.call('HSET', marks, field, 'g' .. batch)
  return 'ng'
end
local exists = redis.call('EXISTS', dest) == 1
if exists and mode == 'fail' then return 'x' end
local mark = 'c'
if exists then mark = (mode == 'skip') and 's' or 'o' end
if mark == 's' then
  redis.call('HSET', marks, field, 's' .. batch)
  return 'ns'
end
local refusal = replace(dest, {{'HSET', marks}, {'HSET', names}}, typ, 7, expire_at)
if refusal then return refusal end
if dest ~= field then redis.call('HSET', names, field, dest) end
redis.call('HSET', marks, field, mark .. batch)
return 'n' .. mark
)LUA";

// KEYS: target name (the source key's, when gone), its names hash.
// ARGV: source key, absolute expiry (-1: none), G (gone) or W, type, elements.
const char* const kShapedSyncLua = R"LUA(
local dest, names = KEYS[1], KEYS[2]
local field, expire_at, code, typ = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local before = redis.call('HGET', names, field) or field
if code == 'G' then
  redis.call('HDEL', names, field)
  if redis.call('DEL', before) == 1 then return 'd' end
  return '-'
end
local refusal = replace(dest, {{'DEL', before}, {'HSET', names}, {'HDEL', names}}, typ, 5, expire_at)
if refusal then return refusal end
if before ~= dest then redis.call('DEL', before) end
if dest ~= field then redis.call('HSET', names, field, dest) else redis.call('HDEL', names, field) end
return 'w'
)LUA";

const LuaScript& Script(const char* body) {
  static const std::string common = std::string(kScriptSafetyLua) + kJournalEntryLua + kWriteValueLua + kReplaceLua;
  static const LuaScript write(common + kShapedWriteLua);
  static const LuaScript sync(common + kShapedSyncLua);
  return body == kShapedWriteLua ? write : sync;
}

// `first` then the shaped value's type and elements, or "G" for none.
std::vector<std::string> ValueArgs(std::vector<std::string> first, const SourceKey* k) {
  if (!k || !k->shaped || k->shaped->dropped) {
    first.push_back("G");
    return first;
  }
  const Value& v = k->shaped->value;
  first.push_back("W");
  first.push_back(KeyTypeName(v.type));
  AppendValueArgs(v, &first);
  return first;
}

std::string ExpireArg(const SourceKey* k) { return k && k->expire_ms > 0 ? std::to_string(k->expire_ms) : "-1"; }

}  // namespace

std::string NamesPrefix(const StateKeys& state, const std::string& id) { return state.prefix() + "names:" + id + ":"; }

std::string NamesOf(const StateKeys& state, const std::string& id, const std::string& key) {
  return NamesPrefix(state, id) + "{" + SlotTag(KeySlot(key)) + "}";
}

Command ShapedWrite(ScriptCache& target, const StateKeys& state, const std::string& id, const SourceKey& k,
                    OnConflict mode, long long batch) {
  const std::string& dest = k.shaped->dropped ? k.key : k.shaped->key;
  return target.Evalsha(Script(kShapedWriteLua), {dest, MarksOf(state, id, k.key), NamesOf(state, id, k.key)},
                        ValueArgs({k.key, ExpireArg(&k), OnConflictName(mode), std::to_string(batch)}, &k));
}

Command ShapedSync(ScriptCache& target, const StateKeys& state, const std::string& id, const std::string& key,
                   const SourceKey* k) {
  bool write = k && k->shaped && !k->shaped->dropped;
  const std::string& dest = write ? k->shaped->key : key;
  return target.Evalsha(Script(kShapedSyncLua), {dest, NamesOf(state, id, key)},
                        ValueArgs({key, ExpireArg(k)}, k));
}

}  // namespace keyshift
