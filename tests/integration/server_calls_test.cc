// Server mode sends several keys per script call (server_runner.h). Each key
// must still get the result a call of its own would give: errors per key,
// a runaway transform killed with nothing of its call written, a key the call
// already wrote (given twice, or over the call's byte budget) sent again.
#include <catch.hpp>
#include <fmt/format.h>

#include <regex>

#include "bindings/migration_script.h"
#include "engine/directory.h"
#include "engine/server_runner.h"
#include "tests/support/integration_fixtures.h"

using namespace keyshift;
using namespace keyshift::testing;

namespace {

// INFO commandstats' number of EVALSHA calls since the last CONFIG RESETSTAT.
long long EvalshaCalls(RedisConnection& conn) {
  std::string info = Cmd(conn, {"INFO", "commandstats"}).str;
  std::smatch m;
  if (!std::regex_search(info, m, std::regex(R"(cmdstat_evalsha:calls=(\d+))"))) return 0;
  return std::stoll(m[1].str());
}

// A server-mode migration of r:* strings in batches of `batch` keys.
std::string Migration(const std::string& body, int batch = 500) {
  return "return {\n  description = \"calls\",\n  mode = \"server\",\n"
         "  scan = { match = \"r:*\", type = \"string\", batch = " + std::to_string(batch) +
         " },\n  limits = { time_ms = 300 },\n"
         "  transform = function(key, value)\n" +
         body + "\n    return value .. '!'\n  end,\n}\n";
}

// A ServerRunner for the only migration in `dir`, on `conn`.
struct DirectRunner {
  DirectRunner(Topology& conn, const TempDir& dir) : scripts(&conn) {
    auto read = ReadMigrationDir(dir.path());
    REQUIRE(read.ok());
    files = std::move(read->files);
    auto loaded = MigrationScript::Load(files.front().path, files.front().text, SandboxLimits{});
    REQUIRE(loaded.ok());
    script = std::move(loaded.value());
    runner = std::make_unique<ServerRunner>(scripts, state, files.front(), script->info(), nullptr);
  }
  StateKeys state{"keyshift:"};
  ScriptCache scripts;
  std::vector<MigrationFile> files;
  std::unique_ptr<MigrationScript> script;
  std::unique_ptr<ServerRunner> runner;
};

}  // namespace

TEST_CASE("server mode takes many keys per call; each key's result is its own", "[redis][server]") {
  RedisServer server;
  auto conn = server.Connect();
  SeedStrings(*conn, "r:", 1000, "v");
  TempDir dir;
  dir.Write("0001_calls.lua", Migration("    if key == 'r:13' then error('no r:13') end\n"
                                        "    if key == 'r:14' then return nil end\n"
                                        "    if key == 'r:15' then return ks.DELETE end",
                                        100));
  Keyshift ks(server, dir);
  Cmd(*conn, {"CONFIG", "RESETSTAT"});
  CliResult up = ks.Run({"up", "--on-error", "skip"});
  INFO(Describe(up));
  CHECK(up.exit_code == 1);
  CHECK_THAT(up.all(), Catch::Contains("0001_calls.lua:7:") && Catch::Contains("no r:13") &&
                           Catch::Contains("'r:13'"));
  // One call per key would be 1000, plus the pre-flight's reads of the first batch.
  CHECK(EvalshaCalls(*conn) < 250);
  auto keys = NumberedKeys("r:", 0, 1000);
  auto values = Values(*conn, keys);
  for (size_t i = 0; i < keys.size(); ++i) {
    INFO(keys[i]);
    CHECK(values[i] == (i == 13 || i == 14 ? "v" : i == 15 ? "" : "v!"));
  }
  CHECK(Cmd(*conn, {"EXISTS", "r:15"}).integer == 0);
  CliResult down = ks.Run({"down"});
  INFO(Describe(down));
  CHECK(down.exit_code == 0);
  CHECK(Values(*conn, keys) == std::vector<std::string>(1000, "v"));
}

TEST_CASE("a runaway transform on a later key of a call: killed with nothing written, the others applied",
          "[redis][server][limits]") {
  RedisServer server(RedisServer::Options{{"--busy-reply-threshold", "300"}, ""});
  auto conn = server.Connect();
  SeedStrings(*conn, "r:", 40, "v");
  TempDir dir;
  // rawget(_G, 'redis'): only inside Redis, so the host pre-flight passes.
  dir.Write("0001_spin.lua", Migration("    if key == 'r:33' and rawget(_G, 'redis') then while true do end end"));
  Keyshift ks(server, dir);
  CliResult r = ks.Run({"up", "--on-error", "skip"}, 60);
  INFO(Describe(r));
  CHECK(r.exit_code == 1);
  CHECK_THAT(r.all(), Catch::Contains("SCRIPT KILL") && Catch::Contains("'r:33'"));
  CHECK(Cmd(*conn, {"PING"}).str == "PONG");
  auto values = Values(*conn, NumberedKeys("r:", 0, 40));
  for (int i = 0; i < 40; ++i) {
    INFO("r:" << i);
    CHECK(values[i] == (i == 33 ? "v" : "v!"));
  }
  CliResult status = ks.Run({"status"});
  CHECK_THAT(status.out, Catch::Contains("failed"));
}

