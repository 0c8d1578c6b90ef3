// The migration sandbox (bindings/sandbox.h) as a migration sees it through
// MigrationScript (bindings/migration_script.h): loading and validating the
// migration table, the allow-listed globals, resource limits, the values a
// transform receives and what its results become (SPEC 2 and 5.5).
// No server: every test loads a migration from a string.
#include "bindings/migration_script.h"

#include <catch.hpp>
#include <memory>
#include <string>
#include <utility>
#include <vector>

using keyshift::KeyType;
using keyshift::MigrationScript;
using keyshift::QuoteKey;
using keyshift::SandboxLimits;
using keyshift::KeyAction;
using keyshift::TransformOutcome;
using keyshift::Value;

namespace {

const std::string kPath = "migrations/0001_x.lua";

// Small limits so that bombs fail fast.
SandboxLimits SmallLimits() {
  SandboxLimits l;
  l.memory_bytes = 16u << 20;
  l.instructions = 1'000'000;
  l.wall_ms = 2'000;
  return l;
}

std::unique_ptr<MigrationScript> MustLoad(const std::string& text, const SandboxLimits& limits = SmallLimits()) {
  auto r = MigrationScript::Load(kPath, text, limits);
  if (!r.ok()) FAIL("unexpected load error: " << r.error().message);
  return std::move(r.value());
}

std::string LoadError(const std::string& text) {
  auto r = MigrationScript::Load(kPath, text, SmallLimits());
  REQUIRE_FALSE(r.ok());
  return r.error().message;
}

// A migration whose transform body starts on line 4 of the file; the
// transform itself is defined on line 3:
//   1 return {
//   2   description = "test",
//   3   transform = function(key, value)
//   4     <body>
std::string WithTransform(const std::string& body, const std::string& more_fields = "") {
  return "return {\n"
         "  description = \"test\",\n"
         "  transform = function(key, value)\n" +
         body + "\n  end,\n" + more_fields + "}\n";
}

// A migration whose verify body starts on line 4 of the file.
std::string WithVerify(const std::string& body) {
  return "return {\n"
         "  description = \"test\",\n"
         "  verify = function(key, value)\n" +
         body + "\n  end,\n  transform = function(key, value) end,\n}\n";
}

Value Str(std::string s) {
  Value v;
  v.type = KeyType::kString;
  v.str = std::move(s);
  return v;
}

Value WithPairs(KeyType type, std::vector<std::pair<std::string, std::string>> pairs) {
  Value v;
  v.type = type;
  v.pairs = std::move(pairs);
  v.Normalize();
  return v;
}

Value WithItems(KeyType type, std::vector<std::string> items) {
  Value v;
  v.type = type;
  v.items = std::move(items);
  v.Normalize();
  return v;
}

TransformOutcome MustTransform(MigrationScript& m, const std::string& key, const Value& v) {
  auto r = m.Transform(key, v);
  if (!r.ok()) FAIL("unexpected transform error: " << r.error().message);
  return r.value();
}

std::string TransformError(MigrationScript& m, const std::string& key, const Value& v) {
  auto r = m.Transform(key, v);
  REQUIRE_FALSE(r.ok());
  return r.error().message;
}

// What `verify` returned as its reason: a way to look at the value a script received.
std::string VerifyReason(MigrationScript& m, const std::string& key, const Value& v) {
  auto r = m.Verify(key, v);
  if (!r.ok()) FAIL("unexpected verify error: " << r.error().message);
  return r.value().second;
}

// Runs `expr` (a Lua expression yielding a string) inside a transform on a
// string key and returns the string written.
std::string EvalInTransform(const std::string& expr) {
  auto m = MustLoad(WithTransform("    return " + expr));
  auto out = MustTransform(*m, "k", Str("unused"));
  REQUIRE(out.action == KeyAction::kRewrite);
  return out.value.str;
}

}  // namespace

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

