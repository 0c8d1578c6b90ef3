// Memory next to maxmemory (SPEC 3): a run must not take the room the
// application needs. Before a run, the journal (estimated, or what
// --journal-budget accepts) must fit into maxmemory - used_memory - headroom;
// during a run, before every batch, used_memory must stay below maxmemory -
// headroom, else the run stops cleanly (checkpoint saved, resumable, `down`
// possible). Headroom: --memory-headroom, a share of maxmemory ("5%", the
// default) or a size ("64MB"). Without maxmemory there is nothing to guard.
#pragma once

#include <functional>
#include <string>

#include "core/result.h"
#include "redis/redis_client.h"
#include "redis/topology.h"

namespace keyshift {

constexpr const char* kDefaultMemoryHeadroom = "5%";

struct ServerMemory {
  long long used = 0;       // INFO memory used_memory
  long long maxmemory = 0;  // 0: no limit
  long long headroom = 0;   // bytes, from --memory-headroom
  // What keyshift may still add; meaningless without maxmemory.
  long long Room() const { return maxmemory - used - headroom; }
};

// Reads INFO memory and resolves `headroom_text` against maxmemory.
Result<ServerMemory> ReadServerMemory(Topology* conn, const std::string& headroom_text);

// --journal-budget may not promise more than the room left (usage error).
Status CheckBudgetFits(const ServerMemory& m, long long budget, const std::string& budget_text);

// For RunOptions::guard: an Error once used_memory reaches maxmemory - headroom.
std::function<Status()> MemoryGuard(Topology* conn, const std::string& headroom_text);

}  // namespace keyshift
