// The read script and its reply parsing.
#include "engine/reader.h"

#include <algorithm>
#include <cstdlib>

#include <fmt/format.h>

#include "core/digest.h"
#include "engine/journal.h"
#include "redis/script_safety.h"

namespace keyshift {

// Line 1 is the shebang; kScriptSafetyLua goes after it (ReadBatch()).
const char* const kReadScript = R"LUA(
-- keyshift read: KEYS are pairs of a data key and its journal hash. ARGV[1]
-- '1' reports keys already journaled as done, 'c' catch-up's done
-- (caught_up), '0' neither; ARGV[2] the scan's type ('' none); ARGV[3] 'd'
-- the DUMP's size and sha1, 's' its size, '' no DUMP; ARGV[4] 'u' when the
-- user may run every command on every key (ScriptCache::ProbeAcl).
local rule, want, dump_rule, unrestricted = ARGV[1], ARGV[2], ARGV[3], ARGV[4] == 'u'

-- A key that exists is never empty, so an empty read means "not this type
-- or gone": only then is TYPE asked.
local function type_and_flat(key)
  if want ~= '' then
    local ok, flat = pcall(read_flat, key, want)
    if ok and flat[1] then return want, flat end
  end
  local t = redis.call('TYPE', key).ok
  if not READ_COMMAND[t] then return t end
  return t, read_flat(key, t)
end
local function read_one(key, jkey, text)
  if rule == '1' and redis.call('HEXISTS', jkey, key) == 1 then return {'done'} end
  if rule == 'c' and caught_up(jkey, key) then return {'done'} end
  local t, flat
  if text then t, flat = 'string', {text} else t, flat = type_and_flat(key) end
  if t == 'none' then return {'none'} end
  if not flat then return {'unsupported', t} end
  local r = {t, string.format('%d', redis.call('PEXPIRETIME', key)), flat}
  if dump_rule ~= '' then
    local dump = redis.call('DUMP', key)
    r[4] = tostring(#dump)
    if dump_rule == 'd' then r[5] = redis.sha1hex(dump) end
  end
  return r
end
-- A string scan reads every value with one MGET (a call per key costs Redis
-- more than the GET itself); a key it has no string for (gone, or another
-- type now) is read on its own. A user without MGET (an ACL written before
-- keyshift used it) reads key by key, as before.
local texts = {}
if want == 'string' and #KEYS > 2 then
  local names = {}
  for i = 1, #KEYS, 2 do names[#names + 1] = KEYS[i] end
  if unrestricted or redis.acl_check_cmd('MGET', unpack(names)) then texts = redis.call('MGET', unpack(names)) end
end
local out = {}
for i = 1, #KEYS, 2 do out[#out + 1] = read_one(KEYS[i], KEYS[i + 1], texts[(i + 1) / 2]) end
return out
)LUA";

namespace {

const LuaScript& ReadScript() {
  static const LuaScript script(std::string("#!lua flags=no-writes\n") + kScriptSafetyLua + kCatchupDoneLua +
                                kReadScript);
  return script;
}

const char* DumpRule(ReadOptions::Dump dump) {
  return dump == ReadOptions::kDumpDigest ? "d" : dump == ReadOptions::kDumpSize ? "s" : "";
}

}  // namespace

std::string FlatContentDigest(const std::string& type, const std::vector<Reply>& flat) {
  std::vector<std::string_view> elements;
  elements.reserve(flat.size());
  for (const Reply& e : flat) elements.push_back(e.str);
  return FlatContentDigest(std::string_view(type), elements);
}

Value ValueFromReplies(KeyType type, const std::vector<Reply>& el, size_t from, size_t to) {
  Value v;
  v.type = type;
  to = std::min(to, el.size());
  if (type == KeyType::kString) {
    if (from < to) v.str = el[from].str;
  } else if (type == KeyType::kHash || type == KeyType::kZSet) {
    v.pairs.reserve((to - from) / 2);
    for (size_t i = from; i + 1 < to; i += 2) v.pairs.emplace_back(el[i].str, el[i + 1].str);
  } else {
    v.items.reserve(to - from);
    for (size_t i = from; i < to; ++i) v.items.push_back(el[i].str);
  }
  v.Normalize();
  return v;
}

namespace {

size_t FlatBytes(const std::vector<Reply>& flat) {
  size_t n = 0;
  for (const Reply& e : flat) n += e.str.size();
  return n;
}

}  // namespace

Result<KeySnapshot> SnapshotFromReply(const std::string& key, const Reply& reply, bool digest) {
  if (reply.is_error()) return KeyRefusal(fmt::format("reading key '{}'", key), reply.str);
  const auto& el = reply.elements;
  if (reply.kind != Reply::kArray || el.empty()) return Fail(fmt::format("reading key '{}': unexpected reply", key));
  KeySnapshot s;
  s.key = key;
  const std::string& head = el[0].str;
  if (head == "done") s.state = KeySnapshot::kDone;
  else if (head == "none") s.state = KeySnapshot::kMissing;
  else if (head == "unsupported") {
    s.state = KeySnapshot::kUnsupported;
    s.type_name = el.size() > 1 ? el[1].str : "?";
  } else {
    if (el.size() < 3) return Fail(fmt::format("reading key '{}': short reply", key));
    s.state = KeySnapshot::kPresent;
    s.type_name = head;
    s.expire_at = std::strtoll(el[1].str.c_str(), nullptr, 10);
    const std::vector<Reply>& flat = el[2].elements;
    if (digest || FlatBytes(flat) > kCasByValueMax) s.digest = FlatContentDigest(head, flat);
    s.value = ValueFromReplies(KeyTypeFromName(head), flat, 0, flat.size());
    if (el.size() > 3) s.dump_bytes = std::strtoll(el[3].str.c_str(), nullptr, 10);
    if (el.size() > 4) s.dump_digest = el[4].str;
  }
  return s;
}

Command ReadCall(ScriptCache& scripts, const StateKeys& state, long long version,
                    const std::vector<std::string>& keys, size_t from, size_t to, const ReadOptions& options) {
  std::vector<std::string> names;
  names.reserve(2 * (to - from));
  for (size_t i = from; i < to; ++i) names.insert(names.end(), {keys[i], state.journal(version, keys[i])});
  const char* done_rule = options.catchup ? "c" : options.skip_done ? "1" : "0";
  return scripts.Evalsha(ReadScript(), std::move(names),
                         {done_rule, options.type ? KeyTypeName(*options.type) : "", DumpRule(options.dump),
                          scripts.acl_unrestricted() ? "u" : ""});
}

Status SnapshotsFromCall(const std::vector<std::string>& keys, size_t from, size_t to, const Reply& reply,
                         std::vector<KeySnapshot>* out, bool digest) {
  if (reply.is_error()) return KeyRefusal(CallKeys("reading", keys[from], keys[to - 1], to - from), reply.str);
  if (reply.kind != Reply::kArray || reply.elements.size() != to - from)
    return Fail(fmt::format("reading key '{}': unexpected reply", keys[from]));
  for (size_t i = from; i < to; ++i) {
    auto snap = SnapshotFromReply(keys[i], reply.elements[i - from], digest);
    if (!snap.ok()) return snap.error();
    out->push_back(std::move(snap.value()));
  }
  return Status::Ok();
}

Status NameRefusedKey(ScriptCache& scripts, const StateKeys& state, long long version,
                      const std::vector<std::string>& keys, size_t from, size_t to, const ReadOptions& options,
                      const Reply& reply, const Status& whole) {
  if (to - from < 2 || !reply.is_error() || !IsPermissionRefusal(reply.str)) return whole;
  ReadOptions one = options;
  one.per_call = 1;
  auto each = ReadBatch(scripts, state, version, std::vector<std::string>(keys.begin() + from, keys.begin() + to), one);
  return each.ok() ? whole : Status(each.error());
}

Result<std::vector<KeySnapshot>> ReadBatch(ScriptCache& scripts, const StateKeys& state, long long version,
                                           const std::vector<std::string>& keys, const ReadOptions& options) {
  size_t per_call = std::max<size_t>(1, options.per_call);
  std::vector<Command> commands;
  commands.reserve(keys.size() / per_call + 1);
  for (size_t from = 0; from < keys.size(); from += per_call)
    commands.push_back(ReadCall(scripts, state, version, keys, from, std::min(keys.size(), from + per_call), options));
  auto replies = scripts.Run(commands);
  if (!replies.ok()) return replies.error();
  std::vector<KeySnapshot> out;
  out.reserve(keys.size());
  for (size_t c = 0; c < commands.size(); ++c) {
    size_t from = c * per_call;
    size_t to = std::min(keys.size(), from + per_call);
    if (Status st = SnapshotsFromCall(keys, from, to, (*replies)[c], &out, options.digest); !st)
      return NameRefusedKey(scripts, state, version, keys, from, to, options, (*replies)[c], st).error();
  }
  return out;
}

Result<std::vector<KeySnapshot>> ReadKeys(ScriptCache& scripts, const StateKeys& state, long long version,
                                          const std::vector<std::string>& keys, bool skip_done, bool catchup) {
  ReadOptions options;
  options.skip_done = skip_done;
  options.catchup = catchup;
  return ReadBatch(scripts, state, version, keys, options);
}

}  // namespace keyshift