TEST_CASE("a transform result of the wrong shape names file:line and the key", "[sandbox]") {
  struct Case {
    const char* name;
    Value value;
    const char* ret;
    const char* expected;
  };
  const Case cases[] = {
      {"boolean for a hash", WithPairs(KeyType::kHash, {{"f", "v"}}), "true", "returned a boolean for a hash key"},
      {"table for a string", Str("v"), "{ 'a' }", "returned a table for a string key"},
      {"string for a list", WithItems(KeyType::kList, {"a"}), "'a'", "returned a string for a list key"},
      {"list with holes", WithItems(KeyType::kList, {"a"}), "{ 'a', nil, 'c' }", "not an array"},
      {"list with a field", WithItems(KeyType::kList, {"a"}), "{ 'a', x = 'y' }", "not an array"},
      {"list of tables", WithItems(KeyType::kList, {"a"}), "{ {} }", "list element 1 that is a table"},
      {"non-number score", WithPairs(KeyType::kZSet, {{"alice", "1"}}), "{ alice = 'high' }",
       "zset member 'alice' with a string score"},
      {"nan score", WithPairs(KeyType::kZSet, {{"alice", "1"}}), "{ alice = 0/0 }", "zset member 'alice' with a nan score"},
      {"empty hash", WithPairs(KeyType::kHash, {{"f", "v"}}), "{}", "which Redis cannot store"},
      {"empty list", WithItems(KeyType::kList, {"a"}), "{}", "which Redis cannot store"},
      {"empty set", WithItems(KeyType::kSet, {"a"}), "{}", "which Redis cannot store"},
      {"empty zset", WithPairs(KeyType::kZSet, {{"a", "1"}}), "{}", "which Redis cannot store"},
      {"boolean hash field", WithPairs(KeyType::kHash, {{"f", "v"}}), "{ f = true }", "that is a boolean"},
      {"ks.DELETE as a rename value", Str("v"), "ks.rename('b', ks.DELETE)", "returned a table for a string key"},
  };
  for (const auto& c : cases) {
    INFO(c.name);
    auto m = MustLoad(WithTransform(std::string("    return ") + c.ret));
    std::string msg = TransformError(*m, "the:key", c.value);
    CHECK_THAT(msg, Catch::StartsWith("migrations/0001_x.lua:3: transform "));
    CHECK_THAT(msg, Catch::Contains(c.expected));
    CHECK_THAT(msg, Catch::EndsWith("(key 'the:key')"));
  }
}

TEST_CASE("an empty collection error points at ks.DELETE", "[sandbox]") {
  auto m = MustLoad(WithTransform("    return {}"));
  CHECK_THAT(TransformError(*m, "h", WithPairs(KeyType::kHash, {{"f", "v"}})), Catch::Contains("ks.DELETE"));
}

// ---------------------------------------------------------------------------
// Results

TEST_CASE("numbers in results are written canonically", "[sandbox]") {
  SECTION("string key") {
    CHECK(EvalInTransform("5.0") == "5");
    CHECK(EvalInTransform("5") == "5");
    CHECK(EvalInTransform("-0.0") == "0");
    CHECK(EvalInTransform("0.1") == "0.1");
    CHECK(EvalInTransform("0.1 + 0.2") == "0.30000000000000004");
    CHECK(EvalInTransform("1e300") == "1e+300");
    CHECK(EvalInTransform("2^53") == "9007199254740992");
  }
  SECTION("hash values and field names") {
    auto m = MustLoad(WithTransform("    return { n = 1e3, f = 2.5, [7] = 'seven', [1.5] = 'x' }"));
    auto out = MustTransform(*m, "h", WithPairs(KeyType::kHash, {{"n", "1"}}));
    REQUIRE(out.action == KeyAction::kRewrite);
    CHECK(out.value == WithPairs(KeyType::kHash, {{"n", "1000"}, {"f", "2.5"}, {"7", "seven"}, {"1.5", "x"}}));
  }
  SECTION("list items") {
    auto m = MustLoad(WithTransform("    return { 1.0, 0.1, 3 }"));
    auto out = MustTransform(*m, "l", WithItems(KeyType::kList, {"x"}));
    CHECK(out.value == WithItems(KeyType::kList, {"1", "0.1", "3"}));
  }
  SECTION("zset scores") {
    auto m = MustLoad(WithTransform("    return { a = 1e3, b = 0.5, c = math.huge, d = -math.huge }"));
    auto out = MustTransform(*m, "z", WithPairs(KeyType::kZSet, {{"a", "1"}}));
    CHECK(out.value == WithPairs(KeyType::kZSet, {{"a", "1000"}, {"b", "0.5"}, {"c", "inf"}, {"d", "-inf"}}));
  }
}

