// Several keys per read and write script call (reader.h, writer.h): each key
// keeps its own result, the client's content digest is the server's, and a
// key whose type changed after a typed SCAN is still read for what it is.
#include <catch.hpp>

#include <fmt/format.h>

#include "engine/journal.h"
#include "engine/ledger.h"
#include "engine/reader.h"
#include "engine/writer.h"
#include "redis/script_safety.h"
#include "tests/support/integration_fixtures.h"
#include "tests/support/values.h"

using namespace keyshift;
using namespace keyshift::testing;

namespace {

constexpr long long kVersion = 1;

// Keys of every type, with bytes a careless digest would get wrong.
void SeedEveryType(RedisConnection& conn) {
  Cmd(conn, {"SET", "t:string", std::string("a\0|b:\xff", 6)});
  Cmd(conn, {"SET", "t:empty", ""});
  Cmd(conn, {"HSET", "t:hash", "f1", "v1", "1:f", "", "", "x"});
  Cmd(conn, {"RPUSH", "t:list", "b", "a", "b", std::string("\0", 1)});
  Cmd(conn, {"SADD", "t:set", "m1", "m2", "z", ""});
  Cmd(conn, {"ZADD", "t:zset", "1.5", "a", "-inf", "b", "1e300", "c", "0.1", "d", "1.5", "0"});
  Cmd(conn, {"PEXPIRE", "t:hash", "900000"});
}

const std::vector<std::string> kEveryType{"t:string", "t:empty", "t:hash", "t:list", "t:set", "t:zset"};

// content_digest as the scripts compute it, inside Redis.
std::string ServerDigest(RedisConnection& conn, const std::string& key) {
  std::string script = std::string(kScriptSafetyLua) +
                       "local t = redis.call('TYPE', KEYS[1]).ok return content_digest(t, read_flat(KEYS[1], t))";
  return Cmd(conn, {"EVAL", script, "1", key}).str;
}

// A batch read several keys per call, a 1-key journal entry faked for `done`.
std::vector<KeySnapshot> Read(Topology& conn, const StateKeys& state, const std::vector<std::string>& keys,
                              size_t per_call, std::optional<KeyType> type = std::nullopt) {
  ScriptCache scripts(&conn);
  ReadOptions options;
  options.per_call = per_call;
  options.type = type;
  options.dump = ReadOptions::kNoDump;
  auto snaps = ReadBatch(scripts, state, kVersion, keys, options);
  REQUIRE(snaps.ok());
  REQUIRE(snaps->size() == keys.size());
  return *snaps;
}

}  // namespace

TEST_CASE("ReadBatch: the client's content digest is the one Redis computes, for every type and per-call size",
          "[redis][host][digest]") {
  RedisServer server;
  auto conn = server.Connect();
  SeedEveryType(*conn);
  StateKeys state{"keyshift:"};
  for (size_t per_call : {size_t{1}, size_t{4}, size_t{64}}) {
    auto snaps = Read(*conn, state, kEveryType, per_call);
    for (const KeySnapshot& s : snaps) {
      INFO(s.key << " per_call " << per_call);
      REQUIRE(s.state == KeySnapshot::kPresent);
      CHECK(s.digest == ServerDigest(*conn, s.key));
    }
  }
}

