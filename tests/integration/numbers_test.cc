// Issue 7 "Nothing silent" against real redis-servers: numbers a double cannot
// hold, duplicate JSON members and number text, in host mode and in server
// mode, which must write the same bytes (SPEC 2, guarantees 6 and 8).
#include <atomic>
#include <thread>

#include <catch.hpp>
#include <fmt/format.h>

#include "engine/directory.h"
#include "engine/state_keys.h"
#include "server_mode/server_script.h"
#include "tests/support/integration_fixtures.h"

using namespace keyshift;
using namespace keyshift::testing;

namespace {

struct TwoServers {
  RedisServer host_server, server_server;
  std::unique_ptr<RedisConnection> host = host_server.Connect();
  std::unique_ptr<RedisConnection> server = server_server.Connect();

  void Seed(const std::vector<Command>& seed) {
    REQUIRE(host->Pipeline(seed).ok());
    REQUIRE(server->Pipeline(seed).ok());
  }
  // Every key holds the same bytes on both servers; returns the host's.
  std::map<std::string, std::string> Same() {
    auto a = ReadAll(*host), b = ReadAll(*server);
    for (const auto& [key, text] : a) {
      INFO("key " << key);
      CHECK(text == b[key]);
    }
    CHECK(a.size() == b.size());
    return a;
  }
};

std::string Get(RedisConnection& conn, const std::string& key) { return Cmd(conn, {"GET", key}).str; }

}  // namespace

TEST_CASE("numbers beyond a double survive copy, move and remove, byte-identical in both modes",
          "[redis][server]") {
  TwoServers s;
  s.Seed({
      {"SET", "j:copy", R"({"id":9007199254740993,"n":1})"},
      {"SET", "j:move", R"({"a":1,"b":18446744073709551617})"},
      {"SET", "j:remove", R"({"ids":[9007199254740993,9007199254740992,9007199254740995]})"},
      {"SET", "j:build", R"({"ids":[12345678901234567890123,1e400,-9007199254740993]})"},
      {"SET", "j:dup", R"({"a":1,"b":2,"a":3,"n":9007199254740993})"},
      {"SET", "j:keep", R"({"x":1,"x":{"y":[1.50]},"big":9007199254740993})"},
      {"HSET", "h:row", "id", "9007199254740993", "big", "1.000000000000000000001", "n", "5"},
  });
  TempDir dir;
  dir.Write("0001_move.lua", R"(return { description = "moves big numbers", scan = { match = "*" },
  transform = function(k, v)
    if k == "h:row" then
      local id = tonumber(v.id)
      v.copy, v.big2 = id, tonumber(v.big)
      v.same = tostring(id == tonumber(v.id)) .. " " .. tostring(id < tonumber("9007199254740995"))
      v.cmp = ks.compare(id, 9007199254740992) .. " " .. type(id)
      return v
    end
    local d = json.decode(v)
    if k == "j:copy" then d.copy = d.id end
    if k == "j:move" then d.a = d.b; d.b = nil end
    if k == "j:remove" then table.remove(d.ids, 1) end
    if k == "j:build" then
      local out = {}
      for i = #d.ids, 1, -1 do out[#out + 1] = d.ids[i] end
      d.rev, d.kind = out, type(d.ids[1])
    end
    if k == "j:dup" then d.n2 = d.n end
    return json.encode(d)
  end })");
  RunBothModes(dir, s.host_server, s.server_server);
  s.Same();
  for (auto* conn : {s.host.get(), s.server.get()}) {
    CHECK(Get(*conn, "j:copy") == R"({"id":9007199254740993,"n":1,"copy":9007199254740993})");
    CHECK(Get(*conn, "j:move") == R"({"a":18446744073709551617})");
    CHECK(Get(*conn, "j:remove") == R"({"ids":[9007199254740992,9007199254740995]})");
    CHECK(Get(*conn, "j:build") ==
          R"({"ids":[12345678901234567890123,1e400,-9007199254740993],"kind":"number",)"
          R"("rev":[-9007199254740993,1e400,12345678901234567890123]})");
    CHECK(Get(*conn, "j:dup") == R"({"a":1,"b":2,"a":3,"n":9007199254740993,"n2":9007199254740993})");
    CHECK(Get(*conn, "j:keep") == R"({"x":1,"x":{"y":[1.50]},"big":9007199254740993})");
    auto row = PairMap(Cmd(*conn, {"HGETALL", "h:row"}));
    CHECK(row["copy"] == "9007199254740993");
    CHECK(row["big2"] == "1.000000000000000000001");
    CHECK(row["same"] == "true true");
    CHECK(row["cmp"] == "1 number");
  }
}

