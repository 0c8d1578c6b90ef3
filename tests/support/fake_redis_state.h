// Internals of the fake Redis (fake_redis.h): the state its nodes share and
// the command executor, split from the FakeCluster operations.
#pragma once

#include <map>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "redis/redis_client.h"

namespace keyshift::testing {

namespace fake {

struct Entry {
  enum Kind { kString, kHash, kSet } kind = kString;
  std::string str;
  std::map<std::string, std::string> hash;
  std::set<std::string> members;
  long long pttl = -1;  // as set; time stands still in the fake
};

struct Node {
  std::string id, run_id;
  int port = 0;
  long long maxmemory = 0;
  std::map<std::string, Entry> data;
  std::set<std::string> scripts;             // SHAs loaded on this node
  std::map<int, int> migrating, importing;   // slot -> the node on the other end
  std::vector<Command> log;
  int calls = 0, tryagain = 0;
  bool down = false;
  std::string address() const { return "127.0.0.1:" + std::to_string(port); }
};

}  // namespace fake

struct FakeState {
  std::mutex mu;  // one lock for everything: nodes are served one command batch at a time
  bool cluster = true;
  std::vector<fake::Node> nodes;
  std::vector<int> owner;  // slot -> node index (cluster only)
  Reply eval_reply;
};

namespace fake {

Reply Ok();
Reply ErrorReply(std::string text);
Reply Integer(long long n);
Reply Bulk(std::string text);
Reply Array(std::vector<Reply> elements);

// Runs one command on `node` as a Redis node would: arity, then the cluster
// checks (MOVED, ASK, CROSSSLOT, TRYAGAIN) for its keys, then the command.
// `asking`: the connection sent ASKING just before. Caller holds s.mu.
Reply Run(FakeState& s, int node, const Command& command, bool asking);

// Node-level commands (fake_redis_node.cc): INFO, DBSIZE, SCAN, CLUSTER,
// SCRIPT, EVALSHA.
Reply Info(FakeState& s, int node, const Command& command);
Reply DbSize(FakeState& s, int node, const Command& command);
Reply Scan(FakeState& s, int node, const Command& command);
Reply Cluster(FakeState& s, int node, const Command& command);
Reply Script(FakeState& s, int node, const Command& command);
Reply EvalSha(FakeState& s, int node, const Command& command);

// Redis glob matching (* ? [a-z] [^x] \x), as SCAN MATCH uses it.
bool GlobMatch(const std::string& pattern, const std::string& text);
uint64_t ScanOrder(const std::string& key);
const char* KindName(Entry::Kind kind);
std::string Lower(std::string s);

}  // namespace fake
}  // namespace keyshift::testing
