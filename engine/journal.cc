// Journal entry encoding, the same in C++ and in server-side Lua.
#include "engine/journal.h"

#include "engine/scanner.h"

#include <algorithm>
#include <charconv>
#include <cstdlib>

#include <fmt/format.h>

namespace keyshift {

const char* const kCatchupDoneLua = R"LUA(
-- Does key still hold what keyshift wrote (an entry's POSTDIGEST)?
local function holds_post(key, format, post)
  local t = redis.call('TYPE', key).ok
  if not READ_COMMAND[t] then return false end
  if format == '1' then return redis.sha1hex(redis.call('DUMP', key)) == post end
  return digest_of(key, t) == post
end
local function caught_up(jkey, key)
  local entry = redis.call('HGET', jkey, key)
  if not entry then return false end
  local format, action, post = string.match(entry, '^(%d+)|(%a)|[^|]*|([^|]*)|')
  if action == 'C' then return true end
  return action == 'W' and holds_post(key, format, post)
end
-- A rename target keyshift created from this very key, unchanged since.
local function replaceable_target(tjkey, target, key)
  local entry = redis.call('HGET', tjkey, target)
  if not entry then return false end
  local format, action, post, len, at = string.match(entry, '^(%d+)|(%a)|[^|]*|([^|]*)|(%d+)|()')
  if action ~= 'C' or string.sub(entry, at, at + tonumber(len) - 1) ~= key then return false end
  return holds_post(target, format, post)
end
)LUA";

std::string EncodeJournalEntry(const JournalEntry& e) {
  return fmt::format("{}|{}|{}|{}|{}|", e.format, KeyActionCode(e.action), e.expire_at, e.post_digest,
                     e.other_key.size()) +
         e.other_key + e.dump;
}

Result<std::vector<std::string>> ListJournalHashes(Topology* conn, const StateKeys& keys, long long version) {
  return ListKeys(conn, keys.journal_pattern(version));
}

Status DropJournalHashes(Topology* conn, const std::vector<std::string>& hashes) {
  for (size_t i = 0; i < hashes.size(); i += 500) {
    std::vector<Command> unlinks;
    for (size_t j = i; j < hashes.size() && j < i + 500; ++j) unlinks.push_back({"UNLINK", hashes[j]});
    auto replies = conn->Pipeline(unlinks);
    if (!replies.ok()) return replies.error();
    for (size_t j = 0; j < replies->size(); ++j)
      if ((*replies)[j].is_error())
        return Fail(fmt::format("Redis refused UNLINK {}: {}", unlinks[j][1], (*replies)[j].str));
  }
  return Status::Ok();
}

Result<JournalEntry> DecodeJournalEntry(const std::string& text) {
  // Five '|'-terminated header fields; none of them can contain '|'.
  std::string fields[5];
  size_t pos = 0;
  for (auto& field : fields) {
    size_t bar = text.find('|', pos);
    if (bar == std::string::npos) return Fail("corrupt journal entry: truncated header");
    field = text.substr(pos, bar - pos);
    pos = bar + 1;
  }
  if (fields[0] != "1" && fields[0] != "2")
    return Fail(fmt::format("journal entry of unknown format version '{}'", fields[0]));
  JournalEntry e;
  e.format = fields[0][0] - '0';
  auto action = ParseKeyActionCode(fields[1]);  // K (keep) is never journaled
  if (!action.ok() || *action == KeyAction::kKeep) return Fail("corrupt journal entry: bad action");
  e.action = *action;
  auto number = [](const std::string& f, long long* out) {
    auto [end, ec] = std::from_chars(f.data(), f.data() + f.size(), *out);
    return ec == std::errc() && end == f.data() + f.size() && !f.empty();
  };
  long long other_len = 0;
  if (!number(fields[2], &e.expire_at) || e.expire_at < -1) return Fail("corrupt journal entry: bad expiry");
  if (!number(fields[4], &other_len) || other_len < 0 || static_cast<size_t>(other_len) > text.size() - pos)
    return Fail("corrupt journal entry: bad key length");
  e.post_digest = fields[3];
  e.other_key = text.substr(pos, other_len);
  e.dump = text.substr(pos + other_len);
  return e;
}

}  // namespace keyshift
