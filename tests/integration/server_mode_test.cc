// Server mode (SPEC 6) against real redis-servers: the differential corpus
// (host mode and server mode must write the same bytes), portability
// rejections, runaway protection, dry-run, and the guarantees in server mode.
#include <signal.h>

#include <atomic>
#include <chrono>
#include <random>
#include <thread>

#include <catch.hpp>
#include <fmt/format.h>

#include "tests/support/integration_fixtures.h"

using namespace keyshift;
using namespace keyshift::testing;

namespace {

// Seeds every value type, with and without TTLs, with data that stresses
// number formatting, JSON and binary bytes.
void SeedCorpus(RedisConnection& conn) {
  std::vector<Command> seed = {
      {"SET", "s:plain", "hello world"},
      {"SET", "s:json", R"({"theme":"light","n":1.50,"big":9007199254740993,"huge":12345678901234567890,"e":[],"o":{},"u":"\u00e9\/x","neg":-0,"exp":1E+2})"},
      {"SET", "s:json2", R"([1,2.5,"x",null,true,false,{"a":[]}])"},
      {"SET", "s:iso", "2024-03-10T12:00:00.250+05:30"},
      {"SET", "s:num", "41"},
      {"SET", "s:bin", std::string("a\0b\xff\x01", 5)},
      {"SET", "s:del", "remove me"},
      {"SET", "s:mv", "move me"},
      {"PEXPIRE", "s:plain", "900000"},
      {"PEXPIRE", "s:mv", "800000"},
      {"HSET", "h:user", "name", "Ann", "created_at", "2024-01-01T00:00:00Z", "score", "10", "ratio", "0.1"},
      {"PEXPIRE", "h:user", "700000"},
      {"HSET", "h:other", "a", "1", "b", "2.5", "c", "x"},
      {"RPUSH", "l:list", "3", "1", "2", "a b", ""},
      {"SADD", "t:set", "b", "a", "10", "9", "\xc3\xa9"},
      {"PEXPIRE", "t:set", "600000"},
      {"ZADD", "z:zset", "1.5", "a", "2", "b", "0.1", "c", "-3", "d", "1e20", "e"},
  };
  for (int i = 0; i < 40; ++i) seed.push_back({"HSET", fmt::format("h:many{}", i), "v", std::to_string(i * 7)});
  REQUIRE(conn.Pipeline(seed).ok());
}

// Transforms `check` accepts as portable: every returned shape and the number
// cases where Lua 5.1 and 5.4 differ unless keyshift formats them.
const char* kCorpus[] = {
    R"(return { description = "strings", scan = { match = "s:*", type = "string" },
  transform = function(k, v)
    if k == "s:plain" then return v:upper() .. "!" end
    if k == "s:num" then return tonumber(v) + 1 end
    if k == "s:iso" then return time.to_epoch(v) end
    if k == "s:bin" then return v .. string.char(0, 255) end
    if k == "s:del" then return ks.DELETE end
    if k == "s:mv" then return ks.rename("s:moved", v .. "?") end
  end })",
    R"(return { description = "json", scan = { match = "s:json*", type = "string" },
  transform = function(k, v)
    local doc = json.decode(v)
    if k == "s:json" then
      doc.ui = { theme = doc.theme, size = 12 / 4, third = 1 / 3 }
      doc.theme = nil
      doc.list = { 1, 2.5, 10 / 2, 2 ^ 53, -0.0 }
      return json.encode(doc)
    end
    doc[#doc + 1] = "added"
    return json.encode(doc)
  end })",
    R"(return { description = "hashes", scan = { match = "h:*", type = "hash" },
  transform = function(k, v)
    if v.created_at then v.created_at = time.to_epoch(v.created_at) end
    if v.score then v.score = v.score * 1.5 end
    if v.ratio then v.ratio = v.ratio + 0.2 end
    if v.v then v.v = math.floor(tonumber(v.v) / 3); v.half = tonumber(v.v) / 2 end
    if v.b then v.b = nil; v.c = v.c:rep(3) end
    return v
  end })",
    R"(return { description = "lists, sets, zsets", scan = { match = "*" },
  transform = function(k, v)
    if k == "l:list" then table.sort(v); v[#v + 1] = #v; return v end
    if k == "t:set" then v[#v + 1] = "new"; v[#v + 1] = 3.0; return v end
    if k == "z:zset" then
      v.a = v.a + 0.1; v.b = v.b * 1e10; v.f = 1 / 3; v.d = nil
      return v
    end
  end })",
    // Patterns long enough for stdlib/pattern.lua's Lua matcher (both modes).
    R"LUA(return { description = "expensive patterns", scan = { match = "h:user", type = "hash" },
  transform = function(k, v)
    local text = string.rep(v.name .. " (x) ,b;  ", 300)
    local squeezed, n = string.gsub(text, "%s+", " ")
    local swapped = string.gsub(text, "(%a+)%s*(%b())", "%2%1", 50)
    local words = {}
    for w, at in string.gmatch(text, "(%a+)()") do if #words < 20 then words[#words + 1] = w .. at end end
    v.patterns = table.concat({ #squeezed, n, swapped:sub(1, 40), table.concat(words, "."),
      tostring(string.find(text, "(x)%s*,(b)", 900)), string.match(text, "^(%u%l+)%s(%b())") }, "|")
    return v
  end })LUA",
};

