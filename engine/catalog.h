// Every migration's state, joining the directory (files) with what Redis
// records (ledger, checkpoints, lock): what `status` shows and what `up`,
// `check` and `verify` decide from.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/result.h"
#include "engine/checkpoint.h"
#include "engine/directory.h"
#include "engine/ledger.h"
#include "engine/state_keys.h"
#include "redis/redis_client.h"
#include "redis/topology.h"

namespace keyshift {

enum class MigrationStatus {
  kPending,      // not applied (or rolled back)
  kApplied,
  kRunning,      // a checkpoint exists and a runner holds the lock
  kInterrupted,  // a checkpoint exists and nobody runs it: `up` resumes it
  kFailed,       // the last run stopped on a failing key: `up` resumes it
  kDrifted,      // applied, but the file changed (or was removed) since
};

const char* MigrationStatusName(MigrationStatus status);

struct MigrationState {
  long long version = 0;
  std::string name;
  const MigrationFile* file = nullptr;  // null when the file is gone
  std::optional<LedgerRecord> record;
  std::optional<Checkpoint> checkpoint;
  MigrationStatus status = MigrationStatus::kPending;
  bool applied() const { return status == MigrationStatus::kApplied || status == MigrationStatus::kDrifted; }
  // Keys an applied run left as they were (--on-error skip); `up` retries them.
  long long failed_keys() const {
    return record && record->status == LedgerStatus::kApplied ? record->counters.failed : 0;
  }
  // Applied, but with failed keys for `up` to retry.
  bool retryable() const { return status == MigrationStatus::kApplied && failed_keys() > 0; }
};

struct Catalog {
  std::vector<MigrationState> migrations;  // by version: files and ledger entries alike
  std::optional<std::string> lock_holder;  // raw lock value when held
};

Result<Catalog> LoadCatalog(RedisConnection* conn, const StateKeys& keys, const MigrationDir& dir);

// What most commands start from: the directory, a connection, and the two
// joined. Not movable: the catalog points into `dir`.
struct Workspace {
  MigrationDir dir;
  Topology* conn = nullptr;  // keyed commands routed; Primaries() for node-level ones
  Catalog catalog;
};

}  // namespace keyshift
