// What rollback.cc and rollback_revert.cc share (not part of the interface).
#pragma once

#include <string>

#include "engine/journal.h"
#include "engine/rollback.h"

namespace keyshift {

constexpr size_t kMaxConflictSamples = 50;

struct RollbackLoaded {
  std::string key;
  JournalEntry entry;
};

struct Rollback::Pass {
  long long version;
  const RollbackOptions* options;
  const RollbackSinks* sinks;
  Lock* lock;
  RollbackReport report;
};

// Where the journaled key's value is now: where a rename moved it, or the key itself.
inline const std::string& Holder(const RollbackLoaded& l) {
  return l.entry.action == KeyAction::kRename ? l.entry.other_key : l.key;
}

// Lua 5.1: `parse_entry(entry)` -> format, action, expire_at, post_digest,
// other, dump: the fields of a journal entry (journal.h).
extern const char* const kParseEntryLua;
extern const char* const kRevertScript;

}  // namespace keyshift
