// One runner at a time per prefix (SPEC 3): a lease in Redis.
//
// Format: string <prefix>{state}:lock = JSON
//   {"token":"<random hex>", "holder":"user@host", "pid":123,
//    "command":"up", "since":"<ISO-8601>"}
// with a PX expiry of the lease length. Taken with SET NX PX; renewed (PEXPIRE)
// and released (DEL) only by a script that first checks the token, so a runner
// whose lease expired can never extend or delete a successor's lock.
// A crashed runner's lease runs out after `lease_ms`. A runner stops writing
// once it has gone a third of the lease without a successful renewal
// (Renew() reports the loss), well before anyone else can take over.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "runtime/redis_client.h"
#include "runtime/result.h"
#include "runtime/state_keys.h"

namespace keyshift {

class Lock {
 public:
  static constexpr long long kDefaultLeaseMs = 10'000;

  // Takes the lock or fails with exit code 3 naming the holder.
  static Result<std::unique_ptr<Lock>> Acquire(RedisConnection* conn, const StateKeys& keys,
                                               const std::string& command, long long lease_ms = kDefaultLeaseMs);
  ~Lock();  // releases (best effort)

  // Extends the lease if due (more than a third of it used). Error when the
  // lock was lost: the caller must stop writing.
  Status Renew(bool force = false);
  // True while the last successful renewal is recent enough to write safely.
  bool Safe() const;
  void Release();

 private:
  Lock(RedisConnection* conn, std::string key, std::string value, long long lease_ms);
  RedisConnection* conn_;
  std::string key_, value_;
  long long lease_ms_;
  std::chrono::steady_clock::time_point renewed_;
  bool held_ = true;
};

}  // namespace keyshift
