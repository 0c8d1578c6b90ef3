// The compare-and-set writer: the one path by which keyshift changes an
// application key. One script call per key, pipelined per batch, that
//   1. refuses if migration V already journaled the key ("done"),
//   2. refuses if the key's type, content digest (script_safety.h) or expiry
//      differs from what was read
//      ("changed": the application wrote it; the caller re-reads and
//      re-transforms, so no application write is lost),
//   3. journals the key's previous DUMP and expiry (journal.h),
//   4. writes the new value (or deletes, or moves it), keeping the expiry,
// all atomically. With `catchup`, step 1's "done" is catch-up's
// (journal.h, kCatchupDoneLua) and step 3 replaces V's earlier entry.
#pragma once

#include <string>
#include <vector>

#include "runtime/reader.h"
#include "runtime/result.h"
#include "runtime/script_cache.h"
#include "runtime/state_keys.h"
#include "runtime/value.h"

namespace keyshift {

struct WriteOp {
  enum Action { kRewrite, kDelete, kRename };
  const KeySnapshot* before;  // as read; its digest and expiry are the CAS condition
  Action action = kRewrite;
  std::string new_key;        // kRename
  Value value;                // kRewrite, kRename
};

enum class WriteStatus { kWritten, kChanged, kDone, kTargetExists };

// Sends every op in one pipeline; one status per op. A Redis error reply
// (e.g. OOM) is an Error naming the key.
Result<std::vector<WriteStatus>> WriteBatch(ScriptCache& scripts, const StateKeys& state, long long version,
                                            const std::vector<WriteOp>& ops, bool catchup = false);

// The EVALSHA arguments for `op` (exposed for tests and server mode).
std::vector<std::string> WriteArgs(const WriteOp& op);

extern const char* const kWriteScript;
// Lua 5.1 source shared with server mode (needs kScriptSafetyLua and
// journal_entry first): `write_value(dest, type, args, first, expire_at)`
// stores args[first..] as dest's value (zset args: score before member),
// restores the absolute expiry and returns the new content digest;
// `record_change(...)` deletes, rewrites or moves the key and journals it, in
// the caller's script, or returns an error reply with the key untouched.
extern const char* const kWriteValueLua;

}  // namespace keyshift
