// An in-memory Redis for unit tests: a single server, or a Redis Cluster of
// N primaries, so the engine's state, scanning and routing code can be tested
// without a redis-server. Connections are ordinary RedisConnections; a
// Topology is built over them with the product's own ClusterTopology or
// SingleServer, so routing is the real code talking to fake nodes.
//
// What it is (and is not):
//   data      strings, hashes and sets: GET SET(NX XX PX EX KEEPTTL) DEL EXISTS
//             TYPE HSET HGET HMGET HGETALL HDEL HEXISTS SADD SMEMBERS SREM
//             PEXPIRE PTTL. Time stands still: a TTL is recorded and PTTL
//             reports it as set, but no key ever expires by itself.
//   node      PING, INFO (run_id, used_memory, maxmemory, redis_version,
//             role:master, cluster_enabled), DBSIZE, SCAN cursor [MATCH]
//             [COUNT] [TYPE]. A SCAN cursor is a position in a fixed order of
//             all possible keys (ScanOrder), so a key present for the whole
//             scan is returned, whatever else is added or removed, and a key
//             that arrives behind a node's cursor is not, as on a real server.
//             COUNT keys are visited per call; MATCH and TYPE filter those, so
//             a call may return none while not done.
//   scripts   SCRIPT LOAD records the sha per node; EVALSHA of a loaded sha
//             answers SetEvalReply's reply (+OK by default), NOSCRIPT
//             otherwise. No Lua runs: EVAL is refused with an error.
//   cluster   CLUSTER SLOTS (Redis 7.0 shape), NODES (with "myself" and the
//             [slot->-id] / [slot-<-id] marks), KEYSLOT, MYID,
//             COUNTKEYSINSLOT; ASKING. A keyed
//             command for a slot the node does not own answers MOVED; for a
//             key absent from a MIGRATING slot, ASK; an IMPORTING node takes
//             it right after ASKING; keys in different slots, CROSSSLOT; a
//             multi-key command on a slot being migrated with only some keys
//             here, TRYAGAIN.
// Every node's commands are logged; Calls() counts round trips (Pipeline
// calls). Thread-safe: the topology talks to the nodes concurrently.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/result.h"
#include "redis/redis_client.h"
#include "redis/topology.h"

namespace keyshift::testing {

struct FakeState;  // shared by a FakeCluster and every connection to it

class FakeCluster {
 public:
  // `nodes` primaries on 127.0.0.1 ports 7000, 7001, ..., sharing the 16384
  // slots in equal contiguous ranges, node 0 first.
  explicit FakeCluster(int nodes);
  // One server without cluster support (INFO cluster_enabled:0), port 7000.
  static std::unique_ptr<FakeCluster> SingleServer();
  ~FakeCluster();

  int size() const;
  // A new client connection to `node`, as ConnectRedis would open it.
  std::unique_ptr<RedisConnection> Connect(int node = 0);
  // Opens connections by host and port, failing for a node that stopped.
  NodeConnector Connector();
  // The product's Topology over the fake, seeded at `seed`.
  Result<std::unique_ptr<Topology>> OpenTopology(int seed = 0);

  std::string id(int node) const;
  std::string address(int node) const;  // "127.0.0.1:7000"
  std::string run_id(int node) const;
  int Owner(int slot) const;                 // node index
  int NodeOf(const std::string& key) const;  // owner of the key's slot
  bool Has(int node, const std::string& key) const;
  // The nth key `prefix`<i> (i = 0, 1, ...) whose slot `node` owns.
  std::string KeyOn(int node, const std::string& prefix, int nth = 0) const;
  std::vector<std::string> Keys(int node) const;
  // Writes a string straight onto the node owning its slot (test set-up).
  void Put(const std::string& key, const std::string& value);
  void SetMaxMemory(int node, long long bytes);

  // Resharding. MoveSlot is instant (keys and ownership at once).
  // BeginMigration marks `from` MIGRATING and `to` IMPORTING; MigrateKey
  // moves one key across; FinishMigration moves what is left and gives `to`
  // the slot. Misuse (wrong owner, no migration) throws std::logic_error.
  void MoveSlot(int slot, int from, int to);
  void BeginMigration(int slot, int from, int to);
  void MigrateKey(const std::string& key);
  void FinishMigration(int slot);

  // Faults. The next `times` keyed commands on `node` answer TRYAGAIN.
  void InjectTryAgain(int node, int times);
  // Every later round trip to `node` fails as a lost connection would.
  void StopAnswering(int node);
  // A new server process: new run_id, data kept (as with persistence).
  void Restart(int node);
  void SetEvalReply(Reply reply);

  std::vector<Command> Log(int node) const;
  int Calls(int node) const;
  // How many times `node` received exactly `command`.
  int Sent(int node, const Command& command) const;
  void ClearLogs();

  // Where SCAN meets `key`: SCAN c returns keys of order >= c, in order, and
  // the next cursor is the last returned key's order + 1 (0 at the end).
  static uint64_t ScanOrder(const std::string& key);

 private:
  FakeCluster(int nodes, bool cluster);
  std::shared_ptr<FakeState> state_;
};

}  // namespace keyshift::testing
