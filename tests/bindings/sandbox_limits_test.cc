// The sandbox's limits where Lua itself would escape them (SPEC 2, guarantee
// 9): code that runs with hooks off (xpcall message handlers, __gc
// finalizers, error objects' metamethods), C code converting big values, and
// allocations made by the host while it reads the migration table.
#include <catch.hpp>
#include <memory>
#include <string>

#include "bindings/migration_script.h"

using keyshift::KeyType;
using keyshift::MigrationScript;
using keyshift::SandboxLimits;
using keyshift::KeyAction;
using keyshift::TransformOutcome;
using keyshift::Value;

namespace {

const std::string kFile = "migrations/0002_limits.lua";

SandboxLimits Tight() { return SandboxLimits{32u << 20, 2'000'000, 3'000}; }

// `body` is the transform's body; it starts on line 4 of the file.
std::unique_ptr<MigrationScript> Script(const std::string& body, const std::string& extra = "") {
  std::string text = "return {\n  description = \"limits\",\n  transform = function(key, value)\n" + body +
                     "\n  end,\n" + extra + "}\n";
  auto r = MigrationScript::Load(kFile, text, Tight());
  if (!r.ok()) FAIL("load failed: " << r.error().message);
  return std::move(r.value());
}

Value Text(const std::string& s) {
  Value v;
  v.type = KeyType::kString;
  v.str = s;
  return v;
}

// The transform's result for key "k" as a string value, or "error: <message>".
std::string Run(MigrationScript& m, const Value& v = Text("v")) {
  auto r = m.Transform("k", v);
  if (!r.ok()) return "error: " + r.error().message;
  if (r->action == KeyAction::kKeep) return "keep";
  return r->value.str;
}

}  // namespace

TEST_CASE("a loop in an xpcall message handler is stopped by the limits", "[sandbox][limits]") {
  auto m = Script("    xpcall(function() error('x') end, function() while true do end end)\n    return 'escaped'");
  std::string out = Run(*m);
  CHECK_THAT(out, Catch::StartsWith("error: migrations/0002_limits.lua:4: instruction limit exceeded"));
  CHECK_THAT(out, Catch::EndsWith("(key 'k')"));
  CHECK(Run(*Script("    return 'fine'")) == "fine");
}

TEST_CASE("xpcall keeps Lua's results while its handler runs after unwinding", "[sandbox][limits]") {
  struct Case {
    const char* body;
    const char* result;
  };
  const Case cases[] = {
      // Success: true and every result; extra arguments reach f.
      {"    local ok, a, b = xpcall(function(x, y) return x .. y, 2 end, error, 'p', 'q')\n"
       "    return tostring(ok) .. a .. b",
       "truepq2"},
      // Failure: false and the handler's first result only.
      {"    local ok, msg, extra = xpcall(function() error('boom', 0) end,\n"
       "      function(e) return 'handled ' .. e, 'dropped' end)\n"
       "    return tostring(ok) .. ' ' .. msg .. ' ' .. tostring(extra)",
       "false handled boom nil"},
      // A handler that fails: Lua's own message.
      {"    local ok, msg = xpcall(function() error('a') end, function() error('b') end)\n"
       "    return tostring(ok) .. ' ' .. msg",
       "false error in error handling"},
  };
  for (const Case& c : cases) CHECK(Run(*Script(c.body)) == c.result);
  // A kill inside the handler is not handled again.
  auto m = Script("    xpcall(function() error('a') end, function() while true do end end)\n    return 'escaped'");
  CHECK_THAT(Run(*m), Catch::Contains("instruction limit exceeded"));
}

TEST_CASE("__gc finalizers are refused, at load and in transform", "[sandbox][limits]") {
  auto m = Script("    setmetatable({}, { __gc = function() while true do end end })\n    return 'escaped'");
  std::string out = Run(*m);
  CHECK_THAT(out, Catch::StartsWith("error: migrations/0002_limits.lua:4: __gc metamethods are not available"));
  // A placeholder __gc replaced later would be a finalizer too.
  auto later = Script("    local mt = { __gc = true }\n    setmetatable({}, mt)\n    return 'escaped'");
  CHECK_THAT(Run(*later), Catch::Contains("__gc metamethods are not available"));
  auto r = MigrationScript::Load(kFile, "local x = setmetatable({}, { __gc = print })\nreturn {}\n", Tight());
  REQUIRE_FALSE(r.ok());
  CHECK_THAT(r.error().message, Catch::StartsWith("migrations/0002_limits.lua:1: __gc metamethods"));
  // Other metatables still work.
  CHECK(Run(*Script("    return tostring(setmetatable({}, { __tostring = function() return 'mt' end }))")) == "mt");
}

TEST_CASE("an error object whose __tostring loops is stopped, not stringified", "[sandbox][limits]") {
  auto m = Script("    error(setmetatable({}, { __tostring = function() while true do end end }))");
  std::string out = Run(*m);
  CHECK_THAT(out, Catch::Contains("(error object is a table value)"));
  CHECK_THAT(out, Catch::EndsWith("(key 'k')"));
}

TEST_CASE("converting a huge value into Lua respects the time limit", "[sandbox][limits]") {
  // The transform itself runs too few instructions for the count hook: only
  // the conversion of two million elements can break a 1 ms limit.
  auto m = Script("    return nil", "  limits = { time_ms = 1 },\n");
  Value big;
  big.type = KeyType::kList;
  big.items.assign(2'000'000, "item");
  CHECK(Run(*m, Text("small")) == "keep");
  std::string out = Run(*m, big);
  CHECK_THAT(out, Catch::Contains("time limit exceeded (1 ms)"));
  CHECK_THAT(out, Catch::StartsWith("error: migrations/0002_limits.lua:"));
  CHECK_THAT(out, Catch::EndsWith("(key 'k')"));
}

TEST_CASE("a file whose top level outgrows its own memory limit is a clear error", "[sandbox][limits]") {
  // The top level runs under the default limit; the file's 1 MiB applies
  // when keyshift reads the table it returned.
  const std::string text =
      "local keep = {}\n"
      "for i = 1, 2000 do keep[i] = ('x'):rep(1024) .. i end\n"
      "return {\n"
      "  description = 'fills its own limit',\n"
      "  limits = { memory_mb = 1 },\n"
      "  transform = function(key, value) return keep[1] end,\n"
      "  verify = function(key, value) return true end,\n"
      "}\n";
  auto r = MigrationScript::Load(kFile, text, Tight());
  REQUIRE_FALSE(r.ok());
  CHECK_THAT(r.error().message, Catch::StartsWith("migrations/0002_limits.lua:"));
  CHECK_THAT(r.error().message, Catch::Contains("memory limit exceeded (1 MiB"));
}

TEST_CASE("pattern bombs are stopped by the limits, however they are called", "[sandbox][limits]") {
  const char* calls[] = {
      "    return (('a'):rep(3000)):find('.-.-.-.-b')",
      "    return string.match(('a'):rep(3000), '(.-)(.-)(.-)b')",
      "    return (('a'):rep(3000)):gsub('.-.-.-b', 'x')",
      "    for m in (('a'):rep(3000)):gmatch('a*a*a*b') do return m end",
  };
  for (const char* body : calls) {
    INFO(body);
    std::string out = Run(*Script(body));
    CHECK_THAT(out, Catch::StartsWith("error: migrations/0002_limits.lua:"));
    CHECK_THAT(out, Catch::Contains("instruction limit exceeded") || Catch::Contains("time limit exceeded"));
  }
  // At the file's top level too (what `check` and every command load).
  auto r = MigrationScript::Load(kFile, "local x = ('a'):rep(3000):find('.-.-.-.-b')\nreturn {}\n", Tight());
  REQUIRE_FALSE(r.ok());
  CHECK_THAT(r.error().message, Catch::StartsWith("migrations/0002_limits.lua:1: instruction limit exceeded"));
  // Ordinary patterns keep their results.
  CHECK(Run(*Script("    return ('2024-01-02T03'):match('^(%d+)-(%d+)') .. ('a b  c'):gsub('%s+', '_')")) ==
        "2024a_b_c");
}
