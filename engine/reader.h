// Reads a batch of keys in one pipelined round trip: for each key its type,
// value, absolute expiry and a digest of its content (script_safety.h: the
// fingerprint the CAS writer compares), or that the key is gone, or that migration V already
// journaled it (journal.h: then it must not be transformed again).
// With `catchup`, "done" is catch-up's (journal.h, kCatchupDoneLua).
// The read script is flagged no-writes, so dry-runs and replicas can use it.
#pragma once

#include <string>
#include <vector>

#include "core/result.h"
#include "core/value.h"
#include "engine/cas_condition.h"
#include "engine/state_keys.h"
#include "redis/script_cache.h"

namespace keyshift {

struct KeySnapshot {
  enum State { kPresent, kMissing, kDone, kUnsupported };
  std::string key;
  State state = kMissing;
  std::string type_name;     // as TYPE answered (for kUnsupported: e.g. "stream")
  Value value;
  long long expire_at = -1;  // absolute ms; -1 = no expiry
  std::string digest;        // content digest (script_safety.h)
  std::string dump_digest;   // sha1 of DUMP: what format-1 journal entries hold
  long long dump_bytes = 0;  // journal cost of changing this key
  // What a write of this key must find unchanged (kPresent only).
  CasCondition cas() const { return CasCondition{type_name, digest, expire_at}; }
};

Result<std::vector<KeySnapshot>> ReadKeys(ScriptCache& scripts, const StateKeys& state, long long version,
                                          const std::vector<std::string>& keys, bool skip_done = true,
                                          bool catchup = false);

// Converts one reply of the read script (exposed for tests).
Result<KeySnapshot> SnapshotFromReply(const std::string& key, const Reply& reply);

// A Value of `type` from replies el[from, to): a string's text, hash and zset
// pairs (field/member first), list and set items. Shared with server mode.
Value ValueFromReplies(KeyType type, const std::vector<Reply>& el, size_t from, size_t to);

extern const char* const kReadScript;

}  // namespace keyshift
