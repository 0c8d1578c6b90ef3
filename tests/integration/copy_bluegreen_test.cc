// Blue/green with transforms (docs/copy.md runbook): `copy --apply --follow`
// keeps green in the new shape while the application writes to blue;
// `copy --apply` into a cluster keeps renames in their slot; and the way
// back, `copy --revert` from green to blue, brings green's writes to blue
// in the old shape, refusing up front a migration without `revert` unless
// --without-revert names it.
#include <catch.hpp>
#include <nlohmann/json.hpp>

#include <string>

#include "tests/support/copy_fixtures.h"
#include "tests/support/integration_fixtures.h"
#include "tests/support/redis_cluster.h"

namespace keyshift::testing {
namespace {

// p:* hashes: name -> full_name, and back.
constexpr const char* kFullName = R"(return {
  description = "p:* name -> full_name",
  scan = { match = "p:*", type = "hash" },
  transform = function(key, value)
    if value.name == nil then return nil end
    value.full_name, value.name = value.name, nil
    return value
  end,
  revert = function(key, value)
    if value.full_name == nil then return nil end
    value.name, value.full_name = value.full_name, nil
    return value
  end,
})";

// old:* -> new:*, tmp:* deleted: renames and deletes for --follow.
constexpr const char* kMoveOld = R"(return {
  description = "old:* -> new:*",
  scan = { match = "old:*", type = "string" },
  transform = function(key, value) return ks.rename("new:" .. key:sub(5), value .. "!") end,
})";
constexpr const char* kDropTmp = R"(return {
  description = "tmp:* deleted",
  scan = { match = "tmp:*" },
  transform = function(key, value) return ks.DELETE end,
})";

// t:* strings upper-cased, with no way back.
constexpr const char* kUpper = R"(return {
  description = "t:* upper case",
  scan = { match = "t:*", type = "string" },
  transform = function(key, value) return value:upper() end,
})";

void SeedPeople(RedisConnection& c, int n) {
  for (int i = 0; i < n; ++i) Cmd(c, {"HSET", "p:" + std::to_string(i), "name", "n" + std::to_string(i), "age", "7"});
}

TEST_CASE("copy --apply --follow: writes, renames and deletes on blue reach green in the new shape; compare --apply "
          "finds nothing", "[redis][copy][apply][follow]") {
  TwoServers t;
  auto& [source, target, dir, src, dst, ks] = t;
  SeedPeople(*src, 50);
  SeedStrings(*src, "old:", 10, "v");
  dir.Write("0001_full_name.lua", kFullName);
  dir.Write("0002_move_old.lua", kMoveOld);
  dir.Write("0003_drop_tmp.lua", kDropTmp);
  TempDir scratch;
  Spawned run = SpawnKeyshift(ks.Args({"--output", "json", "copy", "--to", target.url(), "--apply", "--batch", "20",
                                       "--follow", "--for", "3s"}),
                              scratch, "follow");
  WaitForSubscriber(*src);
  WaitForReply(*dst, {"GET", "new:9"}, "v!");  // the snapshot is on green
  for (int i = 0; i < 20; ++i) {
    std::string n = std::to_string(i);
    Cmd(*src, {"HSET", "p:" + n, "name", "renamed " + n});
    Cmd(*src, {"HSET", "p:new" + n, "name", "new " + n});
    Cmd(*src, {"SET", "old:x" + n, "w" + n});
    Cmd(*src, {"SET", "tmp:" + n, "scratch"});
  }
  Cmd(*src, {"DEL", "old:2", "p:3"});
  Cmd(*src, {"SET", "old:5", "changed"});
  CliResult r = WaitKeyshift(run, 60);
  INFO(Describe(r));
  REQUIRE(r.exit_code == 0);
  CHECK(Cmd(*dst, {"HGET", "p:4", "full_name"}).str == "renamed 4");
  CHECK(Cmd(*dst, {"HGET", "p:new4", "full_name"}).str == "new 4");
  CHECK(Cmd(*dst, {"GET", "new:x4"}).str == "w4!");
  CHECK(Cmd(*dst, {"GET", "new:5"}).str == "changed!");
  CHECK(Cmd(*dst, {"EXISTS", "new:2", "p:3"}).integer == 0);
  CHECK(ScanKeys(*dst, "old:*").empty());
  CHECK(ScanKeys(*dst, "tmp:*").empty());
  CHECK(ScanKeys(*dst, "keyshift:*") == std::vector<std::string>{"keyshift:{state}:ledger"});
  ExpectNoDifference(ks, target.url(), {"--apply", "--full"});
}

