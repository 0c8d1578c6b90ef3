// Lock (engine/lock.h) against the fake single server: what can be tested
// without Lua. Taking the lease (SET NX PX) and the refusal that names the
// holder are plain commands; renewal and release are scripts (EVAL), which
// the fake does not run: the [redis] lock tests cover those.
#include "engine/lock.h"

#include <unistd.h>

#include <catch.hpp>
#include <nlohmann/json.hpp>

#include "engine/ledger.h"
#include "tests/support/fake_redis.h"
#include "tests/support/must.h"

namespace keyshift {
namespace {

using testing::FakeCluster;
using testing::Must;

constexpr long long kLease = 10'000;

// The refusal a second runner gets while `value` (with `pttl`) holds the lock.
Error Refusal(RedisConnection* conn, const StateKeys& keys, const std::string& value, long long pttl) {
  Must(conn->Call({"SET", keys.lock(), value}));
  if (pttl > 0) Must(conn->Call({"PEXPIRE", keys.lock(), std::to_string(pttl)}));
  auto second = Lock::Acquire(conn, keys, "down", nullptr, kLease);
  REQUIRE_FALSE(second.ok());
  return second.error();
}

TEST_CASE("the lock is a lease holding who took it", "[unit][lock]") {
  auto fake = FakeCluster::SingleServer();
  auto conn = fake->Connect();
  StateKeys keys("ks:");
  auto lock = Must(Lock::Acquire(conn.get(), keys, "up", nullptr, kLease));
  CHECK(lock->key() == keys.lock());
  auto stored = Must(conn->Call({"GET", keys.lock()}));
  CHECK(stored.str == lock->value());
  auto j = nlohmann::json::parse(stored.str);
  CHECK(j["holder"] == CurrentUserAtHost());
  CHECK(j["pid"] == static_cast<long long>(getpid()));
  CHECK(j["command"] == "up");
  CHECK(j["token"].get<std::string>().size() == 32);
  CHECK(Must(conn->Call({"PTTL", keys.lock()})).integer == kLease);
  CHECK(lock->Safe());
  CHECK(lock->Renew().ok());  // not due yet: no script needed

  auto second = Lock::Acquire(conn.get(), keys, "down", nullptr, kLease);
  REQUIRE_FALSE(second.ok());
  CHECK(second.error().exit_code == kExitLockHeld);
  CHECK_THAT(second.error().message,
             Catch::Contains("prefix 'ks:'") && Catch::Contains(CurrentUserAtHost()) &&
                 Catch::Contains("pid " + std::to_string(getpid())) && Catch::Contains("`up`") &&
                 Catch::Contains("expires in 10.0s"));
}

TEST_CASE("a refused runner is told who holds the lock, whatever the value", "[unit][lock]") {
  auto fake = FakeCluster::SingleServer();
  auto conn = fake->Connect();
  StateKeys keys("ks:");

  Error held = Refusal(conn.get(), keys, R"({"holder":"bob@ci","pid":77,"command":"catchup","since":"T"})", 2500);
  CHECK(held.exit_code == kExitLockHeld);
  CHECK_THAT(held.message, Catch::Contains("bob@ci (pid 77, `catchup` since T)") &&
                               Catch::Contains("expires in 2.5s unless renewed"));

  Error odd = Refusal(conn.get(), keys, R"({"holder":42,"pid":"x"})", 1000);
  CHECK_THAT(odd.message, Catch::Contains("42 (pid x, `?` since ?)"));

  Error by_hand = Refusal(conn.get(), keys, "maintenance", -1);
  CHECK_THAT(by_hand.message, Catch::Contains("maintenance") && Catch::Contains("no expiry") &&
                                  Catch::Contains("delete it once no keyshift run is active"));

  Error huge = Refusal(conn.get(), keys, std::string(500, 'z'), 1000);
  CHECK_THAT(huge.message, Catch::Contains(std::string(200, 'z') + "...") &&
                               !Catch::Contains(std::string(201, 'z')));
}

TEST_CASE("a lock key of another type is refused as corrupt state, naming it", "[unit][lock]") {
  auto fake = FakeCluster::SingleServer();
  auto conn = fake->Connect();
  StateKeys keys("ks:");
  Must(conn->Call({"HSET", keys.lock(), "holder", "x"}));
  auto lock = Lock::Acquire(conn.get(), keys, "up", nullptr, kLease);
  REQUIRE_FALSE(lock.ok());
  CHECK(lock.error().exit_code == kExitUsage);
  CHECK_THAT(lock.error().message, Catch::Contains("'" + keys.lock() + "'"));
}

}  // namespace
}  // namespace keyshift
