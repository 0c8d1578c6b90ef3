// FakeCluster: the nodes, connections to them, and the operations tests use
// to move slots and inject faults.
#include "tests/support/fake_redis.h"

#include <fmt/format.h>

#include <algorithm>
#include <stdexcept>

#include "core/digest.h"
#include "core/slot.h"
#include "tests/support/fake_redis_state.h"

namespace keyshift::testing {

namespace {

constexpr int kFirstPort = 7000;

// One client connection: its own ASKING flag, the node's shared state.
class FakeConnection final : public RedisConnection {
 public:
  FakeConnection(std::shared_ptr<FakeState> state, int node, std::string address)
      : state_(std::move(state)), node_(node), address_(std::move(address)) {}

  Result<std::vector<Reply>> Pipeline(const std::vector<Command>& commands) override {
    std::lock_guard<std::mutex> guard(state_->mu);
    fake::Node& n = state_->nodes[static_cast<size_t>(node_)];
    if (n.down) return UsageError(fmt::format("lost connection to Redis at {}: the fake node stopped answering", address_));
    ++n.calls;
    std::vector<Reply> replies;
    for (const Command& c : commands) {
      n.log.push_back(c);
      bool asking = asking_;
      asking_ = false;  // ASKING holds for the next command only
      if (!c.empty() && fake::Lower(c[0]) == "asking" && state_->cluster) {
        asking_ = true;
        replies.push_back(fake::Ok());
        continue;
      }
      replies.push_back(fake::Run(*state_, node_, c, asking));
    }
    return replies;
  }
  std::string Describe() const override { return address_; }

