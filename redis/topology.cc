// Single-server and cluster topologies: slot map, routing, redirects.
#include "redis/topology.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <future>
#include <map>
#include <sstream>
#include <thread>

#include "core/slot.h"

namespace keyshift {

int StateSlot() {
  static const int slot = KeySlot("{state}");
  return slot;
}

Result<std::set<std::string>> Topology::ImportingNodes() {
  auto imports = Imports();
  if (!imports.ok()) return imports.error();
  std::set<std::string> ids;
  for (const SlotImport& i : *imports) ids.insert(i.to);
  return ids;
}

namespace {

bool StartsWith(const std::string& s, const char* prefix) { return s.rfind(prefix, 0) == 0; }

// Command names compare without case and without an upper-cased copy:
// KeyIndex runs for every command of every routed pipeline.
struct CaseLess {
  bool operator()(const std::string& a, const std::string& b) const {
    return std::lexicographical_compare(a.begin(), a.end(), b.begin(), b.end(), [](char x, char y) {
      return std::toupper(static_cast<unsigned char>(x)) < std::toupper(static_cast<unsigned char>(y));
    });
  }
};

bool SameName(const std::string& a, const char* b) { return !CaseLess()(a, b) && !CaseLess()(b, a); }

// Where a command's key is, for the commands whose key is not argv[1].
enum class KeyAt { kNone, kScriptKeys, kSecond };

const std::map<std::string, KeyAt, CaseLess>& KeyPositions() {
  static const std::map<std::string, KeyAt, CaseLess> table = [] {
    std::map<std::string, KeyAt, CaseLess> t;
    for (const char* name : {"PING", "INFO", "ACL", "CONFIG", "DBSIZE", "SCAN", "SCRIPT", "CLUSTER", "CLIENT",
                             "SUBSCRIBE", "PSUBSCRIBE", "UNSUBSCRIBE", "PUNSUBSCRIBE", "SELECT", "AUTH", "HELLO",
                             "TIME", "ASKING", "READONLY", "FLUSHALL", "FLUSHDB", "WAIT", "LASTSAVE", "ROLE",
                             "COMMAND", "FUNCTION", "SLOWLOG", "LATENCY", "RANDOMKEY", "KEYS", "SHUTDOWN", "DEBUG",
                             "SAVE", "BGSAVE", "MULTI", "EXEC", "DISCARD"})
      t[name] = KeyAt::kNone;
    for (const char* name : {"EVAL", "EVALSHA", "EVAL_RO", "EVALSHA_RO", "FCALL"}) t[name] = KeyAt::kScriptKeys;
    for (const char* name : {"OBJECT", "MEMORY", "XINFO"}) t[name] = KeyAt::kSecond;
    return t;
  }();
  return table;
}

}  // namespace

std::optional<size_t> KeyIndex(const Command& command) {
  if (command.size() < 2) return std::nullopt;
  auto found = KeyPositions().find(command[0]);
  if (found == KeyPositions().end()) return 1;
  switch (found->second) {
    case KeyAt::kScriptKeys:
      if (command.size() < 4 || command[2] == "0") return std::nullopt;
      return 3;
    case KeyAt::kSecond:
      return command.size() > 2 ? std::optional<size_t>(2) : std::nullopt;
    default:
      return std::nullopt;
  }
}

Result<std::vector<std::vector<Reply>>> PipelineEach(const std::vector<RedisConnection*>& conns,
                                                     const std::vector<std::vector<Command>>& commands) {
  std::vector<Result<std::vector<Reply>>> results;
  results.reserve(conns.size());
  if (conns.size() == 1) {
    results.push_back(conns[0]->Pipeline(commands[0]));
  } else {
    // One thread per node: each connection is used by exactly one of them,
    // and the primaries work at the same time.
    std::vector<std::future<Result<std::vector<Reply>>>> running;
    for (size_t i = 0; i < conns.size(); ++i)
      running.push_back(std::async(std::launch::async, [&, i] { return conns[i]->Pipeline(commands[i]); }));
    for (auto& r : running) results.push_back(r.get());
  }
  std::vector<std::vector<Reply>> out;
  for (auto& r : results) {
    if (!r.ok()) return r.error();
    out.push_back(std::move(r.value()));
  }
  return out;
}

Result<std::vector<PrimaryReply>> OnEveryPrimary(Topology* topology, const Command& command) {
  auto nodes = topology->Primaries();
  if (!nodes.ok()) return nodes.error();
  std::vector<RedisConnection*> conns;
  for (const NodeRef& n : *nodes) conns.push_back(n.conn);
  auto replies = PipelineEach(conns, std::vector<std::vector<Command>>(conns.size(), {command}));
  if (!replies.ok()) return replies.error();
  std::vector<PrimaryReply> out;
  for (size_t i = 0; i < conns.size(); ++i) out.push_back(PrimaryReply{(*nodes)[i], std::move((*replies)[i].front())});
  return out;
}

namespace {

// ------------------------------------------------------------- single server

class SingleServerTopology final : public Topology {
 public:
  explicit SingleServerTopology(std::unique_ptr<RedisConnection> conn) : conn_(std::move(conn)) {}
  Result<std::vector<Reply>> Pipeline(const std::vector<Command>& commands) override {
    return conn_->Pipeline(commands);
  }
  std::string Describe() const override { return conn_->Describe(); }
  Status Send(const Command& command) override { return conn_->Send(command); }
  Result<std::optional<Reply>> Receive(int timeout_ms) override { return conn_->Receive(timeout_ms); }
  bool CanStream() const override { return conn_->CanStream(); }
  bool cluster() const override { return false; }
  Result<std::vector<NodeRef>> Primaries() override {
    return std::vector<NodeRef>{NodeRef{"", conn_->Describe(), conn_.get()}};
  }
  Status Refresh() override { return Status::Ok(); }
  std::vector<std::string> SlotOwners() const override { return {}; }
  Result<std::vector<SlotImport>> Imports() override { return std::vector<SlotImport>{}; }

