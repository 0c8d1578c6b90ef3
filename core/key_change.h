// KeyChange: plain data the engine produces (dry-run, rollback, server mode)
// and cli/diff.h renders; kept apart so the engine never sees rendering.
#pragma once

#include <string>

#include "core/key_action.h"
#include "core/value.h"

namespace keyshift {

// One key's fate as a migration computed it, before anything is written.
struct KeyChange {
  std::string key;           // the key as read
  Value before;              // its value (type never kNone here)
  long long before_pttl_ms;  // -1 = no expiry (any negative value reads as none)
  // kCreate: the key does not exist and would be created with `after` (undo
  // of a delete); `before` is unused and the TTL shown is the new key's.
  // Never kKeep: an unchanged key has no KeyChange.
  KeyAction action;
  std::string new_key;  // kRename: the target key
  Value after;          // kRewrite / kRename: the new value (same type as before)
};

// before_pttl_ms for a key whose absolute expiry (ms since the epoch, -1 for
// none) is `expire_at`, as of now.
long long PttlFromExpireAt(long long expire_at);

}  // namespace keyshift
