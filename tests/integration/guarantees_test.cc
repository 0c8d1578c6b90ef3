// SPEC 5 guarantees 2-4 under stress, against real redis-servers: exactly
// once under kill -9, no lost concurrent writes, exact undo; and the lock's
// lease expiry. Each case starts its own server.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <random>
#include <thread>

#include <catch.hpp>
#include <fmt/format.h>

#include "core/dump_decoder.h"
#include "tests/support/integration_fixtures.h"

using namespace keyshift;
using namespace keyshift::testing;

namespace {

// Keys whose DUMP or expiry differ between two snapshots, for failure messages.
std::string DiffKeys(const std::map<std::string, std::string>& a, const std::map<std::string, std::string>& b) {
  std::string out;
  for (const auto& [k, v] : a)
    if (!b.count(k) || b.at(k) != v) out += k + (b.count(k) ? " (differs) " : " (missing) ");
  for (const auto& [k, v] : b)
    if (!a.count(k)) out += k + " (extra) ";
  return out;
}

// Keys whose restored state is not exactly the original. DUMP bytes must be
// identical, with one exception Redis itself imposes: a hashtable-encoded set
// or hash serialises in bucket-chain order, and RESTORE rebuilds chains in
// reverse, so DUMP after RESTORE may list the same members in another order.
// Those keys must still decode to the same value with the same expiry.
std::string NotRestored(RedisConnection& conn, const std::map<std::string, std::string>& before,
                        const std::map<std::string, std::string>& after) {
  std::string out = DiffKeys(before, after), unexplained;
  for (const auto& [k, v] : before) {
    if (!after.count(k) || after.at(k) == v) continue;
    const std::string& w = after.at(k);
    bool same_expiry = v.substr(v.rfind('@')) == w.substr(w.rfind('@'));
    auto a = DecodeDump(v.substr(0, v.rfind('@')));
    auto b = DecodeDump(w.substr(0, w.rfind('@')));
    bool hashtable = Cmd(conn, {"OBJECT", "ENCODING", k}).str == "hashtable";
    if (!(same_expiry && a.ok() && b.ok() && a.value() == b.value() && hashtable)) unexplained += k + " ";
  }
  for (const auto& [k, v] : after)
    if (!before.count(k)) unexplained += k + " (extra) ";
  return unexplained.empty() ? "" : "not restored: " + unexplained + "; byte differences: " + out;
}

// Starts `up` of a migration that takes 2 ms per key in the background and
// returns once it holds the lock and has been working for a moment.
Spawned StartSlowRunner(RedisConnection& conn, const TempDir& dir, const TempDir& scratch, const Keyshift& ks) {
  dir.Write("0001_slow.lua", AppendMigration("q:*", "!", 20, 2));
  Spawned a = SpawnKeyshift(ks.Args({"up"}), scratch, "a", kShortLease);
  for (int i = 0; i < 100 && Cmd(conn, {"EXISTS", "keyshift:{state}:lock"}).integer == 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  return a;
}

}  // namespace

TEST_CASE("kill -9 at random instants, then resume: every key transformed exactly once", "[redis][guarantee]") {
  const std::vector<std::string> up = {"up", "--workers", GENERATE("1", "4")};
  RedisServer server;
  auto conn = server.Connect();
  TempDir dir, scratch("keyshift-kill");
  const int kKeys = 20000;
  SeedStrings(*conn, "k:", kKeys, "v");
  dir.Write("0001_bang.lua", R"(return {
  description = "not idempotent: append !",
  scan = { match = "k:*", type = "string", batch = 100 },
  transform = function(key, value)
    for i = 1, 20000 do end  -- a few seconds in all, so the kills land mid-run
    return value .. "!"
  end,
})");
  Keyshift ks(server, dir);
  int kills = KillUpRepeatedly(ks, scratch, 30, 20261123, up);
  INFO(up[2] << " workers; kills delivered: " << kills);
  CHECK(kills >= 10);
  CliResult done = RunUntilDone(ks, up);
  INFO(Describe(done));
  REQUIRE(done.exit_code == 0);
  auto keys = NumberedKeys("k:", 0, kKeys);
  auto values = Values(*conn, keys);
  int exact = 0;
  for (size_t i = 0; i < values.size(); ++i) {
    if (values[i] == "v!") ++exact;
    else FAIL_CHECK(keys[i] << " holds '" << values[i] << "'");
  }
  CHECK(exact == kKeys);
  CHECK(ScanKeys(*conn, "k:*").size() == static_cast<size_t>(kKeys));
  CliResult status = ks.Run({"status"});
  CHECK_THAT(status.out, Catch::Contains("applied"));
}

