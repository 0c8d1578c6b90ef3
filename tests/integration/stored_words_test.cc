// End to end: the words and codes keyshift stores in Redis stay what earlier
// versions stored, now that they come from enums' name tables (ledger status
// and mode, journal ACTION letters, checkpoint status), and a word keyshift
// never writes is a clear usage error, not a crash.
#include <catch.hpp>
#include <nlohmann/json.hpp>
#include <set>
#include <string>

#include "tests/support/integration_fixtures.h"

namespace keyshift::testing {
namespace {

// Rewrites a:* keys, deletes d:* keys, moves r:* keys to moved:*.
constexpr const char* kEveryAction = R"LUA(return {
  description = "one key of each action",
  scan = { match = "*", type = "string" },
  mode = "%MODE%",
  transform = function(key, value)
    if key:sub(1, 2) == "a:" then return value .. "!" end
    if key:sub(1, 2) == "d:" then return ks.DELETE end
    if key:sub(1, 2) == "r:" then return ks.rename("moved:" .. key:sub(3), value) end
  end,
}
)LUA";

std::string WithMode(const std::string& mode) {
  std::string text = kEveryAction;
  text.replace(text.find("%MODE%"), 6, mode);
  return text;
}

nlohmann::json LedgerRecordOf(RedisConnection& conn, const std::string& version) {
  Reply r = Cmd(conn, {"HGET", "keyshift:{state}:ledger", version});
  auto j = nlohmann::json::parse(r.str, nullptr, false);
  REQUIRE(j.is_object());
  return j;
}

// The ACTION letter of every journal entry of migration `version`.
std::multiset<std::string> JournalActions(RedisConnection& conn, const std::string& version) {
  std::multiset<std::string> out;
  for (const auto& hash : ScanKeys(conn, "keyshift:j:" + version + ":*"))
    for (const auto& [field, entry] : PairMap(Cmd(conn, {"HGETALL", hash}))) out.insert(entry.substr(0, 4));
  return out;
}

}  // namespace

TEST_CASE("ledger and journal store the same words and letters in host and server mode", "[redis][host][enums]") {
  for (std::string mode : {"host", "server"}) {
    DYNAMIC_SECTION(mode) {
      RedisServer server;
      auto conn = server.Connect();
      TempDir dir;
      dir.Write("0001_every.lua", WithMode(mode));
      for (const char* k : {"a:1", "d:1", "r:1", "keep:1"}) Cmd(*conn, {"SET", k, "v"});
      Keyshift ks(server, dir);
      CliResult up = ks.Run({"up"});
      INFO(Describe(up));
      REQUIRE(up.exit_code == 0);
      auto rec = LedgerRecordOf(*conn, "1");
      CHECK(rec.at("status") == "applied");
      CHECK(rec.at("mode") == mode);
      CHECK(JournalActions(*conn, "1") == std::multiset<std::string>{"2|W|", "2|D|", "2|R|", "2|C|"});
      CliResult down = ks.Run({"down"});
      INFO(Describe(down));
      REQUIRE(down.exit_code == 0);
      CHECK(LedgerRecordOf(*conn, "1").at("status") == "rolled_back");
      CHECK(Values(*conn, {"a:1", "d:1", "r:1", "keep:1"}) == std::vector<std::string>{"v", "v", "v", "v"});
    }
  }
}

TEST_CASE("state an earlier version wrote reads back; an unknown stored word is a clear error",
          "[redis][host][enums]") {
  RedisServer server;
  auto conn = server.Connect();
  TempDir dir;
  dir.Write("0001_every.lua", WithMode("host"));
  Keyshift ks(server, dir);
  Cmd(*conn, {"HSET", "keyshift:{state}:ledger", "1",
              R"({"version":1,"name":"0001_every","sha256":"x","status":"rolled_back","mode":"server"})"});
  CliResult ok = ks.Run({"status"});
  INFO(Describe(ok));
  CHECK(ok.exit_code == 0);
  CHECK(ok.out.find("rolled back") != std::string::npos);

  Cmd(*conn, {"HSET", "keyshift:{state}:ledger", "1", R"({"version":1,"status":"applied","mode":"turbo"})"});
  CliResult bad_mode = ks.Run({"status"});
  INFO(Describe(bad_mode));
  CHECK(bad_mode.exit_code == 2);
  CHECK(bad_mode.err.find("keyshift:{state}:ledger") != std::string::npos);
  CHECK(bad_mode.err.find("mode \"turbo\" is none of host, server") != std::string::npos);

  Cmd(*conn, {"DEL", "keyshift:{state}:ledger"});
  Cmd(*conn, {"HSET", "keyshift:{state}:ckpt:1", "cursor", "0", "status", "paused"});
  CliResult bad_status = ks.Run({"status"});
  INFO(Describe(bad_status));
  CHECK(bad_status.exit_code == 2);
  CHECK(bad_status.err.find("keyshift:{state}:ckpt:1") != std::string::npos);
  CHECK(bad_status.err.find("status") != std::string::npos);
}

}  // namespace keyshift::testing
