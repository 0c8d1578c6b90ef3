// Where a run's keys come from: first the keys earlier runs skipped
// (--on-error skip left them in migration V's failed-keys set), in batches,
// then the migration's SCAN. Owns the scan and that retry queue; says which
// scan position to checkpoint after a batch.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "bindings/migration_script.h"
#include "core/result.h"
#include "engine/state_keys.h"
#include "redis/topology.h"

namespace keyshift {

// The part of a SCAN walk KeySource uses: Scanner (scanner.h) in a run, a
// stand-in in unit tests.
class KeyScan {
 public:
  virtual ~KeyScan() = default;
  virtual Result<std::vector<std::string>> Next() = 0;
  virtual bool done() const = 0;
  virtual std::string position() const = 0;  // scanner.h: the checkpoint's cursor
  virtual std::string run_id() const = 0;
};

// Starts a Scanner over `scan`'s keys, `batch` per SCAN, from a saved
// position ("": from the start).
Result<std::unique_ptr<KeyScan>> StartScan(Topology* conn, const StateKeys& keys, const ScanSpec& scan, int batch,
                                           const std::string& position = "", const std::string& run_id = "");

// The keys earlier runs of migration V skipped (its failed-keys set).
Result<std::vector<std::string>> FailedKeys(RedisConnection* conn, const StateKeys& keys, long long version);

struct KeyBatch {
  std::vector<std::string> keys;
  bool retry = false;  // keys an earlier run skipped, not new ones from the scan
};

class KeySource {
 public:
  // `retry` is cut into batches of `batch` keys. Without `scan_more` the scan
  // is over already (retrying an applied migration's failed keys).
  KeySource(std::unique_ptr<KeyScan> scan, std::vector<std::string> retry, size_t batch, bool scan_more);
  bool done() const { return retry_.empty() && (!scan_more_ || scan_->done()); }
  // The next batch: retried keys first. May hold no keys while not done.
  Result<KeyBatch> Next();
  // Where the scan resumes once every batch so far is handled.
  std::string position() const { return scan_->position(); }
  std::string run_id() const { return scan_->run_id(); }

 private:
  std::unique_ptr<KeyScan> scan_;
  std::vector<std::vector<std::string>> retry_;  // taken from the back
  bool scan_more_;
};

}  // namespace keyshift
