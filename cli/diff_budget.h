// `--limit N` and `--summary` for a dry-run at production size: which diffs
// to show, and how many were left out ("... and M more").
#pragma once

#include <optional>
#include <string>

#include <fmt/format.h>

#include "core/result.h"

namespace keyshift {

class DiffBudget {
 public:
  DiffBudget(std::optional<long long> limit, bool summary) : max_(summary ? 0 : limit.value_or(-1)), summary_(summary) {}
  // True when the next diff is to be shown; else it is counted as omitted.
  bool Take() {
    if (max_ >= 0 && shown_ >= max_) {
      ++omitted_;
      return false;
    }
    ++shown_;
    return true;
  }
  long long omitted() const { return omitted_; }
  // --summary asked for counts only: the summary's own counts say it.
  std::string OmittedLine() const {
    return omitted_ > 0 && !summary_ ? fmt::format("... and {} more\n", omitted_) : "";
  }

  // The flags bound a dry-run's output: without --dry-run they are a mistake.
  static Status Check(std::optional<long long> limit, bool summary, bool dry_run) {
    if ((limit || summary) && !dry_run) return UsageError("--limit and --summary bound a dry-run's output: add --dry-run");
    return Status::Ok();
  }

 private:
  long long max_;  // -1: no limit
  bool summary_;
  long long shown_ = 0;
  long long omitted_ = 0;
};

}  // namespace keyshift
