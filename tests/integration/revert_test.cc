// `down` with a `revert` under application traffic (SPEC 5, guarantee 10),
// `down --only`, and multi-step `down --dry-run`, against real redis-servers.
#include <signal.h>

#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <random>
#include <thread>

#include <catch.hpp>
#include <fmt/format.h>

#include "tests/support/integration_fixtures.h"

using namespace keyshift;
using namespace keyshift::testing;

namespace {

// Old shape "v1|payload", new shape "v2|payload". The revert appends '#',
// so a key reverted twice shows it; `spin` makes each call take a while.
std::string ShapeMigration(int spin) {
  return fmt::format(R"(return {{
  description = "v1 -> v2",
  scan = {{ match = "u:*", type = "string", batch = 50 }},
  transform = function(key, value)
    if value:sub(1, 3) == "v1|" then return "v2|" .. value:sub(4) end
  end,
  revert = function(key, value)
    for i = 1, {} do end
    if value:sub(1, 3) == "v2|" then return "v1|" .. value:sub(4) .. "#" end
  end,
}}
)",
                     spin);
}

// Writes new-shape values to random u:* keys from its own connection until
// stopped; remembers the payload of the last acknowledged write per key.
class Writer {
 public:
  Writer(const RedisServer& server, int keys) : conn_(server.Connect()), keys_(keys) {}
  void WriteSome(int n) {
    for (int i = 0; i < n; ++i) WriteOne();
  }
  void Start() {
    thread_ = std::thread([this] {
      while (!stop_) WriteOne();
    });
  }
  void Stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  ~Writer() { Stop(); }
  std::map<std::string, std::string> last;  // key -> payload, read after Stop()
  long long failed = 0;

 private:
  void WriteOne() {
    std::string key = fmt::format("u:{}", rng_() % keys_);
    std::string payload = fmt::format("app{}", ++seq_);
    auto r = conn_->Call({"SET", key, "v2|" + payload});
    if (r.ok() && !r->is_error()) last[key] = payload;
    else ++failed;
  }
  std::unique_ptr<RedisConnection> conn_;
  int keys_;
  std::mt19937 rng_{7};
  long long seq_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace

TEST_CASE("down with revert while the application writes: no conflict, no write lost", "[redis][revert]") {
  RedisServer server;
  auto conn = server.Connect();
  TempDir dir;
  const int kKeys = 3000;
  SeedStrings(*conn, "u:", kKeys, "v1|orig");
  dir.Write("0001_shape.lua", ShapeMigration(3000));
  Keyshift ks(server, dir);
  CliResult up = ks.Run({"up"});
  INFO(Describe(up));
  REQUIRE(up.exit_code == 0);
  Writer writer(server, kKeys);
  writer.WriteSome(1500);  // before down: these keys changed since the migration
  auto before_down = writer.last;
  writer.Start();  // and during it
  CliResult down = ks.Run({"down"});
  writer.Stop();
  INFO(Describe(down));
  REQUIRE(down.exit_code == 0);
  CHECK_THAT(down.out, Catch::Contains("reverted") && !Catch::Contains("conflict"));
  CHECK(writer.failed == 0);
  auto keys = NumberedKeys("u:", 0, kKeys);
  auto values = Values(*conn, keys);
  int lost = 0, wrong_shape = 0;
  for (int i = 0; i < kKeys; ++i) {
    const std::string& v = values[i];
    auto it = writer.last.find(keys[i]);
    if (it == writer.last.end()) {
      if (v != "v1|orig") ++lost;  // never written: restored from the journal
      continue;
    }
    // Written only before down: reverted exactly once. Also during: the
    // last write is there, reverted, or as written if down had passed it.
    bool reverted = v == "v1|" + it->second + "#";
    if (!reverted && v != "v2|" + it->second) ++lost;
    if (!reverted && before_down.count(keys[i]) && before_down.at(keys[i]) == it->second) ++wrong_shape;
  }
  CHECK(lost == 0);
  CHECK(wrong_shape == 0);
  CHECK(ScanKeys(*conn, "keyshift:j:*").empty());
  CHECK_THAT(ks.Run({"status"}).out, Catch::Contains("pending"));
}

TEST_CASE("kill -9 during down with revert, then down again: revert applied exactly once per key",
          "[redis][revert]") {
  RedisServer server;
  auto conn = server.Connect();
  TempDir dir, scratch("keyshift-revert-kill");
  const int kKeys = 2000;
  SeedStrings(*conn, "u:", kKeys, "v1|orig");
  dir.Write("0001_shape.lua", ShapeMigration(200000));
  Keyshift ks(server, dir);
  REQUIRE(ks.Run({"up"}).exit_code == 0);
  std::vector<Command> writes;
  for (int i = 0; i < kKeys; ++i) writes.push_back({"SET", fmt::format("u:{}", i), fmt::format("v2|app{}", i)});
  REQUIRE(conn->Pipeline(writes).ok());
  std::mt19937 rng(11);
  int kills = 0;
  for (int round = 0; round < 4; ++round) {
    Spawned run = SpawnKeyshift(ks.Args({"down", "--batch", "20"}), scratch, fmt::format("down{}", round), kShortLease);
    std::this_thread::sleep_for(std::chrono::milliseconds(100 + rng() % 200));
    if (kill(run.pid, SIGKILL) == 0) ++kills;
    if (WaitKeyshift(run).exit_code == 0) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(650));
  }
  CHECK(kills > 0);
  CliResult last;
  for (int attempt = 0; attempt < 20; ++attempt) {
    last = RunKeyshift(ks.Args({"down"}), "", kShortLease, 120);
    if (last.exit_code != 3) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
  }
  INFO(Describe(last));
  CHECK(last.exit_code == 0);
  auto values = Values(*conn, NumberedKeys("u:", 0, kKeys));
  int wrong = 0;
  for (int i = 0; i < kKeys; ++i) wrong += values[i] != fmt::format("v1|app{}#", i);
  CHECK(wrong == 0);
  CHECK(ScanKeys(*conn, "keyshift:j:*").empty());
}

