// The CI contract (SPEC 4, issue 9 section 4): --version, per-command help,
// exit codes (status --check, failed keys, lock held, usage), JSON shapes of
// every outcome, bounded dry-run output, plan naming failing keys, and the
// out-of-order refusal. The real binary against a private redis-server.
#include <catch.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <regex>
#include <string>

#include "engine/planner.h"
#include "engine/state_keys.h"
#include "tests/support/integration_fixtures.h"

namespace keyshift::testing {
namespace {

using nlohmann::json;

// A server holding `keys` string keys e:0.. = "v", a migration directory,
// and the runner for both.
struct Setup {
  explicit Setup(int keys) { SeedStrings(*conn, "e:", keys, "v"); }
  RedisServer server;
  std::unique_ptr<RedisConnection> conn = server.Connect();
  TempDir dir;
  Keyshift ks{server, dir};
};

size_t CountOccurrences(const std::string& text, const std::string& part) {
  size_t n = 0;
  for (size_t pos = text.find(part); pos != std::string::npos; pos = text.find(part, pos + 1)) ++n;
  return n;
}

json ParseOut(const CliResult& r) {
  INFO(Describe(r));
  json j = json::parse(r.out, nullptr, false);
  REQUIRE_FALSE(j.is_discarded());
  return j;
}

// {"ok":false,"error":{"code":N,"message":"..."}} and nothing else on stdout.
void CheckErrorShape(const CliResult& r, int code, const std::string& part) {
  INFO(Describe(r));
  CHECK(r.exit_code == code);
  json j = ParseOut(r);
  CHECK(j["ok"] == false);
  REQUIRE(j["error"].is_object());
  CHECK(j["error"]["code"] == code);
  REQUIRE(j["error"]["message"].is_string());
  CHECK_THAT(j["error"]["message"].get<std::string>(), Catch::Contains(part));
}

// A run that exits 1 and lists one key error object in its first
// migration's `list`: the fields of `expected`, and a message with `part`.
void CheckOnlyKeyError(const CliResult& r, const std::string& list, const json& expected, const std::string& part) {
  INFO(Describe(r));
  CHECK(r.exit_code == 1);
  json j = ParseOut(r);
  const json& errors = j["migrations"][0][list];
  REQUIRE(errors.size() == 1);
  for (const auto& [field, value] : expected.items()) CHECK(errors[0][field] == value);
  CHECK_THAT(errors[0]["message"].get<std::string>(), Catch::Contains(part));
}

TEST_CASE("--version names keyshift's version and commit, Lua and hiredis", "[cli][contract]") {
  CliResult r = RunKeyshift({"--version"});
  INFO(Describe(r));
  CHECK(r.exit_code == 0);
  CHECK_THAT(r.out, Catch::Contains("keyshift 0.1.0 (commit ") && Catch::Contains("Lua 5.4") &&
                        Catch::Contains("hiredis 0.14"));
  json j = ParseOut(RunKeyshift({"--output", "json", "--version"}));
  CHECK(j["version"] == "0.1.0");
  CHECK_THAT(j["lua"].get<std::string>(), Catch::StartsWith("Lua 5.4."));
  CHECK_THAT(j["hiredis"].get<std::string>(), Catch::StartsWith("0.14."));
  std::string commit = j["commit"];
  CHECK(std::regex_match(commit, std::regex("^([0-9a-f]{12}(-dirty)?|unknown)$")));
  CHECK_THAT(r.out, Catch::Contains("(commit " + commit + ")"));
}

TEST_CASE("every subcommand's --help lists the global options and its exit codes", "[cli][contract]") {
  for (const char* cmd : {"new", "status", "up", "down", "verify", "check", "plan", "prune"}) {
    CliResult r = RunKeyshift({cmd, "--help"});
    INFO(cmd << "\n" << Describe(r));
    CHECK(r.exit_code == 0);
    for (const char* global : {"--url", "--dir", "--prefix", "--output", "--password-file"})
      CHECK_THAT(r.out, Catch::Contains(global));
    CHECK_THAT(r.out, Catch::Contains("Exit codes: 0 ") && Catch::Contains(" 2 usage"));
  }
  CHECK_THAT(RunKeyshift({"status", "--help"}).out, Catch::Contains("4 with --check"));
  CHECK_THAT(RunKeyshift({"up", "--help"}).out, Catch::Contains("3 another run holds the lock") &&
                                                    Catch::Contains("130/143"));
}

TEST_CASE("status --check: 0 clean, 4 only pending, 1 failed keys, failed, drifted", "[redis][contract]") {
  Setup t(20);
  auto& [server, conn, dir, ks] = t;
  CHECK(ks.Run({"status", "--check"}).exit_code == 0);  // nothing to apply: clean
  dir.Write("0001_bang.lua", AppendMigration("e:*", "?"));
  CliResult pending = ks.Run({"status", "--check"});
  INFO(Describe(pending));
  CHECK(pending.exit_code == 4);
  CHECK_THAT(pending.out, Catch::Contains("pending"));
  REQUIRE(ks.Run({"up"}).exit_code == 0);
  CHECK(ks.Run({"status", "--check"}).exit_code == 0);
  json j = ParseOut(ks.Run({"--output", "json", "status", "--check"}));
  CHECK(j["check"]["exit_code"] == 0);
  CHECK(j["migrations"][0]["keys_failed"] == 0);

  std::string applied = dir.Read("0001_bang.lua");
  dir.Write("0001_bang.lua", applied + "-- edited\n");  // drift
  CHECK(ks.Run({"status", "--check"}).exit_code == 1);
  dir.Write("0001_bang.lua", applied);
  CHECK(ks.Run({"status", "--check"}).exit_code == 0);

  dir.Write("0002_fails.lua", kFailsOnSeven);  // abort: a failed run
  CHECK(ks.Run({"up"}).exit_code == 1);
  CHECK(ks.Run({"status", "--check"}).exit_code == 1);
  // Failed keys: applied, but not clean.
  CHECK(ks.Run({"up", "--on-error", "skip"}).exit_code == 1);
  CliResult failed_keys = ks.Run({"status", "--check"});
  INFO(Describe(failed_keys));
  CHECK(failed_keys.exit_code == 1);
  CHECK_THAT(failed_keys.out, Catch::Contains("applied, 2 keys failed"));
  json k = ParseOut(ks.Run({"--output", "json", "status"}));
  CHECK(k["migrations"][1]["status"] == "applied");
  CHECK(k["migrations"][1]["keys_failed"] == 2);
}

TEST_CASE("JSON output: usage, parse, connection and lock errors are one error object", "[redis][contract]") {
  RedisServer server;
  TempDir dir;
  Keyshift ks(server, dir);
  dir.Write("0001_a.lua", AppendMigration("e:*", "?"));
  CheckErrorShape(ks.Run({"--output", "json", "up", "--no-such-flag"}), 2, "--no-such-flag");
  CheckErrorShape(ks.Run({"--output", "json", "up", "--batch", "zero"}), 2, "zero");
  CheckErrorShape(ks.Run({"--output", "json", "frobnicate"}), 2, "unknown command 'frobnicate'");
  CheckErrorShape(ks.Run({"--output", "json", "up", "--summary"}), 2, "--dry-run");
  CheckErrorShape(RunKeyshift({"--url", "redis://127.0.0.1:1/0", "--dir", dir.path(), "--output", "json", "status"}),
                  2, "127.0.0.1:1");
  CheckErrorShape(RunKeyshift({"--url", "nope://x", "--dir", dir.path(), "--output", "json", "status"}), 2, "nope");
  auto conn = server.Connect();
  Cmd(*conn, {"SET", "keyshift:{state}:lock",
              R"({"token":"t","holder":"ci@elsewhere","pid":1,"command":"up","since":"2026-01-01T00:00:00Z"})", "PX",
              "60000"});
  CheckErrorShape(ks.Run({"--output", "json", "up"}), 3, "ci@elsewhere");
}

TEST_CASE("JSON output: skipped keys are objects with key, file, line and message", "[redis][contract]") {
  Setup t(20);
  auto& [server, conn, dir, ks] = t;
  std::string path = dir.Write("0001_bang.lua", kFailsOnSeven);
  CliResult r = ks.Run({"--output", "json", "up", "--on-error", "skip"});
  INFO(Describe(r));
  CHECK(r.exit_code == 1);
  json j = ParseOut(r);
  CHECK(j["ok"] == false);
  const json& m = j["migrations"][0];
  CHECK(m["failed"] == 2);
  REQUIRE(m["key_errors"].size() == 2);
  for (const json& e : m["key_errors"]) {
    REQUIRE(e.is_object());
    std::string key = e["key"];
    CHECK((key == "e:7" || key == "e:17"));
    CHECK(e["file"] == path);
    CHECK(e["line"] == 5);
    CHECK_THAT(e["message"].get<std::string>(), Catch::Contains("bad key " + key));
  }
}

TEST_CASE("JSON output: down's conflicts are objects with key, file, line and message", "[redis][contract]") {
  Setup t(5);
  auto& [server, conn, dir, ks] = t;
  std::string path = dir.Write("0001_a.lua", AppendMigration("e:*", "?"));
  REQUIRE(ks.Run({"up"}).exit_code == 0);
  Cmd(*conn, {"SET", "e:1", "the application's"});
  CheckOnlyKeyError(ks.Run({"--output", "json", "down"}), "conflict_samples",
                    {{"key", "e:1"}, {"file", path}, {"line", nullptr}}, "changed by the application");
}

TEST_CASE("JSON output: verify's failing keys are objects with key, file, line and message", "[redis][contract]") {
  Setup t(5);
  auto& [server, conn, dir, ks] = t;
  std::string path = dir.Write("0001_v.lua", R"(return {
  description = "checks values",
  scan = { match = "e:*", type = "string" },
  transform = function(key, value) end,
  verify = function(key, value) return key ~= "e:3", "e:3 is wrong" end,
})");
  REQUIRE(ks.Run({"up"}).exit_code == 0);
  CheckOnlyKeyError(ks.Run({"--output", "json", "verify"}), "failures",
                    {{"key", "e:3"}, {"file", path}, {"line", nullptr}}, "e:3 is wrong");
}

// `cmd --dry-run` over 30 changed keys, with --limit and --summary: diffs
// counted by the "--- e:" header each has; the summary has `counts`.
void CheckDryRunBounds(const Keyshift& ks, RedisConnection& conn, const std::string& cmd, const std::string& counts) {
  INFO(cmd);
  long long changes = RdbChanges(conn);
  CliResult limited = ks.Run({cmd, "--dry-run", "--limit", "4"});
  INFO(Describe(limited));
  CHECK(limited.exit_code == 0);
  CHECK(CountOccurrences(limited.out, "--- e:") == 4);
  CHECK_THAT(limited.out, Catch::Contains("... and 26 more") && Catch::Contains(counts));
  CliResult summary = ks.Run({cmd, "--dry-run", "--summary"});
  INFO(Describe(summary));
  CHECK(summary.exit_code == 0);
  CHECK(CountOccurrences(summary.out, "--- e:") == 0);
  CHECK_THAT(summary.out, Catch::Contains(counts) && !Catch::Contains("more"));  // counts only
  json j = ParseOut(ks.Run({"--output", "json", cmd, "--dry-run", "--limit", "3"}));
  CHECK(j["migrations"][0]["diffs"].size() == 3);
  CHECK(j["migrations"][0]["diffs_omitted"] == 27);
  CHECK(ks.Run({cmd, "--limit", "5"}).exit_code == 2);  // without --dry-run: a usage error, nothing runs
  CHECK(RdbChanges(conn) == changes);
}

TEST_CASE("up and down --dry-run: --limit shows at most N diffs then how many more; --summary only counts",
          "[redis][contract]") {
  Setup t(30);
  auto& [server, conn, dir, ks] = t;
  dir.Write("0001_a.lua", AppendMigration("e:*", "?"));
  CheckDryRunBounds(ks, *conn, "up", "would change 30");
  REQUIRE(ks.Run({"up"}).exit_code == 0);
  CheckDryRunBounds(ks, *conn, "down", "would restore 30 keys");
}

TEST_CASE("plan names the sampled keys that fail the transform", "[redis][contract]") {
  Setup t(20);
  auto& [server, conn, dir, ks] = t;
  dir.Write("0001_bang.lua", kFailsOnSeven);
  CliResult r = ks.Run({"plan"});
  INFO(Describe(r));
  CHECK(r.exit_code == 0);
  CHECK_THAT(r.out, Catch::Contains("fails on       'e:7': ") && Catch::Contains("fails on       'e:17': ") &&
                        Catch::Contains("bad key e:17"));
  json j = ParseOut(ks.Run({"--output", "json", "plan"}));
  const json& failures = j["migrations"][0]["sample_failures"];
  REQUIRE(failures.size() == 2);
  CHECK(failures[0]["line"] == 5);
}

TEST_CASE("up refuses a pending migration older than the newest applied one unless --out-of-order",
          "[redis][contract]") {
  Setup t(10);
  auto& [server, conn, dir, ks] = t;
  dir.Write("0002_later.lua", AppendMigration("e:*", "2"));
  REQUIRE(ks.Run({"up"}).exit_code == 0);
  dir.Write("0001_earlier.lua", AppendMigration("e:*", "1"));
  dir.Write("0003_next.lua", AppendMigration("e:*", "3"));
  long long changes = RdbChanges(*conn);
  for (auto args : {std::vector<std::string>{"up"}, {"up", "--dry-run"}, {"up", "--to", "1"}}) {
    CliResult refused = ks.Run(args);
    INFO(Describe(refused));
    CHECK(refused.exit_code == 1);
    CHECK_THAT(refused.err, Catch::Contains("0001_earlier") && Catch::Contains("--out-of-order"));
  }
  CHECK(RdbChanges(*conn) == changes);
  CliResult allowed = ks.Run({"up", "--out-of-order"});
  INFO(Describe(allowed));
  CHECK(allowed.exit_code == 0);
  CHECK(Values(*conn, {"e:0"}) == std::vector<std::string>{"v213"});
  // Later runs have nothing older pending: no flag needed.
  dir.Write("0004_last.lua", AppendMigration("e:*", "4"));
  CHECK(ks.Run({"up"}).exit_code == 0);
}

// The progress line's denominator: the keys the migration's pattern
// matches, estimated from a sample, not DBSIZE.
TEST_CASE("the estimated number of matched keys follows the pattern, not the database size", "[redis][contract]") {
  RedisServer server;
  auto conn = server.Connect();
  SeedStrings(*conn, "other:", 9000, "x");
  SeedStrings(*conn, "e:", 1000, "v");
  StateKeys state("keyshift:");
  auto small = EstimateMatchedKeys(conn.get(), state, "e:*", 20000);  // sample covers all: exact
  REQUIRE(small.ok());
  CHECK(*small == 1000);
  auto sampled = EstimateMatchedKeys(conn.get(), state, "e:*", 2000);
  REQUIRE(sampled.ok());
  // About a tenth of a 2000-key sample matches (+-5 sigma): far from DBSIZE.
  CHECK(*sampled >= 600);
  CHECK(*sampled <= 1400);
  auto none = EstimateMatchedKeys(conn.get(), state, "nothing:*", 2000);
  REQUIRE(none.ok());
  CHECK(*none == 0);
}

}  // namespace
}  // namespace keyshift::testing
