// keyshift on a real Redis Cluster of 3 primaries (SPEC 7): the keyshift
// binary against tests/support/redis_cluster.h, every result read back through
// the harness's own routing. Migrations are not idempotent (a JSON counter
// +1), so a key applied twice shows as n = 2 and a skipped one as n = 0.
// One cluster per TEST_CASE (they take ~2 s to start); steps within a case
// use their own key patterns and --prefix.
#include <catch.hpp>
#include <chrono>
#include <cstdlib>
#include <string>
#include <vector>

#include "tests/support/cluster_fixtures.h"

namespace keyshift::testing {
namespace {

bool Contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

// Typed keys with and without TTLs for `down` to restore; the t:gone:* ones
// the migration below deletes. Spread over every slot range by their names.
void SeedTyped(RedisCluster& cluster, int n) {
  std::vector<Command> seed;
  for (int i = 0; i < n; ++i) {
    std::string s = std::to_string(i);
    seed.push_back({"HSET", "t:h:" + s, "a", s, "b", "x"});
    seed.push_back({"RPUSH", "t:l:" + s, "x", s});
    seed.push_back({"SADD", "t:s:" + s, "m", s});
    seed.push_back({"ZADD", "t:z:" + s, "1.5", "a", s, "b"});
    seed.push_back({"SET", "t:gone:" + s, "bye " + s});
    if (i % 2 == 0)
      for (const char* kind : {"t:h:", "t:l:", "t:s:", "t:z:", "t:gone:"})
        seed.push_back({"PEXPIRE", kind + s, std::to_string(600000 + i)});
  }
  cluster.Pipeline(seed);
}

const char* const kTypedMigration = R"(return {
  description = "every type changed; t:gone:* deleted",
  scan = { match = "t:*", batch = 100 },
  transform = function(key, value)
    if key:find("^t:gone:") then return ks.DELETE end
    if key:find("^t:h:") then value.added = "1"; return value end
    if key:find("^t:z:") then value.a = value.a + 1; return value end
    value[#value + 1] = "new"
    return value
  end,
})";

}  // namespace

TEST_CASE("cluster: 20000 keys on 3 primaries: dry-run, plan, up once, status, verify, down exact, prune",
          "[redis][cluster]") {
  RedisCluster cluster;
  TempDir dir;
  constexpr int kDocs = 20000, kTyped = 200;
  SeedDocs(cluster, "doc:", kDocs);
  SeedTyped(cluster, kTyped);
  for (const Reply& size : cluster.CallEveryNode({"DBSIZE"})) REQUIRE(size.integer > 6000);
  dir.Write("0001_bump.lua", BumpMigration("doc:*", 500));
  dir.Write("0002_typed.lua", kTypedMigration);
  Keyshift ks(cluster.url(), dir);

  // Dry-run: nothing written on any node, diffs shown, every key counted.
  long long changes = cluster.ChangeCounter();
  CliResult dry = ks.Run({"up", "--dry-run", "--limit", "3"});
  ExpectExit(dry, 0);
  CHECK(cluster.ChangeCounter() == changes);
  CHECK(cluster.Keys("keyshift:*").empty());
  CHECK(Contains(dry.out, "would change " + std::to_string(kDocs)));
  CHECK(Contains(dry.out, R"("n":0})"));
  CHECK(Contains(dry.out, R"("n":1})"));
  CHECK(NotBumpedOnce(cluster, "doc:", kDocs) != "");  // still untouched

  CliResult plan = ks.Run({"plan"});
  ExpectExit(plan, 0);
  CHECK(Contains(plan.out, "0001_bump (pending)"));
  CHECK(Contains(plan.out, "0002_typed (pending)"));

  CliResult up = ks.Run({"up", "--to", "1"}, 120);
  ExpectExit(up, 0);
  CHECK(NotBumpedOnce(cluster, "doc:", kDocs) == "");
  nlohmann::json ledger = LedgerOf(ks, "0001_bump");
  INFO(ledger.dump());
  CHECK(ledger.at("scanned") == kDocs);
  CHECK(ledger.at("changed") == kDocs);
  CHECK(ledger.at("failed") == 0);

  // Read-only commands with one migration applied and one pending.
  for (const std::vector<std::string>& args : {std::vector<std::string>{"status"}, {"verify", "1"}, {"plan"}}) {
    CliResult r = ks.Run(args);
    INFO(args[0]);
    ExpectExit(r, 0);
    CHECK_FALSE(Contains(r.all(), "CROSSSLOT"));
  }
  CHECK(Contains(ks.Run({"status"}).out, "pending"));
  CHECK(Contains(ks.Run({"plan"}).out, "0002_typed (pending)"));
  // 0001's journal hashes (one per slot, ~11500) are keyshift's own keys:
  // the estimate scales the sample by DBSIZE, which counts them, so the
  // sample must count them too. Sampling half the keys, the estimate of
  // t:* (1000 keys) lands well within 20%; counting only data keys in the
  // sample inflated it by half.
  CliResult sampled = ks.Run({"--output", "json", "plan", "--sample", "16000"});
  ExpectExit(sampled, 0);
  auto estimate = nlohmann::json::parse(sampled.out, nullptr, false);
  REQUIRE_FALSE(estimate.is_discarded());
  INFO(sampled.out);
  long long matched = estimate.at("migrations").at(0).at("est_matched").get<long long>();
  CHECK(matched >= 800);
  CHECK(matched <= 1200);

  // down restores value, type and TTL across nodes.
  auto before = ClusterReadAll(cluster, {"t:"});
  REQUIRE(before.size() == 5u * kTyped);
  ExpectExit(ks.Run({"up"}), 0);
  CHECK(cluster.Keys("t:gone:*").empty());
  CHECK(ClusterReadAll(cluster, {"t:"}) != before);
  ExpectExit(ks.Run({"down", "--steps", "1"}), 0);
  CHECK(ClusterReadAll(cluster, {"t:"}) == before);
  CHECK(cluster.Keys("keyshift:j:2:*").empty());
  CHECK(NotBumpedOnce(cluster, "doc:", kDocs) == "");

  // prune drops 0001's journal hashes from every node.
  REQUIRE_FALSE(cluster.Keys("keyshift:j:1:*").empty());
  ExpectExit(ks.Run({"prune", "1", "--yes"}), 0);
  CHECK(cluster.Keys("keyshift:j:*").empty());
  CHECK(Contains(ks.Run({"status"}).out, "pruned"));
}