TEST_CASE("revert reverses renames and deletes as the journal says", "[redis][revert]") {
  RedisServer server;
  auto conn = server.Connect();
  TempDir dir;
  REQUIRE(conn->Pipeline({{"SET", "m:1", "a"}, {"SET", "m:2", "b"}, {"SET", "m:3", "c"}, {"SET", "d:1", "x"},
                          {"SET", "d:2", "y"}}).ok());
  dir.Write("0001_moves.lua", R"(return {
  description = "m:N -> n:N upper-cased; d:* deleted",
  scan = { match = "*", type = "string" },
  transform = function(key, value)
    if key:sub(1, 2) == "m:" then return ks.rename("n:" .. key:sub(3), value:upper()) end
    if key:sub(1, 2) == "d:" then return ks.DELETE end
  end,
  revert = function(key, value) return value:lower() end,
})");
  Keyshift ks(server, dir);
  REQUIRE(ks.Run({"up"}).exit_code == 0);
  Cmd(*conn, {"SET", "n:1", "APP1"});   // the application changed the moved key at its new name
  Cmd(*conn, {"DEL", "n:2"});           // deleted it
  Cmd(*conn, {"SET", "d:1", "NEWX"});   // recreated a deleted key in the new shape
  long long changes = RdbChanges(*conn);
  CliResult dry = ks.Run({"down", "--dry-run"});
  INFO(Describe(dry));
  CHECK(dry.exit_code == 0);
  CHECK(RdbChanges(*conn) == changes);
  CHECK_THAT(dry.out, Catch::Contains("-APP1") && Catch::Contains("+app1") && Catch::Contains("+newx") &&
                          Catch::Contains("would restore 2 keys, 3 would be reverted by revert, 0 conflicts"));
  CliResult down = ks.Run({"down"});
  INFO(Describe(down));
  CHECK(down.exit_code == 0);
  CHECK(Cmd(*conn, {"GET", "m:1"}).str == "app1");   // reverted and moved back
  CHECK(Cmd(*conn, {"EXISTS", "n:1", "m:2", "n:2"}).integer == 0);  // the deletion stays
  CHECK(Cmd(*conn, {"GET", "m:3"}).str == "c");      // unchanged since: restored
  CHECK(Cmd(*conn, {"GET", "d:1"}).str == "newx");   // the application's value, reverted
  CHECK(Cmd(*conn, {"GET", "d:2"}).str == "y");
}

