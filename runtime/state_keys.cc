// Validation of the prefix and the journal key of a data key.
#include "runtime/state_keys.h"

#include <fmt/format.h>

#include "runtime/slot.h"

namespace keyshift {

Status StateKeys::Validate(const std::string& prefix) {
  if (prefix.empty()) return UsageError("--prefix must not be empty");
  if (prefix.find_first_of("{}*?[]\\") != std::string::npos)
    return UsageError(fmt::format("--prefix '{}' must not contain {{ }} * ? [ ] or \\", prefix));
  return Status::Ok();
}

std::string StateKeys::journal(long long version, const std::string& key) const {
  return journal_prefix(version) + "{" + SlotTag(KeySlot(key)) + "}";
}

}  // namespace keyshift