TEST_CASE("ReadBatch with a scan type: a key whose type changed after SCAN, or that is gone, is read as it is now",
          "[redis][host]") {
  RedisServer server;
  auto conn = server.Connect();
  StateKeys state{"keyshift:"};
  Cmd(*conn, {"HSET", "h:1", "a", "1"});
  Cmd(*conn, {"SET", "h:2", "now a string"});  // SCAN TYPE hash returned it; the application then replaced it
  Cmd(*conn, {"HSET", "h:3", "b", "2"});
  Cmd(*conn, {"XADD", "h:5", "*", "f", "v"});
  auto snaps = Read(*conn, state, {"h:1", "h:2", "h:3", "h:4", "h:5"}, 8, KeyType::kHash);
  CHECK(snaps[0].type_name == "hash");
  CHECK(snaps[0].value.pairs == std::vector<std::pair<std::string, std::string>>{{"a", "1"}});
  CHECK(snaps[1].state == KeySnapshot::kPresent);
  CHECK(snaps[1].type_name == "string");
  CHECK(snaps[1].value.str == "now a string");
  CHECK(snaps[1].digest == ServerDigest(*conn, "h:2"));
  CHECK(snaps[2].type_name == "hash");
  CHECK(snaps[3].state == KeySnapshot::kMissing);
  CHECK(snaps[4].state == KeySnapshot::kUnsupported);
  CHECK(snaps[4].type_name == "stream");
}

TEST_CASE("WriteBatch, several keys per call: each key's status stands alone while the application writes some",
          "[redis][host][guarantee]") {
  RedisServer server;
  auto conn = server.Connect();
  StateKeys state{"keyshift:"};
  auto keys = NumberedKeys("w:", 0, 10);
  SeedStrings(*conn, "w:", 10, "v");
  Cmd(*conn, {"SET", "taken", "someone's"});
  auto snaps = Read(*conn, state, keys, 3);
  std::vector<WriteOp> ops;
  for (const KeySnapshot& s : snaps) ops.push_back(WriteOp{s.key, s.cas(), KeyAction::kRewrite, "", Text("v2")});
  ops[4].action = KeyAction::kRename;  // onto a key that exists: refused, nothing written
  ops[4].new_key = "taken";
  ops[8].action = KeyAction::kDelete;
  // Between keyshift's read and its write: the application changes w:1 and
  // w:6 (content) and w:7 (expiry only); an earlier run already did w:3.
  Cmd(*conn, {"SET", "w:1", "app"});
  Cmd(*conn, {"APPEND", "w:6", "!"});
  Cmd(*conn, {"PEXPIRE", "w:7", "900000"});
  Cmd(*conn, {"HSET", state.journal(kVersion, "w:3"), "w:3", "2|W|-1|x|0|"});
  ScriptCache scripts(conn.get());
  auto results = WriteBatch(scripts, state, kVersion, ops, false, 4);
  REQUIRE(results.ok());
  std::vector<WriteStatus> got;
  for (const WriteResult& r : *results) got.push_back(r.status);
  using S = WriteStatus;
  CHECK(got == std::vector<S>{S::kWritten, S::kChanged, S::kWritten, S::kDone, S::kTargetExists, S::kWritten,
                              S::kChanged, S::kChanged, S::kWritten, S::kWritten});
  CHECK(Values(*conn, keys) ==
        std::vector<std::string>{"v2", "app", "v2", "v", "v", "v2", "v!", "v", "", "v2"});
  CHECK(Cmd(*conn, {"GET", "taken"}).str == "someone's");
  for (size_t i : {0, 2, 5, 8, 9}) {
    INFO(keys[i]);
    CHECK((*results)[i].dump_bytes > 0);
    auto entry = DecodeJournalEntry(Cmd(*conn, {"HGET", state.journal(kVersion, keys[i]), keys[i]}).str);
    REQUIRE(entry.ok());
    CHECK(entry->action == (i == 8 ? KeyAction::kDelete : KeyAction::kRewrite));
    CHECK(static_cast<long long>(entry->dump.size()) == (*results)[i].dump_bytes);
  }
  for (size_t i : {1, 4, 6, 7}) CHECK(Cmd(*conn, {"HEXISTS", state.journal(kVersion, keys[i]), keys[i]}).integer == 0);
}