TEST_CASE("down --only undoes one migration when no later one overlaps, else refuses", "[redis][revert]") {
  RedisServer server;
  auto conn = server.Connect();
  TempDir dir;
  SeedStrings(*conn, "a:", 50, "a");
  SeedStrings(*conn, "b:", 50, "b");
  dir.Write("0001_a.lua", AppendMigration("a:*", "1"));
  dir.Write("0002_b.lua", AppendMigration("b:*", "2"));
  dir.Write("0003_a.lua", AppendMigration("a:1*", "3"));
  Keyshift ks(server, dir);
  REQUIRE(ks.Run({"up"}).exit_code == 0);
  auto snapshot = SnapshotData(*conn);
  long long changes = RdbChanges(*conn);

  CliResult refused = ks.Run({"down", "--only", "1"});
  INFO(Describe(refused));
  CHECK(refused.exit_code == 1);
  CHECK_THAT(refused.all(), Catch::Contains("0003_a") && Catch::Contains("'a:1"));
  CHECK(RdbChanges(*conn) == changes);
  CHECK(SnapshotData(*conn) == snapshot);

  CliResult only = ks.Run({"down", "--only", "2"});
  INFO(Describe(only));
  CHECK(only.exit_code == 0);
  CHECK(Values(*conn, NumberedKeys("b:", 0, 50)) == std::vector<std::string>(50, "b"));
  CHECK(Cmd(*conn, {"GET", "a:1"}).str == "a13");
  CHECK(Cmd(*conn, {"GET", "a:2"}).str == "a1");
  CliResult status = ks.Run({"status"});
  CHECK_THAT(status.out, Catch::Matches("(.|\n)*0002_b[^\n]*pending(.|\n)*") &&
                             Catch::Matches("(.|\n)*0003_a[^\n]*applied(.|\n)*"));
}

TEST_CASE("multi-step down --dry-run simulates the steps in order: no false conflicts, no writes",
          "[redis][revert]") {
  RedisServer server;
  auto conn = server.Connect();
  TempDir dir;
  SeedStrings(*conn, "s:", 200, "v");
  REQUIRE(conn->Pipeline({{"HSET", "h:1", "a", "1", "b", "2"}, {"ZADD", "z:1", "1.5", "a", "0.1", "b", "3", "c"},
                          {"SADD", "t:1", "x", "y"}, {"RPUSH", "l:1", "p", "q"}, {"PEXPIRE", "h:1", "900000"},
                          {"SET", "mv:1", "m"}}).ok());
  auto body = [](const char* tag) {
    return fmt::format(R"(return {{ description = "step {0}", scan = {{ match = "*" }},
  transform = function(k, v)
    if k:sub(1, 2) == "s:" then return v .. "{0}" end
    if k == "h:1" then v["f{0}"] = "{0}"; return v end
    if k == "z:1" then v.b = v.b + 1; return v end
    if k == "t:1" or k == "l:1" then v[#v + 1] = "{0}"; return v end
    if k:sub(1, 3) == "mv:" then return ks.rename(k .. "{0}", v .. "{0}") end
  end }})",
                       tag);
  };
  dir.Write("0001_one.lua", body("1"));
  dir.Write("0002_two.lua", body("2"));
  Keyshift ks(server, dir);
  REQUIRE(ks.Run({"up"}).exit_code == 0);
  long long changes = RdbChanges(*conn);
  CliResult dry = ks.Run({"down", "--to", "0", "--dry-run"});
  INFO(Describe(dry));
  CHECK(dry.exit_code == 0);
  CHECK_THAT(dry.out, Catch::Contains("0002_two (dry-run): would restore") &&
                          Catch::Contains("0001_one (dry-run): would restore"));
  CHECK_THAT(dry.out, !Catch::Contains("conflict:") && !Catch::Contains("1 conflicts"));
  CHECK(RdbChanges(*conn) == changes);
  CHECK_THAT(dry.out, Catch::Contains("-v12") && Catch::Contains("+v1") && Catch::Contains("-v1\n") &&
                          Catch::Contains("+v\n"));

  SECTION("a real application change still shows as a conflict") {
    Cmd(*conn, {"SET", "s:1", "app"});
    CliResult again = ks.Run({"down", "--to", "0", "--dry-run"});
    CHECK_THAT(again.out, Catch::Contains("'s:1'") && Catch::Contains("conflict"));
  }
  SECTION("the real run agrees with the dry-run") {
    CliResult real = ks.Run({"down", "--to", "0"});
    INFO(Describe(real));
    CHECK(real.exit_code == 0);
    CHECK(Cmd(*conn, {"GET", "s:7"}).str == "v");
  }
}