TEST_CASE("cluster: kill -9 three times mid-run, then resume: every key exactly once", "[redis][cluster]") {
  RedisCluster cluster;
  TempDir dir, scratch("keyshift-ckill");
  // 1.8 s of CPU in transforms: three runs killed within 0.4 s each cannot finish.
  constexpr int kDocs = 6000;
  Keyshift ks = BumpSetup(cluster, cluster.url(), dir, kDocs, 100, "host", 0.3);
  int kills = KillRepeatedly(ks, {"up"}, scratch, 3, 20261129, 200, 200);
  CHECK(kills == 3);
  CHECK(NotBumpedOnce(cluster, "doc:", kDocs) != "");  // the kills left it part-way
  CliResult done = UpUntilDone(ks);
  ExpectExit(done, 0);
  CHECK(Contains(done.out, "resumed"));
  CHECK(NotBumpedOnce(cluster, "doc:", kDocs) == "");
  // Keys of the batch a kill interrupted count as "already done" on resume
  // (docs/state.md), not as changed: at most one batch per kill.
  CHECK(LedgerBetween(ks, kDocs - kills * 100, kDocs));
}

TEST_CASE("cluster: server mode applies once and down is exact; a runaway script is killed on its node only",
          "[redis][cluster]") {
  RedisCluster cluster;
  TempDir dir, runaway;
  constexpr int kDocs = 3000;
  Keyshift ks = BumpSetup(cluster, cluster.url(), dir, kDocs, 200, "server");
  auto before = ClusterReadAll(cluster, {"doc:"});
  ExpectExit(ks.Run({"up"}, 120), 0);
  CHECK(NotBumpedOnce(cluster, "doc:", kDocs) == "");
  nlohmann::json ledger = LedgerOf(ks, "0001_bump");
  CHECK(ledger.at("mode") == "server");
  CHECK(ledger.at("changed") == kDocs);
  ExpectExit(ks.Run({"down"}), 0);
  CHECK(ClusterReadAll(cluster, {"doc:"}) == before);
  CHECK(cluster.Keys("keyshift:j:*").empty());

  // r:2 spins inside Redis on its node; --on-error skip lets the run go on
  // over the other nodes once the watchdog's SCRIPT KILL freed it.
  std::vector<Command> seed;
  for (int i = 0; i < 60; ++i) seed.push_back({"SET", "r:" + std::to_string(i), "v"});
  cluster.Pipeline(seed);
  runaway.Write("0001_spin.lua", kRunawayOnR2);
  // Nodes answer BUSY (and take SCRIPT KILL) after 0.5 s instead of 5 s.
  cluster.CallEveryNode({"CONFIG", "SET", "busy-reply-threshold", "500"});
  CliResult r = Keyshift(cluster.url(), runaway).Run({"--prefix", "spin:", "up", "--on-error", "skip"}, 60);
  INFO(Describe(r));
  CHECK(r.exit_code == 1);
  CHECK(Contains(r.all(), "SCRIPT KILL"));
  CHECK(Contains(r.all(), "'r:2'"));
  for (const Reply& pong : cluster.CallEveryNode({"PING"})) CHECK(pong.str == "PONG");
  auto values = ClusterStrings(cluster, "r:*");
  REQUIRE(values.size() == 60u);
  for (const auto& [key, value] : values) CHECK(value == (key == "r:2" ? "v" : "v!"));
}