TEST_CASE("rename targets that match the scan pattern are not transformed again", "[redis][guarantee]") {
  RedisServer server;
  auto conn = server.Connect();
  TempDir dir;
  SeedStrings(*conn, "item:", 3000, "v");
  dir.Write("0001_move.lua", R"(return {
  description = "move every item under a new name, marking it",
  scan = { match = "item:*", batch = 100 },
  transform = function(key, value) return ks.rename(key .. ":moved", value .. "!") end,
})");
  Keyshift ks(server, dir);
  CliResult r = ks.Run({"up"});
  INFO(Describe(r));
  REQUIRE(r.exit_code == 0);
  auto keys = ScanKeys(*conn, "item:*");
  REQUIRE(keys.size() == 3000u);
  for (const auto& v : Values(*conn, keys)) CHECK(v == "v!");
  for (const auto& k : keys) CHECK(k.find(":moved:moved") == std::string::npos);
}

TEST_CASE("an application hammering hot keys during up loses no write", "[redis][guarantee]") {
  const char* workers = GENERATE("1", "4");
  RedisServer server;
  auto conn = server.Connect();
  TempDir dir;
  const int kKeys = 3000, kHot = 40;
  std::vector<Command> seed;
  for (int i = 0; i < kKeys; ++i)
    seed.push_back({"HSET", fmt::format("acct:{}", i), "n", "0", "created_at", "2024-01-01T00:00:00Z"});
  REQUIRE(conn->Pipeline(seed).ok());
  // A slow transform widens the window between keyshift's read and its write.
  dir.Write("0001_epoch.lua", R"(return {
  description = "created_at to epoch; keeps every other field",
  scan = { match = "acct:*", type = "hash", batch = 50 },
  transform = function(key, value)
    local spin = 0
    for i = 1, 20000 do spin = spin + i end
    if value.created_at and not value.created_at:match("^%d+$") then
      value.created_at = time.to_epoch(value.created_at)
      return value
    end
  end,
})");
  auto url = ParseRedisUrl(server.url());
  REQUIRE(url.ok());
  std::atomic<bool> stop{false};
  std::vector<long long> increments(kHot, 0);
  std::atomic<long long> total{0};
  std::atomic<bool> writer_failed{false};
  std::thread writer([&] {
    auto c = ConnectRedis(*url);
    if (!c.ok()) return void(writer_failed = true);
    std::mt19937 rng(7);
    while (!stop) {
      std::vector<Command> batch;
      std::vector<int> hit;
      for (int j = 0; j < 20; ++j) {
        int k = static_cast<int>(rng() % kHot);
        hit.push_back(k);
        batch.push_back({"HINCRBY", fmt::format("acct:{}", k), "n", "1"});
      }
      batch.push_back({"HSET", fmt::format("acct:{}", rng() % kHot), "touched", "yes"});
      auto r = (*c)->Pipeline(batch);
      if (!r.ok()) return void(writer_failed = true);
      for (int k : hit) ++increments[k];
      total += static_cast<long long>(hit.size());
    }
  });
  Keyshift ks(server, dir);
  CliResult r = ks.Run({"up", "--workers", workers}, 120);
  stop = true;
  writer.join();
  INFO("--workers " << workers << "\n" << Describe(r));
  REQUIRE_FALSE(writer_failed);
  REQUIRE(r.exit_code == 0);
  INFO("increments sent during up: " << total.load());
  CHECK(total > 1000);
  // Hot keys written thousands of times during their batch lose the CAS:
  // the summary counts the re-reads (and any key moved server-side).
  CHECK_THAT(r.out, Catch::Contains("re-reads of keys the application changed meanwhile (CAS retries)"));
  for (int k = 0; k < kHot; ++k) {
    auto n = Cmd(*conn, {"HGET", fmt::format("acct:{}", k), "n"});
    CHECK(n.str == std::to_string(increments[k]));
  }
  for (int i = 0; i < kKeys; ++i) {
    auto created = Cmd(*conn, {"HGET", fmt::format("acct:{}", i), "created_at"});
    CHECK(created.str == "1704067200");
  }
}

