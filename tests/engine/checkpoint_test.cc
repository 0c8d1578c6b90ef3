// CheckpointStore (engine/checkpoint.h) against the fake single server:
// save/load round trip, separate catch-up checkpoints, and corrupt fields
// refused with an error naming the key.
#include "engine/checkpoint.h"

#include <catch.hpp>

#include "tests/support/fake_redis.h"
#include "tests/support/must.h"

namespace keyshift {
namespace {

using testing::FakeCluster;
using testing::Must;
using testing::MustOk;

Checkpoint Full() {
  Checkpoint cp;
  cp.cursor = "cluster:a@r1=12;b@r2=done!|0-8191:a,8192-16383:b";
  cp.counters = Counters{11, 12, 13, 14, 15, 16, 17};
  cp.started_at = "2026-11-29T10:00:00Z";
  cp.by = "ann@box";
  cp.status = CheckpointStatus::kFailed;
  cp.error = "0001_x.lua:3: boom";
  cp.failed_key = "user:1";
  cp.elapsed_ms = 1234;
  cp.run_id = "abc123";
  return cp;
}

void CheckSame(const Checkpoint& a, const Checkpoint& b) {
  CHECK(a.cursor == b.cursor);
  CHECK(a.counters.scanned == b.counters.scanned);
  CHECK(a.counters.changed == b.counters.changed);
  CHECK(a.counters.deleted == b.counters.deleted);
  CHECK(a.counters.renamed == b.counters.renamed);
  CHECK(a.counters.failed == b.counters.failed);
  CHECK(a.counters.skipped == b.counters.skipped);
  CHECK(a.counters.journal_bytes == b.counters.journal_bytes);
  CHECK(a.started_at == b.started_at);
  CHECK(a.by == b.by);
  CHECK(a.status == b.status);
  CHECK(a.error == b.error);
  CHECK(a.failed_key == b.failed_key);
  CHECK(a.elapsed_ms == b.elapsed_ms);
  CHECK(a.run_id == b.run_id);
}

TEST_CASE("a checkpoint saved is the checkpoint loaded", "[unit][checkpoint]") {
  auto fake = FakeCluster::SingleServer();
  auto conn = fake->Connect();
  StateKeys keys("ks:");
  CheckpointStore store(conn.get(), keys);
  CHECK_FALSE(Must(store.Load(3)).has_value());
  MustOk(store.Save(3, Full()));
  auto back = Must(store.Load(3));
  REQUIRE(back.has_value());
  CheckSame(*back, Full());

  Checkpoint plain;
  plain.cursor = "1536";
  MustOk(store.Save(4, plain));
  CheckSame(*Must(store.Load(4)), plain);

  CheckpointStore catchup(conn.get(), keys, true);  // its own key: up's stays as it is
  CHECK_FALSE(Must(catchup.Load(3)).has_value());
  MustOk(catchup.Save(3, plain));
  CheckSame(*Must(store.Load(3)), Full());
  CHECK(fake->Has(0, keys.catchup_checkpoint(3)));

  MustOk(store.Delete(3));
  CHECK_FALSE(Must(store.Load(3)).has_value());
  CHECK(Must(catchup.Load(3)).has_value());
}

TEST_CASE("a checkpoint with only some fields reads the rest as defaults", "[unit][checkpoint]") {
  auto fake = FakeCluster::SingleServer();
  auto conn = fake->Connect();
  StateKeys keys("ks:");
  Must(conn->Call({"HSET", keys.checkpoint(1), "scanned", "5"}));
  auto cp = Must(CheckpointStore(conn.get(), keys).Load(1));
  REQUIRE(cp.has_value());
  CHECK(cp->cursor == "0");
  CHECK(cp->status == CheckpointStatus::kRunning);
  CHECK(cp->counters.scanned == 5);
  CHECK(cp->counters.changed == 0);
}

TEST_CASE("a corrupt checkpoint field is refused, naming the key and the field", "[unit][checkpoint]") {
  struct Case {
    const char* field;
    const char* value;
  };
  const Case cases[] = {
      {"cursor", "abc"},        {"cursor", "-1"},          {"cursor", "cluster:garbage"},
      {"cursor", "1 2"},        {"scanned", "-1"},          {"changed", "12x"},
      {"journal_bytes", "1e3"}, {"failed", " 3"},           {"skipped", "99999999999999999999"},
      {"elapsed_ms", "soon"},   {"status", "done"},         {"status", "RUNNING"},
  };
  auto fake = FakeCluster::SingleServer();
  auto conn = fake->Connect();
  StateKeys keys("ks:");
  CheckpointStore store(conn.get(), keys);
  for (const Case& c : cases) {
    INFO(c.field << " = '" << c.value << "'");
    MustOk(store.Save(2, Full()));
    Must(conn->Call({"HSET", keys.checkpoint(2), c.field, c.value}));
    auto cp = store.Load(2);
    REQUIRE_FALSE(cp.ok());
    CHECK(cp.error().exit_code == kExitUsage);
    CHECK_THAT(cp.error().message, Catch::Contains("'" + keys.checkpoint(2) + "'"));
    CHECK_THAT(cp.error().message, Catch::Contains(std::string("field ") + c.field));
  }
}

TEST_CASE("a checkpoint key of another type is refused, naming the key", "[unit][checkpoint]") {
  auto fake = FakeCluster::SingleServer();
  auto conn = fake->Connect();
  StateKeys keys("ks:");
  Must(conn->Call({"SET", keys.checkpoint(5), "not a hash"}));
  auto cp = CheckpointStore(conn.get(), keys).Load(5);
  REQUIRE_FALSE(cp.ok());
  CHECK(cp.error().exit_code == kExitUsage);
  CHECK_THAT(cp.error().message, Catch::Contains(keys.checkpoint(5)) && Catch::Contains("type"));
  CHECK_FALSE(CheckpointStore(conn.get(), keys).Save(5, Full()).ok());
}

}  // namespace
}  // namespace keyshift
