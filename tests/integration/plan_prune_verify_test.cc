// `plan`, `up`'s journal check, `prune` and `verify` against a real server.
#include <catch.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "tests/support/integration_fixtures.h"

using namespace keyshift;
using namespace keyshift::testing;

namespace {

void SeedUsers(RedisConnection& conn, int n) {
  std::vector<Command> seed;
  for (int i = 0; i < n; ++i)
    seed.push_back({"HSET", fmt::format("user:{}", i), "name", std::string(40, 'n'), "created_at",
                    i % 4 == 0 ? "1700000000" : "2024-01-01T00:00:00Z"});
  for (int i = 0; i < n / 2; ++i) seed.push_back({"SET", fmt::format("other:{}", i), "x"});
  REQUIRE(conn.Pipeline(seed).ok());
}

const char* kEpoch = R"(return {
  description = "created_at to epoch",
  scan = { match = "user:*", type = "hash" },
  transform = function(key, value)
    if not value.created_at:match("^%d+$") then
      value.created_at = time.to_epoch(value.created_at)
      return value
    end
  end,
  verify = function(key, value)
    return value.created_at:match("^%d+$") ~= nil, "created_at is not epoch seconds: " .. value.created_at
  end,
})";

}  // namespace

TEST_CASE("plan estimates keys, changes and journal size without writing", "[redis][plan]") {
  RedisServer server;
  auto conn = server.Connect();
  TempDir dir;
  SeedUsers(*conn, 1000);
  dir.Write("0001_epoch.lua", kEpoch);
  Keyshift ks(server, dir);
  long long changes = RdbChanges(*conn);
  CliResult r = ks.Run({"--output", "json", "plan"});
  INFO(Describe(r));
  REQUIRE(r.exit_code == 0);
  CHECK(RdbChanges(*conn) == changes);
  auto j = nlohmann::json::parse(r.out);
  auto m = j["migrations"][0];
  CHECK(m["exact"] == true);  // 1500 keys fit in the default sample
  CHECK(m["est_matched"] == 1000);
  CHECK(m["est_changed"] == 750);
  long long journal = m["est_journal_bytes"];
  CHECK(journal > 750 * 60);
  CHECK(journal < 750 * 400);
  CliResult text = ks.Run({"plan"});
  CHECK_THAT(text.out, Catch::Contains("keys matched") && Catch::Contains("journal") && Catch::Contains("keys/s"));
}

TEST_CASE("up refuses a journal that would not fit unless --journal-budget allows it", "[redis][plan]") {
  RedisServer server;
  auto conn = server.Connect();
  TempDir dir;
  SeedUsers(*conn, 3000);
  dir.Write("0001_epoch.lua", kEpoch);
  Keyshift ks(server, dir);
  SECTION("maxmemory too small for the journal") {
    auto info = Cmd(*conn, {"INFO", "memory"}).str;
    long long used = std::atoll(info.c_str() + info.find("used_memory:") + 12);
    Cmd(*conn, {"CONFIG", "SET", "maxmemory", std::to_string(used + 150 * 1024)});
    long long changes = RdbChanges(*conn);
    CliResult r = ks.Run({"up"});
    INFO(Describe(r));
    CHECK(r.exit_code == 1);
    CHECK_THAT(r.err, Catch::Contains("would not fit") && Catch::Contains("--journal-budget"));
    CHECK(Cmd(*conn, {"HGET", "user:1", "created_at"}).str == "2024-01-01T00:00:00Z");
    CHECK(RdbChanges(*conn) == changes);
  }
  SECTION("a budget smaller than the estimate refuses, a larger one runs") {
    CliResult small = ks.Run({"up", "--journal-budget", "10KB"});
    CHECK(small.exit_code == 1);
    CHECK_THAT(small.err, Catch::Contains("over --journal-budget 10KB"));
    CliResult big = ks.Run({"up", "--journal-budget", "1GB"});
    INFO(Describe(big));
    CHECK(big.exit_code == 0);
    CHECK(Cmd(*conn, {"HGET", "user:1", "created_at"}).str == "1704067200");
  }
}

TEST_CASE("prune asks first, drops the journal, and down then refuses", "[redis][prune]") {
  RedisServer server;
  auto conn = server.Connect();
  TempDir dir;
  SeedUsers(*conn, 100);
  dir.Write("0001_epoch.lua", kEpoch);
  Keyshift ks(server, dir);
  REQUIRE(ks.Run({"up"}).exit_code == 0);
  REQUIRE_FALSE(ScanKeys(*conn, "keyshift:j:1:*").empty());
  CliResult no = RunKeyshift(ks.Args({"prune", "1"}), "nope\n");
  CHECK(no.exit_code == 2);
  CHECK_FALSE(ScanKeys(*conn, "keyshift:j:1:*").empty());
  CliResult yes = RunKeyshift(ks.Args({"prune", "1"}), "1\n");
  INFO(Describe(yes));
  CHECK(yes.exit_code == 0);
  CHECK(ScanKeys(*conn, "keyshift:j:1:*").empty());
  CliResult down = ks.Run({"down"});
  INFO(Describe(down));
  CHECK(down.exit_code == 1);
  CHECK_THAT(down.err, Catch::Contains("pruned"));
  CHECK(Cmd(*conn, {"HGET", "user:1", "created_at"}).str == "1704067200");
  CHECK_THAT(ks.Run({"status"}).out, Catch::Contains("pruned"));
}

TEST_CASE("verify lists failing keys with reasons and sets the exit code", "[redis][verify]") {
  RedisServer server;
  auto conn = server.Connect();
  TempDir dir;
  SeedUsers(*conn, 50);
  dir.Write("0001_epoch.lua", kEpoch);
  Keyshift ks(server, dir);
  REQUIRE(ks.Run({"up"}).exit_code == 0);
  CliResult ok = ks.Run({"verify"});
  INFO(Describe(ok));
  CHECK(ok.exit_code == 0);
  CHECK_THAT(ok.out, Catch::Contains("50 keys checked, 0 failed"));
  Cmd(*conn, {"HSET", "user:3", "created_at", "yesterday"});
  Cmd(*conn, {"HSET", "user:9", "created_at", "later"});
  CliResult bad = ks.Run({"verify", "1"});
  INFO(Describe(bad));
  CHECK(bad.exit_code == 1);
  CHECK_THAT(bad.out, Catch::Contains("'user:3'") && Catch::Contains("created_at is not epoch seconds: yesterday"));
  CHECK_THAT(bad.out, Catch::Contains("2 failed"));
}
