// Dry-run output (SPEC 4, --dry-run): renders what a migration would do to one
// key as a unified diff that is safe to print on a terminal.
#pragma once

#include <string>

#include "core/key_change.h"

namespace keyshift {

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
