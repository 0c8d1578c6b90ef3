// The server suitability check (engine/server_check.h) against real
// servers: replicas, eviction policies, missing commands and ACL users are
// refused up front with exit 2 and nothing written.
#include <catch.hpp>
#include <fmt/format.h>

#include <chrono>
#include <thread>

#include "engine/server_check.h"
#include "tests/support/integration_fixtures.h"

using namespace keyshift;
using namespace keyshift::testing;

namespace {

// The least-privilege ACL docs/cli.md documents, for keys under user:*.
const std::vector<std::string> kKeyshiftAcl = {
    "ping", "info", "dbsize", "scan", "type", "exists", "dump", "restore", "del", "unlink", "pexpire",
    "pexpireat", "pexpiretime", "get", "mget", "set", "hget", "hmget", "hset", "hdel", "hexists", "hkeys", "hgetall",
    "hrandfield", "lrange", "rpush", "smembers", "sadd", "srem", "zrange", "zadd", "eval", "evalsha", "eval_ro",
    "evalsha_ro", "script|load", "script|kill", "acl|whoami"};

void SetUser(RedisConnection& conn, const std::vector<std::string>& commands) {
  Command cmd{"ACL", "SETUSER", "ks", "reset", "on", ">pw", "~user:*", "~keyshift:*", "-@all"};
  for (const auto& c : commands) cmd.push_back("+" + c);
  Cmd(conn, cmd);
}

std::string UserUrl(const RedisServer& server) { return fmt::format("redis://ks:pw@127.0.0.1:{}/0", server.port()); }

void SeedUsers(RedisConnection& conn, int n) {
  std::vector<Command> seed;
  for (int i = 0; i < n; ++i) seed.push_back({"HSET", fmt::format("user:{}", i), "created_at", "2024-01-01T00:00:00Z"});
  seed.push_back({"PEXPIRE", "user:1", "900000"});
  REQUIRE(conn.Pipeline(seed).ok());
}

const char* kEpoch = R"(return {
  description = "created_at to epoch, 50 keys a batch",
  scan = { match = "user:*", type = "hash", batch = 50 },
  transform = function(key, value)
    local t = value.created_at
    if t:match("^%d+$") then return nil end
    value.created_at = time.to_epoch(t)
    return value
  end,
})";

// Starts a server with `args`, seeds it, and expects `up` to be refused
// with exit 2, `expected` in the message and nothing written.
void ExpectUpRefused(const std::vector<std::string>& args, const std::string& expected) {
  RedisServer server({args, ""});
  auto conn = server.Connect();
  SeedUsers(*conn, 20);
  TempDir dir;
  dir.Write("0001_epoch.lua", kEpoch);
  long long changes = RdbChanges(*conn);
  CliResult r = Keyshift(server, dir).Run({"up"});
  INFO(Describe(r));
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.err, Catch::Contains(expected) && Catch::Contains("nothing was written"));
  CHECK(RdbChanges(*conn) == changes);
}

}  // namespace

TEST_CASE("Redis older than 7.0 is refused", "[server-check]") {
  ServerNeeds reads{false, false, {}};
  CHECK_FALSE(InfoProblems("# Server\r\nredis_version:6.2.14\r\nrole:master\r\n", reads).empty());
  CHECK_FALSE(InfoProblems("# Server\r\nredis_version:5.0.7\r\n", reads).empty());
  CHECK(InfoProblems("# Server\r\nredis_version:7.0.15\r\nrole:master\r\n", reads).empty());
  CHECK(InfoProblems("# Server\r\nredis_version:7.2.4\r\nrole:master\r\n", reads).empty());
  CHECK(InfoProblems("redis_version:10.0.0\r\n", reads).empty());
  auto problems = InfoProblems("redis_version:6.2.14\r\nrole:master\r\n", reads);
  REQUIRE(problems.size() == 1);
  CHECK_THAT(problems[0], Catch::Contains("6.2.14") && Catch::Contains("7.0"));
}

TEST_CASE("SampleKey finds a key the scan pattern matches", "[server-check]") {
  CHECK(SampleKey("user:*") == "user:x");
  CHECK(SampleKey("*") == "x");
  CHECK(SampleKey("s?ssion:[ab]:\\*") == "sxssion:a:*");
}

TEST_CASE("a replica is refused up front naming its primary; reading commands work on it", "[redis][server-check]") {
  // Diskless sync waits 5 s by default for more replicas before it starts.
  RedisServer primary({{"--repl-diskless-sync-delay", "0"}, ""});
  auto pconn = primary.Connect();
  SeedUsers(*pconn, 20);
  RedisServer replica({{"--replicaof", "127.0.0.1", std::to_string(primary.port())}, ""});
  auto rconn = replica.Connect();
  for (int i = 0; i < 1200 && Cmd(*rconn, {"DBSIZE"}).integer < 20; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(25));
  REQUIRE(Cmd(*rconn, {"DBSIZE"}).integer == 20);
  TempDir dir;
  dir.Write("0001_epoch.lua", kEpoch);
  Keyshift ks(replica, dir);
  for (const std::vector<std::string>& args : {std::vector<std::string>{"up"}, {"down"}}) {
    CliResult r = ks.Run(args);
    INFO(Describe(r));
    CHECK(r.exit_code == 2);
    if (args[0] == "up")
      CHECK_THAT(r.err, Catch::Contains(fmt::format("replica of 127.0.0.1:{}", primary.port())) &&
                            Catch::Contains("primary"));
  }
  CHECK(Cmd(*pconn, {"HGET", "user:3", "created_at"}).str == "2024-01-01T00:00:00Z");
  CHECK(ks.Run({"status"}).exit_code == 0);
  CliResult dry = ks.Run({"up", "--dry-run"});
  INFO(Describe(dry));
  CHECK(dry.exit_code == 0);
  CHECK_THAT(dry.out, Catch::Contains("would change 20"));
}