struct Snapshot {
  std::map<std::string, std::string> values;  // key -> type + value text + absolute expiry
};

// Expiries were set with PEXPIRE on two servers a few ms apart: compare them
// to the second.
std::string CoarseExpiry(const std::string& t) {
  size_t first = t.find('|'), second = t.find('|', first + 1);
  long long at = std::atoll(t.substr(first + 1, second - first - 1).c_str());
  return t.substr(0, first) + "|" + std::to_string(at < 0 ? at : at / 1000) + t.substr(second);
}

std::map<std::string, std::string> Coarse(const std::map<std::string, std::string>& all) {
  std::map<std::string, std::string> out;
  for (const auto& [k, v] : all) out[k] = CoarseExpiry(v);
  return out;
}

}  // namespace

TEST_CASE("server mode writes exactly the bytes host mode writes (differential corpus)", "[redis][server]") {
  RedisServer host_server, server_server;
  auto host_conn = host_server.Connect();
  auto server_conn = server_server.Connect();
  SeedCorpus(*host_conn);
  SeedCorpus(*server_conn);
  REQUIRE(Coarse(ReadAll(*host_conn)) == Coarse(ReadAll(*server_conn)));  // the same start
  TempDir dir;
  for (size_t i = 0; i < std::size(kCorpus); ++i) dir.Write(fmt::format("{:04}_corpus.lua", i + 1), kCorpus[i]);
  RunBothModes(dir, host_server, server_server);
  auto a = ReadAll(*host_conn), b = ReadAll(*server_conn);
  REQUIRE(a.size() == b.size());
  int compared = 0;
  for (const auto& [key, text] : a) {
    INFO("key " << key);
    REQUIRE(b.count(key) == 1);
    CHECK(CoarseExpiry(text) == CoarseExpiry(b.at(key)));
    ++compared;
  }
  CHECK(compared >= 50);
  CHECK(Cmd(*host_conn, {"GET", "s:num"}).str == "42");
  CHECK(Cmd(*server_conn, {"HGET", "h:user", "ratio"}).str == "0.30000000000000004");
}

