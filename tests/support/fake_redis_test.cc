// The fake Redis itself (tests/support/fake_redis.h): the Redis behaviour the
// other unit tests lean on, so a green engine test means the engine is right,
// not that the fake agreed with it.
#include "tests/support/fake_redis.h"

#include <catch.hpp>
#include <set>

#include "core/slot.h"
#include "tests/support/must.h"

namespace keyshift::testing {
namespace {

Reply One(RedisConnection& conn, const Command& command) { return Must(conn.Pipeline({command})).front(); }

TEST_CASE("fake SCAN returns every key present for the whole scan, whatever else changes", "[unit][fake]") {
  auto fake = FakeCluster::SingleServer();
  auto conn = fake->Connect();
  std::set<std::string> stay, seen;
  for (int i = 0; i < 200; ++i) {
    fake->Put("stay:" + std::to_string(i), "v");
    stay.insert("stay:" + std::to_string(i));
    fake->Put("gone:" + std::to_string(i), "v");
  }
  std::string cursor = "0";
  int round = 0;
  do {
    Reply r = One(*conn, {"SCAN", cursor, "COUNT", "7"});
    cursor = r.elements[0].str;
    for (const Reply& k : r.elements[1].elements) seen.insert(k.str);
    One(*conn, {"DEL", "gone:" + std::to_string(round)});       // removed during the scan
    fake->Put("new:" + std::to_string(round++), "v");           // added during the scan
  } while (cursor != "0");
  for (const std::string& k : stay) CHECK(seen.count(k));
}

TEST_CASE("fake SCAN filters by MATCH and TYPE after counting", "[unit][fake]") {
  auto fake = FakeCluster::SingleServer();
  auto conn = fake->Connect();
  for (const char* k : {"user:1", "user:22", "user:x", "u:1", "a*b", "ab"}) fake->Put(k, "v");
  One(*conn, {"HSET", "user:h", "f", "v"});
  auto scan = [&](Command tail) {
    Command cmd{"SCAN", "0", "COUNT", "1000"};
    cmd.insert(cmd.end(), tail.begin(), tail.end());
    std::set<std::string> out;
    Reply reply = One(*conn, cmd);
    for (const Reply& k : reply.elements[1].elements) out.insert(k.str);
    return out;
  };
  CHECK(scan({"MATCH", "user:?"}) == std::set<std::string>{"user:1", "user:x", "user:h"});
  CHECK(scan({"MATCH", "user:[0-9]*", "TYPE", "string"}) == std::set<std::string>{"user:1", "user:22"});
  CHECK(scan({"MATCH", "a\\*b"}) == std::set<std::string>{"a*b"});
  CHECK(scan({"MATCH", "user:[^1]", "TYPE", "hash"}) == std::set<std::string>{"user:h"});
  CHECK(One(*conn, {"SCAN", "x"}).is_error());
  Reply first = One(*conn, {"SCAN", "0", "COUNT", "2", "MATCH", "nothing"});
  CHECK(first.elements[0].str != "0");  // counted two keys, matched none, not done
  CHECK(first.elements[1].elements.empty());
}

TEST_CASE("fake strings, hashes and sets answer as Redis does", "[unit][fake]") {
  auto fake = FakeCluster::SingleServer();
  auto conn = fake->Connect();
  CHECK(One(*conn, {"SET", "k", "v", "NX", "PX", "500"}).str == "OK");
  CHECK(One(*conn, {"SET", "k", "w", "NX"}).is_nil());
  CHECK(One(*conn, {"PTTL", "k"}).integer == 500);
  CHECK(One(*conn, {"SET", "k", "w"}).str == "OK");
  CHECK(One(*conn, {"PTTL", "k"}).integer == -1);  // plain SET drops the TTL
  CHECK(One(*conn, {"HGET", "k", "f"}).str.rfind("WRONGTYPE", 0) == 0);
  CHECK(One(*conn, {"HSET", "h", "a", "1", "b", "2"}).integer == 2);
  CHECK(One(*conn, {"HMGET", "h", "a", "zz"}).elements[1].is_nil());
  CHECK(One(*conn, {"HDEL", "h", "a", "b"}).integer == 2);
  CHECK(One(*conn, {"EXISTS", "h"}).integer == 0);  // an emptied hash is gone
  CHECK(One(*conn, {"SADD", "s", "x", "y", "x"}).integer == 2);
  CHECK(One(*conn, {"TYPE", "s"}).str == "set");
  CHECK(One(*conn, {"GET"}).is_error());
  CHECK(One(*conn, {"NOPE", "k"}).is_error());
  CHECK(One(*conn, {"CLUSTER", "SLOTS"}).is_error());  // no cluster support on a single server
  CHECK(One(*conn, {"INFO"}).str.find("cluster_enabled:0") != std::string::npos);
}

TEST_CASE("fake cluster nodes describe the cluster and refuse what is not theirs", "[unit][fake]") {
  FakeCluster fc(3);
  auto conn = fc.Connect(1);
  Reply slots = One(*conn, {"CLUSTER", "SLOTS"});
  REQUIRE(slots.elements.size() == 3);
  CHECK(slots.elements[0].elements[0].integer == 0);
  CHECK(slots.elements[1].elements[0].integer == slots.elements[0].elements[1].integer + 1);
  CHECK(slots.elements[2].elements[1].integer == 16383);
  CHECK(slots.elements[1].elements[2].elements[2].str == fc.id(1));
  std::string a = "{t}:a", b = "{t}:b";
  int owner = fc.NodeOf(a), other = (owner + 1) % 3;
  auto mine = fc.Connect(owner);
  CHECK(One(*mine, {"DEL", a, "x"}).str.rfind("CROSSSLOT", 0) == 0);
  fc.Put(a, "1");
  fc.Put(b, "2");
  fc.BeginMigration(KeySlot(a), owner, other);
  fc.MigrateKey(a);
  CHECK(One(*mine, {"EXISTS", a, b}).str.rfind("TRYAGAIN", 0) == 0);  // some keys gone
  CHECK(One(*mine, {"GET", a}).str.rfind("ASK ", 0) == 0);
  CHECK(One(*mine, {"GET", b}).str == "2");
  std::string nodes = One(*fc.Connect(other), {"CLUSTER", "NODES"}).str;
  CHECK(nodes.find(fc.id(other) + " " + fc.address(other)) != std::string::npos);
  CHECK(nodes.find("-<-" + fc.id(owner) + "]") != std::string::npos);
  CHECK(Must(fc.Connect(other)->Pipeline({{"ASKING"}, {"GET", a}}))[1].str == "1");
  CHECK(One(*fc.Connect(other), {"CLUSTER", "COUNTKEYSINSLOT", std::to_string(KeySlot(a))}).integer == 1);
  CHECK(One(*mine, {"INFO", "server"}).str.find("run_id:" + fc.run_id(owner)) != std::string::npos);
}

}  // namespace
}  // namespace keyshift::testing