TEST_CASE("plan and check warn when revert(transform(v)) differs from v on sampled keys", "[redis][revert]") {
  RedisServer server;
  auto conn = server.Connect();
  TempDir dir;
  SeedStrings(*conn, "u:", 20, "v1|ok");
  Cmd(*conn, {"SET", "u:7", "v1|lossy"});
  dir.Write("0001_shape.lua", R"(return {
  description = "v1 -> v2, revert loses 'lossy'",
  scan = { match = "u:*", type = "string" },
  transform = function(key, value) if value:sub(1, 3) == "v1|" then return "v2|" .. value:sub(4) end end,
  revert = function(key, value) return "v1|" .. value:sub(4):gsub("lossy", "") end,
})");
  Keyshift ks(server, dir);
  CliResult plan = ks.Run({"plan"});
  INFO(Describe(plan));
  CHECK(plan.exit_code == 0);
  CHECK_THAT(plan.out, Catch::Contains("19 of 20 sampled changed keys round-trip") && Catch::Contains("'u:7'"));
  CliResult check = ks.Run({"check"});
  INFO(Describe(check));
  CHECK(check.exit_code == 0);  // a warning, not an error
  CHECK_THAT(check.out, Catch::Contains("warning") && Catch::Contains("'u:7'") && !Catch::Contains("'u:8'"));
}

TEST_CASE("verify after down lists the keys down left in the journal", "[redis][revert]") {
  RedisServer server;
  auto conn = server.Connect();
  TempDir dir;
  SeedStrings(*conn, "u:", 10, "v1|x");
  dir.Write("0001_shape.lua", R"(return {
  description = "v1 -> v2, no revert",
  scan = { match = "u:*", type = "string" },
  transform = function(key, value) if value:sub(1, 3) == "v1|" then return "v2|" .. value:sub(4) end end,
  verify = function(key, value) return value:sub(1, 3) == "v2|", "old shape" end,
})");
  Keyshift ks(server, dir);
  REQUIRE(ks.Run({"up"}).exit_code == 0);
  Cmd(*conn, {"SET", "u:3", "v2|app"});
  REQUIRE(ks.Run({"down"}).exit_code == 1);  // u:3 is a conflict
  CliResult partial = ks.Run({"verify", "1"});
  INFO(Describe(partial));
  CHECK(partial.exit_code == 1);
  CHECK_THAT(partial.out, Catch::Contains("'u:3'") && Catch::Contains("1 failed") && !Catch::Contains("'u:4'"));
  REQUIRE(ks.Run({"down", "--force"}).exit_code == 0);
  CliResult clean = ks.Run({"verify", "1"});
  INFO(Describe(clean));
  CHECK(clean.exit_code == 0);
  CHECK_THAT(clean.out, Catch::Contains("rolled back") && Catch::Contains("0 failed"));
}

TEST_CASE("a server-mode migration's revert runs in keyshift during down", "[redis][revert]") {
  RedisServer server;
  auto conn = server.Connect();
  TempDir dir;
  SeedStrings(*conn, "u:", 5, "v1|x");
  dir.Write("0001_shape.lua", R"(return {
  description = "v1 -> v2 in the server",
  mode = "server",
  scan = { match = "u:*", type = "string" },
  transform = function(key, value) if value:sub(1, 3) == "v1|" then return "v2|" .. value:sub(4) end end,
  revert = function(key, value) if value:sub(1, 3) == "v2|" then return "v1|" .. value:sub(4) end end,
})");
  Keyshift ks(server, dir);
  CliResult up = ks.Run({"up"});
  INFO(Describe(up));
  REQUIRE(up.exit_code == 0);
  REQUIRE(Cmd(*conn, {"GET", "u:1"}).str == "v2|x");
  Cmd(*conn, {"SET", "u:1", "v2|app"});
  CliResult down = ks.Run({"down"});
  INFO(Describe(down));
  CHECK(down.exit_code == 0);
  CHECK(Values(*conn, NumberedKeys("u:", 0, 5)) == std::vector<std::string>{"v1|x", "v1|app", "v1|x", "v1|x", "v1|x"});
}
