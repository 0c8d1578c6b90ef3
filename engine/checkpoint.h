// Progress of a running migration, saved after every batch so that `up`
// after an interruption (kill -9, lost connection, failed key) resumes.
//
// Format: hash <prefix>{state}:ckpt:<V> with fields
//   cursor     SCAN cursor to continue from ("0" with started=1 never happens:
//              a finished scan deletes the checkpoint)
//   scanned changed deleted renamed failed skipped   counters so far
//   started_at  ISO-8601 UTC of the first run     by  user@host of the last run
//   status     "running" or "failed"; error, failed_key for the last failure
//   run_id     the Redis server's run_id when the cursor was saved: a cursor
//              means nothing to another server process (restart, failover),
//              so a resume on a different run_id rescans from 0
// The journal (journal.h), not the cursor, is what prevents double
// application: the cursor only saves rescanning work.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "core/result.h"
#include "engine/state_keys.h"
#include "redis/redis_client.h"

namespace keyshift {

// A counter's field name in a state hash and its member, so that load and
// save walk one table and cannot disagree.
template <typename T>
struct CountField {
  const char* name;
  long long T::*member;
};

struct Counters {
  long long scanned = 0, changed = 0, deleted = 0, renamed = 0, failed = 0, skipped = 0;
  long long journal_bytes = 0;  // DUMP bytes journaled (or that would be, in a dry-run)
  Counters& operator+=(const Counters& o);
};

// A checkpoint's "status" (stored as CheckpointStatusName: running, failed).
enum class CheckpointStatus { kRunning, kFailed };

const char* CheckpointStatusName(CheckpointStatus status);
// An unknown word is an error naming it.
Result<CheckpointStatus> ParseCheckpointStatus(std::string_view word);

struct Checkpoint {
  std::string cursor = "0";
  Counters counters;
  std::string started_at;
  std::string by;
  CheckpointStatus status = CheckpointStatus::kRunning;  // also when the field is missing
  std::string error;
  std::string failed_key;
  long long elapsed_ms = 0;  // run time accumulated over earlier runs
  std::string run_id;
};

// A checkpoint from an HGETALL reply of its hash `key`; nullopt when there is
// none; an error naming the key when it holds what keyshift never writes.
Result<std::optional<Checkpoint>> ParseCheckpoint(const Reply& reply, const std::string& key);

class CheckpointStore {
 public:
  // `catchup`: the checkpoint of `catchup V` instead of `up`'s.
  CheckpointStore(RedisConnection* conn, const StateKeys& keys, bool catchup = false)
      : conn_(conn), keys_(keys), catchup_(catchup) {}
  Result<std::optional<Checkpoint>> Load(long long version);
  // The command that saves `cp` (to pipeline with other per-batch commands).
  Command SaveCommand(long long version, const Checkpoint& cp) const;
  Status Save(long long version, const Checkpoint& cp);
  Status Delete(long long version);

 private:
  std::string Key(long long version) const {
    return catchup_ ? keys_.catchup_checkpoint(version) : keys_.checkpoint(version);
  }
  RedisConnection* conn_;
  const StateKeys& keys_;
  bool catchup_;
};

}  // namespace keyshift
