// `keyshift copy --apply` and `compare --apply`: the source's pending
// migrations run on the way (the examples' hash, JSON and rename/delete
// migrations, plus a rename and a delete written here), green gets the new
// shape and a ledger saying so, blue keeps the old one; compare through the
// same transforms finds nothing, or the wrong value; a failing transform
// stops the copy naming file:line and key; kill -9 and resume transform each
// key exactly once.
#include <catch.hpp>
#include <nlohmann/json.hpp>

#include <signal.h>

#include <chrono>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>

#include "tests/support/cluster_fixtures.h"
#include "tests/support/copy_fixtures.h"
#include "tests/support/integration_fixtures.h"

namespace keyshift::testing {
namespace {

std::string ReadText(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// examples/seed.lua at scale 1: users, settings, sessions and three others.
void SeedExamples(RedisConnection& conn) {
  Cmd(conn, {"EVAL", ReadText(SourcePath("examples/seed.lua")), "0", "1"});
}

void WriteExamples(const TempDir& dir) {
  for (const char* name : {"0001_users_created_at_epoch.lua", "0002_settings_v2.lua", "0003_sessions_rename.lua"})
    dir.Write(name, ReadText(SourcePath(std::string("examples/migrations/") + name)));
}

// A rename of a zset and a delete of a list, written for these tests.
constexpr const char* kRenameBoards = R"(return {
  description = "leaderboard:<period> -> board:<period>",
  scan = { match = "leaderboard:*", type = "zset" },
  transform = function(key, value) return ks.rename("board:" .. key:sub(13), value) end,
})";
constexpr const char* kDropQueues = R"(return {
  description = "queue:* lists are gone",
  scan = { match = "queue:*", type = "list" },
  transform = function(key, value) return ks.DELETE end,
})";

nlohmann::json StatusJson(const Keyshift& ks) {
  CliResult r = ks.Run({"--output", "json", "status"});
  INFO(Describe(r));
  REQUIRE(r.exit_code == 0);
  return Json(r);
}

TEST_CASE("copy --apply: the examples and a rename and a delete run on the way; green is in the new shape and its "
          "ledger says so, blue is untouched", "[redis][copy][apply]") {
  TwoServers t;
  auto& [source, target, dir, src, dst, ks] = t;
  SeedExamples(*src);
  WriteExamples(dir);
  dir.Write("0004_boards.lua", kRenameBoards);
  dir.Write("0005_queues.lua", kDropQueues);
  // 0001 is applied on blue already: its shape is copied as it is, not transformed again.
  REQUIRE(ks.Run({"up", "--to", "1"}).exit_code == 0);
  auto blue = SnapshotData(*src);
  auto blue_ledger = Cmd(*src, {"HGETALL", "keyshift:{state}:ledger"});

  CliResult dry = Copy(ks, target.url(), {"--apply", "--dry-run"});
  INFO(Describe(dry));
  REQUIRE(dry.exit_code == 0);
  CHECK(Json(dry)["dropped"] == 59);  // 58 revoked sessions and the queue
  CHECK(Json(dry)["diffs"].size() > 0);
  CHECK(Cmd(*dst, {"DBSIZE"}).integer == 0);

  CliResult r = Copy(ks, target.url(), {"--apply"});
  INFO(Describe(r));
  REQUIRE(r.exit_code == 0);
  auto j = Json(r);
  CHECK(j["transformed"] == 475 + 242 + 1);  // v1 settings (every 20th is v2 already), live sessions, the board
  CHECK(j["renamed"] == 243);
  CHECK(j["dropped"] == 59);
  CHECK(j["copied"] == 2000 + 500 + 242 + 3 - 1);
  CHECK(ScanKeys(*dst, "sess:*").empty());
  CHECK(ScanKeys(*dst, "session:*").size() == 242);
  CHECK(ScanKeys(*dst, "queue:*").empty());
  CHECK(Cmd(*dst, {"ZCARD", "board:weekly"}).integer == Cmd(*src, {"ZCARD", "leaderboard:weekly"}).integer);
  CHECK(SnapshotData(*src) == blue);  // blue keeps the old shape
  CHECK(Strings(Cmd(*src, {"HGETALL", "keyshift:{state}:ledger"})) == Strings(blue_ledger));

  // Through the same transforms, blue and green hold the same; plainly, they do not.
  ExpectNoDifference(ks, target.url(), {"--apply", "--full"});
  CHECK(Compare(ks, target.url(), {"--full"}).exit_code == 1);

  // Green: every migration applied (copied), verify passes, `up` is a no-op, `down` points to the way back.
  Keyshift green(target, dir);
  auto status = StatusJson(green);
  for (const auto& m : status["migrations"]) {
    CHECK(m["status"] == "applied");
    CHECK(Contains(m.dump(), "copied_from"));
  }
  // What each migration run on the way did; 0001's record is blue's own.
  auto ledger = [&status](int i) { return status["migrations"][i]["ledger"]; };
  CHECK(ledger(0)["changed"] == Json(ks.Run({"--output", "json", "status"}))["migrations"][0]["ledger"]["changed"]);
  CHECK(ledger(1)["changed"] == 475);
  CHECK(ledger(2)["scanned"] == 300);
  CHECK(ledger(2)["renamed"] == 242);
  CHECK(ledger(2)["deleted"] == 58);
  CHECK(ledger(3)["renamed"] == 1);
  CHECK(ledger(4)["deleted"] == 1);
  CHECK(green.Run({"verify"}).exit_code == 0);
  auto before_up = SnapshotData(*dst);
  CliResult up = green.Run({"up"});
  CHECK(Contains(up.out, "nothing to do"));
  CHECK(SnapshotData(*dst) == before_up);
  CliResult down = green.Run({"down"});
  CHECK(down.exit_code == 1);
  CHECK(Contains(down.err, "copy --revert"));
  CHECK(ScanKeys(*dst, "keyshift:*") == std::vector<std::string>{"keyshift:{state}:ledger"});
}

