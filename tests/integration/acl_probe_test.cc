// Permission checks in the write scripts (redis/script_safety.h): skipped
// only for a user ScriptCache::ProbeAcl finds unrestricted; a restricted user
// keeps them; a call holding a key it may not touch is refused whole.
#include <catch.hpp>
#include <fmt/format.h>

#include "redis/script_cache.h"
#include "tests/support/integration_fixtures.h"

using namespace keyshift;
using namespace keyshift::testing;

namespace {

std::unique_ptr<Topology> ConnectAs(const RedisServer& server, const std::string& user) {
  auto url = ParseRedisUrl(fmt::format("redis://{}:pw@127.0.0.1:{}/0", user, server.port()));
  REQUIRE(url.ok());
  auto conn = ConnectRedis(*url);
  REQUIRE(conn.ok());
  return SingleServer(std::move(conn.value()));
}

bool Probed(RedisConnection* conn) {
  ScriptCache scripts(conn);
  CHECK_FALSE(scripts.acl_unrestricted());  // nothing assumed before the probe
  scripts.ProbeAcl();
  return scripts.acl_unrestricted();
}

}  // namespace

TEST_CASE("only a user with every command on every key is found unrestricted", "[redis][acl]") {
  RedisServer server;
  auto admin = server.Connect();
  CHECK(Probed(admin.get()));  // the default user
  struct Case {
    const char* name;
    std::vector<std::string> rules;
    bool unrestricted;
  };
  const std::vector<Case> cases = {
      {"all", {"~*", "+@all"}, true},
      {"all, with a selector", {"~*", "+@all", "(~x +get)"}, true},
      {"one command less", {"~*", "+@all", "-hset"}, false},
      {"one subcommand less", {"~*", "+@all", "-config|set"}, false},
      {"some keys", {"~user:*", "~keyshift:*", "+@all"}, false},
      {"read-only keys", {"%R~*", "+@all"}, false},
      {"no ACL GETUSER (the documented least privilege)", {"~*", "+@all", "-acl|getuser"}, false},
      {"no ACL at all", {"~*", "+@all", "-acl"}, false},
  };
  for (const auto& c : cases) {
    INFO(c.name);
    Command setuser{"ACL", "SETUSER", "ks", "reset", "on", ">pw"};
    setuser.insert(setuser.end(), c.rules.begin(), c.rules.end());
    Cmd(*admin, setuser);
    auto user = ConnectAs(server, "ks");
    CHECK(Probed(user.get()) == c.unrestricted);
  }
}

TEST_CASE("a key of a multi-key call the user may not touch: the call is refused whole, nothing written",
          "[redis][acl][guarantee]") {
  RedisServer server;
  auto admin = server.Connect();
  // user:a* allowed, user:b0 not: `up`'s pre-check tries user:x. Redis checks
  // a script's declared KEYS before running it, so the call is refused whole.
  Cmd(*admin, {"ACL", "SETUSER", "ks", "reset", "on", ">pw", "~keyshift:*", "~user:a*", "~user:x*", "+@all"});
  TempDir dir;
  dir.Write("0001_mark.lua", R"(return {
  description = "marks every user",
  scan = { match = "user:*", type = "hash", batch = 100 },
  transform = function(key, value) value.mark = "1" return value end,
})");
  for (const char* mode : {"host", "server"}) {
    INFO(mode);
    Cmd(*admin, {"FLUSHALL"});
    for (int i = 0; i < 20; ++i) Cmd(*admin, {"HSET", fmt::format("user:a{}", i), "n", std::to_string(i)});
    Cmd(*admin, {"HSET", "user:b0", "n", "b"});
    Cmd(*admin, {"PEXPIRE", "user:b0", "900000"});
    auto before = SnapshotData(*admin);
    Keyshift ks(fmt::format("redis://ks:pw@127.0.0.1:{}/0", server.port()), dir);
    CliResult up = ks.Run({"up", "--mode", mode, "--on-error", "skip"});
    INFO(Describe(up));
    CHECK(up.exit_code == 1);
    CHECK_THAT(up.all(), Catch::Contains("NOPERM") && Catch::Contains("user:"));
    // Redis names no key when it refuses a call of many; the host's reads ask again key by key.
    if (std::string(mode) == "host") CHECK_THAT(up.all(), Catch::Contains("reading key 'user:b0'"));
    CHECK(SnapshotData(*admin) == before);
    CHECK(ScanKeys(*admin, "keyshift:j:*").empty());
  }
}
