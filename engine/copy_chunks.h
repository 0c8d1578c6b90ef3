// Big keys for `copy` (engine/copy.h): a key longer than a bound is not read
// whole with DUMP but moved in chunks into a temporary key on the target,
// which the copy's write script then renames into place. The client holds
// one chunk at a time, whatever the key's size.
#pragma once

#include <string>

#include "core/result.h"
#include "redis/topology.h"

namespace keyshift {

// Above these a key is copied in chunks: string bytes, aggregate elements.
inline constexpr long long kChunkedStringBytes = 8LL << 20;
inline constexpr long long kChunkedElements = 10'000;

// Copies source `key` (a string, hash, list, set or zset: `type` is TYPE's
// word) into `tmp` on the target, deleting whatever `tmp` held first; both
// routed by key. Returns the element bytes moved. Not a snapshot: writes to
// the key on the source while it is read may show in part (docs/copy.md).
Result<long long> CopyInChunks(Topology* source, Topology* target, const std::string& key, const std::string& type,
                               const std::string& tmp);

}  // namespace keyshift
