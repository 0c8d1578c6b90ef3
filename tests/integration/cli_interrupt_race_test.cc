// End to end: decisions are taken under the lock (two runners never apply a
// migration twice; prune re-checks after its question), and Ctrl-C, SIGTERM
// and a closed pipe stop a run cleanly: checkpoint saved, lock released,
// resumable exactly once.
#include <signal.h>
#include <sys/wait.h>

#include <algorithm>
#include <catch.hpp>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>
#include <thread>

#include <fmt/format.h>

#include "engine/directory.h"
#include "tests/support/integration_fixtures.h"

namespace keyshift::testing {
namespace {

const char* const kLock = "keyshift:{state}:lock";
const char* const kLedger = "keyshift:{state}:ledger";

// Appends "!" (not idempotent: a second application shows as "v!!"),
// slowly, so that a run is still going when the test signals it.
const std::string kSlowBang = AppendMigration("s:*", "!", 5, 3);

// Polls `probe` until it answers a positive number (integer or string).
void WaitFor(RedisConnection& conn, const Command& probe, const char* what) {
  for (int i = 0; i < 1000; ++i) {
    Reply r = Cmd(conn, probe);
    if (r.integer > 0 || (!r.str.empty() && r.str != "0")) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  FAIL("timed out waiting for " << what);
}

long long BlockedClients(RedisConnection& conn) {
  std::string info = Cmd(conn, {"INFO", "clients"}).str;
  size_t pos = info.find("blocked_clients:");
  return pos == std::string::npos ? 0 : std::stoll(info.substr(pos + 16));
}

// Runs `command` (redis-cli syntax, one line) in a redis-cli child; under
// CLIENT PAUSE WRITE it waits in Redis's queue of postponed clients, ahead of
// any client that blocks later. One command: Redis runs the queue in order.
pid_t SpawnRedisCli(const RedisServer& server, const TempDir& scratch, const std::string& commands) {
  std::string path = scratch.Write("commands.txt", commands);
  pid_t pid = fork();
  if (pid == 0) {
    std::freopen(path.c_str(), "r", stdin);
    std::freopen("/dev/null", "w", stdout);
    execlp("redis-cli", "redis-cli", "-p", std::to_string(server.port()).c_str(), nullptr);
    _exit(127);
  }
  REQUIRE(pid > 0);
  return pid;
}

// Lets a concurrent change (`commands`) land between the moment `args` (a
// keyshift command) decided what to do and the moment it got the lock: both
// wait on CLIENT PAUSE, the change first in line.
CliResult RunWithChangeBeforeItsLock(const RedisServer& server, RedisConnection& conn, const TempDir& scratch,
                                     const std::string& commands, const std::vector<std::string>& args) {
  Cmd(conn, {"CLIENT", "PAUSE", "20000", "WRITE"});
  pid_t cli = SpawnRedisCli(server, scratch, commands);
  for (int i = 0; i < 1000 && BlockedClients(conn) < 1; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  Spawned run = SpawnKeyshift(args, scratch, "run");
  for (int i = 0; i < 1000 && BlockedClients(conn) < 2; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  CHECK(BlockedClients(conn) == 2);
  Cmd(conn, {"CLIENT", "UNPAUSE"});
  int status = 0;
  waitpid(cli, &status, 0);
  return WaitKeyshift(run);
}

std::string LedgerJson(const std::string& name, const std::string& sha, const std::string& status) {
  return fmt::format(R"('{{"version":1,"name":"{}","sha256":"{}","status":"{}","by":"other@elsewhere"}}')", name, sha,
                     status);
}

}  // namespace

TEST_CASE("up decides under the lock: a migration applied meanwhile is not applied again", "[redis][cli]") {
  RedisServer server;
  auto conn = server.Connect();
  TempDir dir, scratch("keyshift-race");
  SeedStrings(*conn, "s:", 20, "v");
  dir.Write("0001_bang.lua", kSlowBang);
  Keyshift ks(server, dir);
  // Another runner applies 0001 between this run's look at the ledger and its lock.
  std::string other = fmt::format(
      "EVAL \"for i = 0, 19 do redis.call('SET', 's:' .. i, 'v!') end return redis.call('HSET', KEYS[1], '1', "
      "ARGV[1])\" 1 {} {}\n",
      kLedger, LedgerJson("0001_bang", Sha256Hex(kSlowBang), "applied"));
  CliResult r = RunWithChangeBeforeItsLock(server, *conn, scratch, other, ks.Args({"up"}));
  INFO(Describe(r));
  CHECK(r.exit_code == 0);
  CHECK_THAT(r.out, Catch::Contains("nothing to do"));
  for (const auto& v : Values(*conn, NumberedKeys("s:", 0, 20))) CHECK(v == "v!");
  CHECK_THAT(Cmd(*conn, {"HGET", kLedger, "1"}).str, Catch::Contains("other@elsewhere"));
}

TEST_CASE("prune decides under the lock: a migration rolled back meanwhile keeps its journal", "[redis][cli]") {
  RedisServer server;
  auto conn = server.Connect();
  TempDir dir, scratch("keyshift-race");
  SeedStrings(*conn, "s:", 20, "v");
  dir.Write("0001_bang.lua", kSlowBang);
  Keyshift ks(server, dir);
  REQUIRE(ks.Run({"up"}).exit_code == 0);
  auto journal = ScanKeys(*conn, "keyshift:j:1:*");
  REQUIRE_FALSE(journal.empty());
  std::string down = fmt::format("HSET {} 1 {}\n", kLedger, LedgerJson("0001_bang", Sha256Hex(kSlowBang), "rolled_back"));
  CliResult r = RunWithChangeBeforeItsLock(server, *conn, scratch, down, ks.Args({"prune", "1", "--yes"}));
  INFO(Describe(r));
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.err, Catch::Contains("not applied") && Catch::Contains("nothing was pruned"));
  CHECK(ScanKeys(*conn, "keyshift:j:1:*") == journal);
  CHECK_THAT(Cmd(*conn, {"HGET", kLedger, "1"}).str, Catch::Contains("rolled_back"));
}

TEST_CASE("Ctrl-C and SIGTERM stop up at a batch boundary; the resumed run applies each key once", "[redis][cli]") {
  auto [sig, code] = GENERATE(std::pair{SIGINT, 130}, std::pair{SIGTERM, 143});
  RedisServer server;
  auto conn = server.Connect();
  TempDir dir, scratch("keyshift-signal");
  SeedStrings(*conn, "s:", 400, "v");
  dir.Write("0001_bang.lua", kSlowBang);
  Keyshift ks(server, dir);
  Spawned run = SpawnKeyshift(ks.Args({"up"}), scratch, "run");
  WaitFor(*conn, {"HGET", "keyshift:{state}:ckpt:1", "changed"}, "the first checkpoint");
  REQUIRE(kill(run.pid, sig) == 0);
  CliResult r = WaitKeyshift(run);
  INFO(Describe(r));
  CHECK(r.exit_code == code);
  CHECK_THAT(r.err, Catch::Contains("interrupted") && Catch::Contains("keyshift up"));
  CHECK(Cmd(*conn, {"EXISTS", kLock}).integer == 0);
  CHECK(Cmd(*conn, {"EXISTS", "keyshift:{state}:ckpt:1"}).integer == 1);
  CHECK(Cmd(*conn, {"HEXISTS", kLedger, "1"}).integer == 0);
  CliResult resumed = ks.Run({"up"});
  INFO(Describe(resumed));
  CHECK(resumed.exit_code == 0);
  CHECK_THAT(resumed.out, Catch::Contains("resumed"));
  for (const auto& v : Values(*conn, NumberedKeys("s:", 0, 400))) CHECK(v == "v!");
}

TEST_CASE("a second Ctrl-C ends up at once; the lease expires and a resume applies each key once", "[redis][cli]") {
  RedisServer server;
  auto conn = server.Connect();
  TempDir dir, scratch("keyshift-signal");
  SeedStrings(*conn, "s:", 400, "v");
  dir.Write("0001_bang.lua", kSlowBang);
  Keyshift ks(server, dir);
  Spawned run = SpawnKeyshift(ks.Args({"up", "--batch", "200"}), scratch, "run", kShortLease);
  // After the first batch the second one is under way, for far longer than
  // the 100 ms between the two signals.
  WaitFor(*conn, {"HGET", "keyshift:{state}:ckpt:1", "changed"}, "the first batch");
  std::this_thread::sleep_for(std::chrono::milliseconds(150));  // into the second batch (~600 ms)
  REQUIRE(kill(run.pid, SIGINT) == 0);
  // Two signals sent at once may merge into one delivery: let the first land.
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  REQUIRE(kill(run.pid, SIGINT) == 0);
  CliResult r = WaitKeyshift(run);
  INFO(Describe(r));
  CHECK(r.exit_code == 130);
  CHECK_THAT(r.err, !Catch::Contains("lock released"));  // it did not wait for the batch to end
  CliResult resumed = UpUntilDone(ks);
  INFO(Describe(resumed));
  CHECK(resumed.exit_code == 0);
  for (const auto& v : Values(*conn, NumberedKeys("s:", 0, 400))) CHECK(v == "v!");
}

TEST_CASE("a closed pipe stops keyshift quietly: exit 141, no abort, lock released", "[redis][cli]") {
  RedisServer server;
  auto conn = server.Connect();
  TempDir dir, scratch("keyshift-pipe");
  SeedStrings(*conn, "s:", 300, "v");
  dir.Write("0001_bang.lua", kSlowBang);
  dir.Write("0002_more.lua", AppendMigration("s:*", "?"));
  Keyshift ks(server, dir);
  auto shell = [&](const std::string& pipeline) {
    std::string cmd = "bash -c 'KS=(" + std::string(KEYSHIFT_BINARY) + " --url " + server.url() + " --dir " + dir.path() + "); " +
          pipeline + "; echo \"rc=${PIPESTATUS[0]}\"' 2>&1";
    std::string out;
    FILE* p = popen(cmd.c_str(), "r");
    REQUIRE(p != nullptr);
    char buf[4096];
    while (size_t n = fread(buf, 1, sizeof buf, p)) out.append(buf, n);
    pclose(p);
    return out;
  };
  long long changes = RdbChanges(*conn);
  std::string dry = shell("\"${KS[@]}\" up --dry-run | head -1");
  INFO(dry);
  CHECK_THAT(dry, Catch::Contains("rc=141") && !Catch::Contains("terminate") && !Catch::Contains("Abort"));
  // JSON is streamed too (cli/json_stream.h): its reader going away stops the run the same way.
  std::string json_dry = shell("\"${KS[@]}\" --output json up --dry-run | head -1");
  INFO(json_dry);
  CHECK_THAT(json_dry, Catch::Contains("rc=141") && !Catch::Contains("terminate") && !Catch::Contains("Abort"));
  CHECK(RdbChanges(*conn) == changes);
  // A real run whose reader is gone: it stops before the next migration.
  std::string real = shell("\"${KS[@]}\" up | true");
  INFO(real);
  CHECK_THAT(real, Catch::Contains("rc=141") && Catch::Contains("interrupted"));
  CHECK(Cmd(*conn, {"EXISTS", kLock}).integer == 0);
  CliResult rest = ks.Run({"up"});
  INFO(Describe(rest));
  CHECK(rest.exit_code == 0);
  for (const auto& v : Values(*conn, NumberedKeys("s:", 0, 300))) CHECK(v == "v!?");
}

}  // namespace keyshift::testing

namespace keyshift::testing {

TEST_CASE("Ctrl-C during down stops between batches; down again finishes the undo", "[redis][cli]") {
  RedisServer server;
  auto conn = server.Connect();
  TempDir dir, scratch("keyshift-signal");
  SeedStrings(*conn, "s:", 5000, "v");
  dir.Write("0001_bang.lua", AppendMigration("s:*", "!", 1000));
  Keyshift ks(server, dir);
  REQUIRE(ks.Run({"up"}).exit_code == 0);
  Spawned run = SpawnKeyshift(ks.Args({"down", "--batch", "1"}), scratch, "down");
  // Wait until some keys are back: the undo is under way, one key per batch.
  for (int i = 0; i < 2000; ++i) {
    auto values = Values(*conn, NumberedKeys("s:", 0, 5000));
    if (std::count(values.begin(), values.end(), "v") > 0) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  REQUIRE(kill(run.pid, SIGINT) == 0);
  CliResult r = WaitKeyshift(run);
  INFO(Describe(r));
  CHECK(r.exit_code == 130);  // 5000 round trips take far longer than the wait for the first key
  CHECK_THAT(r.err, Catch::Contains("interrupted") && Catch::Contains("keyshift down"));
  CHECK(Cmd(*conn, {"EXISTS", kLock}).integer == 0);
  CliResult rest = ks.Run({"down"});
  INFO(Describe(rest));
  CHECK(rest.exit_code == 0);
  for (const auto& v : Values(*conn, NumberedKeys("s:", 0, 5000))) CHECK(v == "v");
  CHECK_THAT(Cmd(*conn, {"HGET", kLedger, "1"}).str, Catch::Contains("rolled_back"));
}

}  // namespace keyshift::testing
