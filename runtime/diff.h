// Dry-run output (SPEC 4, --dry-run): renders what a migration would do to one
// key as a unified diff that is safe to print on a terminal.
#pragma once

#include <string>

#include "runtime/value.h"

namespace keyshift {

// One key's fate as a migration computed it, before anything is written.
struct KeyChange {
  std::string key;           // the key as read
  Value before;              // its value (type never kNone here)
  long long before_pttl_ms;  // -1 = no expiry (any negative value reads as none)
  // kCreate: the key does not exist and would be created with `after` (undo
  // of a delete); `before` is unused and the TTL shown is the new key's.
  enum Action { kRewrite, kDelete, kRename, kCreate } action;
  std::string new_key;  // kRename: the target key
  Value after;          // kRewrite / kRename: the new value (same type as before)
};

// before_pttl_ms for a key whose absolute expiry (ms since the epoch, -1 for
// none) is `expire_at`, as of now.
long long PttlFromExpireAt(long long expire_at);

struct DiffStyle {
  bool color = false;  // ANSI colors; callers set it only when stdout is a terminal
  int context = 3;     // unchanged lines around each change in line diffs
};

// The diff for one key, every line ending in '\n':
//   --- KEY / +++ KEY (rename: old / new key; delete: +++ /dev/null)
//   @@ hash, ttl 3600s @@          what the key is, once, for context
//   -field: old / +field: new      the changes, by type
// Hashes and zsets are diffed field by field, sets member by member, lists and
// multi-line strings line by line with @@ -a,b +c,d @@ hunks. Printed bytes
// are escaped (\xNN) when not printable and cut at 200 bytes per line.
std::string RenderDiff(const KeyChange& change, const DiffStyle& style);

}  // namespace keyshift
