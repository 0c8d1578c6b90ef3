// Issue 7, item 8: a rename can never target keyshift's own keys or the
// empty name, in either mode, whatever the transform does to the ks module.
#include <catch2/catch.hpp>

#include "tests/support/integration_fixtures.h"

namespace keyshift::testing {

namespace {

std::string RenameMigration(const std::string& mode, const std::string& body) {
  return "return {\n"
         "  description = 'hostile rename',\n"
         "  mode = '" + mode + "',\n"
         "  scan = { match = 'a:*', type = 'string' },\n"
         "  transform = function(key, value)\n" + body + "\n  end,\n"
         "}\n";
}

}  // namespace

TEST_CASE("a rename into keyshift's prefix or to an empty name is refused in both modes", "[redis][server]") {
  const char* bodies[] = {
      // straight into the state keys (the ledger's name)
      "    return ks.rename('keyshift:{state}:ledger', value)",
      "    return ks.rename('keyshift:j:1:{x}')",
      // a forged rename: replace the marker test, return a plain table
      "    ks.is_rename = function() return true end\n    return { key = '', value = value }",
      // a real rename whose key is emptied afterwards
      "    local r = ks.rename('b:' .. key, value)\n    r.key = ''\n    return r",
  };
  for (const std::string mode : {"host", "server"}) {
    for (const char* body : bodies) {
      DYNAMIC_SECTION(mode << ": " << body) {
        RedisServer server;
        auto conn = server.Connect();
        SeedStrings(*conn, "a:", 3, "v");
        TempDir dir;
        dir.Write("0001_rename.lua", RenameMigration(mode, body));
        auto before = SnapshotData(*conn);
        CliResult r = Keyshift(server, dir).Run({"up"});
        INFO(Describe(r));
        CHECK(r.exit_code == 1);
        CHECK(SnapshotData(*conn) == before);
        CHECK(Cmd(*conn, {"EXISTS", ""}).integer == 0);
        CHECK(Cmd(*conn, {"TYPE", "keyshift:{state}:ledger"}).str == "hash");
      }
    }
  }
}

}  // namespace keyshift::testing
