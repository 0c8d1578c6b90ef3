// Where a batch of keys goes: the one interface the batch loop (migrator.h)
// calls, with a strategy per place the transform runs: the host's sandbox and
// CAS writer (host_strategy.h), or Redis itself (server_strategy.h). Also
// what both need from the run they serve.
#pragma once

#include <string>
#include <vector>

#include "bindings/migration_script.h"
#include "core/key_action.h"
#include "engine/error_policy.h"
#include "engine/lock.h"
#include "engine/run_options.h"
#include "engine/state_keys.h"
#include "redis/script_cache.h"

namespace keyshift {

// Adds one written (or, in a dry-run, would-be-written) key to the counters.
void CountChange(Counters* counters, KeyAction action, long long journal_bytes);

// One migration run as its strategy sees it; outlives the strategy.
struct SinkContext {
  ScriptCache& scripts;
  const StateKeys& keys;
  long long version;
  MigrationScript& script;
  const RunOptions& options;
  const RunSinks& sinks;
  Lock* lock;          // held unless dry-running
  Counters* counters;  // the whole migration's
  ErrorPolicy& errors;
  // Redis Cluster: a script reaches one slot only, so renames stay in their
  // slot and server-mode scripts check the lock per batch (server_runner.h).
  bool cluster = false;
};

class KeySink {
 public:
  virtual ~KeySink() = default;
  // Migrates (or dry-runs) one batch. A key that fails goes to the error
  // policy; an Error is a transport failure and ends the run.
  virtual Status Migrate(const std::vector<std::string>& keys) = 0;
  // This run's re-reads after a CAS lost to the application, and keys handed
  // to the server-side path for that (RunReport).
  virtual long long cas_retries() const { return 0; }
  virtual long long moved_server_side() const { return 0; }
  // What the last Migrate call wrote (changed, deleted, renamed, journal
  // bytes), also when the run stopped inside it: those keys are journaled,
  // so the next run sees them done, not changed.
  virtual Counters written_in_batch() const { return {}; }
};

}  // namespace keyshift
