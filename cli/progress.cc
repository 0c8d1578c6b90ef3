#include "cli/progress.h"

#include <algorithm>

#include <fmt/format.h>

#include "core/text.h"

namespace keyshift {

Progress::Progress(bool enabled, std::string name, long long total, std::string noun, std::string changed_noun)
    : enabled_(enabled), name_(std::move(name)), noun_(std::move(noun)), changed_noun_(std::move(changed_noun)),
      total_(total) {}

std::string Progress::Line(long long done, long long changed, double seconds) const {
  double rate = seconds > 0 ? (done - first_) / seconds : 0;
  // An estimate can fall short of the truth: past it, show no denominator
  // rather than "120% done".
  bool known = total_ > 0 && done <= total_;
  std::string of = known ? fmt::format(" of ~{} ({:.0f}%)", total_, 100.0 * done / total_) : "";
  std::string eta = known && rate > 0 ? fmt::format(", ~{:.0f}s left", (total_ - done) / rate) : "";
  return fmt::format("{}: {}{} {}, {} {}, {:.0f} keys/s{}", TerminalSafe(name_), done, of, noun_, changed, changed_noun_,
                     std::max(0.0, rate), eta);
}

void Progress::Update(long long done, long long changed) {
  if (!enabled_) return;
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  fmt::print(stderr, "\r\033[K{}", Line(done, changed, secs));
  shown_ = true;
}

void Progress::Clear() {
  if (shown_) fmt::print(stderr, "\r\033[K");
  shown_ = false;
}

}  // namespace keyshift