TEST_CASE("copy --apply into a 3-primary cluster: renames stay in their slot, one across slots is refused naming the "
          "key", "[redis][cluster][copy][apply]") {
  RedisServer source;
  RedisCluster cluster;
  TempDir dir;
  auto src = source.Connect();
  for (int i = 0; i < 300; ++i)
    Cmd(*src, {"SET", "old:{u" + std::to_string(i % 40) + "}:" + std::to_string(i), "v"});
  Cmd(*src, {"SET", "old:nohashtag", "v"});  // new:nohashtag is in another slot
  dir.Write("0001_move_old.lua", kMoveOld);
  Keyshift ks(source, dir);

  CliResult refused = Copy(ks, cluster.url(), {"--apply"});
  INFO(Describe(refused));
  CHECK(refused.exit_code == 1);
  REQUIRE(Json(refused)["key_errors"].size() == 1);
  std::string message = Json(refused)["key_errors"][0]["message"];
  CHECK(Contains(message, "crosses hash slots"));
  CHECK(Contains(message, "'old:nohashtag'"));
  CHECK(cluster.Keys("new:*").size() == 300);  // the others are copied

  Cmd(*src, {"DEL", "old:nohashtag"});  // retried by the next run: gone from the source now
  CliResult r = Copy(ks, cluster.url(), {"--apply"});
  INFO(Describe(r));
  REQUIRE(r.exit_code == 0);
  CHECK(cluster.Keys("new:*").size() == 300);
  CHECK(cluster.Keys("old:*").empty());
  ExpectNoDifference(ks, cluster.url(), {"--apply", "--full"});
}

TEST_CASE("copy --revert: the way back brings green's writes to blue in the old shape; a migration without revert is "
          "refused unless --without-revert names it", "[redis][copy][revert]") {
  TwoServers t;
  auto& [blue_server, green_server, dir, blue, green, ks] = t;
  SeedPeople(*blue, 20);
  Cmd(*blue, {"SET", "t:a", "x"});
  dir.Write("0001_full_name.lua", kFullName);
  dir.Write("0002_upper.lua", kUpper);
  REQUIRE(Copy(ks, green_server.url(), {"--apply"}).exit_code == 0);  // there: blue to green

  // Green in service: the application writes the new shape.
  Cmd(*green, {"HSET", "p:5", "full_name", "changed on green"});
  Cmd(*green, {"HSET", "p:new", "full_name", "born on green", "age", "1"});
  Cmd(*green, {"DEL", "p:3"});
  Cmd(*green, {"SET", "t:b", "Y"});

  // Back: blue emptied (so green's deletes show), then green copied into it through the reverts.
  Cmd(*blue, {"FLUSHDB"});
  Keyshift from_green(green_server, dir);
  CliResult refused = Copy(from_green, blue_server.url(), {"--revert", "--dry-run"});
  INFO(Describe(refused));
  CHECK(refused.exit_code == 2);
  CHECK(Contains(refused.err, "0002_upper"));
  CHECK(Contains(refused.err, "--without-revert 2"));
  CliResult dry = Copy(from_green, blue_server.url(), {"--revert", "--without-revert", "2", "--dry-run"});
  INFO(Describe(dry));
  CHECK(dry.exit_code == 0);
  CHECK(Json(dry)["transformed"] == 20);  // 19 seeded (one deleted) and one new, name back
  CHECK(Cmd(*blue, {"DBSIZE"}).integer == 0);

  // Blue follows green, through the revert, while green still takes writes.
  TempDir scratch;
  Spawned run = SpawnKeyshift(from_green.Args({"--output", "json", "copy", "--to", blue_server.url(), "--revert",
                                               "--without-revert", "2", "--follow", "--for", "2s"}),
                              scratch, "back");
  WaitForSubscriber(*green);
  Cmd(*green, {"HSET", "p:6", "full_name", "during the follow"});
  CliResult back = WaitKeyshift(run, 60);
  INFO(Describe(back));
  REQUIRE(back.exit_code == 0);
  CHECK(Cmd(*blue, {"HGET", "p:6", "name"}).str == "during the follow");
  CHECK(PairMap(Cmd(*blue, {"HGETALL", "p:5"})) == std::map<std::string, std::string>{{"name", "changed on green"},
                                                                                       {"age", "7"}});
  CHECK(Cmd(*blue, {"HGET", "p:new", "name"}).str == "born on green");
  CHECK(Cmd(*blue, {"EXISTS", "p:3"}).integer == 0);
  CHECK(Cmd(*blue, {"GET", "t:b"}).str == "Y");  // 0002 stays in its new shape
  CHECK(Cmd(*blue, {"GET", "t:a"}).str == "X");

  // Blue's ledger: 0001 not applied (reverted), 0002 applied (copied in its shape).
  CliResult status = ks.Run({"--output", "json", "status"});
  auto migrations = Json(status)["migrations"];
  REQUIRE(migrations.size() == 2);
  CHECK(migrations[0]["status"] == "pending");
  CHECK(migrations[1]["status"] == "applied");

  ExpectNoDifference(from_green, blue_server.url(), {"--revert", "--without-revert", "2", "--full"});
  CHECK(Compare(from_green, blue_server.url(), {"--full"}).exit_code == 1);
}

}  // namespace
}  // namespace keyshift::testing
