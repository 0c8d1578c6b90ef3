// Is this server fit for a run that writes? (SPEC 4, 9.) Checked by every
// writing command before its first write and before it takes the lock, so an
// unsuitable server is refused up front (exit 2, one line per problem)
// instead of failing half way with a raw READONLY, NOPERM or "unknown
// command":
//   - Redis 7.0 or later (PEXPIRETIME, script flags, redis.acl_check_cmd);
//   - a primary, not a replica;
//   - no allkeys-* eviction policy, which could evict the undo journal,
//     checkpoint or ledger (unless --allow-eviction); volatile-* policies only
//     evict keys with a TTL, and keyshift's state has none but the lock lease;
//   - every command the run needs exists and this ACL user may run it on
//     representative keys: a data key the migration scans, the journal, the
//     ledger, checkpoint and lock. Checked by redis.acl_check_cmd inside a
//     read-only script, so the user needs no ACL (admin) rights for it.
// Dry-runs check the version and that the commands exist; they skip the
// role, eviction and permission checks, so they work against replicas, as do
// status, plan, verify and check, which run no check.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/result.h"
#include "core/value.h"
#include "engine/state_keys.h"
#include "redis/redis_client.h"
#include "redis/topology.h"

namespace keyshift {

struct ServerNeeds {
  bool writes = true;           // false (dry-runs): only the version and that the commands exist
  bool allow_eviction = false;  // --allow-eviction
  // Each command (name first) with representative arguments; keys are
  // checked against the user's key patterns.
  std::vector<Command> commands;
};

Status CheckServer(Topology* topology, const ServerNeeds& needs);

// The problems INFO alone shows (version, role, eviction policy), one line each.
std::vector<std::string> InfoProblems(const std::string& info, const ServerNeeds& needs);

// What the writing commands run. `data_key` is a key the migration scans
// (SampleKey); `type` narrows the data commands to one Redis type;
// `rewrites`: the commands that write values (up) along with those that read them.
void AddStateCommands(std::vector<Command>* out, const StateKeys& keys, long long version);
void AddDataCommands(std::vector<Command>* out, const StateKeys& keys, long long version,
                     const std::string& data_key, std::optional<KeyType> type, bool rewrites = true);

// What `down` (or, with `prune`, `prune`) needs for migration `version`: its
// state, and the undo commands on a key its journal holds.
Status AddUndoCommands(Topology* conn, std::vector<Command>* out, const StateKeys& keys, long long version,
                       bool prune);

// A key that a SCAN MATCH glob matches ("user:*" -> "user:x").
std::string SampleKey(const std::string& glob);

// The value of `name` in an INFO reply ("" when absent).
std::string InfoValue(const std::string& info, const std::string& name);

}  // namespace keyshift