TEST_CASE("up then down --to 0 restores every type byte for byte with its TTL", "[redis][guarantee]") {
  RedisServer server;
  auto conn = server.Connect();
  TempDir dir;
  std::vector<Command> seed = {
      {"SET", "s:1", "hello"},          {"SET", "s:2", "bye"},         {"PEXPIRE", "s:2", "500000"},
      {"HSET", "h:1", "a", "1", "b", "2"}, {"PEXPIRE", "h:1", "800000"},
      {"RPUSH", "l:1", "x", "y", "z"},  {"SADD", "t:1", "m", "n"},      {"PEXPIRE", "t:1", "900000"},
      {"ZADD", "z:1", "1.5", "a", "2", "b"}, {"SET", "gone:1", "delete me"}, {"PEXPIRE", "gone:1", "700000"},
      {"HSET", "mv:1", "f", "v"},       {"PEXPIRE", "mv:1", "600000"},  {"SET", "untouched", "same"}};
  for (int i = 0; i < 300; ++i) seed.push_back({"HSET", fmt::format("h:big{}", i), "f", std::string(100, 'x')});
  REQUIRE(conn->Pipeline(seed).ok());
  auto before = SnapshotData(*conn);
  dir.Write("0001_strings.lua", R"(return { description = "upper strings", scan = { match = "s:*", type = "string" },
  transform = function(k, v) return v:upper() end })");
  dir.Write("0002_hashes.lua", R"(return { description = "add a field", scan = { match = "h:*", type = "hash" },
  transform = function(k, v) v.added = 5.0; return v end })");
  dir.Write("0003_rest.lua", R"(return { description = "lists, sets, zsets, deletes, renames", scan = { match = "*" },
  transform = function(k, v)
    if k == "l:1" then v[#v + 1] = "w"; return v end
    if k == "t:1" then v[#v + 1] = "o"; return v end
    if k == "z:1" then v.a = v.a + 0.1; return v end
    if k == "gone:1" then return ks.DELETE end
    if k == "mv:1" then return ks.rename("moved:1") end
  end })");
  Keyshift ks(server, dir);
  CliResult up = ks.Run({"up"});
  INFO(Describe(up));
  REQUIRE(up.exit_code == 0);
  REQUIRE(Cmd(*conn, {"EXISTS", "gone:1"}).integer == 0);
  REQUIRE(Cmd(*conn, {"EXISTS", "moved:1"}).integer == 1);
  auto changed = SnapshotData(*conn);
  CHECK(changed != before);

  SECTION("down --dry-run writes nothing and shows the diffs") {
    long long changes = RdbChanges(*conn);
    CliResult dry = ks.Run({"down", "--to", "0", "--dry-run"});
    INFO(Describe(dry));
    CHECK(dry.exit_code == 0);
    CHECK(RdbChanges(*conn) == changes);
    CHECK_THAT(dry.out, Catch::Contains("-HELLO") && Catch::Contains("+hello"));
    CHECK_THAT(dry.out, Catch::Contains("+++ gone:1"));
    CHECK(SnapshotData(*conn) == changed);
  }
  SECTION("down restores exactly") {
    CliResult down = ks.Run({"down", "--to", "0"});
    INFO(Describe(down));
    REQUIRE(down.exit_code == 0);
    auto after = SnapshotData(*conn);
    CHECK(NotRestored(*conn, before, after) == "");  // DUMP payloads and absolute expiry, key by key
    CliResult status = ks.Run({"status"});
    CHECK_THAT(status.out, Catch::Contains("pending"));
    CHECK(ScanKeys(*conn, "keyshift:j:*").empty());
  }
  SECTION("a key the application changed is a conflict, left alone unless --force") {
    Cmd(*conn, {"SET", "s:1", "app wrote this"});
    CliResult down = ks.Run({"down", "--steps", "3"});
    INFO(Describe(down));
    CHECK(down.exit_code == 1);
    CHECK_THAT(down.all(), Catch::Contains("'s:1'") && Catch::Contains("conflict"));
    CHECK(Cmd(*conn, {"GET", "s:1"}).str == "app wrote this");
    CHECK(Cmd(*conn, {"GET", "s:2"}).str == "bye");
    CliResult forced = ks.Run({"down", "--force"});
    INFO(Describe(forced));
    CHECK(forced.exit_code == 0);
    auto after = SnapshotData(*conn);
    CHECK(NotRestored(*conn, before, after) == "");
  }
}

