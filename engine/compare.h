// `keyshift compare --to URL`: does the target hold what the source holds?
// (docs/copy.md)
//
// Every source key matching --match (or the first --sample N the scan
// returns) is looked up on the target: missing there, another type, an
// expiry further apart than the tolerance, and with --full another value.
// Values are compared as content, not as DUMP bytes (equal data can be
// encoded differently: listpack or hashtable, after a rehash...). Then the
// target is scanned the same way for keys the source lacks ("extra").
// keyshift's own keys are left out on both sides. Reads only.
#pragma once

#include <array>
#include <string>
#include <vector>

#include "core/result.h"
#include "engine/state_keys.h"
#include "redis/topology.h"

namespace keyshift {

class CopyTransforms;

enum class Difference { kMissing, kExtra, kType, kValue, kTtl };
inline constexpr size_t kDifferenceKinds = 5;
const char* DifferenceName(Difference kind);  // "missing", "extra", "type", "value", "ttl"

struct CompareOptions {
  std::string match = "*";
  long long sample = 0;  // keys to check on each side; 0: all of them
  bool full = false;     // also compare values
  int batch = 500;
  int shown = 10;        // keys named per kind of difference
  // compare --apply / --revert (copy_transform.h): source keys are compared
  // as the migrations make them, under the name they give them; a key they
  // delete is expected absent on the target.
  CopyTransforms* transforms = nullptr;
};

// Two absolute expiries (ms, 0 = none) differ when one side has none, or when
// they are further apart than 2 s or 1% of the time left, whichever is more
// (the copy itself takes time; a TTL read as relative drifts by that much).
bool ExpiriesDiffer(long long source_ms, long long target_ms, long long now_ms);

struct DifferenceList {
  long long count = 0;
  std::vector<std::string> first;  // the first `shown` keys
};

struct CompareReport {
  long long checked = 0;         // source keys looked up on the target
  long long checked_target = 0;  // target keys looked up on the source
  std::array<DifferenceList, kDifferenceKinds> differences;
  long long total() const;
};

Result<CompareReport> RunCompare(Topology* source, Topology* target, const StateKeys& state,
                                 const CompareOptions& options);

}  // namespace keyshift
