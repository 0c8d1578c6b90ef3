// Owns a local Redis Cluster for tests: nodes (RedisServer with cluster
// mode), `redis-cli --cluster create/reshard` runs as child processes, the
// wait for a settled slot map, and a small client of its own (CLUSTER
// KEYSLOT + CLUSTER SLOTS + MOVED/ASK) for seeding and inspection.
//
// TLS, checked on redis 7.0.15 with --tls-cluster yes: a node announces its
// TLS port as its cluster port and its plaintext port beside it ("pport"), so
// CLUSTER SLOTS (and CLUSTER SHARDS, MOVED, ASK) answer TLS ports on a TLS
// connection and plaintext ports on a plaintext one. The cluster bus (on
// cluster_port()) and MIGRATE between nodes then speak TLS, so redis-cli
// must address the nodes by their TLS ports (create's CLUSTER MEET, reshard's
// MIGRATE), while this harness keeps to plaintext connections.
#include "tests/support/redis_cluster.h"

#include <signal.h>
#include <sys/wait.h>

#include <algorithm>
#include <catch.hpp>
#include <chrono>
#include <thread>
#include <tuple>

#include "tests/support/child_process.h"

namespace keyshift::testing {
namespace {

using Clock = std::chrono::steady_clock;

constexpr int kSlots = 16384;
constexpr size_t kChunk = 5000;  // commands per pipelined round trip
constexpr int kMaxRedirects = 16;
constexpr auto kAgreeTimeout = std::chrono::seconds(30);
constexpr auto kPollEvery = std::chrono::milliseconds(50);

// One range of CLUSTER SLOTS, reduced to what all nodes must agree on.
using SlotRange = std::tuple<long long, long long, std::string>;  // first, last, owner id

std::vector<SlotRange> ParseSlots(const Reply& reply) {
  std::vector<SlotRange> ranges;
  for (const Reply& range : reply.elements) {
    REQUIRE(range.elements.size() >= 3);
    const Reply& primary = range.elements[2];
    REQUIRE(primary.elements.size() >= 3);
    ranges.emplace_back(range.elements[0].integer, range.elements[1].integer, primary.elements[2].str);
  }
  std::sort(ranges.begin(), ranges.end());
  return ranges;
}

// MOVED / ASK / TRYAGAIN error replies; any other reply is not a redirect.
struct Redirect {
  enum Kind { kNone, kMoved, kAsk, kTryAgain } kind = kNone;
  int port = 0;
};

Redirect ParseRedirect(const Reply& reply) {
  if (!reply.is_error()) return {};
  const std::string& text = reply.str;
  if (text.rfind("TRYAGAIN", 0) == 0) return {Redirect::kTryAgain, 0};
  bool moved = text.rfind("MOVED ", 0) == 0;
  if (!moved && text.rfind("ASK ", 0) != 0) return {};
  size_t colon = text.rfind(':');
  REQUIRE(colon != std::string::npos);
  return {moved ? Redirect::kMoved : Redirect::kAsk, std::stoi(text.substr(colon + 1))};
}

std::string CommandName(const Command& command) {
  std::string text = command.empty() ? "" : command[0];
  if (command.size() > 1) text += " " + command[1];
  return text;
}

// Cluster commands carry their key at [1] (what Call and Pipeline route by).
const std::string& KeyOf(const Command& command) {
  if (command.size() < 2) FAIL("cluster command without a key: " << CommandName(command));
  return command[1];
}

std::vector<Reply> MustPipeline(RedisConnection& conn, const std::vector<Command>& commands) {
  auto replies = conn.Pipeline(commands);
  if (!replies.ok()) FAIL("cluster node " << conn.Describe() << ": " << replies.error().message);
  return std::move(replies.value());
}

}  // namespace

RedisCluster::RedisCluster() : RedisCluster(Options{}) {}

RedisCluster::RedisCluster(Options options) : options_(std::move(options)) {
  REQUIRE(options_.primaries >= 3);
  StartNodes();
  Create();
  WaitUntilAgreed();
}

RedisCluster::~RedisCluster() {
  for (pid_t pid : running_) KillAndReap(pid);
  connections_.clear();
  nodes_.clear();  // each stops its server by pid and removes its dir
}

void RedisCluster::StartNodes() {
  RedisServer::Options node;
  node.cluster = true;
  node.extra_args = {"--cluster-node-timeout", "5000"};
  if (options_.tls) node.extra_args.insert(node.extra_args.end(), {"--tls-cluster", "yes", "--tls-replication", "yes"});
  for (int i = 0; i < options_.primaries; ++i) {
    nodes_.push_back(options_.tls ? std::make_unique<RedisServer>(*options_.tls, node)
                                  : std::make_unique<RedisServer>(node));
    connections_.push_back(nodes_.back()->Connect());
    ids_.push_back(Cmd(*connections_.back(), {"CLUSTER", "MYID"}).str);
  }
}

void RedisCluster::Create() {
  std::vector<std::string> args = {"create"};
  for (size_t i = 0; i < size(); ++i) args.push_back(Address(i, options_.tls.has_value()));
  args.insert(args.end(), {"--cluster-replicas", "0", "--cluster-yes"});
  ReshardRun run = StartCli(args, "redis-cli --cluster create");
  FinishCli(run, 60);
}

std::string RedisCluster::url() const { return nodes_.at(0)->url(); }

std::string RedisCluster::tls_url() const { return nodes_.at(0)->tls_url(); }

std::string RedisCluster::Address(size_t i, bool tls) const {
  const RedisServer& n = *nodes_.at(i);
  return "127.0.0.1:" + std::to_string(tls ? n.tls_port() : n.port());
}

size_t RedisCluster::NodeAtPort(int port) const {
  for (size_t i = 0; i < size(); ++i) {
    if (nodes_[i]->port() == port || nodes_[i]->tls_port() == port) return i;
  }
  FAIL("no node of the cluster listens on port " << port);
  return 0;
}

// ---- redis-cli --cluster ----------------------------------------------------

std::vector<std::string> RedisCluster::ClusterCliArgs(const std::vector<std::string>& args) const {
  std::vector<std::string> argv = {FindExecutable("redis-cli", "apt-get install redis-tools")};
  if (options_.tls) {
    // The nodes' own certificate doubles as the client's, in case they
    // require one (Tls::require_client_cert).
    const RedisServer::Tls& tls = *options_.tls;
    argv.insert(argv.end(), {"--tls", "--cacert", tls.ca, "--cert", tls.cert, "--key", tls.key});
  }
  argv.push_back("--cluster");
  argv.insert(argv.end(), args.begin(), args.end());
  return argv;
}

ReshardRun RedisCluster::StartCli(const std::vector<std::string>& args, const std::string& what) {
  ReshardRun run;
  run.what = what;
  run.log_path = scratch_.path() + "/cli-" + std::to_string(cli_runs_++) + ".log";
  run.pid = StartChild(ClusterCliArgs(args), run.log_path);
  running_.push_back(run.pid);
  return run;
}

void RedisCluster::FinishCli(ReshardRun& run, int timeout_seconds) {
  REQUIRE(run.pid > 0);
  int status = 0;
  bool exited = WaitForExit(run.pid, std::chrono::seconds(timeout_seconds), &status);
  if (!exited) KillAndReap(run.pid);
  running_.erase(std::remove(running_.begin(), running_.end(), run.pid), running_.end());
  run.pid = -1;
  if (!exited) FAIL(run.what << " did not finish within " << timeout_seconds << " s (killed)\n" << LogTails());
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    FAIL(run.what << " failed (exited " << DescribeExit(status) << ")\n" << LogTails());
  }
}