namespace {

// A deterministic generator of JSON documents, hashes and zsets whose number
// texts cover what Lua 5.1 and 5.4 print differently.
struct Generator {
  unsigned long long state = 88172645463325252ULL;
  unsigned long long Next() {
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return state;
  }
  std::string Number() {
    static const char* fixed[] = {"0", "-0", "1.50", "1e5", "1E+2", "2.5e-3", "9007199254740993",
                                  "12345678901234567890", "-17", "0.1", "3.14159", "100000000000000"};
    switch (Next() % 4) {
      case 0: return fixed[Next() % std::size(fixed)];
      case 1: return std::to_string(static_cast<long long>(Next() % 2000000) - 1000000);
      case 2: return fmt::format("{}.{}", Next() % 100000, Next() % 1000);
      default: return fmt::format("{}e{}", Next() % 1000, static_cast<int>(Next() % 40) - 20);
    }
  }
  std::string Json(int depth = 0) {
    std::string out = "{";
    int n = 1 + static_cast<int>(Next() % 5);
    for (int i = 0; i < n; ++i) {
      if (i) out += ",";
      out += fmt::format("\"f{}\":", Next() % 20);
      int kind = static_cast<int>(Next() % (depth < 2 ? 6 : 4));
      if (kind == 0) out += Number();
      else if (kind == 1) out += fmt::format("\"s{}\\u00e9\\/\"", Next() % 100);
      else if (kind == 2) out += (Next() % 2) ? "true" : "null";
      else if (kind == 3) out += "[" + Number() + "," + Number() + "]";
      else if (kind == 4) out += Json(depth + 1);
      else out += "[]";
    }
    return out + "}";
  }
};

}  // namespace

TEST_CASE("server mode matches host mode byte for byte on a generated corpus", "[redis][server]") {
  RedisServer host_server, server_server;
  auto host_conn = host_server.Connect();
  auto server_conn = server_server.Connect();
  Generator gen;
  std::vector<Command> seed;
  for (int i = 0; i < 400; ++i) seed.push_back({"SET", fmt::format("doc:{}", i), gen.Json()});
  for (int i = 0; i < 300; ++i)
    seed.push_back({"HSET", fmt::format("row:{}", i), "a", gen.Number(), "b", gen.Number(), "c", "text"});
  for (int i = 0; i < 100; ++i)
    seed.push_back({"ZADD", fmt::format("rank:{}", i), gen.Number(), "x", gen.Number(), "y", gen.Number(), "z"});
  REQUIRE(host_conn->Pipeline(seed).ok());
  REQUIRE(server_conn->Pipeline(seed).ok());
  TempDir dir;
  dir.Write("0001_docs.lua", R"(return { description = "json numbers", scan = { match = "doc:*", type = "string" },
  transform = function(k, v)
    local d = json.decode(v)
    local n = 0
    for _, key in ipairs(json.keys(d)) do
      local x = d[key]
      -- numbers a double cannot hold (exact numbers) refuse `<` against plain ones: ks.compare
      if type(x) == "number" and ks.compare(x, -1e15) > 0 and ks.compare(x, 1e15) < 0 then
        n = n + 1
        if n % 3 == 0 then d[key] = x * 1.1 elseif n % 3 == 1 then d[key] = x / 7 else d[key] = math.floor(x) + 0.5 end
      end
    end
    d.count = n
    d.ratio = n / 3
    return json.encode(d)
  end })");
  dir.Write("0002_rows.lua", R"(return { description = "hash numbers", scan = { match = "row:*", type = "hash" },
  transform = function(k, v)
    local a, b = tonumber(v.a), tonumber(v.b)
    local function small(x) return ks.compare(x, -1e15) > 0 and ks.compare(x, 1e15) < 0 end
    if small(a) then v.a = a * 3 end
    if small(b) then v.b = b / 3 end
    v.sum = (small(a) and small(b)) and (a + b) or 0
    return v
  end })");
  dir.Write("0003_ranks.lua", R"(return { description = "zset scores", scan = { match = "rank:*", type = "zset" },
  transform = function(k, v)
    for m, s in pairs(v) do if math.abs(s) < 1e15 then v[m] = s / 3 + 0.1 end end
    return v
  end })");
  RunBothModes(dir, host_server, server_server);
  auto a = ReadAll(*host_conn), b = ReadAll(*server_conn);
  REQUIRE(a.size() == 800u);
  int same = 0;
  for (const auto& [key, text] : a) {
    INFO("key " << key);
    CHECK(text == b[key]);
    same += text == b[key];
  }
  CHECK(same == 800);
  int changed = 0;  // the transforms really did rewrite the documents
  for (int i = 0; i < 400; ++i) changed += Cmd(*host_conn, {"GET", fmt::format("doc:{}", i)}).str != seed[i][2];
  CHECK(changed == 400);
  INFO("doc:7 after: " << Cmd(*host_conn, {"GET", "doc:7"}).str);
  CHECK_THAT(Cmd(*host_conn, {"GET", "doc:7"}).str, Catch::Contains("\"count\":"));
}