TEST_CASE("arithmetic on a number beyond a double fails in both modes, naming the key; the key is unchanged",
          "[redis][server]") {
  TwoServers s;
  s.Seed({{"SET", "a:big", R"({"id":9007199254740993})"},
          {"SET", "a:small", R"({"id":5})"},
          {"HSET", "a:hash", "id", "18446744073709551616"}});
  TempDir dir;
  dir.Write("0001_inc.lua", R"(return { description = "increments ids", scan = { match = "a:*" },
  transform = function(k, v)
    if k == "a:hash" then v.id = tonumber(v.id) * 2; return v end
    local d = json.decode(v)
    d.id = d.id + 1
    return json.encode(d)
  end })");
  REQUIRE(RunKeyshift({"--dir", dir.path(), "check"}).exit_code == 0);
  for (auto [mode, srv, conn] : {std::tuple{"host", &s.host_server, s.host.get()},
                                 std::tuple{"server", &s.server_server, s.server.get()}}) {
    INFO("mode " << mode);
    CliResult r = RunKeyshift({"--url", srv->url(), "--dir", dir.path(), "up", "--mode", mode, "--on-error", "skip"});
    INFO(Describe(r));
    CHECK_THAT(r.err, Catch::Contains("0001_inc.lua:5:") && Catch::Contains("'a:big'") &&
                          Catch::Contains("number 9007199254740993 cannot be used in arithmetic exactly"));
    CHECK_THAT(r.err, Catch::Contains("0001_inc.lua:3:") && Catch::Contains("'a:hash'") &&
                          Catch::Contains("number 18446744073709551616 cannot be used in arithmetic exactly"));
    CHECK(Get(*conn, "a:big") == R"({"id":9007199254740993})");
    CHECK(Cmd(*conn, {"HGET", "a:hash", "id"}).str == "18446744073709551616");
    CHECK(Get(*conn, "a:small") == R"({"id":6})");
  }
}

TEST_CASE("number text: tostring, string.format, table.concat and string functions agree in both modes",
          "[redis][server]") {
  TwoServers s;
  s.Seed({{"SET", "t:10", "10"}, {"SET", "t:7", "7"}, {"HSET", "t:h", "n", "9"}});
  TempDir dir;
  dir.Write("0001_text.lua", R"(return { description = "numbers as text", scan = { match = "t:*" },
  transform = function(k, v)
    if k == "t:h" then
      local n = tonumber(v.n)
      v.half, v.text = n / 2, table.concat({ n / 3 * 3, n / 2 }, " ")
      return v
    end
    local n = tonumber(v)
    return table.concat({ n / 2 }) .. "|" .. string.format("%s", n / 2) .. "|" .. tostring(n / 2) .. "|" ..
      string.rep(n / 2, 2) .. "|" .. ("x"):rep(2) .. tostring(1e15) .. "|" .. ("a-b"):gsub("-", n / 2) ..
      "|" .. string.format("%q", n * 1.0)
  end })");
  RunBothModes(dir, s.host_server, s.server_server);
  s.Same();
  for (auto* conn : {s.host.get(), s.server.get()}) {
    CHECK(Get(*conn, "t:10") == R"(5|5|5|55|xx1e+15|a5b|"10")");
    CHECK(Get(*conn, "t:7") == R"(3.5|3.5|3.5|3.53.5|xx1e+15|a3.5b|"7")");
    auto h = PairMap(Cmd(*conn, {"HGETALL", "t:h"}));
    CHECK(h["half"] == "4.5");
    CHECK(h["text"] == "9 4.5");
  }
}

TEST_CASE("host mode's hot-key fallback writes numbers as the host does", "[redis][server]") {
  // One key an application rewrites without pause: after a few failed
  // compare-and-sets host mode migrates it with the server-side script.
  // A quiet server running the same file shows how many scripts host mode
  // alone loads.
  RedisServer quiet, busy;
  auto quiet_conn = quiet.Connect(), conn = busy.Connect();
  std::vector<Command> seed;
  for (int i = 0; i < 6; ++i) seed.push_back({"HSET", fmt::format("n:{}", i), "base", "10", "hits", "0"});
  REQUIRE(quiet_conn->Pipeline(seed).ok());
  REQUIRE(conn->Pipeline(seed).ok());
  TempDir dir;
  dir.Write("0001_half.lua", R"(return { description = "halves as text", scan = { match = "n:*", type = "hash" },
  transform = function(k, v)
    local spin = 0
    for i = 1, 10000000 do spin = spin + i end  -- a window for the application's writes
    local half = tonumber(v.base) / 2
    v.half = tostring(half) .. "|" .. table.concat({ half }) .. "|" .. string.format("%s", half)
    return v
  end })");
  REQUIRE(Keyshift(quiet, dir).Run({"up"}).exit_code == 0);
  auto url = ParseRedisUrl(busy.url());
  REQUIRE(url.ok());
  std::atomic<bool> stop{false}, failed{false};
  std::thread writer([&] {
    auto c = ConnectRedis(*url);
    if (!c.ok()) return void(failed = true);
    while (!stop)
      if (!(*c)->Call({"HINCRBY", "n:3", "hits", "1"}).ok()) return void(failed = true);
  });
  CliResult r = Keyshift(busy, dir).Run({"up"}, 120);
  stop = true;
  writer.join();
  INFO(Describe(r));
  REQUIRE_FALSE(failed);
  REQUIRE(r.exit_code == 0);
  // The hot key went through the server-side script: Redis has it cached (the
  // quiet run never loads it). Counting cached scripts would also count the
  // lock renewal's EVAL, which only a run longer than a third of the lease sends.
  auto files = ReadMigrationDir(dir.path());
  REQUIRE(files.ok());
  std::string sha = BuildServerScript(files->files.front(), "hash", StateKeys("keyshift:").journal_prefix(1),
                                      "keyshift:").body.sha;
  CHECK(Cmd(*conn, {"SCRIPT", "EXISTS", sha}).elements.at(0).integer == 1);
  CHECK(Cmd(*quiet_conn, {"SCRIPT", "EXISTS", sha}).elements.at(0).integer == 0);
  for (int i = 0; i < 6; ++i) {
    INFO("key n:" << i);
    CHECK(Cmd(*conn, {"HGET", fmt::format("n:{}", i), "half"}).str == "5|5|5");
  }
}
