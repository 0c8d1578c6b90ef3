// Catch-up's pieces that `up` does not have: keyspace notifications and the
// subscriber (Migrator::CatchKeys runs the notified keys).
#include "engine/catchup.h"

#include <charconv>
#include <chrono>

#include <fmt/format.h>

#include "engine/ledger.h"

namespace keyshift {

std::string MissingKeyspaceEvents(const std::string& current, const std::string& needed) {
  std::string missing;
  bool all = current.find('A') != std::string::npos;  // A: every class but K, E, m, n
  for (char c : needed)
    if (current.find(c) == std::string::npos && (c == 'K' || !all)) missing += c;
  return missing.empty() ? "" : current + missing;
}

namespace {

// One node: nullopt when notifications were already on.
Result<std::optional<std::string>> EnableOn(RedisConnection* conn, const std::string& needed) {
  auto got = conn->Call({"CONFIG", "GET", "notify-keyspace-events"});
  if (!got.ok() || got->elements.size() < 2)
    return UsageError(fmt::format(
        "--follow needs keyspace notifications: notify-keyspace-events must include '{}' (e.g. '{}E'), and keyshift "
        "cannot read that setting on {} ({}). Ask your Redis admin or provider to set it and to allow CONFIG GET, or "
        "run without --follow",
        needed, needed, conn->Describe(),
        got.ok() ? "unexpected CONFIG GET reply" : got.error().message));
  std::string current = got->elements[1].str;
  std::string wanted = MissingKeyspaceEvents(current, needed);
  if (wanted.empty()) return std::optional<std::string>();
  auto set = conn->Call({"CONFIG", "SET", "notify-keyspace-events", wanted});
  if (!set.ok())
    return UsageError(fmt::format(
        "--follow needs keyspace notifications, which are not fully on (notify-keyspace-events is '{}' on {}), and "
        "CONFIG SET was refused ({}). Ask your Redis admin or provider to set notify-keyspace-events to '{}', or run "
        "without --follow",
        current, conn->Describe(), set.error().message, wanted));
  return std::optional<std::string>(current);
}

}  // namespace

Result<std::vector<EventsSetting>> EnableKeyspaceEvents(Topology* topology, const std::string& needed) {
  auto nodes = topology->Primaries();
  if (!nodes.ok()) return nodes.error();
  std::vector<EventsSetting> changed;
  for (const NodeRef& node : *nodes) {
    auto old = EnableOn(node.conn, needed);
    if (!old.ok()) {
      for (const EventsSetting& c : changed) (void)c.node->Call({"CONFIG", "SET", "notify-keyspace-events", c.old});
      return old.error();
    }
    if (*old) changed.push_back(EventsSetting{node.conn, **old});
  }
  return changed;
}

Status RecordCaught(Topology* conn, const StateKeys& keys, long long version, long long caught) {
  Ledger ledger(conn, keys);
  auto all = ledger.LoadAll();
  if (!all.ok()) return all.error();
  auto it = all->find(version);
  if (it == all->end()) return Status::Ok();
  it->second.caught += caught;
  it->second.caught_at = NowIso8601();
  return ledger.Put(it->second);
}

void RestoreKeyspaceEvents(const std::vector<EventsSetting>& changed) {
  for (const EventsSetting& c : changed) (void)c.node->Call({"CONFIG", "SET", "notify-keyspace-events", c.old});
}

Result<long long> ParseDurationMs(const std::string& text) {
  long long n = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  std::string unit(end, text.data() + text.size());
  long long scale = unit.empty() || unit == "s" ? 1000 : unit == "ms" ? 1 : unit == "m" ? 60'000 : unit == "h" ? 3'600'000 : 0;
  constexpr long long kMaxMs = 366LL * 24 * 3'600'000;  // a year: anything longer is a typo
  if (ec != std::errc() || end == text.data() || scale == 0 || n <= 0 || n > kMaxMs / scale)
    return UsageError(fmt::format("--for '{}' is not a duration: use e.g. 30s, 500ms, 5m or 2h", text));
  return n * scale;
}

Status KeyspaceSubscriber::Subscribe() {
  nodes_.clear();
  topology_.reset();
  auto topology = connect_();
  if (!topology.ok()) return topology.error();
  topology_ = std::move(topology.value());
  auto nodes = topology_->Primaries();
  if (!nodes.ok()) return nodes.error();
  for (const NodeRef& node : *nodes) {
    if (Status st = node.conn->Send({"PSUBSCRIBE", Channel() + match_}); !st) return st;
    auto reply = node.conn->Receive(10'000);
    if (!reply.ok()) return reply.error();
    const std::optional<Reply>& r = *reply;
    if (!r || r->is_error() || r->elements.empty() || r->elements[0].str != "psubscribe")
      return UsageError(fmt::format("--follow: {} refused PSUBSCRIBE {}{}: {}", node.conn->Describe(), Channel(),
                                    match_, r ? r->str : "no answer within 10 s"));
    nodes_.push_back(node.conn);
  }
  return Status::Ok();
}

Result<std::optional<std::string>> KeyspaceSubscriber::Next(int timeout_ms) {
  // Each node in turn for a slice of the wait; a single server gets all of it.
  int slice = nodes_.size() == 1 ? timeout_ms : std::min(timeout_ms, 20);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  std::string channel = Channel();
  do {
    RedisConnection* node = nodes_[next_++ % nodes_.size()];
    auto reply = node->Receive(slice);
    if (!reply.ok()) return reply.error();
    const std::optional<Reply>& r = *reply;
    if (!r || r->elements.size() != 4 || r->elements[0].str != "pmessage") continue;
    const std::string& name = r->elements[2].str;
    if (name.compare(0, channel.size(), channel) != 0) continue;
    --next_;  // a busy node is read again first
    return std::optional<std::string>(name.substr(channel.size()));
  } while (std::chrono::steady_clock::now() < deadline);
  return std::optional<std::string>();
}

}  // namespace keyshift