void RedisCluster::Reshard(size_t from, size_t to, int slots) {
  ReshardRun run = StartReshard(from, to, slots);
  WaitReshard(run);
}

ReshardRun RedisCluster::StartReshard(size_t from, size_t to, int slots) {
  REQUIRE(from != to);
  REQUIRE(slots > 0);
  std::vector<std::string> args = {"reshard", Address(from, options_.tls.has_value()),
                                   "--cluster-from", NodeId(from), "--cluster-to", NodeId(to),
                                   "--cluster-slots", std::to_string(slots), "--cluster-yes"};
  return StartCli(args, "reshard of " + std::to_string(slots) + " slots from node " + std::to_string(from) +
                            " to node " + std::to_string(to));
}

void RedisCluster::WaitReshard(ReshardRun& run, int timeout_seconds) {
  FinishCli(run, timeout_seconds);
  WaitUntilAgreed();
}

// ---- slot map ----------------------------------------------------------------

void RedisCluster::WaitUntilAgreed() {
  auto deadline = Clock::now() + kAgreeTimeout;
  std::string why;
  while (!Agreed(&why)) {
    if (Clock::now() >= deadline) FAIL("the cluster did not settle within 30 s: " << why << "\n" << LogTails());
    std::this_thread::sleep_for(kPollEvery);
  }
}