namespace {

// One key per kind of change an application can make between keyshift's read
// and its write, and the status the CAS must give it.
struct Change {
  std::string key;
  std::vector<std::vector<std::string>> seed, change;
  WriteStatus expect;
};

std::vector<Change> EveryKindOfChange() {
  using S = WriteStatus;
  return {
      {"c:same", {{"SET", "c:same", "v"}}, {}, S::kWritten},
      {"c:text", {{"SET", "c:text", "abc"}}, {{"SET", "c:text", "abd"}}, S::kChanged},
      {"c:retyped", {{"SET", "c:retyped", "f"}}, {{"DEL", "c:retyped"}, {"RPUSH", "c:retyped", "f"}}, S::kChanged},
      {"c:expiry", {{"SET", "c:expiry", "v"}}, {{"PEXPIRE", "c:expiry", "900000"}}, S::kChanged},
      {"c:hvalue", {{"HSET", "c:hvalue", "a", "1", "b", "2"}}, {{"HSET", "c:hvalue", "b", "3"}}, S::kChanged},
      {"c:hfield", {{"HSET", "c:hfield", "a", "1", "b", "2"}}, {{"HDEL", "c:hfield", "b"}, {"HSET", "c:hfield", "c", "2"}},
       S::kChanged},
      {"c:hswap", {{"HSET", "c:hswap", "a", "1", "b", "2"}}, {{"HSET", "c:hswap", "a", "2", "b", "1"}}, S::kChanged},
      {"c:hreorder", {{"HSET", "c:hreorder", "a", "1", "b", "2"}},
       {{"DEL", "c:hreorder"}, {"HSET", "c:hreorder", "b", "2"}, {"HSET", "c:hreorder", "a", "1"}}, S::kWritten},
      {"c:smember", {{"SADD", "c:smember", "a", "b"}}, {{"SREM", "c:smember", "b"}, {"SADD", "c:smember", "c"}},
       S::kChanged},
      {"c:sreorder", {{"SADD", "c:sreorder", "a", "b", "c"}},
       {{"DEL", "c:sreorder"}, {"SADD", "c:sreorder", "c"}, {"SADD", "c:sreorder", "b", "a"}}, S::kWritten},
      {"c:lorder", {{"RPUSH", "c:lorder", "a", "b"}}, {{"DEL", "c:lorder"}, {"RPUSH", "c:lorder", "b", "a"}},
       S::kChanged},
      {"c:zscore", {{"ZADD", "c:zscore", "1", "a", "2", "b"}}, {{"ZADD", "c:zscore", "1.5", "b"}}, S::kChanged},
      {"c:zmember", {{"ZADD", "c:zmember", "1", "a", "2", "b"}}, {{"ZREM", "c:zmember", "b"}, {"ZADD", "c:zmember", "2", "c"}},
       S::kChanged},
      {"c:hsplit", {{"HSET", "c:hsplit", "ab", "c"}}, {{"DEL", "c:hsplit"}, {"HSET", "c:hsplit", "a", "bc"}},
       S::kChanged},
  };
}

}  // namespace

TEST_CASE("WriteBatch, by value and by digest: every change of content, type or expiry is a conflict, a new order "
          "of the same hash or set is not",
          "[redis][host][guarantee]") {
  RedisServer server;
  auto conn = server.Connect();
  StateKeys state{"keyshift:"};
  for (bool by_value : {true, false}) {
    INFO((by_value ? "by value" : "by digest"));
    Cmd(*conn, {"FLUSHALL"});
    std::vector<Change> changes = EveryKindOfChange();
    std::vector<std::string> keys;
    for (const Change& c : changes) {
      keys.push_back(c.key);
      for (const auto& cmd : c.seed) Cmd(*conn, cmd);
    }
    auto snaps = Read(*conn, state, keys, 5);
    std::vector<WriteOp> ops;
    for (KeySnapshot& s : snaps) {
      if (by_value) s.digest.clear();
      ops.push_back(WriteOp{s.key, s.cas(), KeyAction::kDelete, "", {}});
      REQUIRE(ops.back().expect.content.has_value() == by_value);
    }
    for (const Change& c : changes)
      for (const auto& cmd : c.change) Cmd(*conn, cmd);
    ScriptCache scripts(conn.get());
    auto results = WriteBatch(scripts, state, kVersion, ops, false, 5);
    REQUIRE(results.ok());
    for (size_t i = 0; i < changes.size(); ++i) {
      INFO(changes[i].key);
      CHECK((*results)[i].status == changes[i].expect);
      CHECK(Cmd(*conn, {"EXISTS", changes[i].key}).integer == (changes[i].expect == WriteStatus::kWritten ? 0 : 1));
    }
  }
}