// Counters on a hash: +1 per application, so a second one shows.
constexpr const char* kBumpHash = R"(return {
  description = "n:* seen +1",
  scan = { match = "n:*", type = "hash", batch = 20 },
  transform = function(key, value)
    value.seen = tostring(tonumber(value.seen) + 1)
    return value
  end,
})";

void SeedCounters(RedisConnection& c, int n) {
  for (int i = 0; i < n; ++i) Cmd(c, {"HSET", "n:" + std::to_string(i), "seen", "0"});
}

TEST_CASE("compare --apply: finds a wrong value, a missing renamed key and a deleted key still there",
          "[redis][copy][apply]") {
  TwoServers t;
  auto& [source, target, dir, src, dst, ks] = t;
  SeedCounters(*src, 30);
  Cmd(*src, {"ZADD", "leaderboard:daily", "1", "a"});
  Cmd(*src, {"RPUSH", "queue:q", "job"});
  dir.Write("0001_bump.lua", kBumpHash);
  dir.Write("0002_boards.lua", kRenameBoards);
  dir.Write("0003_queues.lua", kDropQueues);
  REQUIRE(Copy(ks, target.url(), {"--apply"}).exit_code == 0);
  REQUIRE(Compare(ks, target.url(), {"--apply", "--full"}).exit_code == 0);

  Cmd(*dst, {"HSET", "n:7", "seen", "2"});   // transformed twice
  Cmd(*dst, {"DEL", "board:daily"});         // the renamed key lost
  Cmd(*dst, {"RPUSH", "queue:q", "job"});    // a deleted key back
  CliResult r = Compare(ks, target.url(), {"--apply", "--full"});
  INFO(Describe(r));
  CHECK(r.exit_code == 1);
  auto d = Json(r)["differences"];
  CHECK(d["value"]["keys"] == nlohmann::json::array({"n:7"}));
  CHECK(d["missing"]["keys"] == nlohmann::json::array({"board:daily"}));
  CHECK(d["extra"]["keys"] == nlohmann::json::array({"queue:q"}));
  CHECK(Json(r)["total"] == 3);
}

TEST_CASE("copy --apply: a key a transform fails on is not copied, named with file:line, exit 1; fixed, the same "
          "copy retries it and completes", "[redis][copy][apply]") {
  TwoServers t;
  auto& [source, target, dir, src, dst, ks] = t;
  SeedCounters(*src, 30);
  Cmd(*src, {"HSET", "n:13", "seen", "not a number"});
  dir.Write("0001_bump.lua", kBumpHash);
  CliResult dry = Copy(ks, target.url(), {"--apply", "--dry-run"});
  CHECK(dry.exit_code == 1);
  CHECK(Json(dry)["failed"] == 1);
  CHECK(Cmd(*dst, {"DBSIZE"}).integer == 0);

  CliResult r = Copy(ks, target.url(), {"--apply", "--batch", "5"});
  INFO(Describe(r));
  REQUIRE(r.exit_code == 1);
  auto j = Json(r);
  CHECK(j["failed"] == 1);
  CHECK(j["copied"] == 29);
  REQUIRE(j["key_errors"].size() == 1);
  CHECK(j["key_errors"][0]["key"] == "n:13");
  CHECK(Contains(j["key_errors"][0]["message"], "0001_bump.lua:5"));
  CHECK(Contains(j["key_errors"][0]["message"], "n:13"));
  CHECK(Cmd(*dst, {"EXISTS", "n:13"}).integer == 0);
  CHECK(Cmd(*dst, {"HGET", "n:29", "seen"}).str == "1");  // the keys after it are copied
  CHECK(Cmd(*dst, {"HGETALL", "keyshift:{state}:ledger"}).elements.empty());  // not applied: the copy is not done
  // The unfinished copy runs migration 1 on the way: resuming it without is refused.
  CliResult plain = Copy(ks, target.url(), {"--batch", "5"});
  CHECK(plain.exit_code == 2);
  CHECK(Contains(plain.err, "apply:1"));
  // Still failing: retried, still not copied, still exit 1.
  CliResult still = ks.Run({"copy", "--to", target.url(), "--apply"});
  CHECK(still.exit_code == 1);
  CHECK(Contains(still.err, "keyshift: not copied: "));
  CHECK(Contains(still.err, "0001_bump.lua:5"));

  Cmd(*src, {"HSET", "n:13", "seen", "0"});
  CliResult again = Copy(ks, target.url(), {"--apply", "--batch", "5"});
  INFO(Describe(again));
  REQUIRE(again.exit_code == 0);
  CHECK(Json(again)["resumed"] == true);
  CHECK(Json(again)["copied"] == 30);
  CHECK(Json(again)["failed"] == 0);
  for (int i = 0; i < 30; ++i) CHECK(Cmd(*dst, {"HGET", "n:" + std::to_string(i), "seen"}).str == "1");
  CHECK(ScanKeys(*dst, "keyshift:*") == std::vector<std::string>{"keyshift:{state}:ledger"});
}

