// The CAS writer's script arguments (engine/writer.h), unit level: what
// WriteArgs sends for each value type and action. The script itself is
// exercised against a real server by the [redis] tests.
#include "engine/reader.h"
#include "engine/writer.h"

#include "tests/support/values.h"

#include <catch.hpp>
#include <string>
#include <vector>

using keyshift::CasCondition;
using keyshift::KeyAction;
using keyshift::KeySnapshot;
using keyshift::KeyType;
using keyshift::Value;
using keyshift::WriteArgs;
using keyshift::WriteOp;
using keyshift::testing::Items;
using keyshift::testing::Pairs;
using Args = std::vector<std::string>;

namespace {

const std::string kDigest = "2ef7bde608ce5404e97d5f042f95f89f1c232871";

KeySnapshot Before(const std::string& type_name, long long expire_at = -1) {
  KeySnapshot s;
  s.key = "k";
  s.state = KeySnapshot::kPresent;
  s.type_name = type_name;
  s.value.type = keyshift::KeyTypeFromName(type_name);
  s.expire_at = expire_at;
  s.digest = kDigest;
  return s;
}

WriteOp Rewrite(const KeySnapshot& before, Value value) {
  WriteOp op;
  op.key = before.key;
  op.expect = before.cas();
  op.action = KeyAction::kRewrite;
  op.value = std::move(value);
  return op;
}

}  // namespace

TEST_CASE("WriteArgs: string", "[writer]") {
  auto before = Before("string");
  Value v;
  v.type = KeyType::kString;
  v.str = std::string("new\0value", 9);
  CHECK(WriteArgs(Rewrite(before, v)) == Args{kDigest, "-1", "W", "string", "0", std::string("new\0value", 9)});
}

TEST_CASE("WriteArgs: hash is field, value pairs", "[writer]") {
  auto before = Before("hash");
  auto v = Pairs(KeyType::kHash, {{"name", "Ada"}, {"age", "36"}});
  CHECK(WriteArgs(Rewrite(before, v)) == Args{kDigest, "-1", "W", "hash", "0", "age", "36", "name", "Ada"});
}

TEST_CASE("WriteArgs: list items in order", "[writer]") {
  auto before = Before("list");
  auto v = Items(KeyType::kList, {"c", "a", "b", "a"});
  CHECK(WriteArgs(Rewrite(before, v)) == Args{kDigest, "-1", "W", "list", "0", "c", "a", "b", "a"});
}

TEST_CASE("WriteArgs: set items", "[writer]") {
  auto before = Before("set");
  auto v = Items(KeyType::kSet, {"b", "a"});
  CHECK(WriteArgs(Rewrite(before, v)) == Args{kDigest, "-1", "W", "set", "0", "a", "b"});
}

TEST_CASE("WriteArgs: zset is score before member", "[writer]") {
  auto before = Before("zset");
  auto v = Pairs(KeyType::kZSet, {{"alice", "1.5"}, {"bob", "-inf"}});
  CHECK(WriteArgs(Rewrite(before, v)) == Args{kDigest, "-1", "W", "zset", "0", "1.5", "alice", "-inf", "bob"});
}

TEST_CASE("WriteArgs: delete sends no elements", "[writer]") {
  auto before = Before("hash", 1700000000123);
  WriteOp op{before.key, before.cas(), KeyAction::kDelete, "", Pairs(KeyType::kHash, {{"ignored", "x"}})};
  CHECK(WriteArgs(op) == Args{kDigest, "1700000000123", "D", "hash", "0"});
}

TEST_CASE("WriteArgs: rename sends the new value", "[writer]") {
  auto before = Before("list", 42);
  WriteOp op{before.key, before.cas(), KeyAction::kRename, "new:k", Items(KeyType::kList, {"x", "y"})};
  CHECK(WriteArgs(op) == Args{kDigest, "42", "R", "list", "0", "x", "y"});
}

TEST_CASE("WriteArgs: the CAS condition is the digest and expiry as read", "[writer]") {
  auto before = Before("string", 1893456000000);
  before.digest = "da39a3ee5e6b4b0d3255bfef95601890afd80709";
  Value v;
  v.type = KeyType::kString;
  v.str = "x";
  auto args = WriteArgs(Rewrite(before, v));
  REQUIRE(args.size() == 6);
  CHECK(args[0] == "da39a3ee5e6b4b0d3255bfef95601890afd80709");
  CHECK(args[1] == "1893456000000");
}

TEST_CASE("CasCondition: a snapshot's condition is its type, digest and expiry, not its value", "[writer]") {
  auto before = Before("hash", 1893456000000);
  before.value = Pairs(KeyType::kHash, {{"name", "Ada"}});
  before.dump_bytes = 99;
  CasCondition c = before.cas();
  CHECK(c.type_name == "hash");
  CHECK(c.digest == kDigest);
  CHECK(c.expire_at == 1893456000000);
}

TEST_CASE("WriteArgs: an op needs only its key and CAS condition, no snapshot", "[writer]") {
  WriteOp op{"k", CasCondition{"set", "d1", std::nullopt, 7}, KeyAction::kRewrite, "", Items(KeyType::kSet, {"z"})};
  CHECK(WriteArgs(op) == Args{"d1", "7", "W", "set", "0", "z"});
}

TEST_CASE("CasCondition: a snapshot read without a digest is compared by value", "[writer]") {
  auto before = Before("zset", 5);
  before.digest.clear();
  before.value = Pairs(KeyType::kZSet, {{"bob", "2"}, {"alice", "1.5"}});
  CasCondition c = before.cas();
  REQUIRE(c.content);
  CHECK(*c.content == before.value);
  CHECK(c.digest.empty());
}

TEST_CASE("WriteArgs: by value, the elements as read come first, as the read command replies them", "[writer]") {
  auto zset = Before("zset", 5);
  zset.digest.clear();
  zset.value = Pairs(KeyType::kZSet, {{"bob", "2"}, {"alice", "1.5"}});
  WriteOp op{"k", zset.cas(), KeyAction::kRewrite, "", Pairs(KeyType::kZSet, {{"carol", "3"}})};
  // read as member, score; written as ZADD's score, member
  CHECK(WriteArgs(op) == Args{"=", "5", "W", "zset", "4", "alice", "1.5", "bob", "2", "3", "carol"});
  auto text = Before("string");
  text.digest.clear();
  text.value.str = std::string("old\0", 4);
  WriteOp del{"k", text.cas(), KeyAction::kDelete, "", {}};
  CHECK(WriteArgs(del) == Args{"=", "-1", "D", "string", "1", std::string("old\0", 4)});
}