TEST_CASE("check and up reject non-portable server-mode migrations by line", "[redis][server]") {
  RedisServer server;
  auto conn = server.Connect();
  Cmd(*conn, {"SET", "k:1", "v"});
  TempDir dir;
  dir.Write("0001_bad.lua", R"(return {
  description = "uses Lua 5.4 only features",
  mode = "server",
  scan = { match = "k:*" },
  transform = function(key, value)
    local n = #value // 2
    return value .. utf8.char(72) .. n
  end,
})");
  Keyshift ks(server, dir);
  CliResult check = ks.Run({"check"});
  INFO(Describe(check));
  CHECK(check.exit_code == 1);
  CHECK_THAT(check.out, Catch::Contains("0001_bad.lua:6:") && Catch::Contains("//"));
  CHECK_THAT(check.out, Catch::Contains("0001_bad.lua:7:") && Catch::Contains("utf8"));
  long long changes = RdbChanges(*conn);
  CliResult up = ks.Run({"up"});
  INFO(Describe(up));
  CHECK(up.exit_code == 1);
  CHECK_THAT(up.err, Catch::Contains("0001_bad.lua:6:"));
  CHECK(RdbChanges(*conn) == changes);
  CliResult host = ks.Run({"up", "--mode", "host"});  // the same file is fine on the host
  CHECK(host.exit_code == 0);
}

TEST_CASE("a runaway server-side transform is killed; Redis stays up and the key unchanged", "[redis][server]") {
  RedisServer server(RedisServer::Options{{"--busy-reply-threshold", "300"}, ""});
  auto conn = server.Connect();
  Cmd(*conn, {"SET", "r:1", "v"});
  Cmd(*conn, {"SET", "r:2", "v"});
  TempDir dir;
  dir.Write("0001_spin.lua", kRunawayOnR2);
  Keyshift ks(server, dir);
  auto before = Cmd(*conn, {"GET", "r:2"}).str;
  CliResult r = ks.Run({"up"}, 60);
  INFO(Describe(r));
  CHECK(r.exit_code == 1);
  CHECK_THAT(r.all(), Catch::Contains("SCRIPT KILL") && Catch::Contains("'r:2'"));
  CHECK(Cmd(*conn, {"PING"}).str == "PONG");
  CHECK(Cmd(*conn, {"GET", "r:2"}).str == before);
}

TEST_CASE("server-mode dry-run shows what the server computes and writes nothing", "[redis][server]") {
  RedisServer server;
  auto conn = server.Connect();
  SeedCorpus(*conn);
  TempDir dir;
  dir.Write("0001_hashes.lua", kCorpus[2]);
  Keyshift ks(server, dir);
  long long changes = RdbChanges(*conn);
  CliResult r = ks.Run({"up", "--dry-run", "--mode", "server"});
  INFO(Describe(r));
  CHECK(r.exit_code == 0);
  CHECK(RdbChanges(*conn) == changes);
  CHECK(ScanKeys(*conn, "keyshift:*").empty());
  CHECK_THAT(r.out, Catch::Contains("-created_at: 2024-01-01T00:00:00Z") && Catch::Contains("+created_at: 1704067200"));
  CHECK_THAT(r.out, Catch::Contains("+ratio: 0.30000000000000004"));
}

