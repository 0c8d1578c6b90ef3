// Memory next to maxmemory (engine/memory_guard.h): a budget Redis has no
// room for is refused, and a run that would fill Redis stops cleanly first.
#include <catch.hpp>
#include <fmt/format.h>

#include <cstdlib>

#include "tests/support/integration_fixtures.h"

using namespace keyshift;
using namespace keyshift::testing;

namespace {

// Each key grows by 2000 bytes: more than the journal estimate accounts for.
const char* kGrow = R"(return {
  description = "pad every value",
  scan = { match = "s:*", type = "string", batch = 100 },
  transform = function(key, value)
    if #value < 1000 then return value .. string.rep("x", 2000) end
  end,
})";

constexpr int kKeys = 2000;

long long UsedMemory(RedisConnection& conn) {
  std::string info = Cmd(conn, {"INFO", "memory"}).str;
  return std::atoll(info.c_str() + info.find("used_memory:") + 12);
}

// Seeds kKeys 100-byte strings and leaves Redis `room` bytes under maxmemory.
void SeedTight(RedisConnection& conn, long long room) {
  SeedStrings(conn, "s:", kKeys, std::string(100, 'v'));
  Cmd(conn, {"CONFIG", "SET", "maxmemory", std::to_string(UsedMemory(conn) + room)});
}

int CountLength(RedisConnection& conn, size_t length) {
  int n = 0;
  for (const auto& v : Values(conn, NumberedKeys("s:", 0, kKeys))) n += v.size() == length;
  return n;
}

}  // namespace

TEST_CASE("a --journal-budget larger than the room under maxmemory is refused", "[redis][memory]") {
  RedisServer server;
  auto conn = server.Connect();
  SeedTight(*conn, 2 << 20);
  TempDir dir;
  dir.Write("0001_grow.lua", kGrow);
  Keyshift ks(server, dir);
  long long changes = RdbChanges(*conn);
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"up", "--journal-budget", "1GB"},
        {"up", "--journal-budget", "1MB", "--memory-headroom", "1800KB"}}) {
    CliResult r = ks.Run(args);
    INFO(Describe(r));
    CHECK(r.exit_code == 2);
    CHECK_THAT(r.err, Catch::Contains("more than Redis has room for") && Catch::Contains("nothing was written"));
  }
  CHECK(RdbChanges(*conn) == changes);
  CliResult bad = ks.Run({"up", "--memory-headroom", "150%"});
  CHECK(bad.exit_code == 2);
  CHECK_THAT(bad.err, Catch::Contains("--memory-headroom"));
}

TEST_CASE("a run stops cleanly before Redis reaches maxmemory; it resumes, or down undoes it", "[redis][memory]") {
  RedisServer server;
  auto conn = server.Connect();
  SeedTight(*conn, 2 << 20);
  auto before = SnapshotData(*conn);
  TempDir dir;
  dir.Write("0001_grow.lua", kGrow);
  Keyshift ks(server, dir);
  CliResult r = ks.Run({"up", "--memory-headroom", "512KB"});
  INFO(Describe(r));
  CHECK(r.exit_code == 1);
  CHECK_THAT(r.err, Catch::Contains("stopped before Redis runs out of memory") && Catch::Contains("resume"));
  CHECK_THAT(r.all(), !Catch::Contains("OOM"));
  long long maxmemory = std::atoll(Cmd(*conn, {"CONFIG", "GET", "maxmemory"}).elements[1].str.c_str());
  CHECK(UsedMemory(*conn) < maxmemory);
  int grown = CountLength(*conn, 2100);
  CHECK(grown > 0);
  CHECK(grown < kKeys);
  CHECK(grown + CountLength(*conn, 100) == kKeys);
  CHECK(Cmd(*conn, {"EXISTS", "keyshift:{state}:ckpt:1"}).integer == 1);
  CHECK(Cmd(*conn, {"EXISTS", "keyshift:{state}:lock"}).integer == 0);
  SECTION("more room, and up resumes") {
    Cmd(*conn, {"CONFIG", "SET", "maxmemory", "0"});
    CliResult resumed = ks.Run({"up"});
    INFO(Describe(resumed));
    CHECK(resumed.exit_code == 0);
    CHECK(CountLength(*conn, 2100) == kKeys);
  }
  SECTION("down undoes what was done") {
    CliResult down = ks.Run({"down"});
    INFO(Describe(down));
    CHECK(down.exit_code == 0);
    CHECK(SnapshotData(*conn) == before);
  }
}
