// Helpers shared by the sandbox tests (sandbox_test.cc, sandbox_values_test.cc):
// loading a migration from a string under small limits, building values, and
// reading a transform's outcome or error. No server.
#pragma once

#include <catch.hpp>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "bindings/migration_script.h"
#include "tests/support/values.h"

namespace sandbox_test {

using keyshift::KeyType;
using keyshift::MigrationScript;
using keyshift::QuoteKey;
using keyshift::SandboxLimits;
using keyshift::KeyAction;
using keyshift::TransformOutcome;
using keyshift::Value;

inline const std::string kPath = "migrations/0001_x.lua";

// Small limits so that bombs fail fast.
inline SandboxLimits SmallLimits() {
  SandboxLimits l;
  l.memory_bytes = 16u << 20;
  l.instructions = 1'000'000;
  l.wall_ms = 2'000;
  return l;
}

inline std::unique_ptr<MigrationScript> MustLoad(const std::string& text, const SandboxLimits& limits = SmallLimits()) {
  auto r = MigrationScript::Load(kPath, text, limits);
  if (!r.ok()) FAIL("unexpected load error: " << r.error().message);
  return std::move(r.value());
}

inline std::string LoadError(const std::string& text) {
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
inline std::string WithTransform(const std::string& body, const std::string& more_fields = "") {
  return "return {\n"
         "  description = \"test\",\n"
         "  transform = function(key, value)\n" +
         body + "\n  end,\n" + more_fields + "}\n";
}

// A migration whose verify body starts on line 4 of the file.
inline std::string WithVerify(const std::string& body) {
  return "return {\n"
         "  description = \"test\",\n"
         "  verify = function(key, value)\n" +
         body + "\n  end,\n  transform = function(key, value) end,\n}\n";
}

inline Value Str(std::string s) { return keyshift::testing::Text(std::move(s)); }

inline Value WithPairs(KeyType type, std::vector<std::pair<std::string, std::string>> pairs) {
  return keyshift::testing::Pairs(type, std::move(pairs));
}

inline Value WithItems(KeyType type, std::vector<std::string> items) {
  return keyshift::testing::Items(type, std::move(items));
}

inline TransformOutcome MustTransform(MigrationScript& m, const std::string& key, const Value& v) {
  auto r = m.Transform(key, v);
  if (!r.ok()) FAIL("unexpected transform error: " << r.error().message);
  return r.value();
}

inline std::string TransformError(MigrationScript& m, const std::string& key, const Value& v) {
  auto r = m.Transform(key, v);
  REQUIRE_FALSE(r.ok());
  return r.error().message;
}

// What `verify` returned as its reason: a way to look at the value a script received.
inline std::string VerifyReason(MigrationScript& m, const std::string& key, const Value& v) {
  auto r = m.Verify(key, v);
  if (!r.ok()) FAIL("unexpected verify error: " << r.error().message);
  return r.value().second;
}

// Runs `expr` (a Lua expression yielding a string) inside a transform on a
// string key and returns the string written.
inline std::string EvalInTransform(const std::string& expr) {
  auto m = MustLoad(WithTransform("    return " + expr));
  auto out = MustTransform(*m, "k", Str("unused"));
  REQUIRE(out.action == KeyAction::kRewrite);
  return out.value.str;
}

}  // namespace sandbox_test