TEST_CASE("cluster: server mode sends the keys of one slot in shared calls, each applied once", "[redis][cluster]") {
  RedisCluster cluster;
  TempDir dir;
  // Two hash tags: every key of a tag is in its slot, so a batch's keys of
  // one tag can share a call.
  SeedDocs(cluster, "g:{a}:", 400);
  SeedDocs(cluster, "g:{b}:", 400);
  dir.Write("0001_bump.lua", BumpMigration("g:*", 200, "server"));
  cluster.CallEveryNode({"CONFIG", "RESETSTAT"});
  ExpectExit(Keyshift(cluster.url(), dir).Run({"up"}, 120), 0);
  CHECK(NotBumpedOnce(cluster, "g:{a}:", 400) == "");
  CHECK(NotBumpedOnce(cluster, "g:{b}:", 400) == "");
  long long calls = 0;
  for (const Reply& info : cluster.CallEveryNode({"INFO", "commandstats"})) {
    size_t at = info.str.find("cmdstat_evalsha:calls=");
    if (at != std::string::npos) calls += std::atoll(info.str.c_str() + at + 22);
  }
  // One call per key would be 800, plus the pre-flight's reads of one batch.
  CHECK(calls < 400);
}

TEST_CASE("cluster: ks.rename within a slot works and down restores it; across slots it fails for that key",
          "[redis][cluster]") {
  RedisCluster cluster;
  TempDir dir;
  // u:{i}:profile -> profile:{i} shares the slot; u:{i}:away -> away:<i>
  // does not (its slot is checked below).
  std::vector<Command> seed;
  for (int i = 0; i < 30; ++i) {
    seed.push_back({"SET", "u:{" + std::to_string(i) + "}:profile", "p" + std::to_string(i)});
    seed.push_back({"PEXPIRE", "u:{" + std::to_string(i) + "}:profile", "900000"});
  }
  seed.push_back({"SET", "u:{7}:away", "stay"});
  cluster.Pipeline(seed);
  int from_slot = cluster.SlotOf("u:{7}:away"), to_slot = cluster.SlotOf("away:7");
  REQUIRE(from_slot != to_slot);
  auto before = ClusterReadAll(cluster, {"u:", "profile:", "away:"});
  const std::string migration = R"(return {
  description = "rename profiles",
  mode = "MODE",
  scan = { match = "u:*", type = "string", batch = 10 },
  transform = function(key, value)
    local id, what = key:match("^u:{(%d+)}:(%a+)$")
    if what == "away" then return ks.rename("away:" .. id, value) end
    return ks.rename("profile:{" .. id .. "}", value .. "!")
  end,
})";
  for (const char* mode : {"host", "server"}) {
    INFO("mode " << mode);
    std::string text = migration;
    text.replace(text.find("MODE"), 4, mode);
    dir.Write("0001_rename.lua", text);
    std::string prefix = std::string(mode) + ":";
    Keyshift ks(cluster.url(), dir);
    CliResult up = ks.Run({"--prefix", prefix, "up", "--on-error", "skip"});
    INFO(Describe(up));
    CHECK(up.exit_code == 1);
    CHECK(Contains(up.all(), "'u:{7}:away'"));
    CHECK(Contains(up.all(), std::to_string(from_slot)));
    CHECK(Contains(up.all(), std::to_string(to_slot)));
    auto moved = ClusterStrings(cluster, "profile:*");
    CHECK(moved.size() == 30u);
    for (const auto& [key, value] : moved) CHECK(value == "p" + key.substr(9, key.size() - 10) + "!");
    CHECK(cluster.Keys("u:*") == std::vector<std::string>{"u:{7}:away"});
    CHECK(ClusterStrings(cluster, "u:*").at("u:{7}:away") == "stay");
    CHECK(cluster.Keys("away:*").empty());
    CHECK(cluster.Call({"PTTL", "profile:{3}"}).integer > 800000);
    ExpectExit(ks.Run({"--prefix", prefix, "down"}), 0);
    CHECK(ClusterReadAll(cluster, {"u:", "profile:", "away:"}) == before);
  }
}

TEST_CASE("cluster: a node URL with a database other than 0 is a usage error", "[redis][cluster]") {
  RedisCluster cluster;
  TempDir dir;
  dir.Write("0001_bump.lua", BumpMigration("doc:*", 100));
  std::string url = cluster.url();
  url.replace(url.rfind("/0"), 2, "/1");
  for (const char* command : {"status", "up"}) {
    CliResult r = Keyshift(url, dir).Run({command});
    INFO(Describe(r));
    CHECK(r.exit_code == 2);
    CHECK(Contains(r.err, "Redis Cluster"));
    CHECK(Contains(r.err, "database 0"));
    CHECK(CountLines(r.err) == 1);
  }
  CHECK(cluster.Keys("keyshift:*").empty());
}

}  // namespace keyshift::testing