TEST_CASE("transform actions", "[sandbox]") {
  auto m = MustLoad(WithTransform(
      "    if key == 'del' then return ks.DELETE end\n"
      "    if key == 'mv' then return ks.rename('new:' .. key, value .. '2') end\n"
      "    if key == 'mv-same' then return ks.rename('new:' .. key) end\n"
      "    if key == 'mv-self' then return ks.rename(key, value) end\n"
      "    if key == 'mv-self-edit' then return ks.rename(key, value .. '!') end\n"
      "    if key == 'same' then return value end\n"
      "    if key == 'copy' then return '' .. value end\n"
      "    if key == 'edit' then return value .. '!' end\n"
      "    return nil"));
  const Value v = Str("v");
  SECTION("ks.DELETE deletes") { CHECK(MustTransform(*m, "del", v).action == KeyAction::kDelete); }
  SECTION("ks.rename(new, value) moves with the new value") {
    auto out = MustTransform(*m, "mv", v);
    CHECK(out.action == KeyAction::kRename);
    CHECK(out.new_key == "new:mv");
    CHECK(out.value == Str("v2"));
  }
  SECTION("ks.rename(new) moves the value unchanged") {
    auto out = MustTransform(*m, "mv-same", v);
    CHECK(out.action == KeyAction::kRename);
    CHECK(out.new_key == "new:mv-same");
    CHECK(out.value == v);
  }
  SECTION("a rename onto the key itself is a keep, or a write if the value changed") {
    CHECK(MustTransform(*m, "mv-self", v).action == KeyAction::kKeep);
    auto out = MustTransform(*m, "mv-self-edit", v);
    CHECK(out.action == KeyAction::kRewrite);
    CHECK(out.value == Str("v!"));
  }
  SECTION("nil keeps") { CHECK(MustTransform(*m, "other", v).action == KeyAction::kKeep); }
  SECTION("an identical value keeps") {
    CHECK(MustTransform(*m, "same", v).action == KeyAction::kKeep);
    CHECK(MustTransform(*m, "copy", v).action == KeyAction::kKeep);
  }
  SECTION("a changed value writes") {
    auto out = MustTransform(*m, "edit", v);
    CHECK(out.action == KeyAction::kRewrite);
    CHECK(out.value == Str("v!"));
  }
}

TEST_CASE("ks.rename to a key with a NUL byte keeps the whole key", "[sandbox]") {
  auto m = MustLoad(WithTransform("    return ks.rename('new\\0key')"));
  auto out = MustTransform(*m, "old", Str("v"));
  CHECK(out.action == KeyAction::kRename);
  CHECK(out.new_key == std::string("new\0key", 7));
}

TEST_CASE("ks.rename with a bad key names file:line and the key", "[sandbox]") {
  auto m = MustLoad(WithTransform("    local r = ks.rename(42)\n    return r"));
  std::string msg = TransformError(*m, "k", Str("v"));
  CHECK(msg == "migrations/0001_x.lua:4: ks.rename: the new key must be a non-empty string, got number (key 'k')");
}

