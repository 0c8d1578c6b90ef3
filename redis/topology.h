// The engine's view of Redis: one server, or a Redis Cluster of primaries
// (SPEC 7). A Topology is itself a RedisConnection whose Pipeline() routes
// each keyed command to the primary that owns its key's slot, sends the
// commands for different primaries concurrently, and returns the replies in
// the order of the commands. On a cluster it follows MOVED (and re-reads the
// slot map), ASK (ASKING, then the command, once, on the importing node) and
// TRYAGAIN (a multi-key command during a slot migration: waits and resends).
// A redirected command never ran where it was refused, so resending it is
// safe even for keyshift's non-idempotent scripts.
//
// Commands without a key go to the state node (the owner of keyshift's
// `{state}` hash tag), except SCRIPT LOAD, which every primary gets (script
// caches are per node). Node-level work (SCAN, INFO, DBSIZE, CONFIG, SCRIPT
// KILL, keyspace notifications) is the caller's to fan out explicitly over
// Primaries(): a cluster has no single answer to "how many keys".
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "core/result.h"
#include "redis/redis_client.h"

namespace keyshift {

// One primary: its cluster node id ("" on a single server), host:port, and
// a connection of its own (owned by the topology).
struct NodeRef {
  std::string id;
  std::string address;
  RedisConnection* conn = nullptr;
};

// A slot on its way between primaries: `to` imports it from `from` (node
// ids), as `to` marks it in CLUSTER NODES ("[slot-<-from]").
struct SlotImport {
  int slot = 0;
  std::string from, to;
};

class Topology : public RedisConnection {
 public:
  virtual bool cluster() const = 0;
  // Every primary, in slot order. One entry on a single server.
  virtual Result<std::vector<NodeRef>> Primaries() = 0;
  // Re-reads the slot map: after MOVED, or to notice a reshard.
  virtual Status Refresh() = 0;
  // The node id owning each slot (kSlotCount entries; empty on a single server).
  virtual std::vector<std::string> SlotOwners() const = 0;
  // Every slot being imported right now, i.e. whose keys are on their way
  // between two primaries (empty on a single server).
  virtual Result<std::vector<SlotImport>> Imports() = 0;
  // Ids of the primaries importing a slot right now.
  Result<std::set<std::string>> ImportingNodes();
};

// Where keyshift's own state lives: the slot of the `{state}` hash tag.
int StateSlot();

// The index of `command`'s key argument (argv[1] for most commands, the first
// of KEYS for EVAL/EVALSHA); nullopt for a command that names no key.
std::optional<size_t> KeyIndex(const Command& command);

// Runs each node's commands on its own connection, concurrently when there
// is more than one node; results in the order given. A transport failure on
// any node is the result's Error.
Result<std::vector<std::vector<Reply>>> PipelineEach(const std::vector<RedisConnection*>& conns,
                                                     const std::vector<std::vector<Command>>& commands);

// One primary's reply to a node-level command.
struct PrimaryReply {
  NodeRef node;
  Reply reply;
};

// Sends `command` to every primary at once (SCAN-like work is the caller's:
// this is for one-shot questions such as INFO, DBSIZE, PING, CLUSTER NODES).
Result<std::vector<PrimaryReply>> OnEveryPrimary(Topology* topology, const Command& command);

// Opens a connection to one node, by host and port; the URL's credentials
// and TLS settings apply to every node.
using NodeConnector = std::function<Result<std::unique_ptr<RedisConnection>>(const std::string& host, int port)>;

// A single server behind the Topology interface; `conn` is owned.
std::unique_ptr<Topology> SingleServer(std::unique_ptr<RedisConnection> conn);

// A cluster known through `seed` (any of its nodes). Reads the slot map now;
// an error when the seed does not answer CLUSTER SLOTS.
Result<std::unique_ptr<Topology>> ClusterTopology(std::unique_ptr<RedisConnection> seed, std::string seed_host,
                                                  NodeConnector connect);

// Connects to the URL's server and looks: a Redis Cluster node gives a
// cluster topology (database 0 only: a cluster has no other), anything else a
// single server. Timeouts as ConnectRedis.
Result<std::unique_ptr<Topology>> OpenTopology(const RedisUrl& url, int timeout_ms = 5000,
                                               int command_timeout_ms = 30000);

// Opens a fresh topology to the same Redis (the lock's renewal thread, the
// script watchdog, a subscriber): each needs its own connections.
using TopologyFactory = std::function<Result<std::unique_ptr<Topology>>()>;
using ConnectionFactory = TopologyFactory;

}  // namespace keyshift
