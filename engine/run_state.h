// A run's state in Redis: its checkpoint (checkpoint.h), loaded to resume an
// interrupted run and saved after every batch together with the batch's
// changes to the failed-keys set, and at the end the outcome: a ledger
// record (ledger.h) and the checkpoint dropped, or kept as failed. A dry-run
// reads and writes none of it. Also the run's clock: time accumulates over
// the runs a migration took.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "core/migration_file.h"
#include "engine/checkpoint.h"
#include "engine/run_options.h"
#include "engine/state_keys.h"
#include "redis/topology.h"

namespace keyshift {

class RunState {
 public:
  RunState(Topology* conn, const StateKeys& keys, const RunOptions& options, long long version);
  // Loads an interrupted run's checkpoint (resumed()) or begins a new one.
  Status Begin();
  bool resumed() const { return resumed_; }
  const Checkpoint& checkpoint() const { return cp_; }
  // The whole migration's counters, earlier runs included.
  Counters& counters() { return cp_.counters; }
  // Saves where the scan starts, before the first batch.
  Status SaveStart(const std::string& position, const std::string& run_id);
  // After a completed batch: the scan position (after a scan batch, not a
  // retry), the keys retried and skipped, and the counters; one round trip.
  void Advance(const std::string& position) { cp_.cursor = position; }
  Status SaveBatch(const std::vector<std::string>& retried, const std::vector<std::string>& skipped);
  long long elapsed_ms() const;
  // Records the outcome of a run that was neither a dry-run nor interrupted.
  Result<RunReport> Finish(const MigrationFile& file, const RunReport& report);

 private:
  Result<RunReport> FinishUp(const MigrationFile& file, const RunReport& report);
  Result<RunReport> FinishCatchup(const RunReport& report);
  Status SaveFailed(const RunReport& report);

  Topology* conn_;
  const StateKeys& keys_;
  RunOptions options_;  // a copy: a run state may outlive the caller's options
  long long version_;
  CheckpointStore store_;
  Checkpoint cp_;
  bool resumed_ = false;
  std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
};

}  // namespace keyshift
