// `--output json` streamed (cli/json_stream.h): every per-key item of a big
// dry-run reaches the one document, and a run that fails part-way (a key
// error skipped, a migration stopped, a run error) still prints
// one valid JSON document. Memory is measured by hand, not here (docs/cli.md).
#include <signal.h>
#include <sys/wait.h>

#include <catch.hpp>
#include <chrono>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <thread>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "tests/support/copy_fixtures.h"
#include "tests/support/integration_fixtures.h"

namespace keyshift::testing {
namespace {

using nlohmann::json;

constexpr int kKeys = 3000;

json ParseDocument(const CliResult& r) {
  INFO(Describe(r));
  json j = json::parse(r.out, nullptr, false);  // one document: trailing text fails the parse
  REQUIRE_FALSE(j.is_discarded());
  REQUIRE(j.is_object());
  return j;
}

std::set<std::string> Keys(const std::string& prefix, int n) {
  std::set<std::string> out;
  for (int i = 0; i < n; ++i) out.insert(prefix + std::to_string(i));
  return out;
}

// The keys of `list`'s objects; each one once.
std::set<std::string> KeysOf(const json& list) {
  std::set<std::string> out;
  REQUIRE(list.is_array());
  for (const json& item : list) CHECK(out.insert(item["key"].get<std::string>()).second);
  return out;
}

struct Setup {
  RedisServer server;
  std::unique_ptr<RedisConnection> conn = server.Connect();
  TempDir dir;
  Keyshift ks{server, dir};
};

TEST_CASE("up and down --dry-run --output json list every key's diff in one document", "[redis][json]") {
  Setup t;
  SeedStrings(*t.conn, "e:", kKeys, "v");
  t.dir.Write("0001_a.lua", AppendMigration("e:*", "?", 500));
  json up = ParseDocument(t.ks.Run({"--output", "json", "up", "--dry-run"}));
  CHECK(up["ok"] == true);
  CHECK(up["dry_run"] == true);
  CHECK(up["interrupted"] == false);
  REQUIRE(up["migrations"].size() == 1);
  const json& m = up["migrations"][0];
  CHECK(m["name"] == "0001_a");
  CHECK(m["scanned"] == kKeys);
  CHECK(m["changed"] == kKeys);
  CHECK(m["diffs_omitted"] == 0);
  CHECK_FALSE(m.contains("key_errors"));
  CHECK(KeysOf(m["diffs"]) == Keys("e:", kKeys));
  for (const json& d : m["diffs"]) CHECK_THAT(d["diff"].get<std::string>(), Catch::Contains("+v?"));

  REQUIRE(t.ks.Run({"up"}).exit_code == 0);
  json down = ParseDocument(t.ks.Run({"--output", "json", "down", "--dry-run"}));
  CHECK(down["ok"] == true);
  REQUIRE(down["migrations"].size() == 1);
  CHECK(down["migrations"][0]["restored"] == kKeys);
  CHECK(KeysOf(down["migrations"][0]["diffs"]) == Keys("e:", kKeys));
}

TEST_CASE("catchup and copy --apply --dry-run --output json list every key's diff in one document",
          "[redis][json]") {
  TwoServers t;
  SeedStrings(*t.src, "e:", kKeys, "v");
  t.dir.Write("0001_a.lua", AppendMigration("e:*", "?", 500));
  json copy = Json(Copy(t.ks, t.target.url(), {"--apply", "--dry-run"}));
  CHECK(copy["ok"] == true);
  CHECK(copy["transformed"] == kKeys);
  CHECK(KeysOf(copy["diffs"]) == Keys("e:", kKeys));
  CHECK(copy["key_errors"].empty());

  REQUIRE(t.ks.Run({"up"}).exit_code == 0);
  SeedStrings(*t.src, "e:", kKeys, "w");  // the application writes every key in the old shape again
  json catchup = ParseDocument(t.ks.Run({"--output", "json", "catchup", "1", "--dry-run"}));
  CHECK(catchup["ok"] == true);
  CHECK(catchup["name"] == "0001_a");
  CHECK(catchup["changed"] == kKeys);
  CHECK(KeysOf(catchup["diffs"]) == Keys("e:", kKeys));
}

TEST_CASE("a dry-run skipping failed keys prints its diffs and every key error in one document", "[redis][json]") {
  Setup t;
  SeedStrings(*t.conn, "e:", kKeys, "v");
  std::string path = t.dir.Write("0001_bang.lua", kFailsOnSeven);
  CliResult r = t.ks.Run({"--output", "json", "up", "--dry-run", "--on-error", "skip"});
  CHECK(r.exit_code == 1);
  json j = ParseDocument(r);
  CHECK(j["ok"] == false);
  const json& m = j["migrations"][0];
  std::set<std::string> failing, changing;
  for (const std::string& key : Keys("e:", kKeys)) (key.back() == '7' ? failing : changing).insert(key);
  CHECK(m["failed"] == failing.size());
  CHECK(KeysOf(m["diffs"]) == changing);
  CHECK(KeysOf(m["key_errors"]) == failing);
  for (const json& e : m["key_errors"]) {
    CHECK(e["file"] == path);
    CHECK(e["line"] == 5);
    CHECK_THAT(e["message"].get<std::string>(), Catch::Contains("bad key " + e["key"].get<std::string>()));
  }
}

TEST_CASE("a migration stopped by a failed key ends its streamed document with ok false", "[redis][json]") {
  Setup t;
  SeedStrings(*t.conn, "e:", kKeys, "v");
  t.dir.Write("0001_bang.lua", kFailsOnSeven);
  t.dir.Write("0002_later.lua", AppendMigration("e:*", "?"));
  CliResult r = t.ks.Run({"--output", "json", "up", "--dry-run"});
  CHECK(r.exit_code == 1);
  json j = ParseDocument(r);
  CHECK(j["ok"] == false);
  REQUIRE(j["migrations"].size() == 1);  // the failed one stops the run
  const json& m = j["migrations"][0];
  CHECK(m["ok"] == false);
  std::string failed_key = m["failed_key"];
  CHECK(failed_key.back() == '7');
  CHECK_THAT(m["error"].get<std::string>(), Catch::Contains("bad key " + failed_key));
  // Only keys of the batches before the stop, none of them failing.
  std::set<std::string> shown = KeysOf(m.value("diffs", json::array()));
  CHECK(shown.size() < static_cast<size_t>(kKeys));
  for (const std::string& key : shown) CHECK(key.back() != '7');
}

TEST_CASE("a run error part-way ends the streamed document with the error", "[redis][json]") {
  Setup t;
  SeedStrings(*t.conn, "a:", kKeys, "v");
  SeedStrings(*t.conn, "e:", 50, "v");
  Cmd(*t.conn, {"SET", "e:zz", "v"});
  // The user may read a:* and the e:* keys `up`'s pre-check samples (e:x),
  // but not e:zz: reading it fails the second migration's batch.
  Cmd(*t.conn, {"ACL", "SETUSER", "ks", "reset", "on", ">pw", "~keyshift:*", "~a:*", "~e:[0-9x]*", "+@all"});
  t.dir.Write("0001_a.lua", AppendMigration("a:*", "?", 500));
  t.dir.Write("0002_e.lua", AppendMigration("e:*", "!", 500));
  Keyshift ks(fmt::format("redis://ks:pw@127.0.0.1:{}/0", t.server.port()), t.dir);
  CliResult r = ks.Run({"--output", "json", "up", "--dry-run"});
  CHECK(r.exit_code == 1);
  json j = ParseDocument(r);
  CHECK(j["ok"] == false);
  CHECK(j["error"]["code"] == r.exit_code);
  // Redis refuses the script call of many keys whole; keyshift names the key.
  CHECK_THAT(j["error"]["message"].get<std::string>(),
             Catch::Contains("0002_e") && Catch::Contains("NOPERM") && Catch::Contains("'e:zz'"));
  REQUIRE(j["migrations"].size() == 2);
  CHECK(KeysOf(j["migrations"][0]["diffs"]) == Keys("a:", kKeys));  // streamed before the error, kept
  CHECK(j["migrations"][1]["name"] == "0002_e");
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// Polls until the run's stdout holds a diff; false when the run ended first.
bool DiffPrintedWhileRunning(const Spawned& run) {
  while (ReadFile(run.out_path).find("\"key\"") == std::string::npos) {
    int status = 0;
    if (waitpid(run.pid, &status, WNOHANG) == run.pid) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return true;
}

TEST_CASE("a JSON dry-run prints diffs while it runs; Ctrl-C then ends the document", "[redis][json]") {
  Setup t;
  TempDir scratch("keyshift-json");
  SeedStrings(*t.conn, "s:", 1000, "v");
  t.dir.Write("0001_slow.lua", AppendMigration("s:*", "!", 5, 3));  // 5 keys a batch, 3 ms a key
  Spawned run = SpawnKeyshift(t.ks.Args({"--output", "json", "up", "--dry-run"}), scratch, "slow");
  bool streamed = DiffPrintedWhileRunning(run);
  if (streamed) REQUIRE(kill(run.pid, SIGINT) == 0);
  CliResult r = WaitKeyshift(run);
  INFO(Describe(r));
  REQUIRE(streamed);  // not held back until the end of the run
  CHECK(r.exit_code == 130);
  json j = ParseDocument(r);
  CHECK(j["ok"] == false);
  CHECK(j["interrupted"] == true);
  const json& m = j["migrations"][0];
  size_t shown = KeysOf(m["diffs"]).size();
  CHECK(shown > 0);
  CHECK(shown == m["changed"]);
  CHECK(shown < 1000u);
}

}  // namespace
}  // namespace keyshift::testing
