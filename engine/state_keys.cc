// Validation of the prefix and the journal key of a data key.
#include "engine/state_keys.h"

#include <charconv>

#include <fmt/format.h>

#include "core/slot.h"

namespace keyshift {

Status StateKeys::Validate(const std::string& prefix) {
  if (prefix.empty()) return UsageError("--prefix must not be empty");
  if (prefix.find_first_of("{}*?[]\\") != std::string::npos)
    return UsageError(fmt::format("--prefix '{}' must not contain {{ }} * ? [ ] or \\", prefix));
  return Status::Ok();
}

// Built with one allocation: it runs twice per key migrated.
std::string StateKeys::journal(long long version, const std::string& key) const {
  char number[24];
  auto end = std::to_chars(number, number + sizeof number, version).ptr;
  const std::string& tag = SlotTag(KeySlot(key));
  std::string out;
  out.reserve(prefix_.size() + 2 + (end - number) + 1 + tag.size() + 2);
  out.append(prefix_).append("j:").append(number, end).append(":{").append(tag).append("}");
  return out;
}

}  // namespace keyshift

namespace keyshift {

std::optional<long long> ParseStateInt(std::string_view text) {
  long long v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return v;
}

Result<Reply> CallState(RedisConnection* conn, const Command& command, const std::string& key) {
  auto replies = conn->Pipeline({command});
  if (!replies.ok()) return replies.error();
  Reply& reply = replies->front();
  if (reply.is_error()) return StateRefusal(command, reply, key);
  return std::move(reply);
}

Error StateRefusal(const Command& command, const Reply& reply, const std::string& key) {
  if (reply.str.rfind("WRONGTYPE", 0) == 0)
    return CorruptState(key, fmt::format("is of a type keyshift does not use there ({} refused it)", command[0]));
  return Fail(fmt::format("{} {}: {}", command[0], key, reply.str));
}

bool IsPermissionRefusal(const std::string& redis_error) { return redis_error.rfind("NOPERM", 0) == 0; }

Error KeyRefusal(const std::string& what, const std::string& redis_error) {
  // keyshift's own refusal (script_safety.h) already says where the ACL is listed.
  if (!IsPermissionRefusal(redis_error) || redis_error.find("docs/cli.md") != std::string::npos)
    return Fail(fmt::format("{}: {}", what, redis_error));
  return Fail(fmt::format("{}: {} (the Redis user keyshift runs as may not touch this key; docs/cli.md lists the "
                          "ACL keyshift needs)",
                          what, redis_error));
}

std::string CallKeys(const char* verb, const std::string& first, const std::string& last, size_t n) {
  if (n == 1) return fmt::format("{} key '{}'", verb, first);
  return fmt::format("{} keys '{}' to '{}' ({} keys in one script call)", verb, first, last, n);
}

Error CorruptState(const std::string& key, const std::string& what) {
  return UsageError(fmt::format("keyshift's state key '{}' {}: keyshift never writes that. Repair the key, or delete "
                                "it if you know what it recorded",
                                key, what));
}

}  // namespace keyshift
