// The compare-and-set writer: the one path by which keyshift changes an
// application key. One script call per `per_call` keys (1 on a cluster: a
// script reaches one slot), pipelined per batch, that for each key
//   1. refuses if migration V already journaled the key ("done"),
//   2. refuses if the key's type, content (by value or digest) or expiry
//      differs from what was read (the op's CasCondition, cas_condition.h)
//      ("changed": the application wrote it; the caller re-reads and
//      re-transforms, so no application write is lost),
//   3. journals the key's previous DUMP and expiry (journal.h),
//   4. writes the new value (or deletes, or moves it), keeping the expiry,
// all atomically. With `catchup`, step 1's "done" is catch-up's
// (journal.h, kCatchupDoneLua) and step 3 replaces V's earlier entry.
#pragma once

#include <string>
#include <vector>

#include "core/key_action.h"
#include "core/result.h"
#include "core/value.h"
#include "engine/cas_condition.h"
#include "engine/state_keys.h"
#include "redis/script_cache.h"
#include "server_mode/write_lua.h"

namespace keyshift {

struct WriteOp {
  std::string key;
  CasCondition expect;        // the key as read (KeySnapshot::cas())
  KeyAction action = KeyAction::kRewrite;  // kRewrite, kDelete, kRename (kKeep: rollback's revert only)
  std::string new_key;        // kRename
  Value value;                // kRewrite, kRename
};

enum class WriteStatus { kWritten, kChanged, kDone, kTargetExists };

struct WriteResult {
  WriteStatus status = WriteStatus::kChanged;
  long long dump_bytes = 0;  // kWritten: size of the DUMP journaled (the journal's cost)
};

// Sends every op in one pipeline, `per_call` ops per script call; one result
// per op. A Redis error for a key (e.g. OOM) is an Error naming the key.
Result<std::vector<WriteResult>> WriteBatch(ScriptCache& scripts, const StateKeys& state, long long version,
                                            const std::vector<WriteOp>& ops, bool catchup = false,
                                            size_t per_call = 1);

// The write script call for ops[from, to), and its reply as results appended
// to *out: for callers that stream the calls (host_strategy.h).
Command WriteCall(ScriptCache& scripts, const StateKeys& state, long long version, const std::vector<WriteOp>& ops,
                  size_t from, size_t to, bool catchup);
Status ResultsFromCall(const std::vector<WriteOp>& ops, size_t from, size_t to, const Reply& reply,
                       std::vector<WriteResult>* out);

// `v`'s elements as write_value (server_mode/write_lua.h) takes them.
void AppendValueArgs(const Value& v, std::vector<std::string>* args);
// `v`'s elements as its type's read command replies them (read_flat,
// script_safety.h), up to order: what content_is compares.
void AppendFlatArgs(const Value& v, std::vector<std::string>* args);

// The EVALSHA arguments for `op` (exposed for tests and server mode).
std::vector<std::string> WriteArgs(const WriteOp& op);

extern const char* const kWriteScript;

}  // namespace keyshift
