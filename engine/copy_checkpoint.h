// The copy's checkpoint on the target (format in copy.h): where the source
// scan stands and the counts so far, one hash per source.
#pragma once

#include <optional>
#include <string>

#include "core/result.h"
#include "engine/copy.h"
#include "redis/redis_client.h"

namespace keyshift {

// kCleanup: the scan is over; only the progress marks remain to drop.
enum class CopyPhase { kCopying, kCleanup };

struct CopyCheckpoint {
  std::string cursor = "0";
  std::string run_id;
  std::string match;
  std::string transforms;  // CopyTransforms::Signature(): "" for a plain copy
  std::string started_at;
  CopyPhase phase = CopyPhase::kCopying;
  CopyCounters counters;
  long long batches = 0;  // batches done: the next one's number, in the marks it writes
};

class CopyCheckpointStore {
 public:
  CopyCheckpointStore(RedisConnection* conn, std::string key) : conn_(conn), key_(std::move(key)) {}
  const std::string& key() const { return key_; }
  // nullopt when there is none; an error naming the key when it holds what
  // keyshift never writes.
  Result<std::optional<CopyCheckpoint>> Load();
  Status Save(const CopyCheckpoint& cp);
  Status Delete();

 private:
  RedisConnection* conn_;
  std::string key_;
};

}  // namespace keyshift