TEST_CASE("ks.rename misuse in a tail call does not blame the stdlib", "[sandbox]") {
  // `return ks.rename(...)` is how transforms use it, and a tail call: the
  // transform's frame is gone, so error(msg, 2) in stdlib/ks.lua points at
  // stdlib/runner.lua instead of the migration.
  auto m = MustLoad(WithTransform("    return ks.rename(42)"));
  std::string msg = TransformError(*m, "k", Str("v"));
  CHECK_THAT(msg, Catch::StartsWith("migrations/0001_x.lua:"));
  CHECK_THAT(msg, Catch::Contains("ks.rename: the new key must be a non-empty string"));
  CHECK_THAT(msg, !Catch::Contains("stdlib/"));
  CHECK_THAT(msg, Catch::EndsWith("(key 'k')"));
}

TEST_CASE("every value type round-trips through a transform", "[sandbox]") {
  // The transform copies the value element by element into a new table.
  // Copy alone must come back identical (kKeep); copy plus one element must
  // come back as exactly the input plus that element (kWrite).
  auto m = MustLoad(WithTransform(
      "    local add = key:sub(1, 4) == 'add:'\n"
      "    local kind = key:match('[a-z]+$')\n"
      "    if kind == 'string' then return add and value .. '+' or value:sub(1) end\n"
      "    local copy = {}\n"
      "    if kind == 'list' or kind == 'set' then\n"
      "      for i, item in ipairs(value) do copy[i] = item end\n"
      "      if add then copy[#copy + 1] = '+' end\n"
      "    else\n"
      "      for k, v in pairs(value) do copy[k] = v end\n"
      "      if add then copy['+'] = kind == 'zset' and 99 or 'plus' end\n"
      "    end\n"
      "    return copy"));
  const std::string bin("bin\0\xff|x", 7);
  const Value values[] = {
      Str(bin),
      WithPairs(KeyType::kHash, {{"name", "Ada"}, {bin, "binary field"}, {"n", "0005"}}),
      WithItems(KeyType::kList, {"b", "a", bin, "a"}),
      WithItems(KeyType::kSet, {"b", "a", bin, "C"}),
      WithPairs(KeyType::kZSet, {{"alice", "1.5"}, {"bob", "-2"}, {bin, "inf"}}),
  };
  for (const Value& v : values) {
    const std::string kind = keyshift::KeyTypeName(v.type);
    INFO(kind);
    auto same = MustTransform(*m, "copy:" + kind, v);
    CHECK(same.action == KeyAction::kKeep);

    auto added = MustTransform(*m, "add:" + kind, v);
    CHECK(added.action == KeyAction::kRewrite);
    Value expected = v;
    if (v.type == KeyType::kString) expected.str += "+";
    if (v.type == KeyType::kList || v.type == KeyType::kSet) expected.items.push_back("+");
    if (v.type == KeyType::kHash) expected.pairs.emplace_back("+", "plus");
    if (v.type == KeyType::kZSet) expected.pairs.emplace_back("+", "99");
    expected.Normalize();
    CHECK(added.value == expected);
  }
}

