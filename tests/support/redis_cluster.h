// Test harness owning a private Redis Cluster of N primaries (no replicas) on
// loopback ports, built from RedisServer nodes and `redis-cli --cluster`.
// It routes its own commands (CLUSTER KEYSLOT, CLUSTER SLOTS, MOVED/ASK) and
// never uses keyshift's routing, so cluster tests check keyshift against an
// independent view of the keyspace. Seeding and inspection always use the
// nodes' plaintext ports, also in a TLS cluster.
#pragma once

#include <sys/types.h>

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "redis/redis_client.h"
#include "tests/support/integration_fixtures.h"
#include "tests/support/redis_server.h"

namespace keyshift::testing {

// A `redis-cli --cluster ...` running in the background (StartReshard).
struct ReshardRun {
  pid_t pid = -1;
  std::string log_path;  // its stdout and stderr
  std::string what;      // "reshard N slots from node A to node B", for messages
};

class RedisCluster {
 public:
  struct Options {
    int primaries = 3;  // redis-cli --cluster create needs at least 3
    // Every node also listens with TLS and runs the cluster bus and
    // replication over TLS (--tls-cluster yes). `ca` must have signed `cert`:
    // the nodes verify each other with it.
    std::optional<RedisServer::Tls> tls;
  };

  // Starts the nodes, creates the cluster (slots split evenly) and waits
  // until every node reports cluster_state:ok and the same slot map; FAILs
  // the test with the nodes' log tails if it cannot.
  RedisCluster();  // 3 primaries, no TLS
  explicit RedisCluster(Options options);
  // Kills a reshard still running, then stops every node by pid and removes
  // every directory.
  ~RedisCluster();
  RedisCluster(const RedisCluster&) = delete;
  RedisCluster& operator=(const RedisCluster&) = delete;

  size_t size() const { return nodes_.size(); }
  RedisServer& node(size_t i) { return *nodes_.at(i); }
  // redis://127.0.0.1:<node 0's port>/0 and rediss://127.0.0.1:<its TLS port>/0.
  std::string url() const;
  std::string tls_url() const;
  // CLUSTER MYID of node i.
  const std::string& NodeId(size_t i) const { return ids_.at(i); }
  // The harness's own plaintext connection to node i.
  RedisConnection& Connection(size_t i) { return *connections_.at(i); }

  // The key's slot, as CLUSTER KEYSLOT computes it.
  int SlotOf(const std::string& key);
  // The node that owns the key's slot in the current CLUSTER SLOTS.
  size_t OwnerOf(const std::string& key);
  // slot -> index of its owner, from node 0's CLUSTER SLOTS (all 16384 slots
  // once the cluster is up).
  std::map<int, size_t> SlotOwners();

  // One command routed by its key (command[1]) to the slot's owner,
  // following MOVED and ASK (with ASKING) and retrying TRYAGAIN. The reply
  // may be an error reply (WRONGTYPE ...), never a redirection; a lost
  // connection or endless redirections FAIL the test.
  Reply Call(const Command& command);
  // Every command (each with its key at command[1]) pipelined to the owner
  // of its key, grouped per node: tens of thousands of keys in about a
  // second. Order is kept per node; a command redirected by a slot that
  // moved meanwhile is re-sent through Call(). REQUIREs no error reply.
  void Pipeline(const std::vector<Command>& commands);
  // `command` sent to every node, in node order (FLUSHALL, CONFIG SET ...).
  std::vector<Reply> CallEveryNode(const Command& command);

  // Sum of DBSIZE over the nodes.
  long long TotalKeys();
  // Every key matching `match` on every node (SCAN), sorted.
  std::vector<std::string> Keys(const std::string& match = "*");
  // Sum over the nodes of INFO persistence's rdb_changes_since_last_save,
  // the change counter the single-server tests use: every write bumps it.
  long long ChangeCounter();

  // Moves `slots` slots from node `from` to node `to` with
  // `redis-cli --cluster reshard` (keys included) and waits until all nodes
  // agree on the new map; REQUIREs success.
  void Reshard(size_t from, size_t to, int slots);
  // The same in the background, so a test can move slots while a keyshift
  // run is going; no thread, so no Catch2 macro runs off the main thread.
  ReshardRun StartReshard(size_t from, size_t to, int slots);
  // Waits for it (killing it after timeout_seconds, which FAILs), REQUIREs
  // that it succeeded, then waits until all nodes agree on the map.
  void WaitReshard(ReshardRun& run, int timeout_seconds = 120);

  // Moves one slot by hand: `to` IMPORTING and `from` MIGRATING it, then
  // MIGRATE of its keys on `from`. With finish false only the first half of
  // them (rounded up) moves and the slot stays open, so requests for a moved
  // key answer ASK; a second call with finish true moves the rest and sets
  // the slot's owner to `to` on every node. Returns the keys it migrated.
  std::vector<std::string> MoveSlotByHand(int slot, size_t from, size_t to, bool finish);

  // Polls (every 50 ms, up to 30 s) until every node reports
  // cluster_state:ok and the same CLUSTER SLOTS; FAILs with the log tails.
  void WaitUntilAgreed();
  // The end of every node's log and of the redis-cli runs, for diagnostics.
  std::string LogTails() const;

 private:
  void StartNodes();
  void Create();
  std::vector<std::string> ClusterCliArgs(const std::vector<std::string>& args) const;
  ReshardRun StartCli(const std::vector<std::string>& args, const std::string& what);
  void FinishCli(ReshardRun& run, int timeout_seconds);
  bool Agreed(std::string* why);
  void Migrate(size_t from, size_t to, const std::vector<std::string>& keys);
  std::string Address(size_t i, bool tls) const;
  size_t NodeAtPort(int port) const;
  std::vector<int> SlotTable();
  std::vector<int> SlotsOf(const std::vector<Command>& commands);
  void SendGroup(size_t node, const std::vector<Command>& commands, const std::vector<size_t>& group,
                 std::vector<size_t>* redirected);

  Options options_;
  TempDir scratch_{"keyshift-cluster"};  // redis-cli logs
  std::vector<std::unique_ptr<RedisServer>> nodes_;
  std::vector<std::unique_ptr<RedisConnection>> connections_;
  std::vector<std::string> ids_;
  std::vector<pid_t> running_;  // background redis-cli runs not yet waited for
  int cli_runs_ = 0;
};

}  // namespace keyshift::testing