TEST_CASE("a key given twice in one call is transformed once", "[redis][server]") {
  RedisServer server;
  auto conn = server.Connect();
  SeedStrings(*conn, "r:", 3, "v");
  TempDir dir;
  dir.Write("0001_twice.lua", Migration(""));
  DirectRunner direct(*conn, dir);
  auto results = direct.runner->Run({"r:0", "r:1", "r:0", "r:2", "r:1"}, /*dry_run=*/false);
  REQUIRE(results.ok());
  std::vector<ServerKeyResult::Kind> kinds;
  for (const auto& r : *results) kinds.push_back(r.kind);
  using K = ServerKeyResult::Kind;
  CHECK(kinds == std::vector<K>{K::kWritten, K::kWritten, K::kDone, K::kWritten, K::kDone});
  CHECK(Values(*conn, NumberedKeys("r:", 0, 3)) == std::vector<std::string>(3, "v!"));
}

TEST_CASE("keys past a call's byte budget go in the next call, each transformed once", "[redis][server]") {
  RedisServer server;
  auto conn = server.Connect();
  std::string big(kServerCallByteBudget / 3, 'x');
  SeedStrings(*conn, "r:", 8, big);
  TempDir dir;
  dir.Write("0001_big.lua", Migration(""));
  DirectRunner direct(*conn, dir);
  Cmd(*conn, {"CONFIG", "RESETSTAT"});
  auto results = direct.runner->Run(NumberedKeys("r:", 0, 8), /*dry_run=*/false);
  REQUIRE(results.ok());
  for (const auto& r : *results) CHECK(r.kind == ServerKeyResult::kWritten);
  CHECK(EvalshaCalls(*conn) >= 2);  // the budget split the batch
  CHECK(Values(*conn, NumberedKeys("r:", 0, 8)) == std::vector<std::string>(8, big + "!"));
}

TEST_CASE("what a call is to write counts against its byte budget too", "[redis][server]") {
  RedisServer server;
  auto conn = server.Connect();
  SeedStrings(*conn, "r:", 8, "v");
  TempDir dir;
  // Small values, large results: the writes (which SCRIPT KILL cannot stop)
  // of one call stay within the budget, plus one key.
  dir.Write("0001_grow.lua", Migration(fmt::format("    value = string.rep('y', {})", kServerCallByteBudget / 3)));
  DirectRunner direct(*conn, dir);
  Cmd(*conn, {"CONFIG", "RESETSTAT"});
  auto results = direct.runner->Run(NumberedKeys("r:", 0, 8), /*dry_run=*/false);
  REQUIRE(results.ok());
  for (const auto& r : *results) CHECK(r.kind == ServerKeyResult::kWritten);
  CHECK(EvalshaCalls(*conn) >= 2);
  std::string grown(kServerCallByteBudget / 3, 'y');
  CHECK(Values(*conn, NumberedKeys("r:", 0, 8)) == std::vector<std::string>(8, grown + "!"));
}

TEST_CASE("server mode: a hash returned unchanged is left alone; one renamed without a value moves as it was",
          "[redis][server]") {
  RedisServer server;
  auto conn = server.Connect();
  for (int i = 0; i < 10; ++i) Cmd(*conn, {"HSET", "h:" + std::to_string(i), "b", "2", "a", std::to_string(i)});
  TempDir dir;
  dir.Write("0001_hashes.lua", R"(return {
  description = "hashes", mode = "server", scan = { match = "h:*", type = "hash" },
  transform = function(key, value)
    if key == "h:1" then return ks.rename("h:moved") end
    local i = tonumber(value.a)
    if i % 2 == 0 then value.z = "x"; value.z = nil; return value end  -- the same pairs
    value.c = "1"
    return value
  end })");
  Keyshift ks(server, dir);
  CliResult dry = ks.Run({"up", "--dry-run"});
  INFO(Describe(dry));
  CHECK(dry.exit_code == 0);
  CHECK_THAT(dry.out, Catch::Contains("h:moved") && Catch::Contains("h:3") && !Catch::Contains("h:4"));
  CliResult up = ks.Run({"up"});
  INFO(Describe(up));
  CHECK(up.exit_code == 0);
  long long entries = 0;  // journal entries: one per changed key, two for the rename
  for (const auto& j : ScanKeys(*conn, "keyshift:j:*")) entries += Cmd(*conn, {"HLEN", j}).integer;
  CHECK(entries == 6);
  CHECK(PairMap(Cmd(*conn, {"HGETALL", "h:moved"})) == std::map<std::string, std::string>{{"a", "1"}, {"b", "2"}});
  CHECK(PairMap(Cmd(*conn, {"HGETALL", "h:4"})) == std::map<std::string, std::string>{{"a", "4"}, {"b", "2"}});
  CHECK(PairMap(Cmd(*conn, {"HGETALL", "h:3"})) ==
        std::map<std::string, std::string>{{"a", "3"}, {"b", "2"}, {"c", "1"}});
}
