// Walks the keys a migration names with SCAN, one batch per call, from a
// resumable cursor. One Scanner per node: on Redis Cluster each primary gets
// its own (SPEC 7). keyshift's own keys (under the prefix) are never returned.
// SCAN may return a key more than once; callers rely on the journal, not on
// the scanner, for exactly-once.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/result.h"
#include "core/value.h"
#include "engine/state_keys.h"
#include "redis/redis_client.h"

namespace keyshift {

class Scanner {
 public:
  Scanner(RedisConnection* conn, std::string match, std::optional<KeyType> type, int count, const StateKeys* state,
          std::string cursor = "0");
  // One SCAN call; may return no keys while not done.
  Result<std::vector<std::string>> Next();
  bool done() const { return done_; }
  // The cursor to resume from after the keys returned so far are handled.
  const std::string& cursor() const { return cursor_; }

 private:
  RedisConnection* conn_;
  std::string match_;
  std::optional<KeyType> type_;
  int count_;
  const StateKeys* state_;
  std::string cursor_;
  bool done_ = false;
  bool started_ = false;
};

}  // namespace keyshift
