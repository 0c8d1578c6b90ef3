// Reads a batch of keys in one pipelined round trip: for each key its type,
// value, absolute expiry and a digest of its content (script_safety.h: the
// fingerprint the CAS writer compares), or that the key is gone, or that migration V already
// journaled it (journal.h: then it must not be transformed again).
// With `catchup`, "done" is catch-up's (journal.h, kCatchupDoneLua).
// The read script is flagged no-writes, so dry-runs and replicas can use it.
//
// Cost. One script call reads several keys (ReadOptions::per_call; 1 on a
// cluster, where a script reaches one slot). The content digest is computed
// here, from the very elements Redis replied with, not in Redis: Redis is
// the shared, single-threaded resource. The DUMP is read only when asked
// (its size for the journal estimate, its sha1 for format-1 journal entries):
// the CAS writer reads and journals the DUMP itself. With a scan type, the
// value is read as that type and TYPE is asked only when that fails.
#pragma once

#include <optional>
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
  std::string digest;        // content digest (script_safety.h); unless ReadOptions::digest, only of values
                             // over kCasByValueMax
  std::string dump_digest;   // sha1 of DUMP: what format-1 journal entries hold (ReadOptions::kDumpDigest)
  long long dump_bytes = 0;  // journal cost of changing this key (unless ReadOptions::kNoDump)
  // What a write of this key must find unchanged (kPresent only).
  // Compared by value when no digest was taken (cas_condition.h).
  CasCondition cas() const {
    if (!digest.empty()) return CasCondition{type_name, digest, std::nullopt, expire_at};
    return CasCondition{type_name, "", value, expire_at};
  }
};

struct ReadOptions {
  enum Dump { kDumpDigest, kDumpSize, kNoDump };
  bool skip_done = true;          // report keys V journaled as done
  bool catchup = false;           // "done" is catch-up's
  std::optional<KeyType> type;    // the scan's type: read as it first
  Dump dump = kDumpDigest;
  size_t per_call = 1;            // keys per script call
  // Take every key's content digest. Off for a caller that only writes
  // through cas(): then only values over kCasByValueMax get one.
  bool digest = true;
};

Result<std::vector<KeySnapshot>> ReadBatch(ScriptCache& scripts, const StateKeys& state, long long version,
                                           const std::vector<std::string>& keys, const ReadOptions& options);

// The read script call for keys[from, to), and its reply as snapshots
// appended to *out: for callers that stream the calls (host_strategy.h).
Command ReadCall(ScriptCache& scripts, const StateKeys& state, long long version, const std::vector<std::string>& keys,
                 size_t from, size_t to, const ReadOptions& options);
Status SnapshotsFromCall(const std::vector<std::string>& keys, size_t from, size_t to, const Reply& reply,
                         std::vector<KeySnapshot>* out, bool digest = true);

// Redis refuses a script call whole, without naming the key, when its user
// may not touch one of the call's declared keys (NOPERM). Given that call's
// `reply` and the error made of it (`whole`), asks again one key per call and
// returns the error naming the refused key; `whole` for any other failure.
Status NameRefusedKey(ScriptCache& scripts, const StateKeys& state, long long version,
                      const std::vector<std::string>& keys, size_t from, size_t to, const ReadOptions& options,
                      const Reply& reply, const Status& whole);

// One key per call, DUMP digest included (rollback, plan, verify, server mode).
Result<std::vector<KeySnapshot>> ReadKeys(ScriptCache& scripts, const StateKeys& state, long long version,
                                          const std::vector<std::string>& keys, bool skip_done = true,
                                          bool catchup = false);

// Converts one key's part of the read script's reply (exposed for tests).
Result<KeySnapshot> SnapshotFromReply(const std::string& key, const Reply& reply, bool digest = true);

// content_digest (script_safety.h) of `flat`, the reply of READ_COMMAND[type].
std::string FlatContentDigest(const std::string& type, const std::vector<Reply>& flat);

// A Value of `type` from replies el[from, to): a string's text, hash and zset
// pairs (field/member first), list and set items. Shared with server mode.
Value ValueFromReplies(KeyType type, const std::vector<Reply>& el, size_t from, size_t to);

extern const char* const kReadScript;

}  // namespace keyshift
