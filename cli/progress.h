// A one-line progress display on a terminal (stderr) for long runs: keys
// done of an estimated total, rate and time left. `up` estimates its total
// from a SCAN sample's match ratio (planner.h); `down` knows it exactly (the
// journal's size). Does nothing when disabled (not a terminal, JSON output).
#pragma once

#include <chrono>
#include <string>

namespace keyshift {

class Progress {
 public:
  // `total` <= 0: unknown, so no denominator and no time left.
  // `noun` names what `done` counts, `changed_noun` the second count.
  Progress(bool enabled, std::string name, long long total, std::string noun = "keys scanned",
           std::string changed_noun = "changed");
  ~Progress() { Clear(); }
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;
  // `done` counts the keys so far (earlier runs included); `already` of them
  // were done before this run, so the rate counts only this run's.
  void Start(long long already) { first_ = already; }
  void Update(long long done, long long changed);
  void Clear();
  // The line Update prints (without the cursor control), for tests.
  std::string Line(long long done, long long changed, double seconds) const;

 private:
  bool enabled_;
  std::string name_, noun_, changed_noun_;
  long long total_;
  long long first_ = 0;
  bool shown_ = false;
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
};

}  // namespace keyshift
