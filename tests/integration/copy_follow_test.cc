// `keyshift copy --follow`: after the snapshot the target keeps in step with
// the source's sets, changes, deletes, renames and expiries; a lost
// subscription is made good by a full pass; Ctrl-C and --for end it with
// exit 0, the notification setting restored and the lock released; where
// notifications cannot be turned on it is exit 2 naming the setting.
#include <catch.hpp>
#include <nlohmann/json.hpp>

#include <signal.h>

#include <chrono>
#include <string>
#include <thread>

#include "tests/support/copy_fixtures.h"
#include "tests/support/integration_fixtures.h"

namespace keyshift::testing {
namespace {

// An application's writes of every kind: new keys, changed ones of each type,
// deletes, a rename, keys that expire, a type change.
void ApplicationWrites(RedisConnection& c, int round) {
  std::string r = std::to_string(round);
  Cmd(c, {"SET", "new:" + r, "v" + r});
  Cmd(c, {"SET", "k:" + std::to_string(round % 50), "changed" + r});
  Cmd(c, {"HSET", "h:" + r, "f", r});
  Cmd(c, {"RPUSH", "l:1", r});
  Cmd(c, {"SADD", "s:1", r});
  Cmd(c, {"ZADD", "z:1", r, "m" + r});
  Cmd(c, {"DEL", "k:" + std::to_string(100 + round)});
  Cmd(c, {"SET", "short:" + r, "x", "PX", "150"});
  Cmd(c, {"PEXPIRE", "k:" + std::to_string(150 + round), "100"});
  if (round == 7) Cmd(c, {"RENAME", "k:60", "moved:60"});
  if (round == 9) Cmd(c, {"DEL", "k:62"}), Cmd(c, {"LPUSH", "k:62", "now a list"});
}

std::string NotifySetting(RedisConnection& c) { return Strings(Cmd(c, {"CONFIG", "GET", "notify-keyspace-events"})).at(1); }

TEST_CASE("copy --follow: sets, changes, deletes, renames and expiries during --for reach the target; compare "
          "finds no difference", "[redis][copy][follow]") {
  TwoServers t;
  auto& [source, target, dir, src, dst, ks] = t;
  SeedStrings(*src, "k:", 200, "v");
  Cmd(*src, {"CONFIG", "SET", "notify-keyspace-events", "Ex"});
  TempDir scratch;
  Spawned run = SpawnKeyshift(
      ks.Args({"--output", "json", "copy", "--to", target.url(), "--batch", "20", "--follow", "--for", "3s"}),
      scratch, "follow");
  WaitForSubscriber(*src);
  for (int round = 0; round < 40; ++round) ApplicationWrites(*src, round);
  CliResult r = WaitKeyshift(run, 60);
  INFO(Describe(r));
  REQUIRE(r.exit_code == 0);
  auto j = Json(r);
  CHECK(j["follow"]["written"] > 0);
  CHECK(j["follow"]["deleted"] > 0);
  // Every write the application made before --for ended is on the target; what
  // expired is gone on both (the target's copies carry the same instant).
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  CliResult same = Compare(ks, target.url(), {"--full"});
  INFO(Describe(same));
  CHECK(same.exit_code == 0);
  CHECK(Json(same)["total"] == 0);
  CHECK(Cmd(*dst, {"EXISTS", "k:105"}).integer == 0);
  CHECK(Cmd(*dst, {"GET", "moved:60"}).str == "v");
  CHECK(Cmd(*dst, {"EXISTS", "k:60"}).integer == 0);
  CHECK(Cmd(*dst, {"TYPE", "k:62"}).str == "list");
  CHECK(NotifySetting(*src) == "xE");  // restored as it was
  CHECK(StateKeysOn(*dst).empty());     // lock, marks and checkpoint gone
}

TEST_CASE("copy --follow: a lost subscription is made good by a full pass; Ctrl-C ends it with exit 0",
          "[redis][copy][follow]") {
  TwoServers t;
  auto& [source, target, dir, src, dst, ks] = t;
  SeedStrings(*src, "k:", 50, "v");
  TempDir scratch("keyshift-signal");
  Spawned run = SpawnKeyshift(ks.Args({"--output", "json", "copy", "--to", target.url(), "--follow"}), scratch, "run");
  WaitForSubscriber(*src);
  WaitForReply(*dst, {"GET", "k:49"}, "v");  // the snapshot is on the target
  Cmd(*dst, {"SET", "only:target", "x"});  // the source is the truth for followed keys
  // Notifications of these writes may be lost with the connection: only the full pass finds them then.
  Cmd(*src, {"CLIENT", "KILL", "TYPE", "pubsub"});
  Cmd(*src, {"DEL", "k:1"});
  Cmd(*src, {"SET", "k:2", "while away"});
  WaitForSubscriber(*src);
  Cmd(*src, {"SET", "k:3", "after"});
  WaitForReply(*dst, {"GET", "k:3"}, "after");
  REQUIRE(kill(run.pid, SIGINT) == 0);
  CliResult r = WaitKeyshift(run);
  INFO(Describe(r));
  REQUIRE(r.exit_code == 0);
  CHECK(Json(r)["follow"]["resyncs"] == 1);
  CHECK(Cmd(*dst, {"EXISTS", "k:1"}).integer == 0);
  CHECK(Cmd(*dst, {"GET", "k:2"}).str == "while away");
  CHECK(Cmd(*dst, {"EXISTS", "only:target"}).integer == 0);
  CHECK(Cmd(*dst, {"EXISTS", "keyshift:{state}:lock"}).integer == 0);
  CHECK(NotifySetting(*src) == "");
  CliResult same = Compare(ks, target.url(), {"--full"});
  INFO(Describe(same));
  CHECK(Json(same)["total"] == 0);
}

TEST_CASE("copy --follow: notifications that cannot be turned on are exit 2 naming the setting; nothing copied",
          "[redis][copy][follow]") {
  TwoServers t;
  auto& [source, target, dir, src, dst, ks] = t;
  SeedStrings(*src, "k:", 5, "v");
  Cmd(*src, {"ACL", "SETUSER", "default", "-config|set"});
  CliResult r = ks.Run({"copy", "--to", target.url(), "--follow", "--for", "1s"});
  INFO(Describe(r));
  REQUIRE(r.exit_code == 2);
  CHECK(Contains(r.err, "notify-keyspace-events to 'Kg$lshzxe'"));
  CHECK(Cmd(*dst, {"DBSIZE"}).integer == 0);
  CHECK(ks.Run({"copy", "--to", target.url(), "--for", "1s"}).exit_code == 2);  // --for needs --follow
}

}  // namespace
}  // namespace keyshift::testing
