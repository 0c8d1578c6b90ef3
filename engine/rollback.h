// `down` for one migration: restores every key its journal (journal.h)
// recorded, exactly (value, type, absolute expiry), in one atomic script per
// key. A key the application changed since the migration wrote it is a
// conflict: reported and left alone unless forced, or, when the migration
// has a `revert`, reverted in place (rollback_revert.cc). A dry-run renders,
// for each key, the diff from its current value to the one `down` would
// leave, and remembers that state (Simulation) so the dry-run of the next
// older migration compares against it rather than against the server.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "core/key_change.h"
#include "core/result.h"
#include "engine/lock.h"
#include "engine/reader.h"
#include "engine/state_keys.h"
#include "redis/redis_client.h"
#include "redis/script_cache.h"

namespace keyshift {

class MigrationScript;
struct RollbackLoaded;  // rollback_internal.h

struct RollbackOptions {
  bool dry_run = false;
  bool force = false;  // restore conflicting keys too, overwriting the application's changes
  int batch = 500;
  MigrationScript* revert = nullptr;  // the migration, when it has a `revert` (and force is off)
};

// A key `down` left alone because the application changed it since.
struct Conflict {
  std::string key;
  std::string reason;
  std::string Text() const;  // "'key': reason"
};

struct RollbackReport {
  long long restored = 0;   // keys put back (incl. deleted keys recreated, renames moved back)
  long long reverted = 0;   // keys changed since, put into the old shape by `revert`
  long long conflicts = 0;  // keys left alone
  std::vector<Conflict> conflict_samples;  // the first few
};

struct RollbackSinks {
  std::function<void(const KeyChange&)> diff;  // dry-run
  std::function<void(const std::string&)> note;  // dry-run: what cannot be shown as a diff
  std::function<void(long long handled, long long restored)> progress;  // after every batch (journal entries)
};


class Rollback {
 public:
  Rollback(Topology* conn, const StateKeys& keys) : conn_(conn), keys_(keys), scripts_(conn) {}
  Result<RollbackReport> Run(long long version, const RollbackOptions& options, Lock* lock, const RollbackSinks& sinks);

 private:
  struct Pass;
  Status UndoBatch(Pass& pass, const std::string& journal_hash, const std::vector<std::string>& fields);
  Status PreviewBatch(Pass& pass, const std::string& journal_hash, const std::vector<std::string>& fields);
  Status RunPass(Pass& pass);
  // rollback_revert.cc: `revert` applied to keys changed since, CAS per key.
  Status RevertBatch(Pass& pass, const std::string& journal_hash, std::vector<RollbackLoaded> entries);
  Status PreviewRevert(Pass& pass, const RollbackLoaded& entry, const KeySnapshot& now);
  // Why `down` left a key alone: kChanged and kExists are also the undo and
  // revert scripts' replies ("changed", "exists").
  enum class ConflictKind { kChanged, kExists, kBusy, kUnsupported };
  void NoteConflict(Pass& pass, const std::string& key, ConflictKind kind);
  // Dry-run: the holders' states as the steps simulated so far left them.
  Result<std::vector<KeySnapshot>> ReadSimulated(Pass& pass, const std::vector<std::string>& holders);
  void Simulate(const std::string& key, const Value* value, long long expire_at);  // null: missing
  void SimulateRestore(const RollbackLoaded& entry, const Value* old);

  Topology* conn_;
  const StateKeys& keys_;
  ScriptCache scripts_;
  // A multi-step dry-run's picture of the keys the steps simulated so far
  // would have changed (kMissing: deleted or moved away), newest first.
  std::map<std::string, KeySnapshot> simulated_;
};

// The content digest (script_safety.h) of `value`, computed here as the
// scripts compute it from Redis's replies.
std::string ContentDigest(const Value& value);

extern const char* const kUndoScript;

}  // namespace keyshift