TEST_CASE("server mode: kill -9 and resume apply each key once; down restores exactly", "[redis][server]") {
  RedisServer server;
  auto conn = server.Connect();
  TempDir dir, scratch("keyshift-srv");
  std::vector<Command> seed;
  for (int i = 0; i < 20000; ++i) seed.push_back({"SET", fmt::format("k:{}", i), "v"});
  REQUIRE(conn->Pipeline(seed).ok());
  auto before = SnapshotData(*conn);
  dir.Write("0001_bang.lua", R"(return {
  description = "not idempotent, in the server",
  mode = "server",
  scan = { match = "k:*", type = "string", batch = 100 },
  transform = function(key, value)
    for i = 1, 5000 do end  -- some work per key, so that no run ends before its kill
    return value .. "!"
  end,
})");
  Keyshift ks(server, dir);
  int kills = KillUpRepeatedly(ks, scratch, 20, 4);
  INFO("kills: " << kills);
  CHECK(kills >= 5);
  CliResult done = UpUntilDone(ks);
  INFO(Describe(done));
  REQUIRE(done.exit_code == 0);
  for (const auto& key : ScanKeys(*conn, "k:*")) {
    auto v = Cmd(*conn, {"GET", key}).str;
    if (v != "v!") FAIL_CHECK(key << " = " << v);
  }
  CliResult down = ks.Run({"down"});
  INFO(Describe(down));
  CHECK(down.exit_code == 0);
  CHECK(SnapshotData(*conn) == before);
}

TEST_CASE("server mode: an application hammering hot keys loses no write", "[redis][server]") {
  RedisServer server;
  auto conn = server.Connect();
  std::vector<Command> seed;
  for (int i = 0; i < 2000; ++i) seed.push_back({"HSET", fmt::format("acct:{}", i), "n", "0", "at", "2024-01-01T00:00:00Z"});
  REQUIRE(conn->Pipeline(seed).ok());
  TempDir dir;
  dir.Write("0001_epoch.lua", R"(return {
  description = "at to epoch, in the server",
  mode = "server",
  scan = { match = "acct:*", type = "hash", batch = 50 },
  transform = function(key, value)
    if not value.at:match("^%d+$") then value.at = time.to_epoch(value.at); return value end
  end,
})");
  auto url = ParseRedisUrl(server.url());
  REQUIRE(url.ok());
  std::atomic<bool> stop{false}, failed{false};
  std::vector<long long> sent(20, 0);
  std::thread writer([&] {
    auto c = ConnectRedis(*url);
    if (!c.ok()) return void(failed = true);
    std::mt19937 rng(9);
    while (!stop) {
      std::vector<Command> batch;
      std::vector<int> hit;
      for (int j = 0; j < 20; ++j) {
        int k = static_cast<int>(rng() % 20);
        hit.push_back(k);
        batch.push_back({"HINCRBY", fmt::format("acct:{}", k), "n", "1"});
      }
      if (!(*c)->Pipeline(batch).ok()) return void(failed = true);
      for (int k : hit) ++sent[k];
    }
  });
  Keyshift ks(server, dir);
  CliResult r = ks.Run({"up"}, 120);
  stop = true;
  writer.join();
  INFO(Describe(r));
  REQUIRE_FALSE(failed);
  REQUIRE(r.exit_code == 0);
  for (int k = 0; k < 20; ++k) CHECK(Cmd(*conn, {"HGET", fmt::format("acct:{}", k), "n"}).str == std::to_string(sent[k]));
  for (int i = 0; i < 2000; ++i) CHECK(Cmd(*conn, {"HGET", fmt::format("acct:{}", i), "at"}).str == "1704067200");
}
