// Reading a copy's source keys (copy_read.h).
#include "engine/copy_read.h"

#include <fmt/format.h>

#include <algorithm>

#include "bindings/migration_script.h"
#include "core/slot.h"
#include "core/text.h"
#include "engine/copy_chunks.h"

namespace keyshift {
namespace {

// DUMP and PEXPIRETIME at one moment; read-only, so a replica or a user
// without write rights on the source will do. 0: the key is gone. A key
// longer than ARGV[1] bytes (string) or ARGV[2] elements is not dumped:
// {type, expiry, "chunks"} sends it the chunked way (copy_chunks.h).
const LuaScript kReadScript(R"(#!lua flags=no-writes
local key = KEYS[1]
local t = redis.call('TYPE', key).ok
if t == 'none' then return 0 end
local len = {string = 'STRLEN', hash = 'HLEN', list = 'LLEN', set = 'SCARD', zset = 'ZCARD'}
if len[t] then
  local n = redis.call(len[t], key)
  local bound = (t == 'string') and tonumber(ARGV[1]) or tonumber(ARGV[2])
  if n > bound then return {t, redis.call('PEXPIRETIME', key), 'chunks'} end
end
return {redis.call('DUMP', key), redis.call('PEXPIRETIME', key)}
)");

}  // namespace

std::string MarksPrefix(const StateKeys& state, const std::string& id) { return state.prefix() + "copied:" + id + ":"; }

std::string MarksOf(const StateKeys& state, const std::string& id, const std::string& key) {
  return MarksPrefix(state, id) + "{" + SlotTag(KeySlot(key)) + "}";
}

std::string ChunksPrefix(const StateKeys& state, const std::string& id) {
  return state.prefix() + "chunks:" + id + ":";
}

std::string ChunksOf(const StateKeys& state, const std::string& id, const std::string& key) {
  return ChunksPrefix(state, id) + "{" + SlotTag(KeySlot(key)) + "}";
}

Result<std::vector<SourceKey>> ReadSource(ScriptCache& source, const std::vector<std::string>& keys,
                                          CopyCounters& counters,
                                          const std::function<bool(const std::string&)>& whole) {
  const std::string never = "9223372036854775807";  // no key is longer: always DUMPed
  std::vector<Command> reads;
  for (const auto& key : keys) {
    bool dump = whole && whole(key);
    reads.push_back(source.Evalsha(kReadScript, {key},
                                   {dump ? never : std::to_string(kChunkedStringBytes),
                                    dump ? never : std::to_string(kChunkedElements)}));
  }
  auto replies = source.Run(reads);
  if (!replies.ok()) return replies.error();
  std::vector<SourceKey> out;
  for (size_t i = 0; i < keys.size(); ++i) {
    const Reply& r = (*replies)[i];
    if (r.is_error())
      return Fail(fmt::format("the source refused reading key {}: {}", QuoteKey(keys[i]), r.str));
    if (r.kind != Reply::kArray || r.elements.size() < 2) {
      ++counters.vanished;
      continue;
    }
    long long expire = std::max(0LL, r.elements[1].integer);
    const std::string& first = r.elements[0].str;  // the payload, or a big key's type
    if (r.elements.size() == 3) out.push_back(SourceKey{keys[i], "", expire, first, 0});
    else out.push_back(SourceKey{keys[i], first, expire, "", static_cast<long long>(first.size())});
  }
  return out;
}

}  // namespace keyshift
