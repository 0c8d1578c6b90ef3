// Runs one migration over its keys: scan a batch, read it, transform each key
// in the sandbox, then write the changes through the CAS writer (or, in a
// dry-run, render them as diffs), checkpointing after every batch.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "bindings/migration_script.h"
#include "core/key_change.h"
#include "core/result.h"
#include "core/run_mode.h"
#include "engine/checkpoint.h"
#include "engine/directory.h"
#include "engine/lock.h"
#include "engine/reader.h"
#include "engine/scanner.h"
#include "engine/server_runner.h"
#include "engine/state_keys.h"
#include "engine/writer.h"
#include "redis/redis_client.h"
#include "redis/topology.h"
#include "redis/script_cache.h"

namespace keyshift {

// Adds one written (or, in a dry-run, would-be-written) key to the counters.
void CountChange(Counters* counters, KeyAction action, long long journal_bytes);

enum class OnError { kAbort, kSkip };

struct RunOptions {
  bool dry_run = false;
  std::optional<int> batch;   // overrides the file's scan.batch
  OnError on_error = OnError::kAbort;
  long long max_errors = 0;   // with kSkip: abort once this many keys failed (0 = no limit)
  int max_cas_retries = 50;   // re-reads of a key the application keeps changing
  RunMode mode = RunMode::kHost;  // kServer: the transform runs inside Redis (server_runner.h)
  ConnectionFactory connect;   // server mode: the script watchdog's own connection
  // Before every batch of a run that writes: an error stops the run there,
  // as a failed run (checkpoint saved, resumable). memory_guard.h.
  std::function<Status()> guard;
  // `catchup V` (catchup.h): "done" means caught up (journal.h), its own
  // checkpoint, always the host path (the CAS writer), and no ledger record
  // of its own: the caller adds its counts to V's.
  bool catchup = false;
  // An applied migration that left failed keys (--on-error skip): only those
  // keys are retried, no rescan; the counters continue from its ledger's.
  std::optional<Counters> retry_failed;
};

// Where a run's output goes; every member may be empty.
struct RunSinks {
  std::function<void(const KeyChange&)> diff;            // dry-run: one per key that would change
  std::function<void(const std::string& key, const std::string& message)> key_error;  // a key --on-error skip left
  std::function<void(const Counters&)> progress;         // after every batch
};

struct RunReport {
  bool ok = true;
  bool resumed = false;
  bool interrupted = false;  // stopped at a batch boundary by a signal or a closed pipe: checkpoint saved
  Counters counters;       // of the whole migration, earlier interrupted runs included
  long long duration_ms = 0;
  Error error;             // when !ok
  std::string failed_key;  // when !ok because of one key
  // This run only (not persisted): re-reads after a CAS lost to the
  // application, and keys handed to the server-side path for it.
  long long cas_retries = 0;
  long long moved_server_side = 0;
};

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
// The state one batch needs; lives for one migration run.
struct Batch {
  long long version;
  MigrationScript* script;
  const RunOptions* options;
  const RunSinks* sinks;
  Lock* lock;
  Counters* counters;
  std::vector<std::string> keys;
  // Set when the run must stop at this batch (abort policy or error budget).
  std::optional<Error> stop;
  std::string stop_key;
  bool first = true;  // no key has been pre-flighted yet (server mode)
  std::vector<std::string> skipped;  // keys --on-error skip left alone in this batch
  // --max-errors reached: the batch still completes like any skip batch (so
  // the summary, the failed-keys set, the ledger and `status` count the same
  // keys), then the run stops.
  std::optional<Error> over_budget;
  std::string over_budget_key;
  long long cas_retries = 0;        // RunReport::cas_retries
  long long moved_server_side = 0;  // RunReport::moved_server_side
};

  Status ProcessBatch(Batch& batch);
  Status Pass(Batch& batch, std::vector<std::string>* pending);
  Status MigrateHotKey(Batch& batch, const std::string& key);
  // Counts one server-side result (server mode and hot keys alike).
  void Account(Batch& batch, const ServerKeyResult& result);
  // After a batch: records its skipped keys (and, for a retry batch, drops
  // the keys it retried) with the checkpoint, in one round trip.
  Status SaveProgress(Batch& batch, long long version, const Checkpoint& cp,
                      const std::vector<std::string>* retried);
  // Keys an earlier run skipped, in batches, for a resumed run to retry first.
  Result<std::vector<std::vector<std::string>>> SkippedKeys(long long version, size_t batch_size);
  static constexpr int kHotKeyAttempts = 5;  // CAS attempts before a portable migration goes server-side
  Status TransformAll(Batch& batch, const std::vector<KeySnapshot>& snaps, std::vector<WriteOp>* ops);
  Status KeyFailed(Batch& batch, const std::string& key, const Error& error);
  static void ReportStop(const Batch& batch, RunReport* report);  // a stopped batch fails the report
  void TargetExists(Batch& batch, const WriteOp& op);  // KeyFailed: the rename target already exists
  Status ApplyWrites(Batch& batch, const std::vector<WriteOp>& ops, std::vector<std::string>* changed);
  // Server mode: the whole step runs in Redis, one script call per key.
  Status ServerBatch(Batch& batch);
  // Dry-run: a rename onto an existing key fails in a real run; say so now.
  Status DropExistingTargets(Batch& batch, std::vector<WriteOp>* ops);
  // Server mode, first batch with a key: the transform runs in the host
  // sandbox first, so an obvious error or runaway never reaches the server.
  Status Preflight(Batch& batch);
  // Records the outcome: ledger entry, and checkpoint dropped (applied) or marked failed.
  Result<RunReport> Finish(const MigrationFile& file, const RunOptions& options, Checkpoint& cp, RunReport report,
                           CheckpointStore& checkpoints);

  Result<RunReport> FinishCatchup(long long version, Checkpoint& cp, RunReport report, CheckpointStore& checkpoints);

  Topology* conn_;
  const StateKeys& keys_;
  ScriptCache scripts_;
  std::unique_ptr<ServerRunner> server_;
  std::unique_ptr<ServerRunner> hot_keys_;  // host mode, portable migration: for keys the CAS cannot catch
};

}  // namespace keyshift