bool RedisCluster::Agreed(std::string* why) {
  std::vector<SlotRange> first;
  for (size_t i = 0; i < size(); ++i) {
    auto replies = MustPipeline(*connections_[i], {{"CLUSTER", "INFO"}, {"CLUSTER", "SLOTS"}});
    if (replies[0].str.find("cluster_state:ok") == std::string::npos) {
      *why = "node " + std::to_string(i) + " does not report cluster_state:ok";
      return false;
    }
    std::vector<SlotRange> ranges = ParseSlots(replies[1]);
    if (i == 0) first = std::move(ranges);
    if (i > 0 && ranges != first) {
      *why = "node " + std::to_string(i) + "'s CLUSTER SLOTS differs from node 0's";
      return false;
    }
  }
  return true;
}

std::vector<int> RedisCluster::SlotTable() {
  std::vector<int> owner(kSlots, -1);
  for (const auto& [first, last, id] : ParseSlots(Cmd(*connections_[0], {"CLUSTER", "SLOTS"}))) {
    auto at = std::find(ids_.begin(), ids_.end(), id);
    REQUIRE(at != ids_.end());
    REQUIRE(first >= 0);
    REQUIRE(last < kSlots);
    std::fill(owner.begin() + first, owner.begin() + last + 1, static_cast<int>(at - ids_.begin()));
  }
  return owner;
}

std::map<int, size_t> RedisCluster::SlotOwners() {
  std::vector<int> table = SlotTable();
  std::map<int, size_t> owners;
  for (int slot = 0; slot < kSlots; ++slot) {
    if (table[slot] >= 0) owners[slot] = static_cast<size_t>(table[slot]);
  }
  return owners;
}

int RedisCluster::SlotOf(const std::string& key) {
  return static_cast<int>(Cmd(*connections_[0], {"CLUSTER", "KEYSLOT", key}).integer);
}

size_t RedisCluster::OwnerOf(const std::string& key) {
  int owner = SlotTable()[SlotOf(key)];
  if (owner < 0) FAIL("no node owns the slot of " << key);
  return static_cast<size_t>(owner);
}

std::vector<int> RedisCluster::SlotsOf(const std::vector<Command>& commands) {
  std::vector<int> slots;
  for (size_t i = 0; i < commands.size(); i += kChunk) {
    std::vector<Command> batch;
    for (size_t j = i; j < commands.size() && j < i + kChunk; ++j) {
      batch.push_back({"CLUSTER", "KEYSLOT", KeyOf(commands[j])});
    }
    for (const Reply& r : MustPipeline(*connections_[0], batch)) {
      REQUIRE(r.kind == Reply::kInteger);
      slots.push_back(static_cast<int>(r.integer));
    }
  }
  return slots;
}

// ---- commands ----------------------------------------------------------------

Reply RedisCluster::Call(const Command& command) {
  size_t target = OwnerOf(KeyOf(command));
  bool asking = false;
  for (int hop = 0; hop < kMaxRedirects; ++hop) {
    std::vector<Command> batch;
    if (asking) batch.push_back({"ASKING"});
    batch.push_back(command);
    Reply reply = MustPipeline(*connections_[target], batch).back();
    Redirect redirect = ParseRedirect(reply);
    if (redirect.kind == Redirect::kNone) return reply;
    if (redirect.kind == Redirect::kTryAgain) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));  // a multi-key slot in flight
    } else {
      target = NodeAtPort(redirect.port);
    }
    asking = redirect.kind == Redirect::kAsk;
  }
  FAIL(CommandName(command) << " still redirected after " << kMaxRedirects << " tries");
  return {};
}

void RedisCluster::Pipeline(const std::vector<Command>& commands) {
  std::vector<int> slots = SlotsOf(commands);
  std::vector<int> owner = SlotTable();
  std::vector<std::vector<size_t>> groups(size());
  for (size_t i = 0; i < commands.size(); ++i) {
    if (owner[slots[i]] < 0) FAIL("no node owns the slot of " << commands[i][1]);
    groups[owner[slots[i]]].push_back(i);
  }
  std::vector<size_t> redirected;
  for (size_t node = 0; node < size(); ++node) SendGroup(node, commands, groups[node], &redirected);
  std::sort(redirected.begin(), redirected.end());
  for (size_t i : redirected) {
    Reply reply = Call(commands[i]);
    if (reply.is_error()) FAIL(CommandName(commands[i]) << ": " << reply.str);
  }
}

