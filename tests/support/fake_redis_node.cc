// The fake Redis's node-level commands: INFO, DBSIZE, SCAN, CLUSTER, SCRIPT
// and EVALSHA.
#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <functional>

#include "core/digest.h"
#include "core/slot.h"
#include "tests/support/fake_redis_state.h"

namespace keyshift::testing::fake {

namespace {

Node& NodeAt(FakeState& s, int node) { return s.nodes[static_cast<size_t>(node)]; }

// Redis's own accounting is not the point: a figure that grows with the data.
long long UsedMemory(const Node& n) {
  long long used = 900'000;
  for (const auto& [key, e] : n.data) {
    used += 64 + static_cast<long long>(key.size() + e.str.size());
    for (const auto& [f, v] : e.hash) used += static_cast<long long>(f.size() + v.size());
    for (const std::string& m : e.members) used += static_cast<long long>(m.size());
  }
  return used;
}

bool MatchClass(const char*& p, const char* pe, char c) {
  bool negate = ++p < pe && *p == '^';
  if (negate) ++p;
  bool hit = false;
  for (; p < pe && *p != ']'; ++p) {
    if (*p == '\\' && p + 1 < pe) {
      hit = hit || *++p == c;
    } else if (p + 2 < pe && p[1] == '-' && p[2] != ']') {
      char lo = std::min(p[0], p[2]), hi = std::max(p[0], p[2]);
      hit = hit || (lo <= c && c <= hi);
      p += 2;
    } else {
      hit = hit || *p == c;
    }
  }
  if (p < pe) ++p;  // the closing ']'
  return hit != negate;
}

bool Glob(const char* p, const char* pe, const char* t, const char* te) {
  while (p < pe) {
    if (*p == '*') {
      while (p + 1 < pe && p[1] == '*') ++p;
      for (const char* from = t; from <= te; ++from)
        if (Glob(p + 1, pe, from, te)) return true;
      return false;
    }
    if (t == te) return false;
    if (*p == '[') {
      if (!MatchClass(p, pe, *t)) return false;
    } else {
      bool escaped = *p == '\\' && p + 1 < pe;
      if (escaped) ++p;
      if ((escaped || *p != '?') && *p != *t) return false;
      ++p;
    }
    ++t;
  }
  return t == te;
}

// Calls each(first, last, owner) for every run of slots with one owner.
void ForEachRange(const FakeState& s, const std::function<void(int, int, int)>& each) {
  for (int start = 0; start < kSlotCount;) {
    int end = start;
    while (end + 1 < kSlotCount && s.owner[static_cast<size_t>(end + 1)] == s.owner[static_cast<size_t>(start)]) ++end;
    each(start, end, s.owner[static_cast<size_t>(start)]);
    start = end + 1;
  }
}

Reply ClusterSlots(FakeState& s) {
  std::vector<Reply> ranges;
  ForEachRange(s, [&](int start, int end, int owner) {
    const Node& n = NodeAt(s, owner);
    // Redis 7.0: [start, end, [ip, port, id, {metadata}], replicas...]
    ranges.push_back(Array({Integer(start), Integer(end),
                            Array({Bulk("127.0.0.1"), Integer(n.port), Bulk(n.id), Array({})})}));
  });
  return Array(std::move(ranges));
}

// One line per node; the asking node's line says "myself" and carries its
// migration marks, as Redis writes them.
Reply ClusterNodes(FakeState& s, int self) {
  std::vector<std::string> slots(s.nodes.size());
  ForEachRange(s, [&](int start, int end, int owner) {
    slots[static_cast<size_t>(owner)] += start == end ? fmt::format(" {}", start) : fmt::format(" {}-{}", start, end);
  });
  std::string text;
  for (size_t i = 0; i < s.nodes.size(); ++i) {
    const Node& n = s.nodes[i];
    bool me = static_cast<int>(i) == self;
    text += fmt::format("{} {}@{} {} - 0 0 {} connected{}", n.id, n.address(), n.port + 10000,
                        me ? "myself,master" : "master", i + 1, slots[i]);
    for (const auto& [slot, to] : me ? n.migrating : std::map<int, int>{})
      text += fmt::format(" [{}->-{}]", slot, NodeAt(s, to).id);
    for (const auto& [slot, from] : me ? n.importing : std::map<int, int>{})
      text += fmt::format(" [{}-<-{}]", slot, NodeAt(s, from).id);
    text += "\n";
  }
  return Bulk(text);
}

}  // namespace

bool GlobMatch(const std::string& pattern, const std::string& text) {
  return Glob(pattern.data(), pattern.data() + pattern.size(), text.data(), text.data() + text.size());
}

uint64_t ScanOrder(const std::string& key) {
  uint64_t h = 1469598103934665603ULL;  // FNV-1a, then a 64-bit finaliser to spread similar keys
  for (unsigned char c : key) h = (h ^ c) * 1099511628211ULL;
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdULL;
  h ^= h >> 33;
  return (h >> 1) + 1;  // 1 .. 2^63: cursor 0 stays "start", and order + 1 fits
}

Reply Info(FakeState& s, int node, const Command&) {
  const Node& n = NodeAt(s, node);
  return Bulk(fmt::format(
      "# Server\r\nredis_version:7.0.15\r\nredis_mode:{}\r\nrun_id:{}\r\ntcp_port:{}\r\n\r\n"
      "# Memory\r\nused_memory:{}\r\nmaxmemory:{}\r\nmaxmemory_policy:noeviction\r\n\r\n"
      "# Replication\r\nrole:master\r\nconnected_slaves:0\r\n\r\n# Cluster\r\ncluster_enabled:{}\r\n",
      s.cluster ? "cluster" : "standalone", n.run_id, n.port, UsedMemory(n), n.maxmemory, s.cluster ? 1 : 0));
}

Reply DbSize(FakeState& s, int node, const Command&) {
  return Integer(static_cast<long long>(NodeAt(s, node).data.size()));
}

namespace {

bool ParseCount(const std::string& text, long long* count) {
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), *count);
  return ec == std::errc() && end == text.data() + text.size() && *count > 0;
}

}  // namespace