TEST_CASE("values arrive in Lua as SPEC 2 describes", "[sandbox]") {
  auto m = MustLoad(WithVerify(
      "    if type(value) == 'string' then return false, 'string:' .. value end\n"
      "    local parts = {}\n"
      "    if key == 'hash' or key == 'zset' then\n"
      "      local names = {}\n"
      "      for k in pairs(value) do names[#names + 1] = k end\n"
      "      table.sort(names)\n"
      "      for _, k in ipairs(names) do\n"
      "        local v = value[k]\n"
      "        parts[#parts + 1] = k .. '=' .. type(v) .. ':' .. tostring(v)\n"
      "      end\n"
      "    else\n"
      "      for i, v in ipairs(value) do parts[i] = v end\n"
      "    end\n"
      "    return false, table.concat(parts, ',')"));
  SECTION("string -> Lua string") { CHECK(VerifyReason(*m, "s", Str("hello")) == "string:hello"); }
  SECTION("hash -> table field -> string") {
    CHECK(VerifyReason(*m, "hash", WithPairs(KeyType::kHash, {{"b", "2"}, {"a", "x"}})) == "a=string:x,b=string:2");
  }
  SECTION("list -> array in list order") {
    CHECK(VerifyReason(*m, "list", WithItems(KeyType::kList, {"c", "a", "b", "a"})) == "c,a,b,a");
  }
  SECTION("set -> array sorted bytewise") {
    CHECK(VerifyReason(*m, "set", WithItems(KeyType::kSet, {"b", "\xc3\xa9", "a", "B", "a"})) == "B,a,b,\xc3\xa9");
  }
  SECTION("zset -> member -> number score") {  // tostring writes numbers as Lua 5.1 (server mode) does
    CHECK(VerifyReason(*m, "zset", WithPairs(KeyType::kZSet, {{"a", "1.5"}, {"b", "3"}, {"c", "inf"}, {"d", "-inf"}})) ==
          "a=number:1.5,b=number:3,c=number:inf,d=number:-inf");
  }
}

TEST_CASE("a zset with only score text changes is kept", "[sandbox]") {
  // Redis may print a score as "1.5000000000000000"; numerically equal is unchanged.
  auto m = MustLoad(WithTransform("    return value"));
  CHECK(MustTransform(*m, "z", WithPairs(KeyType::kZSet, {{"a", "1.50"}, {"b", "2"}})).action ==
        KeyAction::kKeep);
}

TEST_CASE("set results are sorted and de-duplicated", "[sandbox]") {
  auto m = MustLoad(WithTransform("    return { 'b', 'a', 'b', 'C' }"));
  auto out = MustTransform(*m, "s", WithItems(KeyType::kSet, {"x"}));
  CHECK(out.action == KeyAction::kRewrite);
  CHECK(out.value.items == std::vector<std::string>{"C", "a", "b"});
}

// ---------------------------------------------------------------------------
// Verify

TEST_CASE("verify results", "[sandbox]") {
  auto m = MustLoad(WithVerify(
      "    if key == 'good' then return true end\n"
      "    if key == 'bad' then return false, 'created_at not numeric' end\n"
      "    if key == 'bare' then return false end\n"
      "    error('verify broke')"));
  SECTION("true") {
    auto r = m->Verify("good", Str("v"));
    REQUIRE(r.ok());
    CHECK(r->first);
    CHECK(r->second.empty());
  }
  SECTION("false and a reason") {
    auto r = m->Verify("bad", Str("v"));
    REQUIRE(r.ok());
    CHECK_FALSE(r->first);
    CHECK(r->second == "created_at not numeric");
  }
  SECTION("false without a reason") {
    auto r = m->Verify("bare", Str("v"));
    REQUIRE(r.ok());
    CHECK_FALSE(r->first);
    CHECK(r->second == "verify returned false");
  }
  SECTION("an error names file:line and the key") {
    auto r = m->Verify("boom", Str("v"));
    REQUIRE_FALSE(r.ok());
    CHECK_THAT(r.error().message, Catch::StartsWith("migrations/0001_x.lua:7: "));
    CHECK_THAT(r.error().message, Catch::Contains("verify broke"));
    CHECK_THAT(r.error().message, Catch::EndsWith("(key 'boom')"));
  }
}

TEST_CASE("without verify every key passes", "[sandbox]") {
  auto m = MustLoad(WithTransform(""));
  auto r = m->Verify("k", Str("v"));
  REQUIRE(r.ok());
  CHECK(r->first);
}

// ---------------------------------------------------------------------------
// Logging, isolation, stdlib

