// Writing keys a copy transformed on the way (copy --apply / --revert,
// copy_transform.h) on the target: not RESTOREd from the source's DUMP but
// written element by element, under their new name, with the source's
// absolute expiry.
//
// A renamed key's name on the target is kept in
//   <prefix>names:<id>:{<slot tag of the source key>}   hash  source key -> target name
// so that --follow, told a source key changed or went, finds what to replace
// or delete there (a rename stays in its slot on a cluster target, so the
// hash, the mark and the key meet in one script).
#pragma once

#include <string>

#include "engine/copy.h"
#include "engine/copy_read.h"
#include "engine/state_keys.h"
#include "redis/script_cache.h"

namespace keyshift {

std::string NamesPrefix(const StateKeys& state, const std::string& id);
std::string NamesOf(const StateKeys& state, const std::string& id, const std::string& key);

// The snapshot's write of `k` (k.shaped set), with the plain write's
// progress mark and --on-conflict rules (copy.cc), judged on the target
// name; a dropped key is only marked. Replies as the plain write script:
// "d"+mark, "n"+letter (g: dropped), "x", or an error reply.
Command ShapedWrite(ScriptCache& target, const StateKeys& state, const std::string& id, const SourceKey& k,
                    OnConflict mode, long long batch);

// --follow's write of source key `key`: its shaped value, or with `k` null
// (gone from the source, or dropped) the deletion of whatever name it has on
// the target. A name the key had before and no longer has goes too.
// Replies "w" written, "d" deleted, "-" nothing to delete.
Command ShapedSync(ScriptCache& target, const StateKeys& state, const std::string& id, const std::string& key,
                   const SourceKey* k);

}  // namespace keyshift