 private:
  std::shared_ptr<FakeState> state_;
  int node_;
  std::string address_;
  bool asking_ = false;
};

fake::Node& At(FakeState& s, int node) {
  if (node < 0 || static_cast<size_t>(node) >= s.nodes.size())
    throw std::logic_error(fmt::format("fake Redis: no node {}", node));
  return s.nodes[static_cast<size_t>(node)];
}

// Moves every key of `slot` still on `from` (or just `only`) to `to`.
void MoveKeys(FakeState& s, int slot, int from, int to, const std::string* only = nullptr) {
  auto& source = At(s, from).data;
  auto& target = At(s, to).data;
  for (auto it = source.begin(); it != source.end();) {
    if (KeySlot(it->first) == slot && (!only || *only == it->first)) {
      target[it->first] = std::move(it->second);
      it = source.erase(it);
    } else {
      ++it;
    }
  }
}

void CheckOwner(const FakeState& s, int slot, int from) {
  if (!s.cluster || slot < 0 || slot >= kSlotCount || s.owner[static_cast<size_t>(slot)] != from)
    throw std::logic_error(fmt::format("fake Redis: node {} does not own slot {}", from, slot));
}

int MigrationTarget(FakeState& s, int slot) {
  fake::Node& from = At(s, s.owner[static_cast<size_t>(slot)]);
  auto it = from.migrating.find(slot);
  if (it == from.migrating.end()) throw std::logic_error(fmt::format("fake Redis: slot {} is not migrating", slot));
  return it->second;
}

void ClearMarks(FakeState& s, int slot) {
  for (fake::Node& n : s.nodes) {
    n.migrating.erase(slot);
    n.importing.erase(slot);
  }
}

}  // namespace

FakeCluster::FakeCluster(int nodes) : FakeCluster(nodes, true) {}

FakeCluster::FakeCluster(int nodes, bool cluster) : state_(std::make_shared<FakeState>()) {
  if (nodes < 1) throw std::logic_error("fake Redis: a cluster needs a node");
  state_->cluster = cluster;
  state_->eval_reply = fake::Ok();
  for (int i = 0; i < nodes; ++i) {
    fake::Node n;
    n.id = Sha1Hex(fmt::format("fake node {}", i));
    n.run_id = Sha1Hex(fmt::format("fake run {}", i));
    n.port = kFirstPort + i;
    state_->nodes.push_back(std::move(n));
  }
  if (!cluster) return;
  state_->owner.resize(kSlotCount);
  for (int slot = 0; slot < kSlotCount; ++slot) state_->owner[static_cast<size_t>(slot)] = slot * nodes / kSlotCount;
}

std::unique_ptr<FakeCluster> FakeCluster::SingleServer() {
  return std::unique_ptr<FakeCluster>(new FakeCluster(1, false));
}

FakeCluster::~FakeCluster() = default;

int FakeCluster::size() const { return static_cast<int>(state_->nodes.size()); }

std::unique_ptr<RedisConnection> FakeCluster::Connect(int node) {
  return std::make_unique<FakeConnection>(state_, node, address(node));
}

NodeConnector FakeCluster::Connector() {
  std::shared_ptr<FakeState> state = state_;
  return [state](const std::string& host, int port) -> Result<std::unique_ptr<RedisConnection>> {
    std::lock_guard<std::mutex> guard(state->mu);
    for (size_t i = 0; i < state->nodes.size(); ++i) {
      const fake::Node& n = state->nodes[i];
      if (host == "127.0.0.1" && n.port == port && !n.down)
        return std::unique_ptr<RedisConnection>(std::make_unique<FakeConnection>(state, static_cast<int>(i), n.address()));
    }
    return UsageError(fmt::format("cannot connect to Redis at {}:{}: connection refused", host, port));
  };
}

Result<std::unique_ptr<Topology>> FakeCluster::OpenTopology(int seed) {
  if (!state_->cluster) return keyshift::SingleServer(Connect(0));
  return ClusterTopology(Connect(seed), "127.0.0.1", Connector());
}

std::string FakeCluster::id(int node) const {
  std::lock_guard<std::mutex> guard(state_->mu);
  return state_->cluster ? At(*state_, node).id : "";
}

std::string FakeCluster::address(int node) const {
  std::lock_guard<std::mutex> guard(state_->mu);
  return At(*state_, node).address();
}

std::string FakeCluster::run_id(int node) const {
  std::lock_guard<std::mutex> guard(state_->mu);
  return At(*state_, node).run_id;
}

int FakeCluster::Owner(int slot) const {
  std::lock_guard<std::mutex> guard(state_->mu);
  return state_->cluster ? state_->owner.at(static_cast<size_t>(slot)) : 0;
}

int FakeCluster::NodeOf(const std::string& key) const { return Owner(KeySlot(key)); }

bool FakeCluster::Has(int node, const std::string& key) const {
  std::lock_guard<std::mutex> guard(state_->mu);
  return At(*state_, node).data.count(key) > 0;
}

std::string FakeCluster::KeyOn(int node, const std::string& prefix, int nth) const {
  for (int i = 0;; ++i) {
    std::string key = prefix + std::to_string(i);
    if (NodeOf(key) == node && nth-- == 0) return key;
  }
}

std::vector<std::string> FakeCluster::Keys(int node) const {
  std::lock_guard<std::mutex> guard(state_->mu);
  std::vector<std::string> keys;
  for (const auto& [key, e] : At(*state_, node).data) keys.push_back(key);
  return keys;
}

void FakeCluster::Put(const std::string& key, const std::string& value) {
  int node = NodeOf(key);
  std::lock_guard<std::mutex> guard(state_->mu);
  fake::Entry e;
  e.str = value;
  At(*state_, node).data[key] = std::move(e);
}

void FakeCluster::SetMaxMemory(int node, long long bytes) {
  std::lock_guard<std::mutex> guard(state_->mu);
  At(*state_, node).maxmemory = bytes;
}

void FakeCluster::MoveSlot(int slot, int from, int to) {
  std::lock_guard<std::mutex> guard(state_->mu);
  CheckOwner(*state_, slot, from);
  At(*state_, to);
  MoveKeys(*state_, slot, from, to);
  state_->owner[static_cast<size_t>(slot)] = to;
  ClearMarks(*state_, slot);
}

void FakeCluster::BeginMigration(int slot, int from, int to) {
  std::lock_guard<std::mutex> guard(state_->mu);
  CheckOwner(*state_, slot, from);
  At(*state_, from).migrating[slot] = to;
  At(*state_, to).importing[slot] = from;
}

void FakeCluster::MigrateKey(const std::string& key) {
  std::lock_guard<std::mutex> guard(state_->mu);
  int slot = KeySlot(key);
  int to = MigrationTarget(*state_, slot);
  MoveKeys(*state_, slot, state_->owner[static_cast<size_t>(slot)], to, &key);
}

void FakeCluster::FinishMigration(int slot) {
  std::lock_guard<std::mutex> guard(state_->mu);
  int to = MigrationTarget(*state_, slot);
  MoveKeys(*state_, slot, state_->owner[static_cast<size_t>(slot)], to);
  state_->owner[static_cast<size_t>(slot)] = to;
  ClearMarks(*state_, slot);
}

void FakeCluster::InjectTryAgain(int node, int times) {
  std::lock_guard<std::mutex> guard(state_->mu);
  At(*state_, node).tryagain = times;
}

void FakeCluster::StopAnswering(int node) {
  std::lock_guard<std::mutex> guard(state_->mu);
  At(*state_, node).down = true;
}

void FakeCluster::Restart(int node) {
  std::lock_guard<std::mutex> guard(state_->mu);
  fake::Node& n = At(*state_, node);
  n.run_id = Sha1Hex("restarted " + n.run_id);
  n.scripts.clear();  // the script cache does not survive a restart
}

void FakeCluster::SetEvalReply(Reply reply) {
  std::lock_guard<std::mutex> guard(state_->mu);
  state_->eval_reply = std::move(reply);
}

std::vector<Command> FakeCluster::Log(int node) const {
  std::lock_guard<std::mutex> guard(state_->mu);
  return At(*state_, node).log;
}

int FakeCluster::Calls(int node) const {
  std::lock_guard<std::mutex> guard(state_->mu);
  return At(*state_, node).calls;
}

int FakeCluster::Sent(int node, const Command& command) const {
  std::vector<Command> log = Log(node);
  return static_cast<int>(std::count(log.begin(), log.end(), command));
}

void FakeCluster::ClearLogs() {
  std::lock_guard<std::mutex> guard(state_->mu);
  for (fake::Node& n : state_->nodes) {
    n.log.clear();
    n.calls = 0;
  }
}

uint64_t FakeCluster::ScanOrder(const std::string& key) { return fake::ScanOrder(key); }

}  // namespace keyshift::testing