void RedisCluster::SendGroup(size_t node, const std::vector<Command>& commands, const std::vector<size_t>& group,
                             std::vector<size_t>* redirected) {
  for (size_t i = 0; i < group.size(); i += kChunk) {
    std::vector<size_t> indexes(group.begin() + i, group.begin() + std::min(group.size(), i + kChunk));
    std::vector<Command> batch;
    for (size_t index : indexes) batch.push_back(commands[index]);
    std::vector<Reply> replies = MustPipeline(*connections_[node], batch);
    for (size_t j = 0; j < replies.size(); ++j) {
      if (!replies[j].is_error()) continue;
      if (ParseRedirect(replies[j]).kind == Redirect::kNone) FAIL(CommandName(batch[j]) << ": " << replies[j].str);
      redirected->push_back(indexes[j]);
    }
  }
}

std::vector<Reply> RedisCluster::CallEveryNode(const Command& command) {
  std::vector<Reply> replies;
  for (auto& connection : connections_) replies.push_back(Cmd(*connection, command));
  return replies;
}

// ---- inspection --------------------------------------------------------------

long long RedisCluster::TotalKeys() {
  long long total = 0;
  for (const Reply& r : CallEveryNode({"DBSIZE"})) total += r.integer;
  return total;
}

std::vector<std::string> RedisCluster::Keys(const std::string& match) {
  std::vector<std::string> keys;
  for (auto& connection : connections_) {
    std::vector<std::string> some = ScanKeys(*connection, match);
    keys.insert(keys.end(), some.begin(), some.end());
  }
  std::sort(keys.begin(), keys.end());
  return keys;
}

long long RedisCluster::ChangeCounter() {
  long long total = 0;
  for (auto& connection : connections_) total += RdbChanges(*connection);
  return total;
}

// ---- moving a slot by hand ------------------------------------------------------

std::vector<std::string> RedisCluster::MoveSlotByHand(int slot, size_t from, size_t to, bool finish) {
  REQUIRE(from != to);
  REQUIRE((slot >= 0 && slot < kSlots));
  const std::string s = std::to_string(slot);
  Cmd(Connection(to), {"CLUSTER", "SETSLOT", s, "IMPORTING", NodeId(from)});
  Cmd(Connection(from), {"CLUSTER", "SETSLOT", s, "MIGRATING", NodeId(to)});
  std::vector<std::string> keys = Strings(Cmd(Connection(from), {"CLUSTER", "GETKEYSINSLOT", s, "1000000"}));
  keys.resize(finish ? keys.size() : (keys.size() + 1) / 2);
  Migrate(from, to, keys);
  if (finish) {
    // Target first, then source, then the rest: the order the Redis
    // Cluster docs give, so no node ever points back at the source.
    std::vector<size_t> order = {to, from};
    for (size_t i = 0; i < size(); ++i) {
      if (i != to && i != from) order.push_back(i);
    }
    for (size_t i : order) Cmd(Connection(i), {"CLUSTER", "SETSLOT", s, "NODE", NodeId(to)});
    WaitUntilAgreed();
  }
  return keys;
}

void RedisCluster::Migrate(size_t from, size_t to, const std::vector<std::string>& keys) {
  // The source dials the target itself, over TLS in a TLS cluster.
  const RedisServer& target = *nodes_.at(to);
  std::string port = std::to_string(options_.tls ? target.tls_port() : target.port());
  for (size_t i = 0; i < keys.size(); i += 100) {
    Command migrate = {"MIGRATE", "127.0.0.1", port, "", "0", "5000", "KEYS"};
    migrate.insert(migrate.end(), keys.begin() + i, keys.begin() + std::min(keys.size(), i + 100));
    Cmd(Connection(from), migrate);
  }
}

std::string RedisCluster::LogTails() const {
  std::string text;
  for (size_t i = 0; i < size(); ++i) {
    text += "=== node " + std::to_string(i) + " (port " + std::to_string(nodes_[i]->port()) + ")\n";
    text += nodes_[i]->LogTail();
  }
  for (int run = 0; run < cli_runs_; ++run) text += Tail(scratch_.path() + "/cli-" + std::to_string(run) + ".log");
  return text;
}

}  // namespace keyshift::testing
