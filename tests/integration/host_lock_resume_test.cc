// End to end: one runner at a time (a held lock fails `up` fast with exit 3,
// naming the holder; two racing `up`s: one wins), and resume after a failed
// run (the failing key untouched, every key transformed exactly once).
#include <algorithm>
#include <catch.hpp>
#include <chrono>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "tests/support/integration_fixtures.h"

namespace keyshift::testing {
namespace {

bool Contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

std::string StatusOf(const Keyshift& ks, const std::string& name) {
  CliResult r = ks.Run({"--output", "json", "status"});
  INFO(Describe(r));
  auto j = nlohmann::json::parse(r.out, nullptr, false);
  REQUIRE_FALSE(j.is_discarded());
  for (const auto& m : j.at("migrations"))
    if (m.value("name", "") == name) return m.value("status", "");
  return "(not listed)";
}

TEST_CASE("up fails fast with exit 3 naming the holder while another run holds the lock", "[redis][host][lock]") {
  RedisServer server;
  auto conn = server.Connect();
  TempDir dir;
  dir.Write("0001_upper.lua", R"LUA(return {
  description = "upper-case",
  transform = function(key, value) return value:upper() end,
}
)LUA");
  Cmd(*conn, {"SET", "a", "x"});
  const std::string holder =
      R"({"token":"0123456789abcdef","holder":"alice@batch-host-7","pid":4242,"command":"up","since":"2026-01-01T00:00:00Z"})";
  Cmd(*conn, {"SET", "keyshift:{state}:lock", holder, "PX", "30000"});
  auto data = SnapshotData(*conn);

  auto started = std::chrono::steady_clock::now();
  CliResult r = Keyshift(server, dir).Run({"up"});
  auto took = std::chrono::steady_clock::now() - started;
  INFO(Describe(r));
  CHECK(r.exit_code == 3);
  CHECK(took < std::chrono::milliseconds(1500));
  CHECK(Contains(r.err, "alice@batch-host-7"));
  CHECK(Contains(r.err, "4242"));
  CHECK(SnapshotData(*conn) == data);
  CHECK(Cmd(*conn, {"GET", "a"}).str == "x");
  // The loser leaves the holder's lease alone.
  CHECK(Cmd(*conn, {"GET", "keyshift:{state}:lock"}).str == holder);
  CHECK(Cmd(*conn, {"PTTL", "keyshift:{state}:lock"}).integer > 25'000);
  // A dry-run takes no lock, so it still works.
  CliResult dry = Keyshift(server, dir).Run({"up", "--dry-run"});
  INFO(Describe(dry));
  CHECK(dry.exit_code == 0);
}

TEST_CASE("two concurrent ups: exactly one runs, the other exits 3", "[redis][host][lock]") {
  RedisServer server;
  auto conn = server.Connect();
  TempDir dir, scratch("keyshift-race");
  // ~0.4 ms of busy work per key: about a second for the whole run.
  dir.Write("0001_slow_bang.lua", R"LUA(return {
  description = "append a bang, slowly",
  scan = { match = "k:*", type = "string", batch = 200 },
  transform = function(key, value)
    local t = os.clock()
    while os.clock() - t < 0.0004 do end
    return value .. "!"
  end,
}
)LUA");
  constexpr int kKeys = 2500;
  SeedStrings(*conn, "k:", kKeys, "v", 1);
  Keyshift ks(server, dir);

  Spawned a = SpawnKeyshift(ks.Args({"up"}), scratch, "a");
  Spawned b = SpawnKeyshift(ks.Args({"up"}), scratch, "b");
  CliResult ra = WaitKeyshift(a, 60);
  CliResult rb = WaitKeyshift(b, 60);
  INFO("A: " << Describe(ra));
  INFO("B: " << Describe(rb));
  std::vector<int> codes = {ra.exit_code, rb.exit_code};
  std::sort(codes.begin(), codes.end());
  REQUIRE(codes == std::vector<int>{0, 3});
  const CliResult& loser = ra.exit_code == 3 ? ra : rb;
  CHECK(Contains(loser.err, "holds the lock"));
  CHECK(Contains(loser.err, "@"));  // user@host of the winner

