#include "server_mode/portability_report.h"

#include <algorithm>

namespace keyshift::portability {

void Reporter::Add(int line, std::string message, bool blocks_51) {
  issues_.push_back({line, std::move(message)});
  if (blocks_51) blocking_lines_.push_back(line);
}

bool Reporter::Explains(int line) const {
  for (const auto& i : issues_)
    if (i.line == line) return true;
  for (int b : blocking_lines_)
    if (b <= line) return true;
  return false;
}

std::vector<PortabilityIssue> Reporter::Take() {
  std::stable_sort(issues_.begin(), issues_.end(),
                   [](const PortabilityIssue& a, const PortabilityIssue& b) { return a.line < b.line; });
  std::vector<PortabilityIssue> out;
  for (auto& i : issues_) {
    bool dup = false;
    for (const auto& o : out) dup |= o.line == i.line && o.message == i.message;
    if (!dup) out.push_back(std::move(i));
  }
  issues_.clear();
  return out;
}

}  // namespace keyshift::portability