TEST_CASE("--on-error skip, --max-errors, failed status and resume", "[redis][guarantee]") {
  RedisServer server;
  auto conn = server.Connect();
  TempDir dir;
  SeedStrings(*conn, "e:", 200, "v");
  dir.Write("0001_bang.lua", kFailsOnSeven);
  Keyshift ks(server, dir);
  SECTION("skip logs each failing key, goes on, exits 1; a fixed file retries only those keys") {
    CliResult r = ks.Run({"up", "--on-error", "skip"});
    INFO(Describe(r));
    CHECK(r.exit_code == 1);
    CHECK_THAT(r.err, Catch::Contains("0001_bang.lua:5:") && Catch::Contains("'e:17'"));
    CHECK(Cmd(*conn, {"GET", "e:17"}).str == "v");
    CHECK(Cmd(*conn, {"GET", "e:18"}).str == "v!");
    CHECK_THAT(r.out, Catch::Contains("errors 20") && Catch::Contains("20 keys failed"));
    CliResult status = ks.Run({"status"});
    INFO(Describe(status));
    CHECK_THAT(status.out, Catch::Contains("applied, 20 keys failed"));
    CHECK(ks.Run({"status", "--check"}).exit_code == 1);
    // Unchanged, the same keys fail again: still 1.
    CliResult again = ks.Run({"up", "--on-error", "skip"});
    INFO(Describe(again));
    CHECK(again.exit_code == 1);
    CHECK(Cmd(*conn, {"GET", "e:18"}).str == "v!");
    // Retried under --on-error abort, the first failing key stops the retry:
    // the migration stays applied with its 20 failed keys.
    CliResult aborted = ks.Run({"up"});
    INFO(Describe(aborted));
    CHECK(aborted.exit_code == 1);
    CHECK_THAT(ks.Run({"status"}).out, Catch::Contains("applied, 20 keys failed"));
    CHECK(Cmd(*conn, {"SCARD", "keyshift:{state}:failed:1"}).integer == 20);
    dir.Write("0001_bang.lua", AppendMigration("e:*", "!", 50));  // fixed
    CliResult retried = ks.Run({"up"});
    INFO(Describe(retried));
    CHECK(retried.exit_code == 0);
    for (int i = 0; i < 200; ++i) CHECK(Cmd(*conn, {"GET", fmt::format("e:{}", i)}).str == "v!");
    CHECK(Cmd(*conn, {"EXISTS", "keyshift:{state}:failed:1"}).integer == 0);
    CliResult clean = ks.Run({"status", "--check"});
    INFO(Describe(clean));
    CHECK(clean.exit_code == 0);
    CHECK_THAT(clean.out, !Catch::Contains("keys failed"));
  }
  SECTION("--max-errors stops the run, status shows failed, a fixed file resumes") {
    CliResult r = ks.Run({"up", "--on-error", "skip", "--max-errors", "15"});
    INFO(Describe(r));
    CHECK(r.exit_code == 1);
    CHECK_THAT(r.all(), Catch::Contains("--max-errors"));
    CliResult status = ks.Run({"status"});
    CHECK_THAT(status.out, Catch::Contains("failed"));
    dir.Write("0001_bang.lua", R"(return {
  description = "fixed",
  scan = { match = "e:*", type = "string", batch = 50 },
  transform = function(key, value) return value .. "!" end,
})");
    CliResult resumed = ks.Run({"up"});
    INFO(Describe(resumed));
    CHECK(resumed.exit_code == 0);
    CHECK_THAT(resumed.out, Catch::Contains("resumed"));
    for (int i = 0; i < 200; ++i) CHECK(Cmd(*conn, {"GET", fmt::format("e:{}", i)}).str == "v!");
  }
}

