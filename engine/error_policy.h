// What a failed key does to a run (--on-error, --max-errors). Owns the
// run's stop reason and the keys skipped in the current batch; counts every
// failure in the run's counters.
//
// abort  the first failure stops the run; the batch it is in is not written
//        and is redone by the next run.
// skip   a failed key is reported (RunSinks::key_error), left as it is and
//        remembered for the failed-keys set; the run goes on. Once the
//        migration's failed count (earlier runs included) reaches
//        --max-errors, the batch still completes like any other (so the
//        summary, the failed-keys set, the ledger and `status` count the
//        same keys) and the run stops after it.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "core/result.h"
#include "engine/run_options.h"

namespace keyshift {

class ErrorPolicy {
 public:
  using KeyErrorSink = std::function<void(const std::string& key, const std::string& message)>;
  ErrorPolicy(OnError on_error, long long max_errors, KeyErrorSink key_error, Counters* counters)
      : on_error_(on_error), max_errors_(max_errors), key_error_(std::move(key_error)), counters_(counters) {}

  bool aborts() const { return on_error_ == OnError::kAbort; }
  void KeyFailed(const std::string& key, const Error& error);
  // Stops the run at this batch for a reason of the run's, not a key's (the
  // memory guard): the batch is redone by the next run.
  void Stop(const Error& error) { StopAt(error, ""); }
  // Set once the run must stop at this batch; no later key of it runs.
  bool stopped() const { return stop_.has_value(); }
  // After a completed batch: the --max-errors stop takes effect. Whether the
  // run stops now.
  bool StopIfOverBudget();
  // The keys skipped since the last call (for the failed-keys set).
  std::vector<std::string> TakeSkipped();
  // A stopped run fails its report, naming the error and the key.
  void Report(RunReport* report) const;

 private:
  void StopAt(const Error& error, const std::string& key);

  OnError on_error_;
  long long max_errors_;  // 0: no limit
  KeyErrorSink key_error_;
  Counters* counters_;
  std::optional<Error> stop_;
  std::string stop_key_;
  std::optional<Error> over_budget_;
  std::string over_budget_key_;
  std::vector<std::string> skipped_;
};

}  // namespace keyshift
