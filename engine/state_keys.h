// Names of the keys keyshift keeps in Redis under its prefix (SPEC 3).
//
//   <prefix>{state}:ledger        hash  version -> ledger record (ledger.h)
//   <prefix>{state}:lock          string lease holder (lock.h)
//   <prefix>{state}:ckpt:<V>      hash  checkpoint of migration V (checkpoint.h)
//   <prefix>{state}:catchup:<V>   hash  checkpoint of `catchup V` (same format)
//   <prefix>{state}:failed:<V>    set   keys --on-error skip left as they were;
//                                       a resumed `up` retries them first
//   <prefix>j:<V>:{<tag>}         hash  journal of migration V for one slot (journal.h)
//
// State keys share the hash tag {state}; journal hashes carry the tag of the
// slot of the keys they protect, so each key and its journal entry live in
// one slot (one node, one atomic script) on Redis Cluster.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "core/result.h"
#include "redis/redis_client.h"

namespace keyshift {

class StateKeys {
 public:
  explicit StateKeys(std::string prefix) : prefix_(std::move(prefix)) {}
  // A prefix with braces would capture the hash tag; empty would collide with data.
  static Status Validate(const std::string& prefix);

  const std::string& prefix() const { return prefix_; }
  std::string ledger() const { return prefix_ + "{state}:ledger"; }
  std::string lock() const { return prefix_ + "{state}:lock"; }
  std::string checkpoint(long long version) const { return prefix_ + "{state}:ckpt:" + std::to_string(version); }
  // `catchup V`'s own scan checkpoint (catchup.h): separate from up's, which
  // would make V look interrupted.
  std::string catchup_checkpoint(long long version) const {
    return prefix_ + "{state}:catchup:" + std::to_string(version);
  }
  std::string failed_keys(long long version) const { return prefix_ + "{state}:failed:" + std::to_string(version); }
  // The journal hash holding the entry for `key`.
  std::string journal(long long version, const std::string& key) const;
  // What every journal hash name of `version` starts with, and the SCAN
  // pattern matching them all.
  std::string journal_prefix(long long version) const { return prefix_ + "j:" + std::to_string(version) + ":"; }
  std::string journal_pattern(long long version) const { return journal_prefix(version) + "*"; }
  // keyshift's own keys are never migrated.
  bool Owns(const std::string& key) const { return key.compare(0, prefix_.size(), prefix_) == 0; }

 private:
  std::string prefix_;
};

// A decimal integer as keyshift writes it in state keys ("-" allowed, no
// spaces, fits 64 bits); nullopt for anything else.
std::optional<long long> ParseStateInt(std::string_view text);

// The error for Redis refusing `command` on keyshift's own `key` with `reply`.
Error StateRefusal(const Command& command, const Reply& reply, const std::string& key);

// Runs `command` on keyshift's own `key`; a WRONGTYPE refusal (someone put a
// different kind of key there) becomes CorruptState, naming the key.
Result<Reply> CallState(RedisConnection* conn, const Command& command, const std::string& key);

// Redis refused a call on application keys with `redis_error`: `what` (which
// key, or which call) and the refusal; a refusal of the Redis user (NOPERM)
// says where the ACL keyshift needs is listed. Exit 1, a key failed: the
// server check (server_check.h) refuses missing command permissions up
// front (exit 2), but a user's key patterns show only key by key.
Error KeyRefusal(const std::string& what, const std::string& redis_error);
// `what` for a script call refused as a whole: "<verb> key 'k'", or for n > 1
// keys "<verb> keys 'first' to 'last' (n keys in one script call)".
std::string CallKeys(const char* verb, const std::string& first, const std::string& last, size_t n);
bool IsPermissionRefusal(const std::string& redis_error);

// keyshift's own key `key` holds what keyshift never writes (`what`): exit 2,
// naming the key, rather than guessing (a wrong guess rewrites data twice).
Error CorruptState(const std::string& key, const std::string& what);

}  // namespace keyshift
