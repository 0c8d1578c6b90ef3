// End to end: `status` (text and JSON) before and after `up`, and drift: an
// applied migration whose file changed is shown, blocks `up` until
// --allow-drift, and is reported by `check`.
#include <catch.hpp>
#include <nlohmann/json.hpp>
#include <string>

#include "tests/support/integration_fixtures.h"

namespace keyshift::testing {
namespace {

bool Contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

// The line of `status` text output that names `migration`.
std::string StatusLine(const std::string& out, const std::string& migration) {
  size_t at = out.find("  " + migration + " ");
  if (at == std::string::npos) return "";
  size_t end = out.find('\n', at);
  return out.substr(at, end == std::string::npos ? std::string::npos : end - at);
}

nlohmann::json ParseJson(const CliResult& r) {
  INFO(Describe(r));
  auto j = nlohmann::json::parse(r.out, nullptr, false);
  REQUIRE_FALSE(j.is_discarded());
  return j;
}

const nlohmann::json* FindMigration(const nlohmann::json& status, const std::string& name) {
  for (const auto& m : status.at("migrations"))
    if (m.value("name", "") == name) return &m;
  return nullptr;
}

constexpr const char* kUpper = R"LUA(return {
  description = "upper-case user names",
  scan = { match = "user:*", type = "string" },
  transform = function(key, value) return value:upper() end,
}
)LUA";

constexpr const char* kTagHashes = R"LUA(return {
  description = "tag every doc hash",
  scan = { match = "doc:*", type = "hash" },
  transform = function(key, value) value.tagged = "1"; return value end,
}
)LUA";

TEST_CASE("status shows pending, then applied with counts, as text and as JSON", "[redis][host][status]") {
  RedisServer server;
  auto conn = server.Connect();
  TempDir dir;
  dir.Write("0001_upper.lua", kUpper);
  dir.Write("0002_tag.lua", kTagHashes);
  for (int i = 0; i < 5; ++i) Cmd(*conn, {"SET", "user:" + std::to_string(i), "name" + std::to_string(i)});
  Cmd(*conn, {"SET", "user:9", "ALREADY"});  // scanned, not changed
  for (int i = 0; i < 3; ++i) Cmd(*conn, {"HSET", "doc:" + std::to_string(i), "f", "v"});
  Keyshift ks(server, dir);

  CliResult before = ks.Run({"status"});
  INFO(Describe(before));
  REQUIRE(before.exit_code == 0);
  CHECK(Contains(StatusLine(before.out, "0001_upper"), "pending"));
  CHECK(Contains(StatusLine(before.out, "0002_tag"), "pending"));
  CHECK(Contains(before.out, "2 pending"));
  CHECK_FALSE(HasAnsi(before.all()));
  auto j = ParseJson(ks.Run({"--output", "json", "status"}));
  CHECK(j.at("ok") == true);
  REQUIRE(j.at("migrations").size() == 2);
  REQUIRE(FindMigration(j, "0001_upper"));
  REQUIRE(FindMigration(j, "0002_tag"));
  CHECK(FindMigration(j, "0001_upper")->at("status") == "pending");
  CHECK(FindMigration(j, "0001_upper")->at("version") == 1);
  CHECK(FindMigration(j, "0002_tag")->at("status") == "pending");

  // Apply only the first.
  CliResult up = ks.Run({"up", "--to", "1"});
  INFO(Describe(up));
  REQUIRE(up.exit_code == 0);
  CliResult mid = ks.Run({"status"});
  INFO(Describe(mid));
  std::string line = StatusLine(mid.out, "0001_upper");
  INFO(line);
  CHECK(Contains(line, "applied"));
  CHECK(Contains(line, "6 scanned, 5 changed, 0 deleted"));
  CHECK(Contains(StatusLine(mid.out, "0002_tag"), "pending"));
  j = ParseJson(ks.Run({"--output", "json", "status"}));
  REQUIRE(FindMigration(j, "0001_upper"));
  const auto& first = *FindMigration(j, "0001_upper");
  CHECK(first.at("status") == "applied");
  CHECK(first.at("ledger").at("scanned") == 6);
  CHECK(first.at("ledger").at("changed") == 5);
  CHECK(first.at("ledger").at("deleted") == 0);
  CHECK(first.at("ledger").at("failed") == 0);
  CHECK(first.at("ledger").at("mode") == "host");
  CHECK(first.at("ledger").at("sha256").get<std::string>().size() == 64);
  CHECK_FALSE(first.at("ledger").at("by").get<std::string>().empty());
  CHECK(FindMigration(j, "0002_tag")->at("status") == "pending");

  // And the rest.
  up = ks.Run({"up"});
  INFO(Describe(up));
  REQUIRE(up.exit_code == 0);
  j = ParseJson(ks.Run({"--output", "json", "status"}));
  REQUIRE(FindMigration(j, "0002_tag"));
  CHECK(FindMigration(j, "0001_upper")->at("status") == "applied");
  CHECK(FindMigration(j, "0002_tag")->at("status") == "applied");
  CHECK(FindMigration(j, "0002_tag")->at("ledger").at("changed") == 3);
  CliResult after = ks.Run({"status"});
  CHECK(Contains(StatusLine(after.out, "0002_tag"), "3 scanned, 3 changed"));
  CHECK_FALSE(Contains(after.out, "pending"));
}