namespace {

// A value over kCasByValueMax travels as its digest: a write does not carry it twice.
Value BigText(char fill) { return Text(std::string(kCasByValueMax + 1, fill)); }

}  // namespace

TEST_CASE("ReadBatch without digests: only a value too big to send back gets one, and its CAS still holds",
          "[redis][host][guarantee]") {
  RedisServer server;
  auto conn = server.Connect();
  StateKeys state{"keyshift:"};
  Cmd(*conn, {"SET", "big:1", BigText('a').str});
  Cmd(*conn, {"SET", "big:2", BigText('a').str});
  Cmd(*conn, {"SET", "small", "x"});
  ScriptCache scripts(conn.get());
  ReadOptions options;
  options.per_call = 3;
  options.dump = ReadOptions::kNoDump;
  options.digest = false;
  auto snaps = ReadBatch(scripts, state, kVersion, {"big:1", "big:2", "small"}, options);
  REQUIRE(snaps.ok());
  CHECK(!(*snaps)[0].digest.empty());
  CHECK(!(*snaps)[0].cas().content);
  CHECK((*snaps)[2].digest.empty());
  CHECK((*snaps)[2].cas().content);
  Cmd(*conn, {"SETRANGE", "big:2", std::to_string(kCasByValueMax), "b"});  // its last byte
  std::vector<WriteOp> ops;
  for (const KeySnapshot& s : *snaps) ops.push_back(WriteOp{s.key, s.cas(), KeyAction::kRewrite, "", Text("new")});
  auto results = WriteBatch(scripts, state, kVersion, ops, false, 3);
  REQUIRE(results.ok());
  CHECK((*results)[0].status == WriteStatus::kWritten);
  CHECK((*results)[1].status == WriteStatus::kChanged);
  CHECK((*results)[2].status == WriteStatus::kWritten);
}

TEST_CASE("WriteBatch: the journal's post digest is the content digest Redis computes of what was written",
          "[redis][host][digest]") {
  RedisServer server;
  auto conn = server.Connect();
  SeedEveryType(*conn);
  StateKeys state{"keyshift:"};
  auto snaps = Read(*conn, state, kEveryType, 4);
  std::vector<WriteOp> ops;
  for (const KeySnapshot& s : snaps) {
    Value v = s.value;  // a change of every element kind: new text, field, item, member, score
    if (v.type == KeyType::kString) v.str += std::string("\0x", 2);
    if (v.type == KeyType::kHash) v.pairs.emplace_back("zz", std::string("\xff", 1));
    if (v.type == KeyType::kList) v.items.push_back("b");
    if (v.type == KeyType::kSet) v.items.push_back("new");
    if (v.type == KeyType::kZSet) v.pairs.emplace_back("e", "2.50");  // Redis keeps it as 2.5
    v.Normalize();
    ops.push_back(WriteOp{s.key, s.cas(), KeyAction::kRewrite, "", v});
  }
  ScriptCache scripts(conn.get());
  auto results = WriteBatch(scripts, state, kVersion, ops, false, 4);
  REQUIRE(results.ok());
  for (size_t i = 0; i < ops.size(); ++i) {
    INFO(ops[i].key);
    CHECK((*results)[i].status == WriteStatus::kWritten);
    auto entry = DecodeJournalEntry(Cmd(*conn, {"HGET", state.journal(kVersion, ops[i].key), ops[i].key}).str);
    REQUIRE(entry.ok());
    CHECK(entry->post_digest == ServerDigest(*conn, ops[i].key));
  }
}

