// End to end, SPEC 5.5: bad input never half-writes. Each broken migration
// gives exit 1 and one clear error naming file:line (and the key when a key is
// involved), and every data key is left byte-identical (DUMP and expiry).
#include <catch.hpp>
#include <regex>
#include <string>
#include <vector>

#include "tests/support/integration_fixtures.h"

namespace keyshift::testing {
namespace {

bool Contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

// Keys of all five types, two with TTLs: all in the first batch (default 500).
void SeedMixed(RedisConnection& c) {
  Cmd(c, {"SET", "s:1", "one"});
  Cmd(c, {"SET", "s:2", "two", "EX", "1000"});
  Cmd(c, {"HSET", "h:1", "f", "v", "n", "1"});
  Cmd(c, {"RPUSH", "l:1", "a", "b"});
  Cmd(c, {"SADD", "set:1", "x", "y"});
  Cmd(c, {"ZADD", "z:1", "1", "m"});
  Cmd(c, {"EXPIRE", "h:1", "1000"});
}

struct BadCase {
  const char* name;
  const char* text;     // the file 0001_bad.lua
  int line;             // the line the error must name
  const char* message;  // a fragment of the error
  bool per_key;         // a transform-time error: names the key, happens on every key
};

const BadCase kCases[] = {
    {"syntax error", R"LUA(return {
  description = "broken",
  transform = function(key, value)
    return value ..
  end,
}
)LUA", 5, "unexpected symbol", false},
    {"missing description", R"LUA(return {
  transform = function(key, value) return value end,
}
)LUA", 1, "description", false},
    {"missing transform", R"LUA(return {
  description = "forgot the transform",
}
)LUA", 1, "transform", false},
    {"transform raises", R"LUA(return {
  description = "raises",
  transform = function(key, value)
    error("boom")
  end,
}
)LUA", 4, "boom", true},
    {"wrong return type", R"LUA(return {
  description = "returns a boolean",
  transform = function(key, value)
    return true
  end,
}
)LUA", 3, "returned a boolean", true},
    {"os.execute", R"LUA(return {
  description = "shells out",
  transform = function(key, value)
    os.execute("touch /tmp/keyshift-pwned")
    return value
  end,
}
)LUA", 4, "os.execute", true},
    {"io.open", R"LUA(return {
  description = "reads a file",
  transform = function(key, value)
    local f = io.open("/etc/passwd")
    return value
  end,
}
)LUA", 4, "'io' is not available", true},
    {"require", R"LUA(return {
  description = "loads a module",
  transform = function(key, value)
    local m = require("os")
    return value
  end,
}
)LUA", 4, "'require' is not available", true},
    {"load of a binary chunk", R"LUA(return {
  description = "loads bytecode",
  transform = function(key, value)
    local f = assert(load("\27LuaT\0\25\147\r\n\26\n"))
    return f()
  end,
}
)LUA", 4, "binary chunk", true},
    {"unbounded allocation", R"LUA(return {
  description = "memory bomb",
  transform = function(key, value)
    local t = {}
    for i = 1, 1e9 do t[i] = string.rep("x", 1 << 20) .. i end
  end,
}
)LUA", 5, "memory limit", true},
    {"endless loop", R"LUA(return {
  description = "never returns",
  limits = { instructions = 1000000 },
  transform = function(key, value)
    while true do end
  end,
}
)LUA", 5, "instruction limit", true},
};

TEST_CASE("bad migrations fail with file:line (and key) and leave the data byte-identical",
          "[redis][host][bad-input]") {
  for (const BadCase& c : kCases) {
    DYNAMIC_SECTION(c.name) {
      RedisServer server;
      auto conn = server.Connect();
      TempDir dir;
      dir.Write("0001_bad.lua", c.text);
      SeedMixed(*conn);
      auto before = SnapshotData(*conn);
      long long changes = RdbChanges(*conn);

      CliResult r = Keyshift(server, dir).Run({"up"}, 60);
      INFO(Describe(r));
      CHECK(r.exit_code == 1);
      CHECK(Contains(r.err, "0001_bad.lua:" + std::to_string(c.line) + ":"));
      CHECK(Contains(r.err, c.message));
      if (c.per_key) CHECK(std::regex_search(r.err, std::regex(R"(\(key '(s|h|l|set|z):[0-9]'\))")));
      CHECK_FALSE(Contains(r.all(), "stack traceback"));
      CHECK_FALSE(Contains(r.all(), "terminate called"));
      CHECK_FALSE(HasAnsi(r.all()));

      CHECK(SnapshotData(*conn) == before);
      CHECK(ScanKeys(*conn, "keyshift:j:*").empty());  // no journal: nothing was rewritten
      if (!c.per_key) {
        // Refused while loading: not even a lock or a checkpoint.
        CHECK(RdbChanges(*conn) == changes);
        CHECK(ScanKeys(*conn, "keyshift:*").empty());
      }
      CHECK_FALSE(Contains(Keyshift(server, dir).Run({"status"}).out, "applied"));
    }
  }
}

TEST_CASE("a broken later migration stops up before the first one writes anything", "[redis][host][bad-input]") {
  RedisServer server;
  auto conn = server.Connect();
  TempDir dir;
  dir.Write("0001_good.lua", R"LUA(return {
  description = "fine on its own",
  transform = function(key, value) return value:upper() end,
}
)LUA");
  dir.Write("0002_broken.lua", R"LUA(return {
  description = "syntax error on line 3",
  transform = function(key, value) return value ... end,
}
)LUA");
  dir.Write("0003_incomplete.lua", R"LUA(return {
  description = "no transform",
}
)LUA");
  Cmd(*conn, {"SET", "a", "x"});
  Cmd(*conn, {"SET", "b", "y"});
  auto before = SnapshotData(*conn);
  long long changes = RdbChanges(*conn);

  CliResult r = Keyshift(server, dir).Run({"up"});
  INFO(Describe(r));
  CHECK(r.exit_code == 1);
  CHECK(Contains(r.err, "0002_broken.lua:3:"));
  CHECK(Contains(r.err, "0003_incomplete.lua:1:"));
  CHECK_FALSE(Contains(r.out, "applied"));
  CHECK(RdbChanges(*conn) == changes);
  CHECK(SnapshotData(*conn) == before);
  CHECK(ScanKeys(*conn, "keyshift:*").empty());
  CHECK(Cmd(*conn, {"GET", "a"}).str == "x");
}

}  // namespace
}  // namespace keyshift::testing
