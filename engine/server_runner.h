// Server mode's batch step: EVALSHA calls of the migration's server script,
// several keys each (keys of one slot on a cluster), pipelined, under the
// script watchdog; the replies turned into per-key results the server
// strategy (server_strategy.h) counts, renders or reports. A call killed by
// the watchdog wrote nothing; its keys are sent again one per call, so only
// the runaway key fails.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "bindings/migration_script.h"
#include "core/key_action.h"
#include "core/key_change.h"
#include "core/result.h"
#include "engine/directory.h"
#include "engine/lock.h"
#include "engine/state_keys.h"
#include "redis/script_cache.h"
#include "server_mode/script_watchdog.h"
#include "server_mode/server_script.h"

namespace keyshift {

struct ServerKeyResult {
  enum Kind { kDone, kUntouched, kWritten, kChange, kFailed };
  Kind kind = kUntouched;
  std::string key;
  KeyAction action = KeyAction::kRewrite;  // kWritten, kChange: kRewrite, kDelete or kRename
  long long journal_bytes = 0;
  KeyChange change;        // kChange (dry-run)
  Error error;             // kFailed
};

// Keys per server-side call: enough to make the script's fixed cost (the
// stdlib it defines on every call) small per key, few enough that a call
// stays short next to a key's time limit.
inline constexpr size_t kServerKeysPerCall = 64;

class ServerRunner {
 public:
  // `cluster`: keys live in many slots, so the lock (another slot) is not
  // checked per key, and a rename must stay within its key's slot.
  ServerRunner(ScriptCache& scripts, const StateKeys& keys, const MigrationFile& file, const MigrationInfo& info,
               ConnectionFactory watchdog_connection, bool cluster = false);
  // `lock` (unless dry-running): every call checks that the lease is this
  // runner's, so pipelined calls never write under another runner's lock.
  Result<std::vector<ServerKeyResult>> Run(const std::vector<std::string>& keys, bool dry_run,
                                           const Lock* lock = nullptr);

 private:
  struct Call {
    std::vector<size_t> keys;  // indexes into Run's keys
  };
  std::vector<Call> Calls(const std::vector<std::string>& keys, const std::vector<size_t>& todo,
                          const std::vector<bool>& alone) const;
  Command CallCommand(const std::vector<std::string>& keys, const Call& call, bool dry_run, const Lock* lock);
  ServerKeyResult Interpret(const std::string& key, const Reply& reply, bool dry_run) const;
  ServerKeyResult Change(const std::string& key, const Reply& reply, KeyAction action) const;

  ScriptCache& scripts_;
  bool cluster_;  // keys in many slots: no per-key lock check (Run)
  const StateKeys& keys_;
  const MigrationFile& file_;
  const MigrationInfo& info_;
  ServerScript script_;
  std::unique_ptr<ScriptWatchdog> watchdog_;
};

}  // namespace keyshift
