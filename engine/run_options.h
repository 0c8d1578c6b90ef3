// What a caller hands a migration run (options, output sinks) and what it
// gets back (the report). Plain data, shared by the Migrator and its parts.
#pragma once

#include <functional>
#include <optional>
#include <string>

#include "core/key_change.h"
#include "core/result.h"
#include "core/run_mode.h"
#include "engine/checkpoint.h"
#include "redis/topology.h"

namespace keyshift {

enum class OnError { kAbort, kSkip };

struct RunOptions {
  bool dry_run = false;
  std::optional<int> batch;   // overrides the file's scan.batch
  OnError on_error = OnError::kAbort;
  long long max_errors = 0;   // with kSkip: abort once this many keys failed (0 = no limit)
  int max_cas_retries = 50;   // re-reads of a key the application keeps changing
  // Host mode: Lua states transforming a batch's keys in parallel
  // (transform_pool.h); 1 = the caller's thread alone.
  int workers = 1;
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

}  // namespace keyshift