TEST_CASE("copy --apply: a migration pending below one applied on the source is refused up front; --to-version "
          "stops at V", "[redis][copy][apply]") {
  TwoServers t;
  auto& [source, target, dir, src, dst, ks] = t;
  SeedCounters(*src, 10);
  Cmd(*src, {"RPUSH", "queue:q", "job"});
  dir.Write("0002_bump.lua", kBumpHash);
  REQUIRE(ks.Run({"up"}).exit_code == 0);
  dir.Write("0001_queues.lua", kDropQueues);
  CliResult r = Copy(ks, target.url(), {"--apply"});
  INFO(Describe(r));
  CHECK(r.exit_code == 2);
  CHECK(Contains(r.err, "0001_queues is pending on the source but a later migration, 0002_bump, is applied"));
  CHECK(Cmd(*dst, {"DBSIZE"}).integer == 0);

  dir.Remove("0001_queues.lua");
  dir.Write("0003_queues.lua", kDropQueues);
  dir.Write("0004_bump_again.lua", kBumpHash);
  CliResult upto = Copy(ks, target.url(), {"--apply", "--to-version", "3"});
  INFO(Describe(upto));
  REQUIRE(upto.exit_code == 0);
  CHECK(Cmd(*dst, {"EXISTS", "queue:q"}).integer == 0);
  CHECK(Cmd(*dst, {"HGET", "n:4", "seen"}).str == "1");  // 0002 applied on the source already; 0004 not run
  auto status = StatusJson(Keyshift(target, dir))["migrations"];
  REQUIRE(status.size() == 3);
  CHECK(status[0]["status"] == "applied");
  CHECK(status[1]["status"] == "applied");
  CHECK(status[2]["status"] == "pending");
}

TEST_CASE("copy --apply: killed with SIGKILL and resumed, every key transformed exactly once",
          "[redis][copy][apply]") {
  TwoServers t;
  auto& [source, target, dir, src, dst, ks] = t;
  TempDir scratch;
  constexpr int kDocs = 20000;
  std::vector<Command> seed;
  for (int i = 0; i < kDocs; ++i) seed.push_back({"SET", "doc:" + std::to_string(i), Doc(i, 0)});
  REQUIRE(src->Pipeline(seed).ok());
  dir.Write("0001_bump.lua", BumpMigration("doc:*", 20));
  std::vector<std::string> args = {"--output", "json", "copy", "--to", target.url(), "--apply", "--batch", "20"};

  Spawned first = SpawnKeyshift(ks.Args(args), scratch, "first", kShortLease);
  std::string checkpoint = CheckpointOf(source);
  for (int i = 0; i < 20000 && Cmd(*dst, {"EXISTS", checkpoint}).integer == 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  REQUIRE(kill(first.pid, SIGKILL) == 0);
  REQUIRE(WaitKeyshift(first).exit_code == 128 + SIGKILL);
  std::this_thread::sleep_for(std::chrono::milliseconds(650));  // its lease runs out
  int kills = KillRepeatedly(ks, args, scratch, 3, 20261129, 30, 150);
  CliResult done = RunUntilDone(ks, args);
  INFO(Describe(done) << " after " << kills + 1 << " kills");
  REQUIRE(done.exit_code == 0);
  CHECK(Json(done)["copied"] == kDocs);
  CHECK(Json(done)["transformed"] == kDocs);
  std::vector<std::string> keys = NumberedKeys("doc:", 0, kDocs);
  std::vector<std::string> values = Values(*dst, keys);
  int wrong = 0;
  for (int i = 0; i < kDocs; ++i) wrong += values[i] != Doc(i, 1);
  CHECK(wrong == 0);
  CHECK(ScanKeys(*dst, "keyshift:*") == std::vector<std::string>{"keyshift:{state}:ledger"});
  auto ledger = StatusJson(Keyshift(target, dir))["migrations"][0]["ledger"];
  CHECK(ledger["scanned"] == kDocs);  // the counts too: each key once, across the kills
  CHECK(ledger["changed"] == kDocs);
}

}  // namespace
}  // namespace keyshift::testing