TEST_CASE("an edited applied migration is drifted: status shows it, up refuses, --allow-drift runs, check reports",
          "[redis][host][drift]") {
  RedisServer server;
  auto conn = server.Connect();
  TempDir dir;
  dir.Write("0001_upper.lua", kUpper);
  Cmd(*conn, {"SET", "user:1", "ann"});
  Cmd(*conn, {"HSET", "doc:1", "f", "v"});
  Keyshift ks(server, dir);
  CliResult up = ks.Run({"up"});
  INFO(Describe(up));
  REQUIRE(up.exit_code == 0);
  REQUIRE(Cmd(*conn, {"GET", "user:1"}).str == "ANN");

  // Edit the applied file (one comment is enough) and add a pending one.
  dir.Write("0001_upper.lua", std::string("-- reviewed\n") + kUpper);
  CliResult status = ks.Run({"status"});
  INFO(Describe(status));
  CHECK(status.exit_code == 0);
  CHECK(Contains(StatusLine(status.out, "0001_upper"), "drifted"));
  auto j = ParseJson(ks.Run({"--output", "json", "status"}));
  REQUIRE(FindMigration(j, "0001_upper"));
  CHECK(FindMigration(j, "0001_upper")->at("status") == "drifted");

  dir.Write("0002_tag.lua", kTagHashes);
  auto data = SnapshotData(*conn);
  long long changes = RdbChanges(*conn);
  CliResult refused = ks.Run({"up"});
  INFO(Describe(refused));
  CHECK(refused.exit_code != 0);
  CHECK(Contains(refused.err, "0001_upper"));
  CHECK(Contains(refused.err, "--allow-drift"));
  CHECK(RdbChanges(*conn) == changes);  // not even a lock
  CHECK(SnapshotData(*conn) == data);
  CHECK(Cmd(*conn, {"HEXISTS", "doc:1", "tagged"}).integer == 0);

  CliResult check = ks.Run({"check"});
  INFO(Describe(check));
  CHECK(check.exit_code == 1);
  CHECK(Contains(check.out, "0001_upper"));
  CHECK(Contains(check.out, "drifted"));

  CliResult allowed = ks.Run({"up", "--allow-drift"});
  INFO(Describe(allowed));
  CHECK(allowed.exit_code == 0);
  CHECK(Cmd(*conn, {"HGET", "doc:1", "tagged"}).str == "1");
  CHECK(Cmd(*conn, {"GET", "user:1"}).str == "ANN");  // the drifted one is not re-run
  j = ParseJson(ks.Run({"--output", "json", "status"}));
  REQUIRE(FindMigration(j, "0002_tag"));
  CHECK(FindMigration(j, "0002_tag")->at("status") == "applied");
  CHECK(FindMigration(j, "0001_upper")->at("status") == "drifted");

  // Restoring the file ends the drift.
  dir.Write("0001_upper.lua", kUpper);
  j = ParseJson(ks.Run({"--output", "json", "status"}));
  CHECK(FindMigration(j, "0001_upper")->at("status") == "applied");
  check = ks.Run({"check"});
  INFO(Describe(check));
  CHECK(check.exit_code == 0);
}

}  // namespace
}  // namespace keyshift::testing
