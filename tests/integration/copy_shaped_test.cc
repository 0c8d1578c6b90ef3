// The target-side scripts of copy --apply / --revert (copy_shaped.h) given a
// key whose absolute expiry passed while it was on its way: it arrives
// expired, that is not at all, and the write is no error (the follow of a
// writer that sets short TTLs met this as "attempt to get length of a
// boolean value" and stopped).
#include <catch.hpp>

#include <chrono>

#include "engine/copy_shaped.h"
#include "tests/support/integration_fixtures.h"
#include "tests/support/values.h"

using namespace keyshift;
using namespace keyshift::testing;

namespace {

long long PastMs() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count() - 60000;
}

SourceKey Expired(const std::string& key, Value value) {
  SourceKey k;
  k.key = key;
  k.expire_ms = PastMs();
  Shaped shaped;
  shaped.touched = true;
  shaped.key = key;
  shaped.value = std::move(value);
  k.shaped = std::move(shaped);
  return k;
}

Value Hash() { return Pairs(KeyType::kHash, {{"f", "v"}}); }

}  // namespace

TEST_CASE("copy --apply: a key whose expiry passed on its way is written as expired, without an error",
          "[redis][copy]") {
  RedisServer server;
  auto conn = server.Connect();
  ScriptCache scripts(conn.get());
  StateKeys state{"keyshift:"};
  const std::string id = "src:1/0";
  for (const SourceKey& k : {Expired("doc:1", Text("{\"v\":2}")), Expired("user:1", Hash())}) {
    INFO(k.key);
    auto snapshot = scripts.Run({ShapedWrite(scripts, state, id, k, OnConflict::kOverwrite, 1)});
    REQUIRE(snapshot.ok());
    CHECK_FALSE((*snapshot)[0].is_error());
    auto follow = scripts.Run({ShapedSync(scripts, state, id, k.key, &k)});
    REQUIRE(follow.ok());
    CHECK_FALSE((*follow)[0].is_error());
    CHECK(Cmd(*conn, {"EXISTS", k.key}).integer == 0);
  }
}