Reply Scan(FakeState& s, int node, const Command& c) {
  uint64_t cursor = 0;
  auto [end, ec] = std::from_chars(c[1].data(), c[1].data() + c[1].size(), cursor);
  if (c[1].empty() || ec != std::errc() || end != c[1].data() + c[1].size()) return ErrorReply("ERR invalid cursor");
  std::string match = "*", type;
  long long count = 10;
  if (c.size() % 2 != 0) return ErrorReply("ERR syntax error");
  for (size_t i = 2; i + 1 < c.size(); i += 2) {
    std::string opt = Lower(c[i]);
    if (opt == "match") match = c[i + 1];
    else if (opt == "type") type = Lower(c[i + 1]);
    else if (opt != "count" || !ParseCount(c[i + 1], &count)) return ErrorReply("ERR syntax error");
  }
  const Node& n = NodeAt(s, node);
  std::vector<std::pair<uint64_t, const std::string*>> ahead;
  for (const auto& [key, e] : n.data)
    if (ScanOrder(key) >= cursor) ahead.emplace_back(ScanOrder(key), &key);
  std::sort(ahead.begin(), ahead.end());
  size_t visited = std::min(ahead.size(), static_cast<size_t>(count));
  std::vector<Reply> keys;
  for (size_t i = 0; i < visited; ++i) {
    const std::string& key = *ahead[i].second;
    if (GlobMatch(match, key) && (type.empty() || type == KindName(n.data.at(key).kind))) keys.push_back(Bulk(key));
  }
  uint64_t next = visited < ahead.size() ? ahead[visited - 1].first + 1 : 0;
  return Array({Bulk(std::to_string(next)), Array(std::move(keys))});
}

Reply Cluster(FakeState& s, int node, const Command& c) {
  if (!s.cluster) return ErrorReply("ERR This instance has cluster support disabled");
  std::string sub = Lower(c[1]);
  if (sub == "slots") return ClusterSlots(s);
  if (sub == "nodes") return ClusterNodes(s, node);
  if (sub == "myid") return Bulk(NodeAt(s, node).id);
  if (sub == "keyslot" && c.size() == 3) return Integer(KeySlot(c[2]));
  if (sub == "countkeysinslot" && c.size() == 3) {
    int slot = -1;
    auto [end, ec] = std::from_chars(c[2].data(), c[2].data() + c[2].size(), slot);
    if (ec != std::errc() || end != c[2].data() + c[2].size() || slot < 0 || slot >= kSlotCount)
      return ErrorReply("ERR Invalid slot");
    const auto& data = NodeAt(s, node).data;
    return Integer(std::count_if(data.begin(), data.end(), [&](const auto& kv) { return KeySlot(kv.first) == slot; }));
  }
  return ErrorReply(fmt::format("ERR unknown subcommand or wrong number of arguments for '{}'", c[1]));
}

Reply Script(FakeState& s, int node, const Command& c) {
  Node& n = NodeAt(s, node);
  std::string sub = Lower(c[1]);
  if (sub == "load" && c.size() == 3) {
    std::string sha = Sha1Hex(c[2]);
    n.scripts.insert(sha);
    return Bulk(sha);
  }
  if (sub == "exists") {
    std::vector<Reply> out;
    for (size_t i = 2; i < c.size(); ++i) out.push_back(Integer(n.scripts.count(Lower(c[i])) ? 1 : 0));
    return Array(std::move(out));
  }
  if (sub == "flush") {
    n.scripts.clear();
    return Ok();
  }
  return ErrorReply(fmt::format("ERR unknown subcommand or wrong number of arguments for '{}'", c[1]));
}

Reply EvalSha(FakeState& s, int node, const Command& c) {
  long long keys = -1;
  auto [end, ec] = std::from_chars(c[2].data(), c[2].data() + c[2].size(), keys);
  if (ec != std::errc() || end != c[2].data() + c[2].size()) return ErrorReply("ERR value is not an integer or out of range");
  if (keys < 0) return ErrorReply("ERR Number of keys can't be negative");
  if (static_cast<size_t>(keys) > c.size() - 3) return ErrorReply("ERR Number of keys can't be greater than number of args");
  if (!NodeAt(s, node).scripts.count(Lower(c[1]))) return ErrorReply("NOSCRIPT No matching script. Please use EVAL.");
  return s.eval_reply;
}

}  // namespace keyshift::testing::fake