  auto values = Values(*conn, NumberedKeys("k:", 1, kKeys));
  int right = 0;
  for (const auto& v : values) right += v == "v!";
  CHECK(right == kKeys);
  CHECK(StatusOf(ks, "0001_slow_bang") == "applied");
  CHECK(Cmd(*conn, {"EXISTS", "keyshift:{state}:lock"}).integer == 0);  // released
}

// Line 6 raises on one key only.
constexpr const char* kFailsOnK500 = R"LUA(return {
  description = "append a bang (not idempotent)",
  scan = { match = "k:*", type = "string", batch = 100 },
  transform = function(key, value)
    if key == "k:500" then
      error("cannot handle this one")
    end
    return value .. "!"
  end,
}
)LUA";

constexpr const char* kFixed = R"LUA(return {
  description = "append a bang (not idempotent)",
  scan = { match = "k:*", type = "string", batch = 100 },
  transform = function(key, value)
    return value .. "!"
  end,
}
)LUA";

TEST_CASE("a run that fails on one key stops, leaves it as it was, and resumes exactly once after the fix",
          "[redis][host][resume]") {
  RedisServer server;
  auto conn = server.Connect();
  TempDir dir;
  constexpr int kKeys = 1000;
  SeedStrings(*conn, "k:", kKeys, "v", 1);
  dir.Write("0001_bang.lua", kFailsOnK500);
  Keyshift ks(server, dir);

  CliResult failed = ks.Run({"up"});  // --on-error abort is the default
  INFO(Describe(failed));
  CHECK(failed.exit_code == 1);
  CHECK(Contains(failed.err, "0001_bang.lua:6:"));
  CHECK(Contains(failed.err, "cannot handle this one"));
  CHECK(Contains(failed.err, "'k:500'"));
  CHECK(Contains(failed.out, "FAILED"));
  CHECK(Cmd(*conn, {"GET", "k:500"}).str == "v");
  int done = 0;
  for (const auto& v : Values(*conn, NumberedKeys("k:", 1, kKeys))) {
    CHECK((v == "v" || v == "v!"));
    done += v == "v!";
  }
  CHECK(done < kKeys);
  CHECK(StatusOf(ks, "0001_bang") == "failed");
  CliResult status = ks.Run({"status"});
  INFO(Describe(status));
  CHECK(Contains(status.out, "failed"));
  CHECK(Contains(status.out, "k:500"));

  // Not applied yet, so editing the file is not drift.
  dir.Write("0001_bang.lua", kFixed);
  CliResult resumed = ks.Run({"up"});
  INFO(Describe(resumed));
  CHECK(resumed.exit_code == 0);
  CHECK(Contains(resumed.out, "resumed"));
  int right = 0;
  for (const auto& v : Values(*conn, NumberedKeys("k:", 1, kKeys))) right += v == "v!";
  CHECK(right == kKeys);
  CHECK(StatusOf(ks, "0001_bang") == "applied");
  CHECK(ks.Run({"up"}).out.find("nothing to do") != std::string::npos);
}

// A failed batch is redone from the saved cursor: it must not be counted twice.
TEST_CASE("after a failed run and a resume, the ledger counts each key once",
          "[redis][host][resume]") {
  RedisServer server;
  auto conn = server.Connect();
  TempDir dir;
  constexpr int kKeys = 1000;
  SeedStrings(*conn, "k:", kKeys, "v", 1);
  dir.Write("0001_bang.lua", kFailsOnK500);
  Keyshift ks(server, dir);
  CliResult failed = ks.Run({"up"});
  INFO(Describe(failed));
  REQUIRE(failed.exit_code == 1);
  dir.Write("0001_bang.lua", kFixed);
  CliResult resumed = ks.Run({"up"});
  INFO(Describe(resumed));
  REQUIRE(resumed.exit_code == 0);

  CliResult r = ks.Run({"--output", "json", "status"});
  auto j = nlohmann::json::parse(r.out, nullptr, false);
  REQUIRE_FALSE(j.is_discarded());
  REQUIRE(j.at("migrations").size() == 1);
  const auto& ledger = j.at("migrations")[0].at("ledger");
  INFO(ledger.dump());
  CHECK(ledger.at("changed") == kKeys);
  CHECK(ledger.at("scanned") == kKeys);
}

}  // namespace
}  // namespace keyshift::testing
