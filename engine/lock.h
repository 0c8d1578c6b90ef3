// One runner at a time per prefix (SPEC 3): a lease in Redis.
//
// Format: string <prefix>{state}:lock = JSON
//   {"token":"<random hex>", "holder":"user@host", "pid":123,
//    "command":"up", "since":"<ISO-8601>"}
// with a PX expiry of the lease length (10 s by default; env
// KEYSHIFT_LOCK_LEASE_MS). Taken with SET NX PX; renewed (PEXPIRE) and released
// (DEL) only by a script that first checks the whole value, so a runner whose
// lease expired can never extend or delete a successor's lock.
//
// Renewal runs on a thread with its own connection, every third of the lease,
// so a long batch or a slow transform does not let the lease lapse. A crashed
// runner's lease runs out after one lease length. A runner writes only while
// its last successful renewal is less than two thirds of a lease old (Safe()),
// so it stops writing at least a third of a lease before anyone else could
// take the lock over.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "core/result.h"
#include "engine/state_keys.h"
#include "redis/redis_client.h"
#include "redis/topology.h"

namespace keyshift {

class Lock {
 public:
  static constexpr long long kDefaultLeaseMs = 10'000;
  // The lease length in force: KEYSHIFT_LOCK_LEASE_MS or the default.
  static long long LeaseMs();

  // Takes the lock or fails with exit code 3 naming the holder. With a
  // factory, a background thread renews the lease on its own connection.
  static Result<std::unique_ptr<Lock>> Acquire(RedisConnection* conn, const StateKeys& keys,
                                               const std::string& command, ConnectionFactory renew_conn = nullptr,
                                               long long lease_ms = LeaseMs());
  ~Lock();  // stops renewing and releases (best effort)

  // Error when the lease was lost or is too old to write under: the caller
  // must stop writing. Renews in place when there is no renewal thread.
  Status Renew();
  // Whether Renew() would talk to Redis now (a caller with replies in
  // flight on the lock's connection reads them first).
  bool RenewDue() const;
  bool Safe() const;
  void Release();
  // For scripts that check, as they write, that the lease is still theirs.
  const std::string& key() const { return key_; }
  const std::string& value() const { return value_; }
  long long lease_ms() const { return lease_ms_; }

 private:
  Lock(RedisConnection* conn, std::string key, std::string value, long long lease_ms);
  bool RenewOn(RedisConnection* conn);
  void RenewLoop(std::unique_ptr<RedisConnection> conn);

  RedisConnection* conn_;
  std::string key_, value_;
  long long lease_ms_;
  std::atomic<long long> renewed_ms_;  // steady_clock ms of the last successful renewal
  std::atomic<bool> lost_{false};
  bool held_ = true;
  std::thread renewer_;
  std::mutex mu_;
  std::condition_variable stop_cv_;
  bool stop_ = false;
};

}  // namespace keyshift
