// The fake Redis's command table, its data commands, and the cluster checks a
// node makes before running a keyed command.
#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <map>
#include <optional>

#include "core/slot.h"
#include "tests/support/fake_redis_state.h"

namespace keyshift::testing::fake {

Reply Ok() { return Reply{Reply::kStatus, 0, "OK", {}}; }
Reply ErrorReply(std::string text) { return Reply{Reply::kError, 0, std::move(text), {}}; }
Reply Integer(long long n) { return Reply{Reply::kInteger, n, "", {}}; }
Reply Bulk(std::string text) { return Reply{Reply::kString, 0, std::move(text), {}}; }
Reply Array(std::vector<Reply> elements) { return Reply{Reply::kArray, 0, "", std::move(elements)}; }

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

const char* KindName(Entry::Kind kind) {
  switch (kind) {
    case Entry::kString: return "string";
    case Entry::kHash: return "hash";
    case Entry::kSet: return "set";
  }
  return "none";
}

namespace {

using Data = std::map<std::string, Entry>;
using Handler = Reply (*)(FakeState&, int, const Command&);

constexpr int kScriptKeys = -1;  // keys are EVAL's: numkeys at argv[2], then the keys

struct Spec {
  Handler run;
  size_t min_args;  // argv[0] included
  int first_key;    // 0: keyless; kScriptKeys
  int last_key;     // -1: through the last argument
};

std::optional<long long> ParseInt(const std::string& text) {
  long long v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return v;
}

Reply WrongType() { return ErrorReply("WRONGTYPE Operation against a key holding the wrong kind of value"); }
Reply NotInteger() { return ErrorReply("ERR value is not an integer or out of range"); }
Reply Nil() { return Reply{}; }

Data& DataOf(FakeState& s, int node) { return s.nodes[static_cast<size_t>(node)].data; }

// The entry at `key` if it holds `kind`; null if absent. *wrong: another kind.
Entry* Find(Data& data, const std::string& key, Entry::Kind kind, bool* wrong) {
  auto it = data.find(key);
  *wrong = it != data.end() && it->second.kind != kind;
  return it == data.end() || *wrong ? nullptr : &it->second;
}

Entry* FindOrCreate(Data& data, const std::string& key, Entry::Kind kind, bool* wrong) {
  Entry* e = Find(data, key, kind, wrong);
  if (e || *wrong) return e;
  Entry& created = data[key];
  created.kind = kind;
  return &created;
}

// A hash or set left empty is no key at all, as in Redis.
void DropIfEmpty(Data& data, const std::string& key) {
  auto it = data.find(key);
  if (it != data.end() && it->second.kind != Entry::kString && it->second.hash.empty() && it->second.members.empty())
    data.erase(it);
}

// ------------------------------------------------------------------ strings

Reply Get(FakeState& s, int node, const Command& c) {
  bool wrong = false;
  Entry* e = Find(DataOf(s, node), c[1], Entry::kString, &wrong);
  if (wrong) return WrongType();
  return e ? Bulk(e->str) : Nil();
}

Reply Set(FakeState& s, int node, const Command& c) {
  bool nx = false, xx = false, keepttl = false;
  long long ttl = -1;
  for (size_t i = 3; i < c.size(); ++i) {
    std::string opt = Lower(c[i]);
    if (opt == "nx") nx = true;
    else if (opt == "xx") xx = true;
    else if (opt == "keepttl") keepttl = true;
    else if ((opt == "px" || opt == "ex") && i + 1 < c.size()) {
      auto n = ParseInt(c[++i]);
      if (!n || *n <= 0) return ErrorReply("ERR invalid expire time in 'set' command");
      ttl = opt == "px" ? *n : *n * 1000;
    } else {
      return ErrorReply("ERR syntax error");
    }
  }
  Data& data = DataOf(s, node);
  auto old = data.find(c[1]);
  bool exists = old != data.end();
  if ((nx && exists) || (xx && !exists)) return Nil();
  Entry e;
  e.str = c[2];
  e.pttl = keepttl && exists ? old->second.pttl : ttl;
  data[c[1]] = std::move(e);
  return Ok();
}

Reply Del(FakeState& s, int node, const Command& c) {
  long long n = 0;
  for (size_t i = 1; i < c.size(); ++i) n += static_cast<long long>(DataOf(s, node).erase(c[i]));
  return Integer(n);
}

Reply Exists(FakeState& s, int node, const Command& c) {
  long long n = 0;
  for (size_t i = 1; i < c.size(); ++i) n += static_cast<long long>(DataOf(s, node).count(c[i]));
  return Integer(n);
}

Reply Type(FakeState& s, int node, const Command& c) {
  Data& data = DataOf(s, node);
  auto it = data.find(c[1]);
  return Reply{Reply::kStatus, 0, it == data.end() ? "none" : KindName(it->second.kind), {}};
}

Reply PExpire(FakeState& s, int node, const Command& c) {
  auto ms = ParseInt(c[2]);
  if (!ms) return NotInteger();
  Data& data = DataOf(s, node);
  auto it = data.find(c[1]);
  if (it == data.end()) return Integer(0);
  if (*ms <= 0) data.erase(it);  // an expiry in the past deletes, as in Redis
  else it->second.pttl = *ms;
  return Integer(1);
}

Reply PTtl(FakeState& s, int node, const Command& c) {
  Data& data = DataOf(s, node);
  auto it = data.find(c[1]);
  return Integer(it == data.end() ? -2 : it->second.pttl);
}

// ------------------------------------------------------------------- hashes

Reply HSet(FakeState& s, int node, const Command& c) {
  if (c.size() % 2 != 0) return ErrorReply("ERR wrong number of arguments for 'hset' command");
  bool wrong = false;
  Entry* e = FindOrCreate(DataOf(s, node), c[1], Entry::kHash, &wrong);
  if (wrong) return WrongType();
  long long added = 0;
  for (size_t i = 2; i + 1 < c.size(); i += 2) {
    added += e->hash.count(c[i]) ? 0 : 1;
    e->hash[c[i]] = c[i + 1];
  }
  return Integer(added);
}

// Runs `read` on the hash at c[1], or answers `absent` when there is none.
template <typename Read>
Reply ReadHash(FakeState& s, int node, const Command& c, Reply absent, Read read) {
  bool wrong = false;
  Entry* e = Find(DataOf(s, node), c[1], Entry::kHash, &wrong);
  if (wrong) return WrongType();
  return e ? read(e->hash) : absent;
}

Reply HGet(FakeState& s, int node, const Command& c) {
  return ReadHash(s, node, c, Nil(), [&](const std::map<std::string, std::string>& h) {
    auto it = h.find(c[2]);
    return it == h.end() ? Nil() : Bulk(it->second);
  });
}

Reply HMGet(FakeState& s, int node, const Command& c) {
  static const std::map<std::string, std::string> kNone;
  auto values = [&](const std::map<std::string, std::string>& h) {
    std::vector<Reply> out;
    for (size_t i = 2; i < c.size(); ++i) {
      auto it = h.find(c[i]);
      out.push_back(it == h.end() ? Nil() : Bulk(it->second));
    }
    return Array(std::move(out));
  };
  return ReadHash(s, node, c, values(kNone), values);
}

Reply HGetAll(FakeState& s, int node, const Command& c) {
  return ReadHash(s, node, c, Array({}), [](const std::map<std::string, std::string>& h) {
    std::vector<Reply> out;
    for (const auto& [field, value] : h) {
      out.push_back(Bulk(field));
      out.push_back(Bulk(value));
    }
    return Array(std::move(out));
  });
}

Reply HExists(FakeState& s, int node, const Command& c) {
  return ReadHash(s, node, c, Integer(0),
                  [&](const std::map<std::string, std::string>& h) { return Integer(h.count(c[2]) ? 1 : 0); });
}

// HDEL and SREM: erases argv[2..] from the hash's fields or the set's members.
template <typename Items>
Reply RemoveItems(FakeState& s, int node, const Command& c, Entry::Kind kind, Items Entry::*items) {
  bool wrong = false;
  Entry* e = Find(DataOf(s, node), c[1], kind, &wrong);
  if (wrong) return WrongType();
  long long n = 0;
  for (size_t i = 2; e && i < c.size(); ++i) n += static_cast<long long>((e->*items).erase(c[i]));
  DropIfEmpty(DataOf(s, node), c[1]);
  return Integer(n);
}

Reply HDel(FakeState& s, int node, const Command& c) { return RemoveItems(s, node, c, Entry::kHash, &Entry::hash); }

// --------------------------------------------------------------------- sets

Reply SAdd(FakeState& s, int node, const Command& c) {
  bool wrong = false;
  Entry* e = FindOrCreate(DataOf(s, node), c[1], Entry::kSet, &wrong);
  if (wrong) return WrongType();
  long long n = 0;
  for (size_t i = 2; i < c.size(); ++i) n += e->members.insert(c[i]).second ? 1 : 0;
  return Integer(n);
}

Reply SMembers(FakeState& s, int node, const Command& c) {
  bool wrong = false;
  Entry* e = Find(DataOf(s, node), c[1], Entry::kSet, &wrong);
  if (wrong) return WrongType();
  std::vector<Reply> out;
  if (e)
    for (const std::string& m : e->members) out.push_back(Bulk(m));
  return Array(std::move(out));
}

Reply SRem(FakeState& s, int node, const Command& c) { return RemoveItems(s, node, c, Entry::kSet, &Entry::members); }

// ------------------------------------------------------------------ the rest

Reply Ping(FakeState&, int, const Command& c) {
  return c.size() > 1 ? Bulk(c[1]) : Reply{Reply::kStatus, 0, "PONG", {}};
}

Reply Eval(FakeState&, int, const Command&) {
  return ErrorReply("ERR the fake Redis runs no Lua (tests/support/fake_redis.h): test this against a redis-server");
}

const std::map<std::string, Spec>& Table() {
  static const std::map<std::string, Spec> table = {
      {"get", {Get, 2, 1, 1}},          {"set", {Set, 3, 1, 1}},         {"del", {Del, 2, 1, -1}},
      {"exists", {Exists, 2, 1, -1}},   {"type", {Type, 2, 1, 1}},       {"pexpire", {PExpire, 3, 1, 1}},
      {"pttl", {PTtl, 2, 1, 1}},        {"hset", {HSet, 4, 1, 1}},       {"hget", {HGet, 3, 1, 1}},
      {"hmget", {HMGet, 3, 1, 1}},      {"hgetall", {HGetAll, 2, 1, 1}}, {"hdel", {HDel, 3, 1, 1}},
      {"hexists", {HExists, 3, 1, 1}},  {"sadd", {SAdd, 3, 1, 1}},       {"smembers", {SMembers, 2, 1, 1}},
      {"srem", {SRem, 3, 1, 1}},        {"ping", {Ping, 1, 0, 0}},       {"info", {Info, 1, 0, 0}},
      {"dbsize", {DbSize, 1, 0, 0}},    {"scan", {Scan, 2, 0, 0}},       {"cluster", {Cluster, 2, 0, 0}},
      {"script", {Script, 2, 0, 0}},    {"eval", {Eval, 3, kScriptKeys, 0}},
      {"evalsha", {EvalSha, 3, kScriptKeys, 0}},
  };
  return table;
}

std::vector<std::string> KeysOf(const Spec& spec, const Command& c) {
  size_t first = static_cast<size_t>(spec.first_key), last = spec.last_key < 0 ? c.size() - 1 : spec.last_key;
  if (spec.first_key == kScriptKeys) {
    auto n = ParseInt(c[2]);
    if (!n || *n <= 0 || static_cast<size_t>(*n) > c.size() - 3) return {};  // the command refuses it
    first = 3;
    last = 2 + static_cast<size_t>(*n);
  }
  if (spec.first_key == 0) return {};
  return std::vector<std::string>(c.begin() + static_cast<long>(first), c.begin() + static_cast<long>(last) + 1);
}

Reply TryAgain() { return ErrorReply("TRYAGAIN Multiple keys request during rehashing of slot"); }

// What a cluster node answers instead of running a command on `keys`, if
// anything: the slot is elsewhere (MOVED), the keys left with a migration
// (ASK), only some did (TRYAGAIN).
std::optional<Reply> ClusterRefusal(FakeState& s, int node, const std::vector<std::string>& keys, bool asking) {
  int slot = KeySlot(keys[0]);
  for (const std::string& k : keys)
    if (KeySlot(k) != slot) return ErrorReply("CROSSSLOT Keys in request don't hash to the same slot");
  Node& n = s.nodes[static_cast<size_t>(node)];
  size_t here = static_cast<size_t>(std::count_if(keys.begin(), keys.end(), [&](const std::string& k) {
    return n.data.count(k) > 0;
  }));
  if (s.owner[static_cast<size_t>(slot)] == node) {
    auto migrating = n.migrating.find(slot);
    if (migrating == n.migrating.end() || here == keys.size()) return std::nullopt;
    if (here > 0) return TryAgain();
    return ErrorReply(fmt::format("ASK {} {}", slot, s.nodes[static_cast<size_t>(migrating->second)].address()));
  }
  if (asking && n.importing.count(slot)) {
    if (keys.size() > 1 && here < keys.size()) return TryAgain();
    return std::nullopt;
  }
  return ErrorReply(fmt::format("MOVED {} {}", slot, s.nodes[static_cast<size_t>(s.owner[static_cast<size_t>(slot)])].address()));
}

}  // namespace

Reply Run(FakeState& s, int node, const Command& c, bool asking) {
  if (c.empty()) return ErrorReply("ERR empty command");
  auto it = Table().find(Lower(c[0]));
  if (it == Table().end()) return ErrorReply(fmt::format("ERR unknown command '{}', with args beginning with: ", c[0]));
  const Spec& spec = it->second;
  if (c.size() < spec.min_args)
    return ErrorReply(fmt::format("ERR wrong number of arguments for '{}' command", Lower(c[0])));
  std::vector<std::string> keys = KeysOf(spec, c);
  if (s.cluster && !keys.empty()) {
    if (auto refusal = ClusterRefusal(s, node, keys, asking)) return *refusal;
    int& tryagain = s.nodes[static_cast<size_t>(node)].tryagain;
    if (tryagain > 0) {
      --tryagain;
      return TryAgain();
    }
  }
  return spec.run(s, node, c);
}

}  // namespace keyshift::testing::fake
