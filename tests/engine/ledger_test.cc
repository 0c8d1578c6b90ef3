// Ledger (engine/ledger.h) against the fake single server: records round
// trip, and a corrupt ledger is refused naming the key and the field.
#include "engine/ledger.h"

#include <catch.hpp>
#include <nlohmann/json.hpp>

#include "tests/support/fake_redis.h"
#include "tests/support/must.h"

namespace keyshift {
namespace {

using testing::FakeCluster;
using testing::Must;
using testing::MustOk;

LedgerRecord Full() {
  LedgerRecord r;
  r.version = 7;
  r.name = "0007_split_names";
  r.sha256 = std::string(64, 'a');
  r.status = LedgerStatus::kRolledBack;
  r.applied_at = "2026-11-29T10:00:00Z";
  r.duration_ms = 4321;
  r.counters = Counters{100, 40, 3, 2, 1, 0, 0};
  r.mode = RunMode::kServer;
  r.by = "ann@box";
  r.error = "0007_split_names.lua:9: bad \"quote\"\n and a newline";
  r.failed_key = "user:\x01é";
  r.rolled_back_at = "2026-11-29T11:00:00Z";
  r.conflicts = 5;
  r.pruned_at = "2026-11-29T12:00:00Z";
  r.caught = 9;
  r.caught_at = "2026-11-29T10:30:00Z";
  return r;
}

TEST_CASE("ledger records round-trip through the ledger hash", "[unit][ledger]") {
  auto fake = FakeCluster::SingleServer();
  auto conn = fake->Connect();
  StateKeys keys("ks:");
  Ledger ledger(conn.get(), keys);
  CHECK(Must(ledger.LoadAll()).empty());
  LedgerRecord applied;
  applied.version = 2;
  applied.name = "0002_x";
  applied.status = LedgerStatus::kApplied;
  MustOk(ledger.Put(Full()));
  MustOk(ledger.Put(applied));
  auto all = Must(ledger.LoadAll());
  REQUIRE(all.size() == 2);
  CHECK(all.at(2).ToJson() == applied.ToJson());
  const LedgerRecord& r = all.at(7);
  CHECK(r.ToJson() == Full().ToJson());
  CHECK(r.error == Full().error);
  CHECK(r.failed_key == Full().failed_key);
  CHECK(r.unknown.empty());  // every member ToJson writes is one FromJson knows
  CHECK(r.counters.deleted == 3);
  CHECK(r.conflicts == 5);
  CHECK(r.caught == 9);
  CHECK(r.mode == RunMode::kServer);
}

TEST_CASE("members this build does not know survive a rewrite of the record", "[unit][ledger]") {
  auto fake = FakeCluster::SingleServer();
  auto conn = fake->Connect();
  StateKeys keys("ks:");
  Ledger ledger(conn.get(), keys);
  Must(conn->Call({"HSET", keys.ledger(), "4",
                   R"({"version":9,"name":"0004_y","status":"applied","future":[1,{"a":"2"}],"zeta":null})"}));
  auto all = Must(ledger.LoadAll());
  REQUIRE(all.count(4));
  LedgerRecord r = all.at(4);
  CHECK(r.version == 4);  // the hash field, not the JSON, gives the version
  CHECK(r.name == "0004_y");
  r.pruned_at = "2026-11-29T12:00:00Z";  // as `prune` rewrites it
  MustOk(ledger.Put(r));
  auto stored = nlohmann::json::parse(Must(conn->Call({"HGET", keys.ledger(), "4"})).str);
  CHECK(stored["future"] == nlohmann::json::parse(R"([1,{"a":"2"}])"));
  CHECK(stored.contains("zeta"));
  CHECK(stored["pruned_at"] == "2026-11-29T12:00:00Z");
  CHECK(stored["version"] == 4);
}

TEST_CASE("a corrupt ledger is refused, naming the key and what is wrong", "[unit][ledger]") {
  struct Case {
    const char* field;
    const char* value;
    const char* says;
  };
  const Case cases[] = {
      {"abc", "{}", "field 'abc' that is not a version number"},
      {"-3", "{}", "field '-3' that is not a version number"},
      {"5", "not json", "not a JSON object"},
      {"5", "[1,2]", "not a JSON object"},
      {"5", R"({"status":"done"})", "status \"done\""},
      {"5", R"({"scanned":"12"})", "field \"scanned\" is \"12\", not an integer"},
      {"5", R"({"duration_ms":1.5})", "field \"duration_ms\""},
      {"5", R"({"changed":18446744073709551615})", "field \"changed\""},
      {"5", R"({"name":42})", "field \"name\" is 42, not a string"},
  };
  auto fake = FakeCluster::SingleServer();
  auto conn = fake->Connect();
  StateKeys keys("ks:");
  for (const Case& c : cases) {
    INFO(c.field << " = " << c.value);
    Must(conn->Call({"DEL", keys.ledger()}));
    Must(conn->Call({"HSET", keys.ledger(), c.field, c.value}));
    auto all = Ledger(conn.get(), keys).LoadAll();
    REQUIRE_FALSE(all.ok());
    CHECK(all.error().exit_code == kExitUsage);
    CHECK_THAT(all.error().message, Catch::Contains("'" + keys.ledger() + "'") && Catch::Contains(c.says));
  }
  Must(conn->Call({"DEL", keys.ledger()}));
  Must(conn->Call({"SADD", keys.ledger(), "1"}));
  auto wrong = Ledger(conn.get(), keys).LoadAll();
  REQUIRE_FALSE(wrong.ok());
  CHECK_THAT(wrong.error().message, Catch::Contains(keys.ledger()) && Catch::Contains("type"));
  CHECK_FALSE(Ledger(conn.get(), keys).Put(Full()).ok());
}

}  // namespace
}  // namespace keyshift
