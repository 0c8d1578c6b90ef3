// Lease lock: acquire, renew by value (on a background thread), release by value.
#include "engine/lock.h"

#include <unistd.h>

#include <cstdlib>
#include <fstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "engine/ledger.h"

namespace keyshift {

namespace {

// A lease that lapsed while Redis was blocked by a long call (no renewal can
// run then) is taken back if nobody else took it: one atomic step, so two
// runners never both hold it.
const char* const kRenewScript =
    "local v = redis.call('GET', KEYS[1]) "
    "if v == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end "
    "if not v then redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) return 1 end return 0";
const char* const kReleaseScript =
    "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0";

long long SteadyMs() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(steady_clock::now().time_since_epoch()).count();
}

std::string RandomToken() {
  unsigned char bytes[16] = {};
  std::ifstream urandom("/dev/urandom", std::ios::binary);
  urandom.read(reinterpret_cast<char*>(bytes), sizeof bytes);
  std::string hex;
  for (unsigned char b : bytes) hex += fmt::format("{:02x}", b);
  return hex;
}

// Any member as text: the value may have been written by hand, in any shape.
std::string Member(const nlohmann::json& j, const char* name) {
  auto it = j.find(name);
  if (it == j.end()) return "?";
  return it->is_string() ? it->get<std::string>() : it->dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string DescribeHolder(const std::string& value, long long pttl) {
  auto j = nlohmann::json::parse(value, nullptr, false);
  std::string who = value.size() > 200 ? value.substr(0, 200) + "..." : value;
  if (j.is_object())
    who = fmt::format("{} (pid {}, `{}` since {})", Member(j, "holder"), Member(j, "pid"), Member(j, "command"),
                      Member(j, "since"));
  // A lease keyshift set always expires; a value without expiry was put there
  // by hand and would block every run forever.
  if (pttl < 0) return fmt::format("{}; it has no expiry, so keyshift did not set it: delete it once no keyshift run "
                                   "is active", who);
  return fmt::format("{}; the lease expires in {:.1f}s unless renewed", who, pttl / 1000.0);
}

}  // namespace

long long Lock::LeaseMs() {
  const char* env = std::getenv("KEYSHIFT_LOCK_LEASE_MS");
  long long v = env ? std::atoll(env) : 0;
  return v >= 300 ? v : kDefaultLeaseMs;
}

Lock::Lock(RedisConnection* conn, std::string key, std::string value, long long lease_ms)
    : conn_(conn), key_(std::move(key)), value_(std::move(value)), lease_ms_(lease_ms), renewed_ms_(SteadyMs()) {}

Lock::~Lock() { Release(); }

Result<std::unique_ptr<Lock>> Lock::Acquire(RedisConnection* conn, const StateKeys& keys, const std::string& command,
                                            ConnectionFactory renew_conn, long long lease_ms) {
  nlohmann::json j = {{"token", RandomToken()}, {"holder", CurrentUserAtHost()}, {"pid", static_cast<long long>(getpid())},
                      {"command", command},     {"since", NowIso8601()}};
  long long sent_at = SteadyMs();  // the lease counts from before the SET was sent
  auto set = conn->Call({"SET", keys.lock(), j.dump(), "NX", "PX", std::to_string(lease_ms)});
  if (!set.ok()) return set.error();
  if (set->is_nil()) {
    auto holder = conn->Pipeline({{"GET", keys.lock()}, {"PTTL", keys.lock()}});
    if (!holder.ok()) return holder.error();
    if ((*holder)[0].is_error()) return StateRefusal({"GET", keys.lock()}, (*holder)[0], keys.lock());
    return Error{kExitLockHeld, fmt::format("another keyshift run holds the lock on prefix '{}': {}", keys.prefix(),
                                            DescribeHolder((*holder)[0].str, (*holder)[1].integer))};
  }
  std::unique_ptr<Lock> lock(new Lock(conn, keys.lock(), j.dump(), lease_ms));
  lock->renewed_ms_ = sent_at;
  if (renew_conn) {
    auto c = renew_conn();
    if (!c.ok()) return c.error();
    lock->renewer_ = std::thread(&Lock::RenewLoop, lock.get(), std::move(c.value()));
  }
  return lock;
}

bool Lock::RenewOn(RedisConnection* conn) {
  long long sent_at = SteadyMs();
  auto r = conn->Call({"EVAL", kRenewScript, "1", key_, value_, std::to_string(lease_ms_)});
  if (r.ok() && r->integer == 1) {
    renewed_ms_ = sent_at;
    return true;
  }
  if (r.ok()) lost_ = true;  // the key holds someone else's value, or none: never retry
  return false;
}

void Lock::RenewLoop(std::unique_ptr<RedisConnection> conn) {
  std::unique_lock<std::mutex> guard(mu_);
  bool renewed = true;
  while (!stop_ && !lost_) {
    // After a failure (BUSY while a script runs, a transport error) retry
    // soon, so a lease that lapsed during a long call is back at once.
    long long wait_ms = renewed ? lease_ms_ / 3 : std::min<long long>(50, lease_ms_ / 3);
    stop_cv_.wait_for(guard, std::chrono::milliseconds(wait_ms), [this] { return stop_; });
    if (stop_) break;
    guard.unlock();
    renewed = RenewOn(conn.get());  // Safe() covers the gap
    guard.lock();
  }
}

bool Lock::Safe() const { return held_ && !lost_ && SteadyMs() - renewed_ms_ < lease_ms_ * 2 / 3; }

bool Lock::RenewDue() const {
  bool due = SteadyMs() - renewed_ms_ >= lease_ms_ / 3;
  // With a renewal thread, only when it fell behind (Redis was blocked).
  return held_ && !lost_ && (renewer_.joinable() ? !Safe() : due);
}

Status Lock::Renew() {
  if (RenewDue()) RenewOn(conn_);
  if (Safe()) return Status::Ok();
  return Fail(lost_ ? "lost the lock: another runner may hold it now; stopped before writing more"
                    : "could not renew the lock lease in time; stopped before writing more");
}

void Lock::Release() {
  if (renewer_.joinable()) {
    {
      std::lock_guard<std::mutex> guard(mu_);
      stop_ = true;
    }
    stop_cv_.notify_all();
    renewer_.join();
  }
  if (!held_) return;
  held_ = false;
  if (!lost_) (void)conn_->Call({"EVAL", kReleaseScript, "1", key_, value_});
}

}  // namespace keyshift
