// One key's way through copy --apply's migrations (engine/copy_transform.h),
// without Redis: selection by match and type, a rename's new name seen by
// the next migration, deletes, the prefix and cross-slot refusals, reverts.
#include <catch.hpp>

#include <memory>
#include <string>
#include <vector>

#include "engine/copy_transform.h"

namespace keyshift {
namespace {

CopyStep Step(long long version, const std::string& text) {
  auto script = MigrationScript::Load("m" + std::to_string(version) + ".lua", text, SandboxLimits{});
  REQUIRE(script.ok());
  return CopyStep{version, "m" + std::to_string(version), std::move(script.value())};
}

Value Str(const std::string& s) {
  Value v;
  v.type = KeyType::kString;
  v.str = s;
  return v;
}

constexpr const char* kUpper = R"(return { description = "a:* upper", scan = { match = "a:*", type = "string" },
  transform = function(key, value) return value:upper() end,
  revert = function(key, value) return value:lower() end })";
constexpr const char* kMove = R"(return { description = "a:* -> b:*", scan = { match = "a:*" },
  transform = function(key, value) return ks.rename("b:" .. key:sub(3)) end })";
constexpr const char* kSuffixB = R"(return { description = "b:* +!", scan = { match = "b:*", type = "string" },
  transform = function(key, value) return value .. "!" end })";
constexpr const char* kDropX = R"(return { description = "drop a:x", scan = { match = "a:x" },
  transform = function(key, value) return ks.DELETE end })";

CopyTransforms Chain(CopyDirection direction, std::vector<const char*> texts, const StateKeys* state,
                     bool cluster = false) {
  std::vector<CopyStep> steps;
  for (size_t i = 0; i < texts.size(); ++i) steps.push_back(Step(static_cast<long long>(i + 1), texts[i]));
  return CopyTransforms(direction, std::move(steps), state, cluster);
}

TEST_CASE("copy transforms: in order, a rename's new name is what the next migration selects", "[copy]") {
  StateKeys state("keyshift:");
  CopyTransforms chain = Chain(CopyDirection::kApply, {kDropX, kUpper, kMove, kSuffixB}, &state);
  CHECK(chain.MaySelect("a:1"));
  CHECK_FALSE(chain.MaySelect("c:1"));
  CHECK(chain.Signature() == "apply:1,2,3,4");

  auto moved = chain.Run("a:1", Str("hi"));
  REQUIRE(moved.ok());
  CHECK(moved->touched);
  CHECK(moved->key == "b:1");
  CHECK(moved->value.str == "HI!");

  auto dropped = chain.Run("a:x", Str("hi"));
  REQUIRE(dropped.ok());
  CHECK(dropped->dropped);

  Value hash;
  hash.type = KeyType::kHash;
  hash.pairs = {{"f", "v"}};
  auto typed = chain.Run("a:2", hash);  // kUpper wants strings; kMove takes any type; kSuffixB strings
  REQUIRE(typed.ok());
  CHECK(typed->key == "b:2");
  CHECK(typed->value == hash);

  auto untouched = chain.Run("c:1", Str("hi"));
  REQUIRE(untouched.ok());
  CHECK_FALSE(untouched->touched);
}

TEST_CASE("copy transforms: renames into keyshift's prefix, or across slots into a cluster, fail naming the key",
          "[copy]") {
  StateKeys state("b:");
  auto into_prefix = Chain(CopyDirection::kApply, {kMove}, &state).Run("a:1", Str("v"));
  REQUIRE_FALSE(into_prefix.ok());
  CHECK(into_prefix.error().message.find("inside keyshift's prefix") != std::string::npos);

  StateKeys other("keyshift:");
  auto cross = Chain(CopyDirection::kApply, {kMove}, &other, true).Run("a:1", Str("v"));
  REQUIRE_FALSE(cross.ok());
  CHECK(cross.error().message.find("crosses hash slots") != std::string::npos);
  CHECK(cross.error().message.find("'a:1'") != std::string::npos);
  CHECK(Chain(CopyDirection::kApply, {kMove}, &other, true).Run("a:{t}", Str("v")).ok());  // b:{t}: same slot
}

TEST_CASE("copy transforms: --revert runs revert; a transform error names the file, line and key", "[copy]") {
  StateKeys state("keyshift:");
  auto back = Chain(CopyDirection::kRevert, {kUpper}, &state).Run("a:1", Str("HI"));
  REQUIRE(back.ok());
  CHECK(back->value.str == "hi");
  CHECK(Chain(CopyDirection::kRevert, {kUpper}, &state).Signature() == "revert:1");

  auto failing = Chain(CopyDirection::kApply, {kUpper}, &state);
  Value list;
  list.type = KeyType::kList;
  list.items = {"x"};
  CHECK(failing.Run("a:1", list).ok());  // not a string: not selected
  const char* broken = R"(return { description = "boom", scan = { match = "a:*" },
  transform = function(key, value) error("boom") end })";
  auto error = Chain(CopyDirection::kApply, {broken}, &state).Run("a:9", Str("v"));
  REQUIRE_FALSE(error.ok());
  CHECK(error.error().message.find("m1.lua:2") != std::string::npos);
  CHECK(error.error().message.find("a:9") != std::string::npos);
}

}  // namespace
}  // namespace keyshift
