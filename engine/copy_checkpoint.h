// The copy's checkpoint on the target (format in copy.h): where the source
// scan stands and the counts so far, one hash per source.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/result.h"
#include "engine/copy.h"
#include "redis/redis_client.h"

namespace keyshift {

// kRetry: the scan is over but keys a migration failed on remain (the
// failed-keys set); kCleanup: only the progress marks remain to drop.
enum class CopyPhase { kCopying, kRetry, kCleanup };

struct CopyCheckpoint {
  std::string cursor = "0";
  std::string run_id;
  std::string match;
  std::string transforms;  // CopyTransforms::Signature(): "" for a plain copy
  std::string steps;       // CopyTransforms::CountsText(): what each migration did so far
  std::string started_at;
  CopyPhase phase = CopyPhase::kCopying;
  CopyCounters counters;
  long long batches = 0;  // batches done: the next one's number, in the marks it writes
};

class CopyCheckpointStore {
 public:
  CopyCheckpointStore(RedisConnection* conn, std::string key, std::string failed)
      : conn_(conn), key_(std::move(key)), failed_(std::move(failed)) {}
  const std::string& key() const { return key_; }
  // nullopt when there is none; an error naming the key when it holds what
  // keyshift never writes.
  Result<std::optional<CopyCheckpoint>> Load();
  Status Save(const CopyCheckpoint& cp);
  Status Delete();
  // The failed-keys set (copy.h) next to the checkpoint.
  const std::string& failed_key() const { return failed_; }
  Status AddFailed(const std::vector<std::string>& keys);
  Status DropFailed(const std::vector<std::string>& keys);
  Result<std::vector<std::string>> Failed();

 private:
  RedisConnection* conn_;
  std::string key_, failed_;
};

}  // namespace keyshift