namespace {

Value HashOf(std::vector<std::pair<std::string, std::string>> pairs) { return Pairs(KeyType::kHash, std::move(pairs)); }

std::vector<std::pair<std::string, std::string>> Fields(const std::string& prefix, int from, int to,
                                                       const std::string& value) {
  std::vector<std::pair<std::string, std::string>> out;
  for (int i = from; i < to; ++i) out.emplace_back(prefix + std::to_string(i), value);
  return out;
}

}  // namespace

TEST_CASE("WriteBatch changes a hash in place: exactly the new fields, its TTL kept, journaled as before",
          "[redis][host][digest]") {
  RedisServer server;
  auto conn = server.Connect();
  StateKeys state{"keyshift:"};
  Cmd(*conn, {"HSET", "h:one", "a", "1", "b", "2", "c", "3"});
  Cmd(*conn, {"HSET", "h:renamed", "a", "1", "b", "2"});  // every field replaced by others
  auto big = Fields("f", 0, 2500, "old");
  std::vector<std::string> hset{"HSET", "h:big"};
  for (const auto& [f, v] : big) hset.insert(hset.end(), {f, v});
  Cmd(*conn, hset);
  for (const char* k : {"h:one", "h:renamed", "h:big"}) Cmd(*conn, {"PEXPIRE", k, "900000"});
  std::vector<std::string> keys{"h:one", "h:renamed", "h:big"};
  std::vector<Value> want{HashOf({{"a", "1"}, {"b", "20"}, {"c", "3"}}), HashOf({{"x", "1"}, {"y", "2"}}), {}};
  auto big_new = Fields("f", 0, 1500, "new");                // changed
  auto kept = Fields("f", 1500, 1900, "old");                 // unchanged; f1900.. dropped
  auto added = Fields("g", 0, 1200, "added");
  big_new.insert(big_new.end(), kept.begin(), kept.end());
  big_new.insert(big_new.end(), added.begin(), added.end());
  want[2] = HashOf(big_new);
  for (bool by_value : {true, false}) {
    INFO((by_value ? "by value" : "by digest"));
    auto snaps = Read(*conn, state, keys, 3);
    std::vector<WriteOp> ops;
    for (size_t i = 0; i < snaps.size(); ++i) {
      if (by_value && snaps[i].value.pairs.size() < 100) snaps[i].digest.clear();
      ops.push_back(WriteOp{snaps[i].key, snaps[i].cas(), KeyAction::kRewrite, "", want[i]});
    }
    ScriptCache scripts(conn.get());
    auto results = WriteBatch(scripts, state, kVersion, ops, false, 3);
    REQUIRE(results.ok());
    for (size_t i = 0; i < keys.size(); ++i) {
      INFO(keys[i]);
      CHECK((*results)[i].status == WriteStatus::kWritten);
      Reply all = Cmd(*conn, {"HGETALL", keys[i]});
      CHECK(ValueFromReplies(KeyType::kHash, all.elements, 0, all.elements.size()) == want[i]);
      CHECK(Cmd(*conn, {"PTTL", keys[i]}).integer > 800000);
      auto entry = DecodeJournalEntry(Cmd(*conn, {"HGET", state.journal(kVersion, keys[i]), keys[i]}).str);
      REQUIRE(entry.ok());
      CHECK(entry->post_digest == ServerDigest(*conn, keys[i]));
    }
    // Back to the seeded values for the second round, by the journal's DUMPs.
    for (const std::string& k : keys) {
      auto entry = DecodeJournalEntry(Cmd(*conn, {"HGET", state.journal(kVersion, k), k}).str);
      REQUIRE(entry.ok());
      Cmd(*conn, {"RESTORE", k, "900000", entry->dump, "REPLACE"});
      Cmd(*conn, {"HDEL", state.journal(kVersion, k), k});
    }
    CHECK(Cmd(*conn, {"HLEN", "h:big"}).integer == 2500);
  }
}

