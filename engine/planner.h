// `plan`'s estimates for one pending migration, from a sample: how many keys
// it matches, how many it would change, how big its journal would get next to
// the server's maxmemory, and how long it would take at the rate measured on
// the sample. Reads only.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "bindings/migration_script.h"
#include "core/result.h"
#include "engine/directory.h"
#include "engine/state_keys.h"
#include "redis/redis_client.h"
#include "redis/topology.h"

namespace keyshift {

// revert(transform(v)) == v over sampled keys the transform rewrites or
// renames (a delete has nothing to revert: `down` restores it).
struct RevertSample {
  long long checked = 0;
  long long mismatched = 0;
  std::vector<std::string> examples;  // "key: reason", the first few
};

struct PlanEstimate {
  long long db_keys = 0;         // DBSIZE
  long long sampled = 0;         // keys the sample examined
  bool exact = false;            // the sample covered the whole keyspace
  long long sample_matched = 0;  // sampled keys the migration scans (pattern and type)
  long long sample_changed = 0;  // of those, keys the transform would change, delete or rename
  long long sample_errors = 0;   // of those, keys whose transform failed
  // The first kNamedFailures of them: key and the transform's error, so that
  // `plan` says which keys to look at.
  static constexpr size_t kNamedFailures = 10;
  std::vector<std::pair<std::string, std::string>> failures;
  long long est_matched = 0;
  long long est_changed = 0;
  long long est_journal_bytes = 0;
  double seconds_per_key = 0;    // read + transform (+ a write where it changes), measured
  double eta_seconds = 0;
  long long used_memory = 0;     // INFO memory
  long long maxmemory = 0;       // 0 = no limit
  RevertSample revert;           // when the migration has a revert
  bool JournalFits() const { return maxmemory == 0 || used_memory + est_journal_bytes <= maxmemory; }
};

Result<PlanEstimate> EstimatePlan(Topology* conn, const StateKeys& keys, const MigrationFile& file,
                                  MigrationScript& script, long long sample_size = 2000);

// The round trip over up to `sample_size` sampled keys (check, with a server).
Result<RevertSample> SampleRevert(Topology* conn, const StateKeys& keys, const MigrationFile& file,
                                  MigrationScript& script, long long sample_size = 2000);
// The number of keys a SCAN for `match` will return, from the match ratio
// of a sample of about `sample_size` keys times DBSIZE (exact when the sample
// covers the keyspace): the denominator of a run's progress.
Result<long long> EstimateMatchedKeys(Topology* conn, const StateKeys& keys, const std::string& match,
                                      long long sample_size = 1000);

// "512MB", "2g", "1048576" -> bytes (binary units); error on anything else.
Result<long long> ParseByteSize(const std::string& text);
std::string FormatBytes(long long bytes);

}  // namespace keyshift
