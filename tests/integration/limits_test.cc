// End to end, guarantee 9 (nothing wedged) and SPEC 2's limits where a
// migration could otherwise escape them: xpcall handlers and odd error
// objects inside Redis, pre-flight placement, --on-error abort, a file that
// fills its own memory limit, and server-side calls longer than the lease.
#include <catch.hpp>
#include <string>

#include <fmt/format.h>

#include "tests/support/integration_fixtures.h"

namespace keyshift::testing {
namespace {

// A redis-server that answers BUSY after 300 ms, so the watchdog acts fast.
RedisServer::Options QuickBusy() { return RedisServer::Options{{"--busy-reply-threshold", "300"}, ""}; }

// A server-mode migration of r:* strings whose transform body is `body`;
// `rawget(_G, "redis")` is true only inside Redis (the host pre-flight passes).
std::string ServerMigration(const std::string& body, const std::string& top = "") {
  return top + "return {\n  description = \"limits\",\n  mode = \"server\",\n"
               "  scan = { match = \"r:*\", type = \"string\", batch = 10 },\n  limits = { time_ms = 300 },\n"
               "  transform = function(key, value)\n" +
         body + "\n    return value .. '!'\n  end,\n}\n";
}

// Runs `up` of a server-mode migration over r:0..r:29 whose transform body
// spins inside Redis on key `spins`: the call must be killed with SCRIPT KILL,
// Redis must answer, and that key must be unchanged.
void ExpectKilledInRedis(const std::string& body, const std::string& spins) {
  RedisServer server(QuickBusy());
  auto conn = server.Connect();
  SeedStrings(*conn, "r:", 30, "v");
  TempDir dir;
  dir.Write("0001_spins.lua", ServerMigration(fmt::format("    if key == '{}' and rawget(_G, 'redis') then\n{}\n    end",
                                                         spins, body)));
  Keyshift ks(server, dir);
  CliResult r = ks.Run({"up"}, 60);
  INFO(Describe(r));
  CHECK(r.exit_code == 1);
  CHECK_THAT(r.all(), Catch::Contains("SCRIPT KILL") && Catch::Contains("'" + spins + "'"));
  CHECK(Cmd(*conn, {"PING"}).str == "PONG");
  CHECK(Cmd(*conn, {"GET", spins}).str == "v");
}

TEST_CASE("an xpcall handler that loops inside Redis is killed; Redis keeps answering", "[redis][server][limits]") {
  ExpectKilledInRedis("      xpcall(function() error('x') end, function() while true do end end)", "r:25");
}

TEST_CASE("a pattern bomb inside Redis is killed; Redis keeps answering", "[redis][server][limits]") {
  ExpectKilledInRedis("      string.find(string.rep('a', 3000), '.-.-.-.-b')", "r:7");
}

TEST_CASE("a pattern bomb called as a method inside Redis is killed", "[redis][server][limits]") {
  ExpectKilledInRedis("      local s = string.rep('a', 3000)\n      s:gsub('.-.-.-.-b', '')", "r:3");
}

TEST_CASE("an error object with looping metamethods does not take Redis down", "[redis][server][limits]") {
  RedisServer server(QuickBusy());
  auto conn = server.Connect();
  SeedStrings(*conn, "r:", 3, "v");
  TempDir dir;
  const char* loop = "setmetatable({}, { __index = function() while true do end end,\n"
                     "  __tostring = function() while true do end end })";
  dir.Write("0001_top.lua", ServerMigration("", fmt::format("if rawget(_G, 'redis') then error({}) end\n", loop)));
  Keyshift ks(server, dir);
  CliResult r = ks.Run({"up"}, 60);
  INFO(Describe(r));
  CHECK(r.exit_code == 1);
  REQUIRE(Cmd(*conn, {"PING"}).str == "PONG");
  CHECK(Values(*conn, NumberedKeys("r:", 0, 3)) == std::vector<std::string>(3, "v"));
  dir.Remove("0001_top.lua");
  dir.Write("0001_key.lua", ServerMigration(fmt::format("    if rawget(_G, 'redis') then error({}) end", loop)));
  r = ks.Run({"up"}, 60);
  INFO(Describe(r));
  CHECK(r.exit_code == 1);
  CHECK(Cmd(*conn, {"PING"}).str == "PONG");
}

TEST_CASE("the server-mode pre-flight runs on the first batch that has a key", "[redis][server][limits]") {
  RedisServer server;
  auto conn = server.Connect();
  SeedStrings(*conn, "other:", 3000, "x");  // SCAN's first batches hold no r:* key
  Cmd(*conn, {"SET", "r:1", "v"});
  TempDir dir;
  dir.Write("0001_fails.lua", ServerMigration("    error('refused')"));
  Keyshift ks(server, dir);
  CliResult r = ks.Run({"up"});
  INFO(Describe(r));
  CHECK(r.exit_code == 1);
  CHECK_THAT(r.all(), Catch::Contains("refused") && Catch::Contains("host pre-flight"));
  CHECK(Cmd(*conn, {"GET", "r:1"}).str == "v");
}

TEST_CASE("--on-error abort stops at the first failing key of a batch", "[redis][host][limits]") {
  RedisServer server;
  auto conn = server.Connect();
  SeedStrings(*conn, "a:", 50, "v");
  TempDir dir;
  dir.Write("0001_fails.lua", R"(return {
  description = "fails on every key",
  scan = { match = "a:*" },
  transform = function(key, value)
    ks.log("transforming " .. key)
    error("bad value")
  end,
})");
  Keyshift ks(server, dir);
  for (const char* mode : {"host", "server"}) {
    CliResult r = ks.Run({"up", "--mode", mode, "--on-error", "abort"});
    INFO(mode << ": " << Describe(r));
    CHECK(r.exit_code == 1);
    size_t runs = 0;
    for (size_t at = r.all().find("transforming a:"); at != std::string::npos; at = r.all().find("transforming a:", at + 1))
      ++runs;
    CHECK(runs == 1);
  }
}

TEST_CASE("a file whose top level fills its own memory limit is an error, not an abort", "[redis][host][limits]") {
  RedisServer server;
  TempDir dir;
  dir.Write("0001_full.lua", R"(local keep = {}
for i = 1, 40000 do keep[i] = ("x"):rep(64) .. i end
return {
  description = "fills its own limit",
  limits = { memory_mb = 1 },
  transform = function(key, value) return keep[1] end,
  verify = function(key, value) return true end,
})");
  Keyshift ks(server, dir);
  for (const char* command : {"check", "up", "plan"}) {
    CliResult r = ks.Run({command});
    INFO(command << ": " << Describe(r));
    CHECK((r.exit_code == 1 || r.exit_code == 2));
    CHECK_THAT(r.all(), Catch::Contains("0001_full.lua:") && Catch::Contains("memory limit exceeded (1 MiB"));
  }
}

TEST_CASE("a server-side call longer than the lock lease keeps the lock and the run", "[redis][server][limits][lock]") {
  RedisServer server;  // default busy-reply-threshold: the slow call is allowed, nobody kills it
  auto conn = server.Connect();
  SeedStrings(*conn, "r:", 20, "v");
  TempDir dir, scratch("keyshift-lease");
  // The first call only (a marker key remembers it) runs 1e8 additions in Lua
  // 5.1: far longer than a 300 ms lease. One key per batch, so the run goes on
  // renewing and writing after it.
  std::string text = ServerMigration(
      "    local r = rawget(_G, 'redis')\n"
      "    if r and r['call']('SETNX', 'slow:marker', '1') == 1 then\n"
      "      local t = 0\n"
      "      for i = 1, 1e8 do t = t + i end\n"
      "    end");
  text.replace(text.find("time_ms = 300"), 13, "time_ms = 60000");
  text.replace(text.find("batch = 10"), 10, "batch = 1");
  dir.Write("0001_slow.lua", text);
  Keyshift ks(server, dir);
  Spawned run = SpawnKeyshift(ks.Args({"up"}), scratch, "slow", {{"KEYSHIFT_LOCK_LEASE_MS", "300"}});
  CliResult r = WaitKeyshift(run, 120);
  INFO(Describe(r));
  CHECK(r.exit_code == 0);
  CHECK(Values(*conn, NumberedKeys("r:", 0, 20)) == std::vector<std::string>(20, "v!"));
  CHECK(Cmd(*conn, {"EXISTS", "keyshift:{state}:lock"}).integer == 0);  // released at the end
}


TEST_CASE("the server-mode pre-flight transforms a bounded share of a batch of large values",
          "[redis][server][limits]") {
  RedisServer server;
  auto conn = server.Connect();
  SeedStrings(*conn, "big:", 20, std::string(100 * 1024, 'x'));  // one batch, 2 MB of values
  TempDir dir;
  dir.Write("0001_big.lua", R"(return {
  description = "appends a mark",
  mode = "server",
  scan = { match = "big:*" },
  transform = function(key, value)
    if not rawget(_G, "redis") then ks.log("pre-flight " .. key) end
    return value .. "!"
  end,
})");
  Keyshift ks(server, dir);
  CliResult r = ks.Run({"up"});
  INFO(Describe(r));
  REQUIRE(r.exit_code == 0);
  size_t host_runs = 0;
  for (size_t at = r.all().find("pre-flight big:"); at != std::string::npos; at = r.all().find("pre-flight big:", at + 1))
    ++host_runs;
  // 256 KiB of values: three keys of 100 KiB, not the batch's twenty.
  CHECK(host_runs >= 1);
  CHECK(host_runs <= 3);
  CHECK(Values(*conn, NumberedKeys("big:", 0, 20)) == std::vector<std::string>(20, std::string(100 * 1024, 'x') + "!"));
}

}  // namespace
}  // namespace keyshift::testing
