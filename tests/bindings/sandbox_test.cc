// The migration sandbox (bindings/sandbox.h) as a migration sees it through
// MigrationScript (bindings/migration_script.h): loading and validating the
// migration table, the allow-listed globals and resource limits (SPEC 2 and
// 5.5). What a transform's results become: sandbox_values_test.cc.
// No server: every test loads a migration from a string.
#include "tests/bindings/sandbox_helpers.h"

using namespace sandbox_test;

// ---------------------------------------------------------------------------
// Loading and the migration table

TEST_CASE("a valid migration loads and its fields are read", "[sandbox]") {
  auto m = MustLoad(R"(-- users: ISO dates to epoch
return {
  description = "created_at: ISO-8601 string -> epoch seconds",
  owner       = "accounts-team",
  expected    = "every user:* hash has an integer created_at",
  rollback    = "keyshift down restores the journaled values",
  scan  = { match = "user:*", type = "hash", batch = 250 },
  mode  = "server",
  limits = { memory_mb = 32, instructions = 5000000, time_ms = 1500 },
  transform = function(key, value)
    return nil
  end,
  verify = function(key, value)
    return true
  end,
}
)");
  const auto& info = m->info();
  CHECK(m->path() == kPath);
  CHECK(info.description == "created_at: ISO-8601 string -> epoch seconds");
  CHECK(info.owner == "accounts-team");
  CHECK(info.expected == "every user:* hash has an integer created_at");
  CHECK(info.rollback == "keyshift down restores the journaled values");
  CHECK(info.scan.match == "user:*");
  REQUIRE(info.scan.type.has_value());
  CHECK(*info.scan.type == KeyType::kHash);
  CHECK(info.scan.batch == 250);
  CHECK(info.mode == keyshift::RunMode::kServer);
  CHECK(info.limits.memory_bytes == (size_t{32} << 20));
  CHECK(info.limits.instructions == 5'000'000);
  CHECK(info.limits.wall_ms == 1'500);
  CHECK(info.has_transform);
  CHECK(info.has_verify);
  CHECK(info.transform_line == 10);
}

TEST_CASE("optional fields take their documented defaults", "[sandbox]") {
  auto m = MustLoad(WithTransform("    return nil"));
  const auto& info = m->info();
  CHECK(info.description == "test");
  CHECK(info.owner.empty());
  CHECK(info.scan.match == "*");
  CHECK_FALSE(info.scan.type.has_value());
  CHECK(info.scan.batch == 500);
  CHECK(info.mode == keyshift::RunMode::kHost);
  CHECK_FALSE(info.has_verify);
  CHECK(info.transform_line == 3);
}

TEST_CASE("each scan.type names its Redis type", "[sandbox]") {
  const std::pair<const char*, KeyType> cases[] = {{"string", KeyType::kString}, {"hash", KeyType::kHash},
                                                   {"list", KeyType::kList},     {"set", KeyType::kSet},
                                                   {"zset", KeyType::kZSet}};
  for (const auto& [name, type] : cases) {
    INFO(name);
    auto m = MustLoad(WithTransform("", std::string("  scan = { type = \"") + name + "\" },\n"));
    REQUIRE(m->info().scan.type.has_value());
    CHECK(*m->info().scan.type == type);
  }
}

TEST_CASE("limits given to Load apply when the file sets none", "[sandbox]") {
  // MigrationScript::Load: "`defaults` are the limits unless the file sets its own".
  SandboxLimits limits = SmallLimits();
  auto m = MustLoad(WithTransform("    while true do end"), limits);
  CHECK(m->info().limits.memory_bytes == limits.memory_bytes);
  CHECK(m->info().limits.instructions == limits.instructions);
  CHECK(m->info().limits.wall_ms == limits.wall_ms);
  CHECK_THAT(TransformError(*m, "k", Str("v")), Catch::Contains("instruction limit exceeded (1000000 instructions)"));
}

TEST_CASE("a file's partial limits keep the other limits given to Load", "[sandbox]") {
  SandboxLimits limits = SmallLimits();
  auto m = MustLoad(WithTransform("", "  limits = { time_ms = 1000 },\n"), limits);
  CHECK(m->info().limits.wall_ms == 1000);
  CHECK(m->info().limits.instructions == limits.instructions);
  CHECK(m->info().limits.memory_bytes == limits.memory_bytes);
}

TEST_CASE("a syntax error names the file and line", "[sandbox]") {
  std::string msg = LoadError("return {\n  description = \"d\",\n  transform = function(key, value)\n    return value +\n  end,\n}\n");
  CHECK_THAT(msg, Catch::StartsWith("migrations/0001_x.lua:5:"));
  CHECK_THAT(msg, Catch::Contains("near 'end'"));
}

TEST_CASE("a runtime error while the file loads names the file and line", "[sandbox]") {
  std::string msg = LoadError("local x = 1\nerror(\"broken at load\")\nreturn {}\n");
  CHECK(msg == "migrations/0001_x.lua:2: broken at load");
}

TEST_CASE("a file that does not return a table is refused", "[sandbox]") {
  CHECK(LoadError("-- nothing\nreturn 5\n") ==
        "migrations/0001_x.lua:2: the file must return a migration table, not number");
}

TEST_CASE("missing required fields name the file, a line and the field", "[sandbox]") {
  SECTION("description") {
    std::string msg = LoadError("-- no description\nreturn {\n  transform = function(key, value) end,\n}\n");
    CHECK(msg == "migrations/0001_x.lua:2: 'description' must be a non-empty string (it is missing)");
  }
  SECTION("empty description") {
    std::string msg = LoadError("-- empty\nreturn { description = \"\", transform = function() end }\n");
    CHECK(msg == "migrations/0001_x.lua:2: 'description' must be a non-empty string");
  }
  SECTION("transform") {
    std::string msg = LoadError("-- no transform\nreturn {\n  description = \"d\",\n}\n");
    CHECK(msg == "migrations/0001_x.lua:2: 'transform' must be a function(key, value) (it is missing)");
  }
}

TEST_CASE("fields of the wrong type name the file, a line and the field", "[sandbox]") {
  struct Case {
    const char* fields;
    const char* expected;
  };
  const Case cases[] = {
      {"description = 5, transform = function() end", "'description' must be a non-empty string"},
      {"description = \"d\", owner = {}, transform = function() end", "'owner' must be a non-empty string"},
      {"description = \"d\", transform = \"x\"", "'transform' must be a function(key, value)"},
      {"description = \"d\", transform = function() end, verify = true", "'verify' must be a function(key, value)"},
      {"description = \"d\", transform = function() end, mode = \"fast\"",
       "mode must be \"host\" or \"server\", not \"fast\""},
      {"description = \"d\", transform = function() end, scan = \"user:*\"", "'scan' must be a table"},
      {"description = \"d\", transform = function() end, scan = { match = 5 }", "scan.match must be a non-empty string"},
      {"description = \"d\", transform = function() end, scan = { type = \"stream\" }",
       "scan.type must be one of string, hash, list, set, zset"},
      {"description = \"d\", transform = function() end, scan = { batch = 0 }", "scan.batch must be an integer"},
      {"description = \"d\", transform = function() end, scan = { batch = 2.5 }", "scan.batch must be an integer"},
      {"description = \"d\", transform = function() end, limits = 64", "'limits' must be a table"},
      {"description = \"d\", transform = function() end, limits = { memory_mb = \"big\" }",
       "limits.memory_mb must be an integer"},
      {"description = \"d\", transform = function() end, limits = { instructions = -1 }",
       "limits.instructions must be an integer"},
      {"description = \"d\", transform = function() end, limits = { time_ms = 0 }", "limits.time_ms must be an integer"},
  };
  for (const auto& c : cases) {
    INFO(c.fields);
    std::string msg = LoadError(std::string("-- a migration\nreturn { ") + c.fields + " }\n");
    CHECK_THAT(msg, Catch::StartsWith("migrations/0001_x.lua:2: "));
    CHECK_THAT(msg, Catch::Contains(c.expected));
  }
}

TEST_CASE("an unknown field in the migration table is refused", "[sandbox]") {
  std::string msg =
      LoadError("-- typo\nreturn {\n  description = \"d\",\n  tranform = 1,\n  transform = function() end,\n}\n");
  CHECK(msg == "migrations/0001_x.lua:2: unknown field 'tranform' in the migration table");
}

// ---------------------------------------------------------------------------
// The allow-listed environment

TEST_CASE("forbidden functions fail when the file loads, naming file:line", "[sandbox]") {
  struct Case {
    const char* expr;
    const char* expected;
  };
  const Case cases[] = {
      {"os.execute(\"true\")", "os.execute is not available in the keyshift sandbox"},
      {"io.open(\"/etc/passwd\")", "'io' is not available in the keyshift sandbox"},
      {"require(\"os\")", "'require' is not available in the keyshift sandbox"},
      {"dofile(\"/etc/passwd\")", "'dofile' is not available in the keyshift sandbox"},
      {"loadfile(\"/etc/passwd\")", "'loadfile' is not available in the keyshift sandbox"},
      {"debug.getinfo(1)", "'debug' is not available in the keyshift sandbox"},
      {"collectgarbage(\"count\")", "'collectgarbage' is not available in the keyshift sandbox"},
      {"math.random(10)", "math.random is not available in the keyshift sandbox"},
      {"math.randomseed(1)", "math.randomseed is not available in the keyshift sandbox"},
      {"os.getenv(\"HOME\")", "os.getenv is not available in the keyshift sandbox"},
  };
  for (const auto& c : cases) {
    INFO(c.expr);
    std::string msg = LoadError(std::string("-- line 1\nlocal _ = ") + c.expr + "\nreturn { description = \"d\", transform = function() end }\n");
    CHECK_THAT(msg, Catch::StartsWith("migrations/0001_x.lua:2: "));
    CHECK_THAT(msg, Catch::Contains(c.expected));
  }
}

TEST_CASE("forbidden functions fail inside transform, naming file:line and the key", "[sandbox]") {
  const char* const exprs[] = {"os.execute(\"true\")",      "io.open(\"/etc/passwd\")",
                               "require(\"os\")",           "dofile(\"/etc/passwd\")",
                               "loadfile(\"/etc/passwd\")", "debug.getinfo(1)",
                               "collectgarbage(\"count\")", "math.random(10)"};
  for (const char* expr : exprs) {
    INFO(expr);
    auto m = MustLoad(WithTransform(std::string("    local _ = ") + expr));
    std::string msg = TransformError(*m, "user:1", Str("v"));
    CHECK_THAT(msg, Catch::StartsWith("migrations/0001_x.lua:4: "));
    CHECK_THAT(msg, Catch::Contains("is not available in the keyshift sandbox"));
    CHECK_THAT(msg, Catch::EndsWith("(key 'user:1')"));
  }
}

TEST_CASE("an undefined global is an error, not nil", "[sandbox]") {
  auto m = MustLoad(WithTransform("    return undefined_thing"));
  std::string msg = TransformError(*m, "k", Str("v"));
  CHECK(msg == "migrations/0001_x.lua:4: undefined global 'undefined_thing' (key 'k')");
}

TEST_CASE("what the sandbox does offer is there", "[sandbox]") {
  CHECK(EvalInTransform("type(os.time()) .. type(os.clock())") == "numbernumber");
  CHECK(EvalInTransform("string.upper('ab') .. table.concat({'c', 'd'}) .. math.floor(2.5)") == "ABcd2");
  CHECK(EvalInTransform("utf8.char(233)") == "\xc3\xa9");
  CHECK(EvalInTransform("tostring(select('#', pcall(error, 'x')))") == "2");
}

TEST_CASE("load refuses a binary chunk", "[sandbox]") {
  SECTION("at load time") {
    auto m = MustLoad(
        "local f, err = load(\"\\27Lua\\84\\0\\25\\147\\r\\n\\26\\n\")\n"
        "return { description = tostring(f) .. ': ' .. tostring(err), transform = function() end }\n");
    CHECK_THAT(m->info().description, Catch::StartsWith("nil: "));
    CHECK_THAT(m->info().description, Catch::Contains("binary chunk"));
  }
  SECTION("inside transform") {
    std::string got = EvalInTransform("select(2, load('\\27Lua' .. string.rep('\\0', 40)))");
    CHECK_THAT(got, Catch::Contains("attempt to load a binary chunk"));
  }
}

TEST_CASE("load of text works and runs in the sandbox environment", "[sandbox]") {
  SECTION("it runs") { CHECK(EvalInTransform("load('return 40 + 2')()") == "42"); }
  SECTION("it sees the stdlib and the migration's globals") {
    CHECK(EvalInTransform("load('return ks.number(5.0) .. string.upper(\"x\")')()") == "5X");
  }
  SECTION("globals it sets are the migration's") {
    CHECK(EvalInTransform("(function() load('shared_value = \"set by load\"')() return shared_value end)()") ==
          "set by load");
  }
  SECTION("it cannot reach forbidden functions") {
    auto m = MustLoad(WithTransform("    local f = load('return os.execute')()\n    return f"));
    std::string msg = TransformError(*m, "k", Str("v"));
    CHECK_THAT(msg, Catch::StartsWith("migrations/0001_x.lua:4: "));
    CHECK_THAT(msg, Catch::Contains("os.execute is not available"));
    CHECK_THAT(msg, Catch::EndsWith("(key 'k')"));
  }
  SECTION("a syntax error comes back as nil and a message") {
    CHECK_THAT(EvalInTransform("select(2, load('return +'))"), Catch::Contains("unexpected symbol"));
  }
}

TEST_CASE("the string metatable is not reachable", "[sandbox]") {
  CHECK(EvalInTransform("tostring(getmetatable(''))") == "false");
  CHECK(EvalInTransform("tostring(getmetatable('') == string)") == "false");
  // Methods on strings still work.
  CHECK(EvalInTransform("('abc'):upper()") == "ABC");
}

// ---------------------------------------------------------------------------
// Limits

TEST_CASE("a memory bomb is a memory limit error naming file and key", "[sandbox]") {
  auto m = MustLoad(WithTransform(
      "    if key == 'rep' then return string.rep('x', 1e9) end\n"
      "    if key == 'table' then\n"
      "      local t = {}\n"
      "      for i = 1, 1e9 do t[i] = string.rep('y', 1000) .. i end\n"
      "    end\n"
      "    return value .. '!'"));
  SECTION("string.rep") {
    std::string msg = TransformError(*m, "rep", Str("v"));
    CHECK_THAT(msg, Catch::Matches("migrations/0001_x\\.lua:[0-9]+: memory limit exceeded .*"));
    CHECK_THAT(msg, Catch::EndsWith("(key 'rep')"));
  }
  SECTION("a growing table") {
    std::string msg = TransformError(*m, "table", Str("v"));
    CHECK_THAT(msg, Catch::StartsWith("migrations/0001_x.lua:7: memory limit exceeded"));
    CHECK_THAT(msg, Catch::EndsWith("(key 'table')"));
  }
  // Either way the state stays usable for the next key.
  auto out = MustTransform(*m, "ok", Str("v"));
  CHECK(out.action == KeyAction::kRewrite);
  CHECK(out.value.str == "v!");
}

TEST_CASE("a memory bomb inside pcall is not swallowed", "[sandbox]") {
  auto m = MustLoad(WithTransform(
      "    pcall(function() local t = {} for i = 1, 1e9 do t[i] = string.rep('y', 1000) .. i end end)\n"
      "    return 'escaped'"));
  std::string msg = TransformError(*m, "k", Str("v"));
  CHECK_THAT(msg, Catch::Contains("memory limit exceeded"));
  CHECK_THAT(msg, Catch::StartsWith("migrations/0001_x.lua:"));
  CHECK_THAT(msg, Catch::EndsWith("(key 'k')"));
}

TEST_CASE("an infinite loop is stopped, naming file:line and key", "[sandbox]") {
  auto m = MustLoad(WithTransform(
      "    if key == 'plain' then while true do end end\n"
      "    if key == 'pcall' then pcall(function() while true do end end) end\n"
      "    if key == 'xpcall' then xpcall(function() while true do end end, function(e) return e end) end\n"
      "    return value .. '!'"));
  SECTION("plain") {
    std::string msg = TransformError(*m, "plain", Str("v"));
    CHECK_THAT(msg, Catch::StartsWith("migrations/0001_x.lua:4: instruction limit exceeded"));
    CHECK_THAT(msg, Catch::EndsWith("(key 'plain')"));
  }
  SECTION("inside pcall") {
    std::string msg = TransformError(*m, "pcall", Str("v"));
    CHECK_THAT(msg, Catch::StartsWith("migrations/0001_x.lua:5: instruction limit exceeded"));
    CHECK_THAT(msg, Catch::EndsWith("(key 'pcall')"));
  }
  SECTION("inside xpcall") {
    std::string msg = TransformError(*m, "xpcall", Str("v"));
    CHECK_THAT(msg, Catch::StartsWith("migrations/0001_x.lua:6: instruction limit exceeded"));
    CHECK_THAT(msg, Catch::EndsWith("(key 'xpcall')"));
  }
  // The budget is per call: the next key runs normally.
  auto out = MustTransform(*m, "ok", Str("v"));
  CHECK(out.value.str == "v!");
}

TEST_CASE("an infinite loop at load time is stopped", "[sandbox]") {
  std::string msg = LoadError("-- spin\nwhile true do end\nreturn {}\n");
  CHECK(msg == "migrations/0001_x.lua:2: instruction limit exceeded (1000000 instructions)");
}

TEST_CASE("the wall-time limit a file sets stops a loop", "[sandbox]") {
  auto m = MustLoad(WithTransform("    while true do end", "  limits = { instructions = 1000000000000, time_ms = 50 },\n"));
  std::string msg = TransformError(*m, "k", Str("v"));
  CHECK(msg == "migrations/0001_x.lua:4: time limit exceeded (50 ms) (key 'k')");
}

TEST_CASE("the instruction limit a file sets is used", "[sandbox]") {
  auto m = MustLoad(WithTransform("    while true do end", "  limits = { instructions = 20000 },\n"));
  std::string msg = TransformError(*m, "k", Str("v"));
  CHECK(msg == "migrations/0001_x.lua:4: instruction limit exceeded (20000 instructions) (key 'k')");
}

// ---------------------------------------------------------------------------
// Errors and wrong results

TEST_CASE("a runtime error in transform names file:line and the key", "[sandbox]") {
  auto m = MustLoad(WithTransform("    local n = nil\n    return n.field"));
  std::string msg = TransformError(*m, "user:7", Str("v"));
  CHECK_THAT(msg, Catch::StartsWith("migrations/0001_x.lua:5: "));
  CHECK_THAT(msg, Catch::Contains("attempt to index"));
  CHECK_THAT(msg, Catch::EndsWith("(key 'user:7')"));
}

TEST_CASE("error() without position still names file:line and the key", "[sandbox]") {
  auto m = MustLoad(WithTransform("    error('no position', 0)"));
  CHECK(TransformError(*m, "k", Str("v")) == "migrations/0001_x.lua:4: no position (key 'k')");
}

TEST_CASE("keys in messages are quoted and escaped", "[sandbox]") {
  CHECK(QuoteKey("user:1") == "'user:1'");
  CHECK(QuoteKey(std::string("a\nb\0c", 5)) == "'a\\x0ab\\x00c'");
  CHECK(QuoteKey("it's") == "'it\\x27s'");
  std::string long_key(300, 'k');
  CHECK(QuoteKey(long_key) == "'" + std::string(200, 'k') + "...' (300 bytes)");
  auto m = MustLoad(WithTransform("    error('x')"));
  CHECK_THAT(TransformError(*m, "a\nb", Str("v")), Catch::EndsWith("(key 'a\\x0ab')"));
}