TEST_CASE("up --on-error abort: keys of the stopped batch written before the failing key count as changed, once",
          "[redis][host]") {
  RedisServer server;
  auto conn = server.Connect();
  SeedStrings(*conn, "e:", 300, "v");
  // The last key of keyshift's first batch (the same SCAN) fails: the
  // batch's calls before the failing key's are written.
  Reply first_scan = Cmd(*conn, {"SCAN", "0", "MATCH", "e:*", "COUNT", "500", "TYPE", "string"});
  REQUIRE(first_scan.elements[1].elements.size() > 64);
  std::string last = first_scan.elements[1].elements.back().str;
  Cmd(*conn, {"SET", last, "bad"});
  TempDir dir;
  dir.Write("0001_x.lua", R"(return {
    description = "append x",
    scan = { match = "e:*", type = "string", batch = 500 },
    transform = function(key, value)
      if value == "bad" then error("bad value") end
      return value .. "x"
    end,
  })");
  Keyshift ks(server, dir);
  CliResult first = ks.Run({"up"});
  INFO(Describe(first));
  REQUIRE(first.exit_code == 1);
  long long journaled = 0;
  for (const std::string& j : ScanKeys(*conn, "keyshift:j:*")) journaled += Cmd(*conn, {"HLEN", j}).integer;
  CHECK(journaled > 0);
  Cmd(*conn, {"SET", last, "v"});  // the application fixes it; the run resumes
  CliResult second = ks.Run({"up"});
  INFO(Describe(second));
  REQUIRE(second.exit_code == 0);
  CHECK(Values(*conn, NumberedKeys("e:", 0, 300)) == std::vector<std::string>(300, "vx"));
  auto ledger = Ledger(conn.get(), StateKeys{"keyshift:"}).LoadAll();
  REQUIRE(ledger.ok());
  CHECK(ledger->at(1).counters.changed == 300);
}

TEST_CASE("ScriptCache streaming: a call answered NOSCRIPT (script cache flushed) runs again, replies stay in order",
          "[redis][host]") {
  RedisServer server;
  auto conn = server.Connect();
  auto app = server.Connect();
  SeedEveryType(*app);
  StateKeys state{"keyshift:"};
  ScriptCache scripts(conn.get());
  REQUIRE(conn->CanStream());
  ReadOptions options;
  options.per_call = 2;
  std::vector<std::string> keys = kEveryType;
  REQUIRE(scripts.Send(ReadCall(scripts, state, kVersion, keys, 0, 2, options)));
  Cmd(*app, {"SCRIPT", "FLUSH"});  // a restart or failover would do the same
  REQUIRE(scripts.Send(ReadCall(scripts, state, kVersion, keys, 2, 4, options)));
  REQUIRE(scripts.Send(ReadCall(scripts, state, kVersion, keys, 4, 6, options)));
  std::vector<KeySnapshot> snaps;
  for (size_t from = 0; from < keys.size(); from += 2) {
    auto reply = scripts.Next();
    REQUIRE(reply.ok());
    REQUIRE(SnapshotsFromCall(keys, from, from + 2, *reply, &snaps));
  }
  CHECK(scripts.in_flight() == 0);
  // The flush did reach the stream: at least one call was answered NOSCRIPT.
  CHECK_THAT(Cmd(*app, {"INFO", "errorstats"}).str, Catch::Contains("errorstat_NOSCRIPT:count="));
  REQUIRE(snaps.size() == keys.size());
  for (size_t i = 0; i < keys.size(); ++i) {
    INFO(keys[i]);
    CHECK(snaps[i].key == keys[i]);
    CHECK(snaps[i].digest == ServerDigest(*app, keys[i]));
  }
}
