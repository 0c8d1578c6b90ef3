// Proves the cluster harness itself against real redis-servers: the cluster
// comes up whole, seeding spreads over every primary, resharding (blocking,
// in the background, by hand) moves what it says, and TLS clusters answer
// each client with the ports of its own kind.
#include "tests/support/redis_cluster.h"

#include <catch.hpp>
#include <set>

#include "tests/support/tls_certs.h"

namespace keyshift::testing {
namespace {

std::vector<Command> SetCommands(const std::vector<std::string>& keys) {
  std::vector<Command> commands;
  for (const std::string& key : keys) commands.push_back({"SET", key, "v-" + key});
  return commands;
}

std::map<size_t, int> SlotCounts(const std::map<int, size_t>& owners) {
  std::map<size_t, int> counts;
  for (const auto& [slot, node] : owners) ++counts[node];
  return counts;
}

// Ports of the primaries in a CLUSTER SLOTS reply.
std::set<long long> PortsIn(const Reply& slots) {
  std::set<long long> ports;
  for (const Reply& range : slots.elements) ports.insert(range.elements.at(2).elements.at(1).integer);
  return ports;
}

// Keys k0..k(n-1) of one hash tag: all in one slot.
std::vector<std::string> TaggedKeys(const std::string& tag, int n) { return NumberedKeys("{" + tag + "}:", 0, n); }

}  // namespace

TEST_CASE("cluster: comes up with 3 primaries covering every slot", "[redis][cluster]") {
  RedisCluster cluster;
  REQUIRE(cluster.size() == 3);
  std::map<int, size_t> owners = cluster.SlotOwners();
  CHECK(owners.size() == 16384);
  std::map<size_t, int> counts = SlotCounts(owners);
  REQUIRE(counts.size() == 3);
  for (const auto& [node, slots] : counts) CHECK(slots > 5000);
  std::set<std::string> ids;
  for (size_t i = 0; i < cluster.size(); ++i) {
    std::string info = Cmd(cluster.Connection(i), {"CLUSTER", "INFO"}).str;
    CHECK(info.find("cluster_state:ok") != std::string::npos);
    CHECK(info.find("cluster_known_nodes:3") != std::string::npos);
    CHECK(cluster.NodeId(i).size() == 40);
    ids.insert(cluster.NodeId(i));
  }
  CHECK(ids.size() == 3);
  CHECK(cluster.url() == cluster.node(0).url());
  CHECK(cluster.TotalKeys() == 0);
}

TEST_CASE("cluster: Pipeline seeds 30000 keys over all 3 primaries", "[redis][cluster]") {
  RedisCluster cluster;
  long long changes_before = cluster.ChangeCounter();
  std::vector<std::string> keys = NumberedKeys("seed:", 0, 30000);
  cluster.Pipeline(SetCommands(keys));
  CHECK(cluster.TotalKeys() == 30000);
  CHECK(cluster.ChangeCounter() - changes_before == 30000);
  for (const Reply& size : cluster.CallEveryNode({"DBSIZE"})) CHECK(size.integer > 5000);
  std::vector<std::string> sorted = keys;
  std::sort(sorted.begin(), sorted.end());
  CHECK(cluster.Keys("seed:*") == sorted);
  // Each key sits on the node OwnerOf names, and Call finds it there.
  for (const std::string& key : {keys[0], keys[12345], keys[29999]}) {
    size_t owner = cluster.OwnerOf(key);
    CHECK(Cmd(cluster.Connection(owner), {"GET", key}).str == "v-" + key);
    CHECK(cluster.Call({"GET", key}).str == "v-" + key);
  }
  CHECK(cluster.SlotOf("{seed}:1") == cluster.SlotOf("seed"));
}

TEST_CASE("cluster: Reshard moves slots with their keys, also in the background", "[redis][cluster]") {
  RedisCluster cluster;
  cluster.Pipeline(SetCommands(NumberedKeys("r:", 0, 5000)));
  std::map<int, size_t> before = cluster.SlotOwners();
  std::vector<std::string> keys_before = cluster.Keys();

  cluster.Reshard(0, 1, 100);
  std::map<int, size_t> after = cluster.SlotOwners();
  REQUIRE(after.size() == 16384);
  int moved = 0;
  for (const auto& [slot, owner] : after) {
    if (owner == before[slot]) continue;
    ++moved;
    CHECK((before[slot] == 0 && owner == 1));
  }
  CHECK(moved == 100);
  CHECK(cluster.Keys() == keys_before);

  // Writes go on while slots move: Pipeline and Call follow MOVED and ASK.
  ReshardRun run = cluster.StartReshard(2, 0, 300);
  cluster.Pipeline(SetCommands(NumberedKeys("r:", 5000, 5000)));
  cluster.WaitReshard(run);
  CHECK(SlotCounts(cluster.SlotOwners())[2] == SlotCounts(after)[2] - 300);
  CHECK(cluster.TotalKeys() == 10000);
  CHECK(cluster.Call({"GET", "r:9999"}).str == "v-r:9999");
}

TEST_CASE("cluster: a slot moved half-way by hand answers ASK, then MOVED once finished", "[redis][cluster]") {
  RedisCluster cluster;
  std::vector<std::string> keys = TaggedKeys("half", 10);
  cluster.Pipeline(SetCommands(keys));
  int slot = cluster.SlotOf(keys[0]);
  size_t from = cluster.OwnerOf(keys[0]);
  size_t to = (from + 1) % cluster.size();
  std::string to_address = "127.0.0.1:" + std::to_string(cluster.node(to).port());

  std::vector<std::string> moved = cluster.MoveSlotByHand(slot, from, to, false);
  REQUIRE(moved.size() == 5);
  Reply ask = cluster.Connection(from).Pipeline({{"GET", moved[0]}}).value().at(0);
  CHECK(ask.is_error());
  CHECK(ask.str == "ASK " + std::to_string(slot) + " " + to_address);
  CHECK(cluster.Call({"GET", moved[0]}).str == "v-" + moved[0]);
  CHECK(cluster.OwnerOf(keys[0]) == from);  // the map changes only when the slot is finished
  CHECK(cluster.TotalKeys() == 10);

  std::vector<std::string> rest = cluster.MoveSlotByHand(slot, from, to, true);
  CHECK(rest.size() == 5);
  CHECK(cluster.OwnerOf(keys[0]) == to);
  Reply moved_reply = cluster.Connection(from).Pipeline({{"GET", keys[0]}}).value().at(0);
  CHECK(moved_reply.str == "MOVED " + std::to_string(slot) + " " + to_address);
  CHECK(Cmd(cluster.Connection(to), {"DBSIZE"}).integer >= 10);
  CHECK(cluster.TotalKeys() == 10);
  for (const std::string& key : keys) CHECK(cluster.Call({"GET", key}).str == "v-" + key);
}

TEST_CASE("cluster: over TLS, CLUSTER SLOTS names TLS ports to TLS clients", "[redis][cluster]") {
  const TestCertificates& certs = Certificates();
  RedisCluster::Options options;
  options.tls = RedisServer::Tls{certs.server_cert, certs.server_key, certs.ca};
  RedisCluster cluster(options);
  std::set<long long> tls_ports, plain_ports;
  for (size_t i = 0; i < cluster.size(); ++i) {
    tls_ports.insert(cluster.node(i).tls_port());
    plain_ports.insert(cluster.node(i).port());
  }

  auto url = ParseRedisUrl(cluster.tls_url());
  REQUIRE(url.ok());
  url->tls.ca_file = certs.ca;
  auto tls = ConnectRedis(*url);
  REQUIRE(tls.ok());
  CHECK(PortsIn(Cmd(**tls, {"CLUSTER", "SLOTS"})) == tls_ports);
  CHECK(PortsIn(Cmd(cluster.Connection(0), {"CLUSTER", "SLOTS"})) == plain_ports);

  // redis-cli and MIGRATE reach the nodes over TLS.
  std::vector<std::string> keys = TaggedKeys("tls", 4);
  cluster.Pipeline(SetCommands(keys));
  size_t from = cluster.OwnerOf(keys[0]);
  cluster.MoveSlotByHand(cluster.SlotOf(keys[0]), from, (from + 1) % 3, true);
  CHECK(cluster.OwnerOf(keys[0]) == (from + 1) % 3);
  int slots_before = SlotCounts(cluster.SlotOwners())[from];
  cluster.Reshard(from, (from + 2) % 3, 10);
  CHECK(SlotCounts(cluster.SlotOwners())[from] == slots_before - 10);
  CHECK(cluster.TotalKeys() == 4);
}

}  // namespace keyshift::testing
