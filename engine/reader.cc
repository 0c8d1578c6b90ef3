// The read script and its reply parsing.
#include "engine/reader.h"

#include <algorithm>
#include <cstdlib>

#include <fmt/format.h>

#include "engine/journal.h"
#include "redis/script_safety.h"

namespace keyshift {

// Line 1 is the shebang; kScriptSafetyLua goes after it (ReadScript()).
const char* const kReadScript = R"LUA(
-- keyshift read: KEYS[1] data key, KEYS[2] its journal hash; ARGV[1] '1' to
-- report keys already journaled as done, 'c' for catch-up's done (caught_up).
local key = KEYS[1]
if ARGV[1] == '1' and redis.call('HEXISTS', KEYS[2], key) == 1 then return {'done'} end
if ARGV[1] == 'c' and caught_up(KEYS[2], key) then return {'done'} end
local t = redis.call('TYPE', key).ok
if t == 'none' then return {'none'} end
if not READ_COMMAND[t] then return {'unsupported', t} end
local dump = redis.call('DUMP', key)
local expire_at = string.format('%d', redis.call('PEXPIRETIME', key))
local flat = read_flat(key, t)
return {t, expire_at, content_digest(t, flat), tostring(#dump), flat, redis.sha1hex(dump)}
)LUA";

Value ValueFromReplies(KeyType type, const std::vector<Reply>& el, size_t from, size_t to) {
  Value v;
  v.type = type;
  to = std::min(to, el.size());
  if (type == KeyType::kString) {
    if (from < to) v.str = el[from].str;
  } else if (type == KeyType::kHash || type == KeyType::kZSet) {
    for (size_t i = from; i + 1 < to; i += 2) v.pairs.emplace_back(el[i].str, el[i + 1].str);
  } else {
    for (size_t i = from; i < to; ++i) v.items.push_back(el[i].str);
  }
  v.Normalize();
  return v;
}

Result<KeySnapshot> SnapshotFromReply(const std::string& key, const Reply& reply) {
  if (reply.is_error()) return Fail(fmt::format("reading key '{}': {}", key, reply.str));
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
    if (el.size() < 5) return Fail(fmt::format("reading key '{}': short reply", key));
    s.state = KeySnapshot::kPresent;
    s.type_name = head;
    s.expire_at = std::strtoll(el[1].str.c_str(), nullptr, 10);
    s.digest = el[2].str;
    s.dump_bytes = std::strtoll(el[3].str.c_str(), nullptr, 10);
    s.value = ValueFromReplies(KeyTypeFromName(head), el[4].elements, 0, el[4].elements.size());
    if (el.size() > 5) s.dump_digest = el[5].str;
  }
  return s;
}

Result<std::vector<KeySnapshot>> ReadKeys(ScriptCache& scripts, const StateKeys& state, long long version,
                                          const std::vector<std::string>& keys, bool skip_done, bool catchup) {
  std::vector<Command> commands;
  commands.reserve(keys.size());
  static const LuaScript read_script(std::string("#!lua flags=no-writes\n") + kScriptSafetyLua + kCatchupDoneLua +
                                     kReadScript);
  const char* done_rule = catchup ? "c" : skip_done ? "1" : "0";
  for (const auto& key : keys)
    commands.push_back(scripts.Evalsha(read_script, {key, state.journal(version, key)}, {done_rule}));
  auto replies = scripts.Run(commands);
  if (!replies.ok()) return replies.error();
  std::vector<KeySnapshot> out;
  out.reserve(keys.size());
  for (size_t i = 0; i < keys.size(); ++i) {
    auto snap = SnapshotFromReply(keys[i], (*replies)[i]);
    if (!snap.ok()) return snap.error();
    out.push_back(std::move(snap.value()));
  }
  return out;
}

}  // namespace keyshift
