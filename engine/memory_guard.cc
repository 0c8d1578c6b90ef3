// Memory checks against maxmemory (memory_guard.h).
#include "engine/memory_guard.h"

#include <algorithm>
#include <cstdlib>

#include <fmt/format.h>

#include "engine/planner.h"
#include "engine/server_check.h"

namespace keyshift {

namespace {

Result<long long> HeadroomBytes(const std::string& text, long long maxmemory) {
  if (!text.empty() && text.back() == '%') {
    char* end = nullptr;
    double pct = std::strtod(text.c_str(), &end);
    if (end != text.c_str() + text.size() - 1 || !(pct >= 0 && pct < 100))
      return UsageError(fmt::format("--memory-headroom '{}': give a percentage of maxmemory below 100% (e.g. 5%) "
                                    "or a size (e.g. 64MB)", text));
    return static_cast<long long>(static_cast<double>(maxmemory) * pct / 100);
  }
  auto bytes = ParseByteSize(text);
  if (!bytes.ok()) return UsageError(fmt::format("--memory-headroom: {}", bytes.error().message));
  return *bytes;
}

}  // namespace

// On a cluster, the primary with the least room: that one runs out first.
Result<ServerMemory> ReadServerMemory(Topology* topology, const std::string& headroom_text) {
  auto infos = OnEveryPrimary(topology, {"INFO", "memory"});
  if (!infos.ok()) return infos.error();
  std::optional<ServerMemory> tightest;
  for (const PrimaryReply& info : *infos) {
    if (info.reply.is_error()) return Fail(info.reply.str);
    ServerMemory m;
    m.used = std::atoll(InfoValue(info.reply.str, "used_memory").c_str());
    m.maxmemory = std::atoll(InfoValue(info.reply.str, "maxmemory").c_str());
    auto headroom = HeadroomBytes(headroom_text.empty() ? kDefaultMemoryHeadroom : headroom_text, m.maxmemory);
    if (!headroom.ok()) return headroom.error();
    m.headroom = *headroom;
    bool limited = m.maxmemory != 0;
    if (!tightest || (limited && (tightest->maxmemory == 0 || m.Room() < tightest->Room()))) tightest = m;
  }
  return *tightest;
}

Status CheckBudgetFits(const ServerMemory& m, long long budget, const std::string& budget_text) {
  if (m.maxmemory == 0 || budget <= m.Room()) return Status::Ok();
  return UsageError(fmt::format(
      "--journal-budget {} is more than Redis has room for: it uses {} of maxmemory {}, and {} is kept free "
      "(--memory-headroom), which leaves {}. Lower the budget, free memory or raise maxmemory; nothing was written",
      budget_text, FormatBytes(m.used), FormatBytes(m.maxmemory), FormatBytes(m.headroom),
      FormatBytes(std::max(0LL, m.Room()))));
}

std::function<Status()> MemoryGuard(Topology* conn, const std::string& headroom_text) {
  return [conn, headroom_text]() -> Status {
    auto m = ReadServerMemory(conn, headroom_text);
    if (!m.ok()) return m.error();
    if (m->maxmemory == 0 || m->used + m->headroom < m->maxmemory) return Status::Ok();
    return Fail(fmt::format(
        "stopped before Redis runs out of memory: it uses {} of maxmemory {}, within the {} kept free for the "
        "application (--memory-headroom). The checkpoint is saved: free memory or raise maxmemory, then run "
        "`keyshift up` to resume, or `keyshift down` to undo what was done",
        FormatBytes(m->used), FormatBytes(m->maxmemory), FormatBytes(m->headroom)));
  };
}

}  // namespace keyshift
