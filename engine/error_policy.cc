// --on-error and --max-errors.
#include "engine/error_policy.h"

#include <fmt/format.h>

namespace keyshift {

void ErrorPolicy::StopAt(const Error& error, const std::string& key) {
  if (stop_) return;  // the first reason is the one reported
  stop_ = error;
  stop_key_ = key;
}

void ErrorPolicy::KeyFailed(const std::string& key, const Error& error) {
  ++counters_->failed;
  if (aborts()) return StopAt(error, key);
  skipped_.push_back(key);
  if (key_error_) key_error_(key, error.message);
  if (!over_budget_ && max_errors_ > 0 && counters_->failed >= max_errors_) {
    over_budget_ = Fail(fmt::format("{} failed keys reached --max-errors {}; stopped after the batch; last: {}",
                                    counters_->failed, max_errors_, error.message));
    over_budget_key_ = key;
  }
}

bool ErrorPolicy::StopIfOverBudget() {
  if (!over_budget_) return false;
  StopAt(*over_budget_, over_budget_key_);
  return true;
}

std::vector<std::string> ErrorPolicy::TakeSkipped() {
  std::vector<std::string> out;
  out.swap(skipped_);
  return out;
}

void ErrorPolicy::Report(RunReport* report) const {
  if (!stop_) return;
  report->ok = false;
  report->error = *stop_;
  report->failed_key = stop_key_;
}

}  // namespace keyshift
