// End to end, host mode: `up --dry-run` writes nothing and shows diffs; `up`
// writes the expected bytes for every value type with TTLs intact; a second
// `up` is a no-op. The real keyshift binary against a private redis-server.
#include <algorithm>
#include <catch.hpp>
#include <cstdlib>
#include <map>
#include <string>
#include <vector>

#include "tests/support/integration_fixtures.h"

namespace keyshift::testing {
namespace {

// Touches every value type; the key's prefix says which change it gets.
constexpr const char* kAllTypes = R"LUA(return {
  description = "one change per value type, a delete and two renames",
  transform = function(key, value)
    local kind = key:match("^(%a+):")
    if kind == "s" then return value:upper() end
    if kind == "h" then
      value.name = value.name:upper()
      value.n = (value.n + 0) * 2.5     -- "2" -> 5.0: written "5"
      value.added = 0.1 + 0.2
      value.tenth = 1 / 10              -- shortest form: "0.1"
      value.big = 2.0 ^ 60              -- integral float: all digits, no exponent
      return value
    end
    if kind == "l" then value[#value + 1] = "c"; return value end
    if kind == "set" then value[#value + 1] = "z"; return value end
    if kind == "z" then
      value.m = value.m + 0.1 + 0.2     -- 0 -> 0.30000000000000004
      value.k = 10 / 2                  -- 5.0: written "5"
      value.n = value.n + 0.5           -- 2 -> 2.5
      return value
    end
    if kind == "del" then return ks.DELETE end
    if key == "mv:1" then return ks.rename("moved:1", value) end
    if key == "mv:2" then return ks.rename("moved:2") end
    return nil
  end,
}
)LUA";

const std::vector<std::string> kTtlKeys = {"s:ttl", "h:ttl", "l:ttl", "set:ttl", "z:ttl", "mv:1"};
const std::vector<std::string> kPlainKeys = {"s:plain", "h:plain", "l:plain", "set:plain", "z:plain", "mv:2"};

void SeedAllTypes(RedisConnection& c) {
  Cmd(c, {"SET", "s:plain", "hello"});
  Cmd(c, {"SET", "s:ttl", "world"});
  Cmd(c, {"HSET", "h:plain", "name", "ann", "n", "2"});
  Cmd(c, {"HSET", "h:ttl", "name", "bob", "n", "2"});
  Cmd(c, {"RPUSH", "l:plain", "a", "b"});
  Cmd(c, {"RPUSH", "l:ttl", "a", "b"});
  Cmd(c, {"SADD", "set:plain", "y", "x"});
  Cmd(c, {"SADD", "set:ttl", "y", "x"});
  Cmd(c, {"ZADD", "z:plain", "0", "m", "2", "n"});
  Cmd(c, {"ZADD", "z:ttl", "0", "m", "2", "n"});
  Cmd(c, {"SET", "del:1", "gone soon"});
  Cmd(c, {"SET", "mv:1", "moving"});
  Cmd(c, {"HSET", "mv:2", "f", "v"});
  Cmd(c, {"SET", "other:1", "untouched"});
  for (const auto& k : kTtlKeys) Cmd(c, {"EXPIRE", k, "1000"});
}

std::map<std::string, long long> Pttls(RedisConnection& c, const std::vector<std::string>& keys) {
  std::map<std::string, long long> out;
  for (const auto& k : keys) out[k] = Cmd(c, {"PTTL", k}).integer;
  return out;
}

bool Contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

TEST_CASE("up --dry-run prints diffs and a summary and writes nothing", "[redis][host][dry-run]") {
  RedisServer server;
  auto conn = server.Connect();
  TempDir dir;
  dir.Write("0001_all_types.lua", kAllTypes);
  SeedAllTypes(*conn);
  auto before = SnapshotData(*conn);
  long long changes = RdbChanges(*conn);

  CliResult r = Keyshift(server, dir).Run({"up", "--dry-run"});
  INFO(Describe(r));
  REQUIRE(r.exit_code == 0);

  // Unified diffs, one per changed key; hashes and zsets field by field.
  for (const std::string key : {"s:plain", "s:ttl", "h:plain", "l:plain", "set:plain", "z:plain"}) {
    CHECK(Contains(r.out, "--- " + key + "\n"));
    CHECK(Contains(r.out, "+++ " + key + "\n"));
  }
  CHECK(Contains(r.out, "\n-hello\n+HELLO\n"));
  CHECK(Contains(r.out, "\n-name: ann\n+name: ANN\n"));
  CHECK(Contains(r.out, "\n-n: 2\n+n: 5\n"));
  CHECK(Contains(r.out, "\n+added: 0.30000000000000004\n"));
  CHECK(Contains(r.out, "\n-m: 0\n+m: 0.30000000000000004\n"));
  CHECK(Contains(r.out, "\n+k: 5\n"));
  CHECK(Contains(r.out, "\n-n: 2\n+n: 2.5\n"));
  CHECK(Contains(r.out, "\n+tenth: 0.1\n"));
  CHECK(Contains(r.out, "\n+big: 1152921504606846976\n"));
  CHECK(Contains(r.out, "\n+c\n"));
  CHECK(Contains(r.out, "\n+z\n"));
  CHECK_FALSE(Contains(r.out, "--- other:1\n"));  // returned nil: no diff
  CHECK(Contains(r.out, "0001_all_types (dry-run): scanned 14, would change 10, would delete 1, would rename 2, "
                        "errors 0"));
  // Not a terminal: no color, no progress line.
  CHECK_FALSE(HasAnsi(r.out));
  CHECK_FALSE(HasAnsi(r.err));

  // Nothing written: not data, not a lock, checkpoint, ledger or journal.
  CHECK(RdbChanges(*conn) == changes);
  CHECK(ScanKeys(*conn, "keyshift:*").empty());
  CHECK(SnapshotData(*conn) == before);
}

TEST_CASE("up writes the expected bytes for every value type and keeps TTLs", "[redis][host]") {
  RedisServer server;
  auto conn = server.Connect();
  TempDir dir;
  dir.Write("0001_all_types.lua", kAllTypes);
  SeedAllTypes(*conn);
  auto ttl_before = Pttls(*conn, kTtlKeys);
  for (const auto& [k, pttl] : ttl_before) REQUIRE(pttl > 990'000);

  CliResult r = Keyshift(server, dir).Run({"up"});
  INFO(Describe(r));
  REQUIRE(r.exit_code == 0);
  CHECK(Contains(r.out, "0001_all_types: applied; scanned 14, changed 10, deleted 1, renamed 2"));
  CHECK_FALSE(HasAnsi(r.all()));

  auto& c = *conn;
  CHECK(Cmd(c, {"GET", "s:plain"}).str == "HELLO");
  CHECK(Cmd(c, {"GET", "s:ttl"}).str == "WORLD");
  std::map<std::string, std::string> h_plain = {{"name", "ANN"},
                                                {"n", "5"},
                                                {"added", "0.30000000000000004"},
                                                {"tenth", "0.1"},
                                                {"big", "1152921504606846976"}};
  std::map<std::string, std::string> h_ttl = h_plain;
  h_ttl["name"] = "BOB";
  CHECK(PairMap(Cmd(c, {"HGETALL", "h:plain"})) == h_plain);
  CHECK(PairMap(Cmd(c, {"HGETALL", "h:ttl"})) == h_ttl);
  const std::vector<std::string> list = {"a", "b", "c"};
  CHECK(Strings(Cmd(c, {"LRANGE", "l:plain", "0", "-1"})) == list);
  CHECK(Strings(Cmd(c, {"LRANGE", "l:ttl", "0", "-1"})) == list);
  for (const std::string key : {"set:plain", "set:ttl"}) {
    auto members = Strings(Cmd(c, {"SMEMBERS", key}));
    std::sort(members.begin(), members.end());
    CHECK(members == std::vector<std::string>{"x", "y", "z"});
  }
  const std::vector<std::string> zset = {"m", "0.30000000000000004", "n", "2.5", "k", "5"};
  CHECK(Strings(Cmd(c, {"ZRANGE", "z:plain", "0", "-1", "WITHSCORES"})) == zset);
  CHECK(Strings(Cmd(c, {"ZRANGE", "z:ttl", "0", "-1", "WITHSCORES"})) == zset);
  // ks.DELETE deletes; ks.rename moves, with and without a value.
  CHECK(Cmd(c, {"EXISTS", "del:1"}).integer == 0);
  CHECK(Cmd(c, {"EXISTS", "mv:1", "mv:2"}).integer == 0);
  CHECK(Cmd(c, {"GET", "moved:1"}).str == "moving");
  CHECK(PairMap(Cmd(c, {"HGETALL", "moved:2"})) == std::map<std::string, std::string>{{"f", "v"}});
  CHECK(Cmd(c, {"GET", "other:1"}).str == "untouched");

  // TTLs: kept within a second (the renamed key's moved with it); no TTL stays none.
  for (const auto& [key, before] : ttl_before) {
    std::string now_key = key == "mv:1" ? "moved:1" : key;
    long long after = Cmd(c, {"PTTL", now_key}).integer;
    INFO(key << ": PTTL before " << before << ", after " << after);
    CHECK(after > 0);
    CHECK(std::llabs(before - after) <= 1000);
  }
  for (const std::string key : {"s:plain", "h:plain", "l:plain", "set:plain", "z:plain", "moved:2", "other:1"}) {
    INFO(key);
    CHECK(Cmd(c, {"PTTL", key}).integer == -1);
  }
}

TEST_CASE("a second up changes nothing", "[redis][host]") {
  RedisServer server;
  auto conn = server.Connect();
  TempDir dir;
  dir.Write("0001_all_types.lua", kAllTypes);
  SeedAllTypes(*conn);
  Keyshift ks(server, dir);
  CliResult first = ks.Run({"up"});
  INFO(Describe(first));
  REQUIRE(first.exit_code == 0);
  auto data = SnapshotData(*conn);
  auto state = SnapshotData(*conn, "");  // keyshift's own keys too
  long long changes = RdbChanges(*conn);

  CliResult second = ks.Run({"up"});
  INFO(Describe(second));
  CHECK(second.exit_code == 0);
  CHECK(Contains(second.out, "nothing to do"));
  CHECK(RdbChanges(*conn) == changes);
  CHECK(SnapshotData(*conn) == data);
  CHECK(SnapshotData(*conn, "") == state);
}

TEST_CASE("a non-idempotent transform is applied exactly once over repeated ups", "[redis][host]") {
  RedisServer server;
  auto conn = server.Connect();
  TempDir dir;
  dir.Write("0001_bang.lua", R"LUA(return {
  description = "append one bang",
  scan = { match = "k:*", type = "string", batch = 7 },
  transform = function(key, value) return value .. "!" end,
}
)LUA");
  constexpr int kKeys = 60;
  for (int i = 0; i < kKeys; ++i) Cmd(*conn, {"SET", "k:" + std::to_string(i), "v" + std::to_string(i)});
  Keyshift ks(server, dir);
  for (int run = 0; run < 2; ++run) {
    CliResult r = ks.Run({"up"});
    INFO("run " << run << "\n" << Describe(r));
    REQUIRE(r.exit_code == 0);
    if (run == 1) CHECK(Contains(r.out, "nothing to do"));
  }
  for (int i = 0; i < kKeys; ++i) {
    std::string key = "k:" + std::to_string(i);
    INFO(key);
    CHECK(Cmd(*conn, {"GET", key}).str == "v" + std::to_string(i) + "!");
  }
}

}  // namespace
}  // namespace keyshift::testing