TEST_CASE("an allkeys-* eviction policy is refused unless --allow-eviction", "[redis][server-check]") {
  ExpectUpRefused({"--maxmemory", "64mb", "--maxmemory-policy", "allkeys-lru"}, "--allow-eviction");
  RedisServer server({{"--maxmemory", "64mb", "--maxmemory-policy", "allkeys-random"}, ""});
  auto conn = server.Connect();
  SeedUsers(*conn, 20);
  TempDir dir;
  dir.Write("0001_epoch.lua", kEpoch);
  Keyshift ks(server, dir);
  CHECK(ks.Run({"up"}).exit_code == 2);
  CHECK(ks.Run({"up", "--allow-eviction"}).exit_code == 0);
  CHECK(ks.Run({"down"}).exit_code == 2);
  CHECK(ks.Run({"prune", "1", "--yes"}).exit_code == 2);
  CHECK(ks.Run({"down", "--allow-eviction"}).exit_code == 0);
  Cmd(*conn, {"CONFIG", "SET", "maxmemory-policy", "volatile-lru"});  // keyshift's state has no TTL
  CHECK(ks.Run({"up"}).exit_code == 0);
}

TEST_CASE("a server without a command keyshift needs is refused up front", "[redis][server-check]") {
  ExpectUpRefused({"--rename-command", "PEXPIRETIME", ""}, "no PEXPIRETIME command");
  RedisServer server({{"--rename-command", "DUMP", ""}, ""});
  TempDir dir;
  dir.Write("0001_epoch.lua", kEpoch);
  CliResult dry = Keyshift(server, dir).Run({"up", "--dry-run"});
  INFO(Describe(dry));
  CHECK(dry.exit_code == 2);
  CHECK_THAT(dry.err, Catch::Contains("no DUMP command"));
}

TEST_CASE("the documented ACL suffices; a user lacking any command of it is refused before a write",
          "[redis][server-check]") {
  RedisServer server;
  auto conn = server.Connect();
  SeedUsers(*conn, 60);
  TempDir dir;
  dir.Write("0001_epoch.lua", kEpoch);
  Keyshift ks(UserUrl(server), dir);
  auto data = SnapshotData(*conn);
  int refused = 0;
  for (const auto& missing : kKeyshiftAcl) {
    std::vector<std::string> commands;
    for (const auto& c : kKeyshiftAcl)
      if (c != missing) commands.push_back(c);
    SetUser(*conn, commands);
    long long changes = RdbChanges(*conn);
    CliResult r = ks.Run({"up"});
    INFO(missing << ": " << Describe(r));
    if (r.exit_code == 0) {  // a command `up` does not need: undo with the full ACL, go on
      SetUser(*conn, kKeyshiftAcl);
      REQUIRE(ks.Run({"down"}).exit_code == 0);
      REQUIRE(SnapshotData(*conn) == data);
      continue;
    }
    ++refused;
    CHECK(r.exit_code == 2);
    CHECK(RdbChanges(*conn) == changes);
    CHECK(SnapshotData(*conn) == data);
  }
  CHECK(refused >= 25);
  for (const std::string missing : {"pexpireat", "restore", "hset", "evalsha", "dump", "hgetall"}) {
    std::vector<std::string> commands;
    for (const auto& c : kKeyshiftAcl)
      if (c != missing) commands.push_back(c);
    SetUser(*conn, commands);
    CliResult r = ks.Run({"up"});
    INFO(Describe(r));
    CHECK(r.exit_code == 2);
    CHECK_THAT(r.err, Catch::Contains(missing, Catch::CaseSensitive::No) && Catch::Contains("docs/cli.md"));
  }
  SetUser(*conn, kKeyshiftAcl);
  CliResult up = ks.Run({"up"});
  INFO(Describe(up));
  REQUIRE(up.exit_code == 0);
  CHECK(Cmd(*conn, {"HGET", "user:1", "created_at"}).str == "1704067200");
  CliResult down = ks.Run({"down"});
  INFO(Describe(down));
  REQUIRE(down.exit_code == 0);
  CHECK(SnapshotData(*conn) == data);
}

TEST_CASE("string keys migrate under the documented ACL, with +mget (one MGET per call) or without it",
          "[redis][server-check]") {
  RedisServer server;
  auto conn = server.Connect();
  std::vector<Command> seed;
  for (int i = 0; i < 150; ++i) seed.push_back({"SET", fmt::format("user:{}", i), "v"});
  REQUIRE(conn->Pipeline(seed).ok());
  TempDir dir;
  dir.Write("0001_append.lua", R"(return {
  description = "appends !",
  scan = { match = "user:*", type = "string" },
  transform = function(key, value) return value .. "!" end,
})");
  Keyshift ks(UserUrl(server), dir);
  for (bool with_mget : {true, false}) {
    INFO((with_mget ? "with +mget" : "without +mget"));
    std::vector<std::string> commands;
    for (const auto& c : kKeyshiftAcl)
      if (with_mget || c != "mget") commands.push_back(c);
    SetUser(*conn, commands);
    CliResult up = ks.Run({"up"});
    INFO(Describe(up));
    REQUIRE(up.exit_code == 0);
    CHECK_THAT(up.out, Catch::Contains("changed 150"));
    for (int i = 0; i < 150; ++i) CHECK(Cmd(*conn, {"GET", fmt::format("user:{}", i)}).str == "v!");
    REQUIRE(ks.Run({"down"}).exit_code == 0);
  }
}
