// `down` for one migration: restores every key its journal (journal.h)
// recorded, exactly (value, type, absolute expiry), in one atomic script per
// key. A key the application changed since the migration wrote it is a
// conflict: reported and left alone unless forced. A dry-run renders, for
// each key, the diff from its current value to the journaled one.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "runtime/diff.h"
#include "runtime/lock.h"
#include "runtime/redis_client.h"
#include "runtime/result.h"
#include "runtime/script_cache.h"
#include "runtime/state_keys.h"

namespace keyshift {

struct RollbackOptions {
  bool dry_run = false;
  bool force = false;  // restore conflicting keys too, overwriting the application's changes
  int batch = 500;
};

// A key `down` left alone because the application changed it since.
struct Conflict {
  std::string key;
  std::string reason;
  std::string Text() const;  // "'key': reason"
};

struct RollbackReport {
  long long restored = 0;   // keys put back (incl. deleted keys recreated, renames moved back)
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
  Rollback(RedisConnection* conn, const StateKeys& keys) : conn_(conn), keys_(keys), scripts_(conn) {}
  Result<RollbackReport> Run(long long version, const RollbackOptions& options, Lock* lock, const RollbackSinks& sinks);

 private:
  struct Pass;
  Status UndoBatch(Pass& pass, const std::string& journal_hash, const std::vector<std::string>& fields);
  Status PreviewBatch(Pass& pass, const std::string& journal_hash, const std::vector<std::string>& fields);
  Status RunPass(Pass& pass);

  RedisConnection* conn_;
  const StateKeys& keys_;
  ScriptCache scripts_;
};

extern const char* const kUndoScript;

}  // namespace keyshift