TEST_CASE("print and ks.log go to the log sink", "[sandbox]") {
  auto m = MustLoad(WithTransform("    print('seen', key, 1, nil)\n    ks.log('score', 2.5, true)"));
  std::vector<std::string> lines;
  m->SetLogSink([&lines](const std::string& line) { lines.push_back(line); });
  MustTransform(*m, "user:1", Str("v"));
  CHECK(lines == std::vector<std::string>{"seen user:1 1 nil", "score 2.5 true"});
}

TEST_CASE("two migrations do not share state", "[sandbox]") {
  auto a = MustLoad(
      "leaked = 'from a'\n"
      "string.upper = function() return 'hijacked' end\n"
      "return { description = 'a', transform = function(key, value) return string.upper(value) end }\n");
  auto b = MustLoad(WithTransform("    return tostring(rawget(_G, 'leaked')) .. ' ' .. string.upper(value)"));
  CHECK(MustTransform(*a, "k", Str("x")).value.str == "hijacked");
  CHECK(MustTransform(*b, "k", Str("x")).value.str == "nil X");
}

TEST_CASE("json and time are globals", "[sandbox]") {
  SECTION("json round-trips a compact document") {
    auto m = MustLoad(WithTransform("    return json.encode(json.decode(value))"));
    const std::string doc = R"({"b":1,"a":[1.50,9007199254740993,null],"c":"\u00e9"})";
    CHECK(MustTransform(*m, "k", Str(doc)).action == KeyAction::kKeep);
  }
  SECTION("json edits keep the other fields") {
    auto m = MustLoad(WithTransform("    local d = json.decode(value)\n    d.n = d.n + 1\n    return json.encode(d)"));
    auto out = MustTransform(*m, "k", Str(R"({"z":1.10,"n":1})"));
    CHECK(out.value.str == R"({"z":1.10,"n":2})");
  }
  SECTION("time") { CHECK(EvalInTransform("time.to_epoch('2024-01-01T00:00:00Z')") == "1704067200"); }
}

TEST_CASE("the sandbox writes numbers as Lua 5.1 does and keeps numbers a double cannot hold exact", "[sandbox]") {
  // Lua 5.4 alone writes "5.0" and "1000000000000000"; server mode (Lua 5.1) writes "5" and "1e+15".
  CHECK(EvalInTransform("tostring(10 / 2) .. string.format('%s', 10 / 2) .. table.concat({ 10 / 2 }) .. "
                        "string.rep(10 / 2, 2) .. ('a-b'):gsub('-', 10 / 2) .. tostring(10 ^ 15)") == "55555a5b1e+15");
  CHECK(EvalInTransform("load('return tostring(2.0)')()") == "2");
  CHECK(EvalInTransform("type(tonumber('9007199254740993')) .. ' ' .. tostring(tonumber('9007199254740993')) .. ' ' "
                        ".. json.encode({ tonumber('18446744073709551617') })") ==
        "number 9007199254740993 [18446744073709551617]");
  auto m = MustLoad(WithTransform("    return tonumber(value) + 1"));
  std::string err = TransformError(*m, "k:big", Str("9007199254740993"));
  CHECK_THAT(err, Catch::Contains(":4:") && Catch::Contains("number 9007199254740993 cannot be used in arithmetic "
                                                             "exactly") && Catch::Contains("'k:big'"));
  CHECK(MustTransform(*m, "k:small", Str("41")).value.str == "42");
  auto coerced = MustLoad(WithTransform("    return value * 2"));  // string arithmetic reads as tonumber does
  CHECK_THAT(TransformError(*coerced, "k:big", Str("9007199254740993")),
             Catch::Contains("number 9007199254740993 cannot be used in arithmetic exactly"));
  CHECK(MustTransform(*coerced, "k:small", Str("21")).value.str == "42");
  auto scored = MustLoad(WithTransform("    value.b = json.decode('9007199254740993'); return value"));
  CHECK_THAT(TransformError(*scored, "z", WithPairs(KeyType::kZSet, {{"a", "1"}})),
             Catch::Contains("score 9007199254740993, which a zset cannot hold exactly"));
}
