// Topology (redis/topology.h) over the in-memory fake Redis: routing by slot,
// MOVED, ASK, TRYAGAIN, SCRIPT LOAD on every primary, keyless commands on
// the state node, the KeyIndex table, and a node that stops answering.
#include "redis/topology.h"

#include <catch.hpp>

#include "core/digest.h"
#include "core/slot.h"
#include "tests/support/fake_redis.h"
#include "tests/support/must.h"

namespace keyshift {
namespace {

using testing::FakeCluster;
using testing::Must;

// A key in a slot `node` owns, and a second key in the same slot.
std::pair<std::string, std::string> TwoKeysInOneSlot(const FakeCluster& fc, int node, const std::string& prefix) {
  std::string tag = fc.KeyOn(node, prefix);
  return {"{" + tag + "}:a", "{" + tag + "}:b"};
}

TEST_CASE("keyed commands go to their slot's owner, replies in the caller's order", "[unit][topology]") {
  FakeCluster fc(3);
  auto topo = Must(fc.OpenTopology());
  std::vector<std::string> keys;
  for (int i = 0; i < 4; ++i)
    for (int node : {2, 0, 1}) keys.push_back(fc.KeyOn(node, "route:", i));
  std::vector<Command> sets, gets;
  for (const std::string& k : keys) {
    sets.push_back({"SET", k, "v-" + k});
    gets.push_back({"GET", k});
  }
  fc.ClearLogs();
  for (const Reply& r : Must(topo->Pipeline(sets))) CHECK(r.str == "OK");
  for (int node = 0; node < 3; ++node) {
    CHECK(fc.Calls(node) == 1);  // one round trip per node for the whole pipeline
    std::vector<Command> expected;
    for (const Command& set : sets)
      if (fc.NodeOf(set[1]) == node) expected.push_back(set);
    CHECK(fc.Log(node) == expected);
  }
  auto got = Must(topo->Pipeline(gets));
  REQUIRE(got.size() == keys.size());
  for (size_t i = 0; i < keys.size(); ++i) CHECK(got[i].str == "v-" + keys[i]);
}

TEST_CASE("MOVED: resent to the new owner, and the slot map follows", "[unit][topology]") {
  FakeCluster fc(3);
  auto topo = Must(fc.OpenTopology());
  std::string moved = fc.KeyOn(0, "moved:"), stays = fc.KeyOn(1, "stays:");
  fc.Put(moved, "m");
  fc.Put(stays, "s");
  int slot = KeySlot(moved);
  fc.MoveSlot(slot, 0, 2);
  fc.ClearLogs();
  auto got = Must(topo->Pipeline({{"GET", moved}, {"GET", stays}}));
  CHECK(got[0].str == "m");
  CHECK(got[1].str == "s");
  CHECK(fc.Sent(0, {"GET", moved}) == 1);  // refused there with MOVED
  CHECK(fc.Sent(2, {"GET", moved}) == 1);
  CHECK(topo->SlotOwners()[static_cast<size_t>(slot)] == fc.id(2));

  fc.ClearLogs();
  CHECK(Must(topo->Pipeline({{"GET", moved}}))[0].str == "m");
  CHECK(fc.Sent(0, {"GET", moved}) == 0);  // straight to the new owner now
  CHECK(fc.Sent(2, {"GET", moved}) == 1);
}

TEST_CASE("ASK: ASKING and the command on the importing node, the slot map unchanged", "[unit][topology]") {
  FakeCluster fc(3);
  auto topo = Must(fc.OpenTopology());
  auto [gone, left] = TwoKeysInOneSlot(fc, 0, "ask");
  fc.Put(gone, "g");
  fc.Put(left, "l");
  int slot = KeySlot(gone);
  fc.BeginMigration(slot, 0, 1);
  fc.MigrateKey(gone);
  fc.ClearLogs();
  auto got = Must(topo->Pipeline({{"GET", gone}, {"GET", left}, {"SET", gone, "g2"}}));
  CHECK(got[0].str == "g");
  CHECK(got[1].str == "l");
  CHECK(got[2].str == "OK");
  CHECK(fc.Log(1) == std::vector<Command>{{"ASKING"}, {"GET", gone}, {"ASKING"}, {"SET", gone, "g2"}});
  CHECK(fc.Log(0) == std::vector<Command>{{"GET", gone}, {"GET", left}, {"SET", gone, "g2"}});
  CHECK(topo->SlotOwners()[static_cast<size_t>(slot)] == fc.id(0));
  CHECK(fc.Has(1, gone));
  CHECK(Must(topo->ImportingNodes()) == std::set<std::string>{fc.id(1)});
  auto imports = Must(topo->Imports());
  REQUIRE(imports.size() == 1);
  CHECK(imports[0].slot == slot);
  CHECK(imports[0].from == fc.id(0));
  CHECK(imports[0].to == fc.id(1));

  // Without ASKING the importing node would refuse: the redirect is per command.
  CHECK(Must(fc.Connect(1)->Pipeline({{"GET", gone}}))[0].str.rfind("MOVED ", 0) == 0);
  fc.FinishMigration(slot);
  CHECK(Must(topo->ImportingNodes()).empty());
  CHECK(Must(topo->Pipeline({{"GET", left}}))[0].str == "l");
  CHECK(topo->SlotOwners()[static_cast<size_t>(slot)] == fc.id(1));
}

TEST_CASE("TRYAGAIN is retried until the node answers", "[unit][topology]") {
  FakeCluster fc(3);
  auto topo = Must(fc.OpenTopology());
  std::string key = fc.KeyOn(1, "try:");
  fc.Put(key, "t");
  fc.InjectTryAgain(1, 3);
  fc.ClearLogs();
  CHECK(Must(topo->Pipeline({{"GET", key}}))[0].str == "t");
  CHECK(fc.Sent(1, {"GET", key}) == 4);
}

TEST_CASE("SCRIPT LOAD reaches every primary", "[unit][topology]") {
  FakeCluster fc(3);
  auto topo = Must(fc.OpenTopology());
  const std::string sha = Sha1Hex("return 1");
  std::string key = fc.KeyOn(2, "script:");
  CHECK(Must(topo->Pipeline({{"EVALSHA", sha, "1", key}}))[0].str.rfind("NOSCRIPT", 0) == 0);
  auto loaded = Must(topo->Pipeline({{"GET", key}, {"SCRIPT", "LOAD", "return 1"}}));
  CHECK(loaded[0].is_nil());
  CHECK(loaded[1].str == sha);
  for (int node = 0; node < 3; ++node) {
    INFO("node " << node);
    CHECK(fc.Sent(node, {"SCRIPT", "LOAD", "return 1"}) == 1);
    CHECK(Must(topo->Pipeline({{"EVALSHA", sha, "1", fc.KeyOn(node, "script:")}}))[0].str == "OK");
  }
}

TEST_CASE("commands without a key go to the state node", "[unit][topology]") {
  FakeCluster fc(3);
  int state = fc.Owner(StateSlot());
  auto topo = Must(fc.OpenTopology((state + 1) % 3));  // a seed that is not the state node
  fc.ClearLogs();
  const std::string sha = Sha1Hex("return 1");
  auto got = Must(topo->Pipeline({{"PING"}, {"EVALSHA", sha, "0"}, {"HGETALL", "keyshift:{state}:ledger"}}));
  CHECK(got[0].str == "PONG");
  CHECK(got[1].str.rfind("NOSCRIPT", 0) == 0);
  CHECK(got[2].elements.empty());
  for (int node = 0; node < 3; ++node) CHECK(fc.Log(node).size() == (node == state ? 3u : 0u));
}

TEST_CASE("KeyIndex: which argument is the key", "[unit][topology]") {
  struct Case {
    Command command;
    std::optional<size_t> index;
  };
  const Case cases[] = {
      {{"GET", "k"}, 1},
      {{"get", "k"}, 1},
      {{"SET", "k", "v", "NX"}, 1},
      {{"HSET", "h", "f", "v"}, 1},
      {{"EVALSHA", "sha", "0"}, std::nullopt},
      {{"EVALSHA", "sha", "0", "arg"}, std::nullopt},
      {{"EVALSHA", "sha", "2", "a", "b"}, 3},
      {{"EVAL", "return 1", "1", "k"}, 3},
      {{"evalsha_ro", "sha", "1", "k"}, 3},
      {{"FCALL", "f", "1", "k"}, 3},
      {{"EVALSHA", "sha"}, std::nullopt},
      {{"OBJECT", "ENCODING", "k"}, 2},
      {{"OBJECT", "HELP"}, std::nullopt},
      {{"MEMORY", "USAGE", "k"}, 2},
      {{"XINFO", "STREAM", "s"}, 2},
      {{"PING"}, std::nullopt},
      {{"INFO", "server"}, std::nullopt},
      {{"SCAN", "0", "MATCH", "k*"}, std::nullopt},
      {{"script", "load", "return 1"}, std::nullopt},
      {{"CLUSTER", "KEYSLOT", "k"}, std::nullopt},
      {{"DBSIZE"}, std::nullopt},
      {{"CONFIG", "GET", "maxmemory"}, std::nullopt},
  };
  for (const Case& c : cases) {
    INFO(c.command[0] << " with " << c.command.size() << " words");
    CHECK(KeyIndex(c.command) == c.index);
  }
}

TEST_CASE("a node that stops answering is an error naming it", "[unit][topology]") {
  FakeCluster fc(3);
  auto topo = Must(fc.OpenTopology());
  std::string here = fc.KeyOn(0, "up:"), there = fc.KeyOn(2, "down:");
  Must(topo->Pipeline({{"GET", there}}));  // connected before it stops
  fc.StopAnswering(2);
  auto got = topo->Pipeline({{"GET", here}, {"GET", there}});
  REQUIRE_FALSE(got.ok());
  CHECK_THAT(got.error().message, Catch::Contains(fc.address(2)));

  auto fresh = Must(fc.OpenTopology());  // never connected to it: the connect fails
  auto again = fresh->Pipeline({{"GET", there}});
  REQUIRE_FALSE(again.ok());
  CHECK_THAT(again.error().message, Catch::Contains(fc.address(2)));
  CHECK(Must(fresh->Pipeline({{"SET", here, "x"}}))[0].str == "OK");
}

TEST_CASE("a single server takes every command and is its only primary", "[unit][topology]") {
  auto fake = FakeCluster::SingleServer();
  auto topo = Must(fake->OpenTopology());
  CHECK_FALSE(topo->cluster());
  CHECK(Must(topo->Primaries()).size() == 1);
  CHECK(topo->SlotOwners().empty());
  auto got = Must(topo->Pipeline({{"SET", "a", "1"}, {"SET", "b", "2"}, {"GET", "a"}, {"CLUSTER", "SLOTS"}}));
  CHECK(got[2].str == "1");
  CHECK(got[3].is_error());
  CHECK(fake->Keys(0) == std::vector<std::string>{"a", "b"});
}

}  // namespace
}  // namespace keyshift
