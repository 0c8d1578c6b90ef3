// The migrations a copy runs on the way (docs/copy.md, "--apply" and
// "--revert"): which ones, loaded once, and one key's way through them.
//
// copy --apply: the migrations pending on the SOURCE (its ledger), oldest
// first, each transform run on the keys its scan (match, type) selects, as
// `up` in host mode would; a rename's new name is what the next migration
// sees. copy --revert: the migrations applied on the source and not on the
// target, newest first, through their `revert`. Either way the target's
// ledger records, once the snapshot is complete, what its data now is.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "bindings/migration_script.h"
#include "core/key_change.h"
#include "core/result.h"
#include "engine/checkpoint.h"
#include "engine/directory.h"
#include "engine/ledger.h"
#include "engine/state_keys.h"
#include "redis/topology.h"

namespace keyshift {

enum class CopyDirection { kNone, kApply, kRevert };

struct TransformRequest {
  CopyDirection direction = CopyDirection::kNone;
  std::optional<long long> up_to;         // apply: pending migrations up to this version
  std::set<long long> without_revert;     // revert: copied in the new shape, not reverted
};

// One key after the chain.
struct Shaped {
  bool touched = false;  // some migration changed it (value or name)
  bool dropped = false;  // a migration deleted it: not on the target
  std::string key;       // its name on the target
  Value value;           // touched and not dropped: its new value
};

struct CopyStep {
  long long version = 0;
  std::string name;
  std::unique_ptr<MigrationScript> script;
};

class CopyTransforms {
 public:
  CopyTransforms() = default;
  CopyTransforms(CopyDirection direction, std::vector<CopyStep> steps, const StateKeys* state, bool cluster)
      : direction_(direction), steps_(std::move(steps)), state_(state), cluster_(cluster) {}
  bool empty() const { return steps_.empty(); }
  // Whether some migration's match selects `key` by name: only such keys
  // need reading whole and decoding (a rename needs a first selection).
  bool MaySelect(const std::string& key) const;
  // `key` holding `payload` (DUMP) through every step; `before`, if given,
  // gets the decoded value. Errors name the migration's file:line and the key.
  Result<Shaped> RunDump(const std::string& key, const std::string& payload, Value* before = nullptr);
  Result<Shaped> Run(const std::string& key, Value value);
  // Names the steps, for the checkpoint: a resumed copy must run the same.
  std::string Signature() const;
  // Per migration version: keys its scan selected (scanned) and what it did
  // with them (changed, deleted, renamed), since SetCounts. The copy keeps
  // them in its checkpoint, as text, and the target's ledger gets them.
  const std::map<long long, Counters>& counts() const { return counts_; }
  std::string CountsText() const;
  void SetCounts(const std::string& text);
  // What `--dry-run` shows for a touched key.
  static KeyChange Change(const std::string& key, const Value& before, long long pttl, const Shaped& after);

 private:
  Result<TransformOutcome> Step(CopyStep& step, const std::string& key, const Value& value);
  std::string Refusal(const CopyStep& step, const std::string& key, const std::string& source_key,
                      const std::string& new_key) const;

  CopyDirection direction_ = CopyDirection::kNone;
  std::vector<CopyStep> steps_;
  const StateKeys* state_ = nullptr;
  bool cluster_ = false;
  std::map<long long, Counters> counts_;
};

struct CopyPlan {
  CopyTransforms transforms;
  // Written into the target's ledger once the snapshot is complete.
  std::vector<LedgerRecord> ledger;
};

// Chooses and loads the steps from `dir` and both ledgers. Refuses (exit 2)
// a migration running, interrupted or failed on the source, a pending one
// older than an applied one, and for revert one without `revert` that
// `without_revert` does not name.
Result<CopyPlan> PlanCopyTransforms(Topology* source, Topology* target, const StateKeys& state,
                                    const MigrationDir& dir, const TransformRequest& request,
                                    const std::string& source_id);

}  // namespace keyshift