 private:
  std::unique_ptr<RedisConnection> conn_;
};

// ------------------------------------------------------------------ cluster

struct NodeAddress {
  std::string host;
  int port = 0;
  std::string key() const {
    return host.find(':') != std::string::npos ? fmt::format("[{}]:{}", host, port) : fmt::format("{}:{}", host, port);
  }
};

// "MOVED 3999 127.0.0.1:6381" -> slot, address.
std::optional<std::pair<int, NodeAddress>> ParseRedirect(const std::string& error) {
  size_t a = error.find(' ');
  size_t b = a == std::string::npos ? a : error.find(' ', a + 1);
  if (b == std::string::npos) return std::nullopt;
  std::string where = error.substr(b + 1);
  size_t colon = where.rfind(':');
  if (colon == std::string::npos) return std::nullopt;
  NodeAddress addr;
  addr.host = where.substr(0, colon);
  if (addr.host.size() > 1 && addr.host.front() == '[') addr.host = addr.host.substr(1, addr.host.size() - 2);
  try {
    addr.port = std::stoi(where.substr(colon + 1));
    return std::make_pair(std::stoi(error.substr(a + 1, b - a - 1)), addr);
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

// A command's place in one round of a routed pipeline.
struct Routed {
  size_t index;       // in the caller's pipeline
  std::string node;   // NodeAddress::key()
  bool asking = false;
};

class Cluster final : public Topology {
 public:
  Cluster(std::unique_ptr<RedisConnection> seed, std::string seed_host, NodeConnector connect)
      : seed_(std::move(seed)), seed_host_(std::move(seed_host)), connect_(std::move(connect)) {}

  Result<std::vector<Reply>> Pipeline(const std::vector<Command>& commands) override;
  std::string Describe() const override {
    return fmt::format("Redis Cluster via {} ({} primaries)", seed_->Describe(), primaries_.size());
  }
  bool cluster() const override { return true; }
  Result<std::vector<NodeRef>> Primaries() override;
  Status Refresh() override;
  std::vector<std::string> SlotOwners() const override;
  Result<std::vector<SlotImport>> Imports() override;

 private:
  static constexpr int kMaxRounds = 400;  // redirects plus TRYAGAIN waits (~20 s of a stuck migration)
  Result<RedisConnection*> Node(const std::string& key);
  Result<Reply> ReadSlotMap();
  std::string OwnerOf(const Command& command) const;
  Status RunRound(const std::vector<Command>& commands, std::vector<Routed>& round, std::vector<Reply>& replies,
                  std::vector<Routed>* next, bool* refresh);
  Result<std::vector<Reply>> BroadcastScriptLoad(const Command& command);

  std::unique_ptr<RedisConnection> seed_;
  std::string seed_host_;
  NodeConnector connect_;
  std::vector<std::string> owner_;               // slot -> node key
  std::map<std::string, NodeAddress> addresses_;  // node key -> address
  std::map<std::string, std::string> ids_;        // node key -> cluster node id
  std::vector<std::string> primaries_;            // node keys, in slot order
  std::map<std::string, std::unique_ptr<RedisConnection>> conns_;
};

// Asks the seed, then each known primary: the seed may be the node that died.
Result<Reply> Cluster::ReadSlotMap() {
  auto slots = seed_->Call({"CLUSTER", "SLOTS"});
  for (size_t i = 0; !slots.ok() && i < primaries_.size(); ++i) {
    auto conn = Node(primaries_[i]);
    if (conn.ok()) slots = (*conn)->Call({"CLUSTER", "SLOTS"});
  }
  if (!slots.ok()) return UsageError(fmt::format("cannot read the Redis Cluster slot map from {}: {}",
                                                 seed_->Describe(), slots.error().message));
  return slots;
}

Status Cluster::Refresh() {
  auto slots = ReadSlotMap();
  if (!slots.ok()) return slots.error();
  std::vector<std::string> owner(kSlotCount);
  std::vector<std::string> primaries;
  for (const Reply& range : slots->elements) {
    if (range.elements.size() < 3 || range.elements[2].elements.size() < 2) continue;
    const Reply& node = range.elements[2];
    NodeAddress addr{node.elements[0].str, static_cast<int>(node.elements[1].integer)};
    if (addr.host.empty() || addr.host == "?") addr.host = seed_host_;
    std::string key = addr.key();
    addresses_[key] = addr;
    if (node.elements.size() > 2) ids_[key] = node.elements[2].str;
    if (std::find(primaries.begin(), primaries.end(), key) == primaries.end()) primaries.push_back(key);
    for (long long s = range.elements[0].integer; s <= range.elements[1].integer && s < kSlotCount; ++s)
      owner[static_cast<size_t>(s)] = key;
  }
  if (primaries.empty()) return UsageError(fmt::format("the Redis Cluster at {} serves no slots", seed_->Describe()));
  owner_ = std::move(owner);
  primaries_ = std::move(primaries);
  return Status::Ok();
}

Result<RedisConnection*> Cluster::Node(const std::string& key) {
  auto found = conns_.find(key);
  if (found != conns_.end()) return found->second.get();
  auto addr = addresses_.find(key);
  if (addr == addresses_.end()) return Fail(fmt::format("internal error: unknown cluster node {}", key));
  auto conn = connect_(addr->second.host, addr->second.port);
  if (!conn.ok()) return conn.error();
  RedisConnection* raw = conn->get();
  conns_[key] = std::move(conn.value());
  return raw;
}

std::string Cluster::OwnerOf(const Command& command) const {
  auto index = KeyIndex(command);
  int slot = index ? KeySlot(command[*index]) : StateSlot();
  const std::string& owner = owner_[static_cast<size_t>(slot)];
  return owner.empty() ? primaries_.front() : owner;  // an unserved slot: someone answers CLUSTERDOWN
}

Result<std::vector<NodeRef>> Cluster::Primaries() {
  std::vector<NodeRef> out;
  for (const std::string& key : primaries_) {
    auto conn = Node(key);
    if (!conn.ok()) return conn.error();
    out.push_back(NodeRef{ids_[key], key, *conn});
  }
  return out;
}

std::vector<std::string> Cluster::SlotOwners() const {
  std::vector<std::string> out(owner_.size());
  for (size_t s = 0; s < owner_.size(); ++s) {
    auto id = ids_.find(owner_[s]);
    out[s] = id == ids_.end() ? owner_[s] : id->second;
  }
  return out;
}

// "[5461-<-<id>]", in the "myself" line of CLUSTER NODES on the node
// importing slot 5461 from <id>.
std::optional<SlotImport> ParseImportMark(const std::string& token, const std::string& to) {
  size_t arrow = token.find("-<-");
  if (token.size() < 6 || token.front() != '[' || token.back() != ']' || arrow == std::string::npos) return std::nullopt;
  int slot = -1;
  auto [end, ec] = std::from_chars(token.data() + 1, token.data() + arrow, slot);
  if (ec != std::errc() || end != token.data() + arrow || slot < 0 || slot >= kSlotCount) return std::nullopt;
  return SlotImport{slot, token.substr(arrow + 3, token.size() - arrow - 4), to};
}

Result<std::vector<SlotImport>> Cluster::Imports() {
  auto replies = OnEveryPrimary(this, {"CLUSTER", "NODES"});
  if (!replies.ok()) return replies.error();
  std::vector<SlotImport> imports;
  for (const PrimaryReply& r : *replies) {
    std::istringstream lines(r.reply.str);
    for (std::string line; std::getline(lines, line);) {
      if (line.find("myself") == std::string::npos) continue;
      std::istringstream tokens(line);
      for (std::string token; tokens >> token;)
        if (auto mark = ParseImportMark(token, r.node.id)) imports.push_back(*mark);
    }
  }
  return imports;
}

// Sends one round: the commands of each node concurrently. Replies that are
// redirects go into `next` (to run again where they point); the rest are final.
Status Cluster::RunRound(const std::vector<Command>& commands, std::vector<Routed>& round,
                         std::vector<Reply>& replies, std::vector<Routed>* next, bool* refresh) {
  std::map<std::string, std::vector<size_t>> by_node;  // node -> positions in `round`
  for (size_t r = 0; r < round.size(); ++r) by_node[round[r].node].push_back(r);
  std::vector<RedisConnection*> conns;
  std::vector<std::vector<Command>> batches;
  for (const auto& [node, positions] : by_node) {
    auto conn = Node(node);
    if (!conn.ok()) return conn.error();
    conns.push_back(*conn);
    batches.emplace_back();
    for (size_t r : positions) {
      if (round[r].asking) batches.back().push_back({"ASKING"});
      batches.back().push_back(commands[round[r].index]);
    }
  }
  auto results = PipelineEach(conns, batches);
  if (!results.ok()) return results.error();
  size_t n = 0;
  for (const auto& [node, positions] : by_node) {
    const std::vector<Reply>& got = (*results)[n++];
    size_t at = 0;
    for (size_t r : positions) {
      if (round[r].asking) ++at;  // ASKING's +OK
      Reply reply = got[at++];
      Routed again = round[r];
      again.asking = false;
      if (reply.is_error() && (StartsWith(reply.str, "MOVED ") || StartsWith(reply.str, "ASK "))) {
        auto redirect = ParseRedirect(reply.str);
        if (redirect) {
          std::string key = redirect->second.key();
          addresses_.emplace(key, redirect->second);
          again.node = key;
          again.asking = reply.str[0] == 'A';
          if (!again.asking) {
            owner_[static_cast<size_t>(redirect->first) % kSlotCount] = key;
            *refresh = true;
          }
          next->push_back(again);
          replies[again.index] = std::move(reply);
          continue;
        }
      }
      if (reply.is_error() && (StartsWith(reply.str, "TRYAGAIN") || StartsWith(reply.str, "CLUSTERDOWN"))) {
        next->push_back(again);
        *refresh = *refresh || reply.str[0] == 'C';
      }
      replies[again.index] = std::move(reply);
    }
  }
  return Status::Ok();
}

Result<std::vector<Reply>> Cluster::BroadcastScriptLoad(const Command& command) {
  auto replies = OnEveryPrimary(this, command);
  if (!replies.ok()) return replies.error();
  for (const PrimaryReply& r : *replies)
    if (r.reply.is_error()) return std::vector<Reply>{r.reply};
  return std::vector<Reply>{replies->front().reply};
}

Result<std::vector<Reply>> Cluster::Pipeline(const std::vector<Command>& commands) {
  std::vector<Reply> replies(commands.size());
  std::vector<Routed> round;
  for (size_t i = 0; i < commands.size(); ++i) {
    if (commands[i].size() >= 2 && SameName(commands[i][0], "SCRIPT") && SameName(commands[i][1], "LOAD")) {
      auto loaded = BroadcastScriptLoad(commands[i]);
      if (!loaded.ok()) return loaded.error();
      replies[i] = std::move(loaded->front());
      continue;
    }
    round.push_back(Routed{i, OwnerOf(commands[i])});
  }
  for (int attempt = 0; !round.empty() && attempt < kMaxRounds; ++attempt) {
    std::vector<Routed> next;
    bool refresh = false;
    if (Status st = RunRound(commands, round, replies, &next, &refresh); !st) return st.error();
    if (refresh) (void)Refresh();  // a failed re-read keeps the map MOVED patched
    bool waiting = std::any_of(next.begin(), next.end(), [&](const Routed& r) {
      return replies[r.index].str[0] == 'T' || replies[r.index].str[0] == 'C';
    });
    if (waiting) std::this_thread::sleep_for(std::chrono::milliseconds(std::min(50, 5 + attempt)));
    round = std::move(next);
  }
  return replies;  // still redirected after kMaxRounds: the last error reply stands
}

}  // namespace

std::unique_ptr<Topology> SingleServer(std::unique_ptr<RedisConnection> conn) {
  return std::make_unique<SingleServerTopology>(std::move(conn));
}

Result<std::unique_ptr<Topology>> ClusterTopology(std::unique_ptr<RedisConnection> seed, std::string seed_host,
                                                  NodeConnector connect) {
  auto cluster = std::make_unique<Cluster>(std::move(seed), std::move(seed_host), std::move(connect));
  if (Status st = cluster->Refresh(); !st) return st.error();
  return std::unique_ptr<Topology>(std::move(cluster));
}

namespace {

bool IsClusterNode(RedisConnection& conn) {
  auto info = conn.Call({"INFO", "cluster"});
  return info.ok() && info->str.find("cluster_enabled:1") != std::string::npos;
}

Error NotDatabaseZero(const RedisUrl& url) {
  return UsageError(fmt::format("{} is a Redis Cluster node: a cluster has only database 0, not {}",
                                url.Redacted(), url.db));
}

// The handshake SELECTs the URL's database, which a cluster node refuses
// ("SELECT is not allowed in cluster mode") before we could tell it is one:
// when that fails, look again with database 0 to give the real reason.
Error ExplainRefusedSelect(const RedisUrl& url, Error refused, int timeout_ms, int command_timeout_ms) {
  if (url.db == 0) return refused;
  RedisUrl zero = url;
  zero.db = 0;
  auto probe = ConnectRedis(zero, timeout_ms, command_timeout_ms);
  return probe.ok() && IsClusterNode(**probe) ? NotDatabaseZero(url) : refused;
}

}  // namespace

Result<std::unique_ptr<Topology>> OpenTopology(const RedisUrl& url, int timeout_ms, int command_timeout_ms) {
  auto seed = ConnectRedis(url, timeout_ms, command_timeout_ms);
  if (!seed.ok()) return ExplainRefusedSelect(url, seed.error(), timeout_ms, command_timeout_ms);
  if (!IsClusterNode(**seed)) return SingleServer(std::move(seed.value()));
  if (url.db != 0) return NotDatabaseZero(url);
  NodeConnector connect = [url, timeout_ms, command_timeout_ms](const std::string& host, int port) {
    RedisUrl node = url;
    node.host = host;
    node.port = port;
    return ConnectRedis(node, timeout_ms, command_timeout_ms);
  };
  return ClusterTopology(std::move(seed.value()), url.host, std::move(connect));
}

}  // namespace keyshift
