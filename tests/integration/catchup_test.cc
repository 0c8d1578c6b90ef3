// End to end: `keyshift catchup` against an application that keeps writing
// old-shape values and creating old-style keys during and after `up`
// (SPEC 5, guarantee 10). The migration appends "|n" and does not recognise
// its own output, so a second transform of one value shows as "|n|n", and a
// write keyshift missed shows as a value without "|n".
#include <signal.h>

#include <catch.hpp>

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "tests/support/integration_fixtures.h"

namespace keyshift::testing {
namespace {

bool Contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

// The application: rewrites doc:0..existing-1 and creates doc:n<seq> keys,
// always in the old shape ("w<seq>"), remembering each key's last
// acknowledged value. Runs on its own thread and connection; no Catch2 macro
// runs there.
class AppWriter {
 public:
  AppWriter(const RedisServer& server, int existing) : conn_(server.Connect()), existing_(existing) {}
  ~AppWriter() { Stop(); }
  void Start() {
    stop_ = false;
    thread_ = std::thread([this] { Loop(); });
  }
  void Stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  const std::map<std::string, std::string>& last() const { return last_; }
  long long writes() const { return writes_; }
  // Waits until `n` more writes were acknowledged (a count, not a time).
  void WaitForWrites(long long n) {
    long long target = writes_ + n;
    while (writes_ < target) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }

 private:
  void Loop() {
    while (!stop_) {
      ++seq_;
      std::string key = seq_ % 3 == 0 ? "doc:n" + std::to_string(seq_) : "doc:" + std::to_string(seq_ % existing_);
      std::string value = "w" + std::to_string(seq_);
      if (conn_->Call({"SET", key, value}).ok()) {
        last_[key] = value;
        ++writes_;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  }
  std::unique_ptr<RedisConnection> conn_;
  int existing_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  long long seq_ = 0;
  std::atomic<long long> writes_{0};
  std::map<std::string, std::string> last_;
};

// Every acknowledged write is present, transformed exactly once; every doc
// key is in the new shape, none twice.
void RequireEveryWriteCaughtOnce(RedisConnection& conn, const AppWriter& app) {
  for (const auto& [key, value] : app.last()) {
    auto now = conn.Call({"GET", key});
    REQUIRE(now.ok());
    INFO("key " << key);
    REQUIRE(now->str == value + "|n");
  }
  auto keys = ScanKeys(conn, "doc:*");
  auto values = Values(conn, keys);
  for (size_t i = 0; i < keys.size(); ++i) {
    INFO("key " << keys[i] << " = " << values[i]);
    REQUIRE(values[i].size() > 2);
    REQUIRE(values[i].substr(values[i].size() - 2) == "|n");
    REQUIRE_FALSE(Contains(values[i], "|n|n"));
  }
}

// A private server with one migration applied (`up`) over what `seed` wrote.
struct Applied {
  Applied(const std::string& migration, const std::function<void(RedisConnection&)>& seed,
          RedisServer::Options options = {})
      : server(std::move(options)) {
    dir.Write("0001_m.lua", migration);
    seed(*conn);
    CliResult up = ks.Run({"up"});
    INFO(Describe(up));
    REQUIRE(up.exit_code == 0);
  }
  RedisServer server;
  std::unique_ptr<RedisConnection> conn = server.Connect();
  TempDir dir;
  Keyshift ks{server, dir};
};

long long LedgerCaught(const Keyshift& ks) {
  CliResult r = ks.Run({"--output", "json", "status"});
  auto j = nlohmann::json::parse(r.out, nullptr, false);
  REQUIRE_FALSE(j.is_discarded());
  return j.at("migrations").at(0).at("ledger").value("caught", -1LL);
}

TEST_CASE("catchup transforms every application write exactly once, during and after up", "[redis][catchup]") {
  const std::string workers = GENERATE("1", "4");  // up's and the rescans' transform threads
  RedisServer server;
  auto conn = server.Connect();
  TempDir dir;
  dir.Write("0001_n.lua", AppendMigration("doc:*", "|n", 50));
  SeedStrings(*conn, "doc:", 300, "s");
  Keyshift ks(server, dir);
  AppWriter app(server, 300);
  app.Start();
  app.WaitForWrites(20);
  CliResult up = ks.Run({"up", "--workers", workers});
  INFO("--workers " << workers << "\n" << Describe(up));
  REQUIRE(up.exit_code == 0);
  app.WaitForWrites(100);
  CliResult during = ks.Run({"catchup", "1", "--workers", workers});  // the application is still writing
  INFO(Describe(during));
  REQUIRE(during.exit_code == 0);
  app.WaitForWrites(100);
  app.Stop();
  CliResult after = ks.Run({"catchup", "1", "--workers", workers});
  INFO(Describe(after));
  REQUIRE(after.exit_code == 0);
  REQUIRE(Contains(after.out, "caught"));
  RequireEveryWriteCaughtOnce(*conn, app);
  REQUIRE(LedgerCaught(ks) > 0);
  REQUIRE(Contains(ks.Run({"status"}).out, "catch-up caught"));

  // Nothing new: a third catch-up changes no key.
  auto before = SnapshotData(*conn);
  CliResult again = ks.Run({"catchup", "1"});
  INFO(Describe(again));
  REQUIRE(again.exit_code == 0);
  REQUIRE(Contains(again.out, "caught 0"));
  REQUIRE(SnapshotData(*conn) == before);

  // The journal holds the application's last write before keyshift changed each key.
  CliResult down = ks.Run({"down"});
  INFO(Describe(down));
  REQUIRE(down.exit_code == 0);
  for (const auto& [key, value] : app.last()) {
    INFO("key " << key);
    REQUIRE(Values(*conn, {key}).at(0) == value);
  }
}

TEST_CASE("catchup --follow transforms writes as the application makes them", "[redis][catchup]") {
  Applied a(AppendMigration("doc:*", "|n", 50), [](RedisConnection& c) { SeedStrings(c, "doc:", 200, "s"); });
  auto& [server, conn, dir, ks] = a;
  TempDir scratch;
  Spawned follow = SpawnKeyshift(ks.Args({"catchup", "1", "--follow", "--for", "3s"}), scratch, "follow");
  WaitForSubscriber(*conn);
  AppWriter app(server, 200);
  app.Start();
  app.WaitForWrites(300);
  app.Stop();
  CliResult r = WaitKeyshift(follow, 30);
  INFO(Describe(r));
  REQUIRE(r.exit_code == 0);
  REQUIRE(Contains(r.out, "following"));
  RequireEveryWriteCaughtOnce(*conn, app);
  // keyshift turned notifications on for the run and restored the setting after.
  REQUIRE(Strings(Cmd(*conn, {"CONFIG", "GET", "notify-keyspace-events"})).at(1) == "");
}

TEST_CASE("catchup --dry-run shows the diffs and writes nothing", "[redis][catchup]") {
  Applied a(AppendMigration("doc:*", "|n"), [](RedisConnection& c) { SeedStrings(c, "doc:", 20, "s"); });
  auto& [server, conn, dir, ks] = a;
  Cmd(*conn, {"SET", "doc:3", "app-old"});
  Cmd(*conn, {"SET", "doc:new", "created"});
  long long changes = RdbChanges(*conn);
  CliResult r = ks.Run({"catchup", "1", "--dry-run"});
  INFO(Describe(r));
  REQUIRE(r.exit_code == 0);
  REQUIRE(Contains(r.out, "app-old|n"));
  REQUIRE(Contains(r.out, "created|n"));
  REQUIRE(Contains(r.out, "would change 2"));
  REQUIRE(RdbChanges(*conn) == changes);
  REQUIRE(Values(*conn, {"doc:3"}).at(0) == "app-old");
}

TEST_CASE("catchup --follow exits 2 naming the setting when CONFIG is refused", "[redis][catchup]") {
  SECTION("CONFIG SET denied by ACL") {
    Applied a(AppendMigration("doc:*", "|n"), [](RedisConnection& c) { Cmd(c, {"SET", "doc:1", "x"}); });
    auto& [server, conn, dir, ks] = a;
    Cmd(*conn, {"ACL", "SETUSER", "default", "-config|set"});
    Cmd(*conn, {"SET", "doc:2", "y"});
    CliResult r = ks.Run({"catchup", "1", "--follow", "--for", "1s"});
    INFO(Describe(r));
    REQUIRE(r.exit_code == 2);
    REQUIRE(Contains(r.err, "notify-keyspace-events to 'Kg$lshz'"));
    REQUIRE(Values(*conn, {"doc:2"}).at(0) == "y");  // refused before anything was written
  }
  SECTION("CONFIG renamed away") {
    Applied a(AppendMigration("doc:*", "|n"), [](RedisConnection& c) { Cmd(c, {"SET", "doc:1", "x"}); },
              RedisServer::Options{{"--rename-command", "CONFIG", ""}, ""});
    CliResult r = a.ks.Run({"catchup", "1", "--follow"});
    INFO(Describe(r));
    REQUIRE(r.exit_code == 2);
    REQUIRE(Contains(r.err, "notify-keyspace-events must include 'Kg$lshz'"));
  }
}

TEST_CASE("catchup: a deleted key the application recreates is deleted again; down restores the recreated value",
          "[redis][catchup]") {
  RedisServer server;
  auto conn = server.Connect();
  TempDir dir;
  dir.Write("0001_drop.lua", R"LUA(return {
  description = "drop gone:*",
  scan = { match = "gone:*" },
  transform = function(key, value) return ks.DELETE end,
}
)LUA");
  SeedStrings(*conn, "gone:", 3, "old");
  Keyshift ks(server, dir);
  REQUIRE(ks.Run({"up"}).exit_code == 0);
  Cmd(*conn, {"SET", "gone:1", "back"});
  CliResult r = ks.Run({"catchup", "1"});
  INFO(Describe(r));
  REQUIRE(r.exit_code == 0);
  REQUIRE(Contains(r.out, "caught 1"));
  REQUIRE(Cmd(*conn, {"EXISTS", "gone:1"}).integer == 0);
  REQUIRE(ks.Run({"down"}).exit_code == 0);
  REQUIRE(Values(*conn, {"gone:0", "gone:1", "gone:2"}) == std::vector<std::string>{"old", "back", "old"});
}

TEST_CASE("catchup refuses a migration that is not applied", "[redis][catchup]") {
  RedisServer server;
  TempDir dir;
  dir.Write("0001_n.lua", AppendMigration("doc:*", "|n"));
  Keyshift ks(server, dir);
  CliResult r = ks.Run({"catchup", "1"});
  INFO(Describe(r));
  REQUIRE(r.exit_code == 2);
  REQUIRE(Contains(r.err, "not applied"));
}

TEST_CASE("catchup on hashes: a rewritten hash is transformed once, by content, not by DUMP", "[redis][catchup]") {
  RedisServer server;
  auto conn = server.Connect();
  TempDir dir;
  dir.Write("0001_h.lua", R"LUA(return {
  description = "append |n to field n",
  scan = { match = "h:*", type = "hash" },
  transform = function(key, value) value.n = (value.n or "") .. "|n"; return value end,
}
)LUA");
  for (int i = 1; i <= 3; ++i) Cmd(*conn, {"HSET", "h:" + std::to_string(i), "n", "a", "f", "x"});
  Keyshift ks(server, dir);
  REQUIRE(ks.Run({"up"}).exit_code == 0);
  Cmd(*conn, {"HSET", "h:2", "n", "b"});  // the application rewrites one field
  Cmd(*conn, {"HSET", "h:9", "n", "c"});  // and creates a key
  Cmd(*conn, {"HGETALL", "h:1"});         // a mere read changes nothing
  CliResult r = ks.Run({"catchup", "1"});
  INFO(Describe(r));
  REQUIRE(r.exit_code == 0);
  REQUIRE(Contains(r.out, "caught 2"));
  CliResult again = ks.Run({"--output", "json", "catchup", "1"});
  INFO(Describe(again));
  auto j = nlohmann::json::parse(again.out, nullptr, false);
  REQUIRE_FALSE(j.is_discarded());
  REQUIRE(j.at("caught") == 0);
  REQUIRE(j.at("skipped") == 4);  // all four hold keyshift's own writes: done
  for (auto [key, n] : {std::pair{"h:1", "a|n"}, {"h:2", "b|n"}, {"h:9", "c|n"}})
    REQUIRE(Cmd(*conn, {"HGET", key, "n"}).str == n);
}

TEST_CASE("Ctrl-C stops catchup at a batch boundary; the next catchup resumes, each write caught once",
          "[redis][catchup]") {
  RedisServer server;
  auto conn = server.Connect();
  TempDir dir, scratch("keyshift-signal");
  dir.Write("0001_n.lua", AppendMigration("s:*", "|n", 50, 2));
  SeedStrings(*conn, "s:", 400, "v");
  Keyshift ks(server, dir);
  REQUIRE(ks.Run({"up"}).exit_code == 0);
  SeedStrings(*conn, "s:", 400, "w");  // the application rewrites every key in the old shape
  Spawned run = SpawnKeyshift(ks.Args({"catchup", "1"}), scratch, "run");
  for (int i = 0; i < 1000 && !Cmd(*conn, {"HEXISTS", "keyshift:{state}:catchup:1", "changed"}).integer; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  REQUIRE(kill(run.pid, SIGINT) == 0);
  CliResult r = WaitKeyshift(run);
  INFO(Describe(r));
  REQUIRE(r.exit_code == 130);
  REQUIRE(Cmd(*conn, {"EXISTS", "keyshift:{state}:catchup:1"}).integer == 1);
  REQUIRE(Cmd(*conn, {"EXISTS", "keyshift:{state}:lock"}).integer == 0);
  CliResult status = ks.Run({"status"});
  REQUIRE(Contains(status.out, "applied"));  // catch-up's checkpoint is not up's
  REQUIRE_FALSE(Contains(status.out, "interrupted"));
  CliResult resumed = ks.Run({"catchup", "1"});
  INFO(Describe(resumed));
  REQUIRE(resumed.exit_code == 0);
  REQUIRE(Contains(resumed.out, "resumed"));
  for (const auto& v : Values(*conn, NumberedKeys("s:", 0, 400))) REQUIRE(v == "w|n");
  REQUIRE(LedgerCaught(ks) == 400);
}

TEST_CASE("Ctrl-C ends catchup --follow with exit 0, the setting restored and the lock released",
          "[redis][catchup]") {
  Applied a(AppendMigration("doc:*", "|n"), [](RedisConnection& c) {
    Cmd(c, {"CONFIG", "SET", "notify-keyspace-events", "Ex"});
    Cmd(c, {"SET", "doc:1", "v"});
  });
  auto& [server, conn, dir, ks] = a;
  TempDir scratch("keyshift-signal");
  Spawned run = SpawnKeyshift(ks.Args({"catchup", "1", "--follow"}), scratch, "run");
  WaitForSubscriber(*conn);
  Cmd(*conn, {"SET", "doc:2", "app"});
  WaitForReply(*conn, {"GET", "doc:2"}, "app|n");
  REQUIRE(kill(run.pid, SIGINT) == 0);
  CliResult r = WaitKeyshift(run);
  INFO(Describe(r));
  REQUIRE(r.exit_code == 0);
  REQUIRE(Contains(r.out, "following"));
  REQUIRE(LedgerCaught(ks) == 1);  // by the rescan or the follower (the write may land in either), once
  REQUIRE(Strings(Cmd(*conn, {"CONFIG", "GET", "notify-keyspace-events"})).at(1) == "xE");
  REQUIRE(Cmd(*conn, {"EXISTS", "keyshift:{state}:lock"}).integer == 0);
  REQUIRE(Values(*conn, {"doc:1"}).at(0) == "v|n");
}

TEST_CASE("catchup: a renamed-away key the application recreates replaces the target keyshift made, unless the "
          "target changed since", "[redis][catchup]") {
  RedisServer server;
  auto conn = server.Connect();
  TempDir dir;
  dir.Write("0001_mv.lua", R"LUA(return {
  description = "user:N -> account:N",
  scan = { match = "user:*", type = "string" },
  transform = function(key, value) return ks.rename("account:" .. key:sub(6), value .. "|n") end,
}
)LUA");
  Cmd(*conn, {"SET", "user:1", "a"});
  Keyshift ks(server, dir);
  REQUIRE(ks.Run({"up"}).exit_code == 0);
  Cmd(*conn, {"SET", "user:1", "again"});  // an old instance writes the old key
  SECTION("the target is as keyshift made it: the later write moves over it") {
    CliResult dry = ks.Run({"catchup", "1", "--dry-run"});
    INFO(Describe(dry));
    REQUIRE(Contains(dry.out, "would rename 1"));
    CliResult r = ks.Run({"catchup", "1"});
    INFO(Describe(r));
    REQUIRE(r.exit_code == 0);
    REQUIRE(Contains(r.out, "renamed 1"));
    REQUIRE(Cmd(*conn, {"EXISTS", "user:1"}).integer == 0);
    REQUIRE(Values(*conn, {"account:1"}).at(0) == "again|n");
    REQUIRE(ks.Run({"down"}).exit_code == 0);  // back to the application's last old-shape write
    REQUIRE(Values(*conn, {"user:1"}).at(0) == "again");
    REQUIRE(Cmd(*conn, {"EXISTS", "account:1"}).integer == 0);
  }
  SECTION("the new application wrote the target since: a conflict, both keys left as they are") {
    Cmd(*conn, {"SET", "account:1", "new-app"});
    CliResult dry = ks.Run({"catchup", "1", "--dry-run"});
    REQUIRE(Contains(dry.all(), "already exists"));
    CliResult r = ks.Run({"catchup", "1"});
    INFO(Describe(r));
    REQUIRE(r.exit_code == 1);
    REQUIRE(Contains(r.err, "'account:1' already exists"));
    REQUIRE(Values(*conn, {"user:1", "account:1"}) == std::vector<std::string>{"again", "new-app"});
  }
}

TEST_CASE("catchup --follow: a dropped subscriber resubscribes and rescans, so a write made meanwhile is caught",
          "[redis][catchup]") {
  Applied a(AppendMigration("doc:*", "|n"), [](RedisConnection& c) { Cmd(c, {"SET", "doc:1", "v"}); });
  auto& [server, conn, dir, ks] = a;
  TempDir scratch;
  Spawned follow = SpawnKeyshift(ks.Args({"catchup", "1", "--follow", "--for", "3s"}), scratch, "follow");
  WaitForSubscriber(*conn);
  REQUIRE(Cmd(*conn, {"CLIENT", "KILL", "TYPE", "pubsub"}).integer == 1);
  Cmd(*conn, {"SET", "doc:2", "while-away"});  // no subscriber hears this one
  WaitForReply(*conn, {"GET", "doc:2"}, "while-away|n");
  CliResult r = WaitKeyshift(follow, 30);
  INFO(Describe(r));
  REQUIRE(r.exit_code == 0);
  REQUIRE(Values(*conn, {"doc:1", "doc:2"}) == std::vector<std::string>{"v|n", "while-away|n"});
}

TEST_CASE("catchup of a server-mode migration runs through the host CAS path", "[redis][catchup]") {
  RedisServer server;
  auto conn = server.Connect();
  TempDir dir;
  dir.Write("0001_n.lua", R"LUA(return {
  description = "append |n in Redis",
  mode = "server",
  scan = { match = "doc:*", type = "string" },
  transform = function(key, value) return value .. "|n" end,
}
)LUA");
  SeedStrings(*conn, "doc:", 5, "v");
  Keyshift ks(server, dir);
  REQUIRE(ks.Run({"up"}).exit_code == 0);
  Cmd(*conn, {"SET", "doc:1", "app"});
  CliResult r = ks.Run({"catchup", "1"});
  INFO(Describe(r));
  REQUIRE(r.exit_code == 0);
  REQUIRE(Values(*conn, NumberedKeys("doc:", 0, 3)) == std::vector<std::string>{"v|n", "app|n", "v|n"});
}

TEST_CASE("catchup refuses a migration whose journal was pruned (every key would look new)", "[redis][catchup]") {
  Applied a(AppendMigration("doc:*", "|n"), [](RedisConnection& c) { Cmd(c, {"SET", "doc:1", "v"}); });
  auto& [server, conn, dir, ks] = a;
  REQUIRE(ks.Run({"prune", "1", "--yes"}).exit_code == 0);
  CliResult r = ks.Run({"catchup", "1"});
  INFO(Describe(r));
  REQUIRE(r.exit_code == 2);
  REQUIRE(Contains(r.err, "pruned"));
  REQUIRE(Values(*conn, {"doc:1"}).at(0) == "v|n");
}

TEST_CASE("catchup usage errors exit 2", "[redis][catchup]") {
  RedisServer server;
  TempDir dir;
  dir.Write("0001_n.lua", AppendMigration("doc:*", "|n"));
  Keyshift ks(server, dir);
  REQUIRE(ks.Run({"up"}).exit_code == 0);
  for (const auto& args : std::vector<std::vector<std::string>>{{"catchup", "1", "--for", "3s"},
                                                                {"catchup", "1", "--follow", "--dry-run"},
                                                                {"catchup", "1", "--follow", "--for", "3 days"},
                                                                {"catchup", "7"}}) {
    CliResult r = ks.Run(args);
    INFO(Describe(r));
    REQUIRE(r.exit_code == 2);
  }
}

}  // namespace
}  // namespace keyshift::testing
