// Lease lock: acquire, renew by token, release by token.
#include "runtime/lock.h"

#include <unistd.h>

#include <fstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "runtime/ledger.h"

namespace keyshift {

namespace {

const char* const kRenewScript =
    "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end return 0";
const char* const kReleaseScript =
    "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0";

std::string RandomToken() {
  unsigned char bytes[16] = {};
  std::ifstream urandom("/dev/urandom", std::ios::binary);
  urandom.read(reinterpret_cast<char*>(bytes), sizeof bytes);
  std::string hex;
  for (unsigned char b : bytes) hex += fmt::format("{:02x}", b);
  return hex;
}

std::string DescribeHolder(const std::string& value, long long pttl) {
  auto j = nlohmann::json::parse(value, nullptr, false);
  std::string who = value;
  if (j.is_object())
    who = fmt::format("{} (pid {}, `{}` since {})", j.value("holder", "?"), j.value("pid", 0LL),
                      j.value("command", "?"), j.value("since", "?"));
  return fmt::format("{}; the lease expires in {:.1f}s unless renewed", who, pttl / 1000.0);
}

}  // namespace

Lock::Lock(RedisConnection* conn, std::string key, std::string value, long long lease_ms)
    : conn_(conn), key_(std::move(key)), value_(std::move(value)), lease_ms_(lease_ms),
      renewed_(std::chrono::steady_clock::now()) {}

Lock::~Lock() { Release(); }

Result<std::unique_ptr<Lock>> Lock::Acquire(RedisConnection* conn, const StateKeys& keys, const std::string& command,
                                            long long lease_ms) {
  nlohmann::json j = {{"token", RandomToken()}, {"holder", CurrentUserAtHost()}, {"pid", static_cast<long long>(getpid())},
                      {"command", command},     {"since", NowIso8601()}};
  std::string value = j.dump();
  auto start = std::chrono::steady_clock::now();
  auto set = conn->Call({"SET", keys.lock(), value, "NX", "PX", std::to_string(lease_ms)});
  if (!set.ok()) return set.error();
  if (set->is_nil()) {
    auto holder = conn->Pipeline({{"GET", keys.lock()}, {"PTTL", keys.lock()}});
    if (!holder.ok()) return holder.error();
    return Error{kExitLockHeld, fmt::format("another keyshift run holds the lock on prefix '{}': {}", keys.prefix(),
                                            DescribeHolder((*holder)[0].str, (*holder)[1].integer))};
  }
  std::unique_ptr<Lock> lock(new Lock(conn, keys.lock(), value, lease_ms));
  lock->renewed_ = start;  // the lease counts from before the SET was sent
  return lock;
}

bool Lock::Safe() const {
  return held_ && std::chrono::steady_clock::now() - renewed_ < std::chrono::milliseconds(lease_ms_ / 3 * 2);
}

Status Lock::Renew(bool force) {
  if (!held_) return Fail("the lock was released");
  auto now = std::chrono::steady_clock::now();
  if (!force && now - renewed_ < std::chrono::milliseconds(lease_ms_ / 3)) return Status::Ok();
  auto r = conn_->Call({"EVAL", kRenewScript, "1", key_, value_, std::to_string(lease_ms_)});
  if (!r.ok()) return r.error();
  if (r->integer != 1) {
    held_ = false;
    return Fail("lost the lock (the lease expired before it could be renewed); stopped before writing more");
  }
  renewed_ = now;
  return Status::Ok();
}

void Lock::Release() {
  if (!held_) return;
  held_ = false;
  (void)conn_->Call({"EVAL", kReleaseScript, "1", key_, value_});
}

}  // namespace keyshift
