// `keyshift copy --follow`: after the snapshot (copy.h), keeps the target in
// step with the source's writes until --for ends or Ctrl-C.
//
// The subscriber (catchup.h's KeyspaceSubscriber) is started BEFORE the
// snapshot, so a write made while the snapshot runs is either read by it or
// notified afterwards. Each notified key is read again on the source, whole
// (copy_read.h), and written on the target with overwrite semantics: for a
// followed key the source is the truth. A key gone from the source (DEL,
// expiry, eviction, renamed away) is deleted on the target. Keys are taken in
// batches, each key once per batch.
//
// Notifications are at-most-once: a subscriber that lost its connection
// subscribes again and makes a full pass (Resync): every matching source key
// is written again and every matching target key the source lacks is deleted.
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>

#include "core/result.h"
#include "engine/catchup.h"
#include "engine/copy_transform.h"
#include "engine/lock.h"
#include "engine/state_keys.h"
#include "redis/topology.h"

namespace keyshift {

// What --follow must hear on the source: catch-up's classes plus expired (x)
// and evicted (e) keys, which the target must lose too.
inline constexpr const char* kCopyFollowEvents = "Kg$lshzxe";

struct FollowCounters {
  long long notified = 0;  // keys taken from notifications (after dedupe in their batch)
  long long written = 0;   // keys written again on the target
  long long deleted = 0;   // keys deleted on the target because the source lost them
  long long resyncs = 0;   // full passes after a lost subscriber
};

// The lag, reported after every batch and while waiting.
struct FollowLag {
  size_t queued = 0;          // keys notified, not yet written
  long long oldest_ms = 0;    // how long the oldest of them has waited
  const FollowCounters* counters = nullptr;
};

struct FollowOptions {
  std::string match = "*";
  int batch = 500;
  std::string source_id;            // CopyOptions::source_id
  std::optional<long long> for_ms;  // none: until Ctrl-C
  // copy --apply / --revert: each followed key goes through the migrations
  // too (copy_shaped.h: a renamed key is replaced or deleted under its name
  // on the target). The names hashes go when following ends.
  CopyTransforms* transforms = nullptr;
};

// Follows until the deadline or Ctrl-C (not an error), under `lock`.
Result<FollowCounters> FollowSource(Topology* source, Topology* target, const StateKeys& state,
                                    const FollowOptions& options, KeyspaceSubscriber& sub, Lock& lock,
                                    const std::function<void(const FollowLag&)>& lag);

}  // namespace keyshift