TEST_CASE("a crashed runner's lease expires within a second; a new runner then proceeds", "[redis][guarantee]") {
  RedisServer server;
  auto conn = server.Connect();
  TempDir dir, scratch("keyshift-lock");
  SeedStrings(*conn, "q:", 2000, "v");
  Keyshift ks(server, dir);
  Spawned a = StartSlowRunner(*conn, dir, scratch, ks);
  REQUIRE(kill(a.pid, SIGKILL) == 0);
  WaitKeyshift(a);
  CliResult blocked = RunKeyshift(ks.Args({"up"}), "", kShortLease);
  INFO(Describe(blocked));
  CHECK(blocked.exit_code == 3);
  CHECK_THAT(blocked.err, Catch::Contains("holds the lock"));
  std::this_thread::sleep_for(std::chrono::milliseconds(700));
  CliResult next = RunKeyshift(ks.Args({"up"}), "", kShortLease);
  INFO(Describe(next));
  CHECK(next.exit_code == 0);
  auto keys = ScanKeys(*conn, "q:*");
  for (const auto& v : Values(*conn, keys)) CHECK(v == "v!");
}

TEST_CASE("a runner that loses its lease stops writing", "[redis][guarantee]") {
  RedisServer server;
  auto conn = server.Connect();
  TempDir dir, scratch("keyshift-lost");
  SeedStrings(*conn, "q:", 3000, "v");
  Keyshift ks(server, dir);
  Spawned a = StartSlowRunner(*conn, dir, scratch, ks);
  // Another runner takes over, as if A's lease had run out.
  Cmd(*conn, {"SET", "keyshift:{state}:lock", R"({"token":"x","holder":"other@host"})", "PX", "60000"});
  CliResult r = WaitKeyshift(a);
  INFO(Describe(r));
  CHECK(r.exit_code == 1);
  CHECK_THAT(r.err, Catch::Contains("lock"));
  auto settled = SnapshotData(*conn);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  CHECK(SnapshotData(*conn) == settled);
  long long done = 0;
  for (const auto& v : Values(*conn, ScanKeys(*conn, "q:*"))) done += v == "v!";
  CHECK(done < 3000);
}

TEST_CASE("Redis going away mid-run: one clear line and exit 2, no crash", "[redis][guarantee]") {
  auto server = std::make_unique<RedisServer>();
  auto conn = server->Connect();
  TempDir dir, scratch("keyshift-gone");
  SeedStrings(*conn, "q:", 2000, "v");
  Keyshift ks(*server, dir);
  Spawned a = StartSlowRunner(*conn, dir, scratch, ks);
  server->Kill();
  CliResult r = WaitKeyshift(a);
  INFO(Describe(r));
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.err, Catch::Contains("lost connection to Redis at 127.0.0.1:"));
  CHECK(CountLines(r.err) == 1);
  CHECK_FALSE(Catch::Contains("terminate called").match(r.err));
}
