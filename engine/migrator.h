// Runs one migration over its keys: the batch loop. Each batch comes from a
// KeySource (key_source.h: keys an earlier run skipped, then the scan), goes
// through a KeySink (key_sink.h: the host strategy's read -> transform -> CAS
// write, or server mode), has its key failures judged by the ErrorPolicy
// (error_policy.h) and is checkpointed by the RunState (run_state.h), which
// also records the outcome in the ledger.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "bindings/migration_script.h"
#include "core/migration_file.h"
#include "core/result.h"
#include "engine/key_sink.h"
#include "engine/key_source.h"
#include "engine/lock.h"
#include "engine/run_options.h"
#include "engine/run_state.h"
#include "engine/state_keys.h"
#include "redis/script_cache.h"
#include "redis/topology.h"

namespace keyshift {

class Migrator {
 public:
  Migrator(Topology* conn, const StateKeys& keys) : conn_(conn), keys_(keys), scripts_(conn) {}
  // Applies (or dry-runs) `file`. `lock` must be held unless dry-running.
  // A transport error is returned as an Error; a failed migration is a report with ok == false.
  Result<RunReport> Up(const MigrationFile& file, MigrationScript& script, const RunOptions& options, Lock* lock,
                       const RunSinks& sinks);
  // `catchup --follow` (catchup.h): runs `keys` the application just wrote
  // through the catch-up path (options.catchup), adding to `counters`. A key
  // that fails stops the caller: the report says which (ok == false).
  Result<RunReport> CatchKeys(const MigrationFile& file, MigrationScript& script, const RunOptions& options,
                              Lock* lock, const RunSinks& sinks, std::vector<std::string> keys, Counters* counters);
  Topology* connection() const { return conn_; }

 private:
  // Where the transform runs: server mode, or the host (with the hot-key
  // fallback for a portable migration that writes).
  Result<std::unique_ptr<KeySink>> MakeSink(const SinkContext& ctx, const MigrationFile& file);
  // The scan from where an interrupted run stopped, or from the start.
  Result<std::unique_ptr<KeyScan>> ResumeScan(const RunState& state, const ScanSpec& spec, int batch);

  Topology* conn_;
  const StateKeys& keys_;
  ScriptCache scripts_;
};

}  // namespace keyshift
