// Values as keyshift sees them (core/value.h): type names, canonical
// order and equality, and the canonical text of numbers (SPEC 2), which must
// match the stdlib's canon.number byte for byte.
#include "core/value.h"

#include <catch.hpp>
#include <cmath>
#include <limits>
#include <string>

#include "bindings/sandbox.h"
#include "lua.h"

using keyshift::CanonicalNumber;
using keyshift::KeyType;
using keyshift::KeyTypeFromName;
using keyshift::KeyTypeName;
using keyshift::Value;

namespace {

std::string Canon(double x) {
  auto s = CanonicalNumber(x);
  REQUIRE(s.has_value());
  return *s;
}

}  // namespace

TEST_CASE("CanonicalNumber: integral values have no decimal point", "[value]") {
  CHECK(Canon(5) == "5");
  CHECK(Canon(5.0) == "5");
  CHECK(Canon(-7) == "-7");
  CHECK(Canon(0) == "0");
  CHECK(Canon(-0.0) == "0");
  CHECK(Canon(1e3) == "1000");
  CHECK(Canon(std::pow(2.0, 53)) == "9007199254740992");
  CHECK(Canon(1e18) == "1000000000000000000");
  CHECK(Canon(-1e18) == "-1000000000000000000");
}

TEST_CASE("CanonicalNumber: other numbers in their shortest round-trip form", "[value]") {
  CHECK(Canon(0.1) == "0.1");
  CHECK(Canon(2.5) == "2.5");
  CHECK(Canon(-0.5) == "-0.5");
  CHECK(Canon(1.0 / 3.0) == "0.3333333333333333");
  CHECK(Canon(0.1 + 0.2) == "0.30000000000000004");
  CHECK(Canon(1e300) == "1e+300");
  CHECK(Canon(1e-7) == "1e-07");
  for (double x : {0.1, 1.0 / 3.0, 0.1 + 0.2, 1e300, 123.456, 1e-7, 2.0 / 3.0,
                   std::numeric_limits<double>::denorm_min(), std::numeric_limits<double>::max()}) {
    INFO(x);
    CHECK(std::strtod(Canon(x).c_str(), nullptr) == x);
  }
}

TEST_CASE("CanonicalNumber: 2^63 and beyond use the shortest %g form", "[value]") {
  CHECK(Canon(std::pow(2.0, 63)) == "9.223372036854776e+18");
  CHECK(Canon(1e20) == "1e+20");  // integral, but beyond 2^63
  CHECK(Canon(-std::pow(2.0, 63)) == "-9.223372036854776e+18");
  CHECK(Canon(1e300) == "1e+300");
  // The largest double below 2^63 is still written as digits.
  CHECK(Canon(std::nextafter(std::pow(2.0, 63), 0.0)) == "9223372036854774784");
}

TEST_CASE("CanonicalNumber: nan and infinities have no text", "[value]") {
  CHECK_FALSE(CanonicalNumber(std::nan("")).has_value());
  CHECK_FALSE(CanonicalNumber(std::numeric_limits<double>::infinity()).has_value());
  CHECK_FALSE(CanonicalNumber(-std::numeric_limits<double>::infinity()).has_value());
}

TEST_CASE("CanonicalNumber agrees with the stdlib's canon.number", "[value]") {
  auto sb = keyshift::Sandbox::Create(keyshift::SandboxLimits{});
  REQUIRE(sb.ok());
  lua_State* L = (*sb)->L();
  const double cases[] = {5,         -0.0,        0.1,       1.0 / 3.0, 1e300,  std::pow(2.0, 53), 1e20,
                          std::pow(2.0, 63), -std::pow(2.0, 63), 0.1 + 0.2, 1e-7, -2.5, 123456789.125,
                          std::nextafter(std::pow(2.0, 63), 0.0), std::numeric_limits<double>::denorm_min()};
  for (double x : cases) {
    INFO(x);
    (*sb)->PushModule("canon");
    lua_getfield(L, -1, "number");
    lua_remove(L, -2);
    lua_pushnumber(L, x);
    auto st = (*sb)->ProtectedCall(1, 1);
    if (!st.ok()) FAIL(st.error().message);
    CHECK(std::string(lua_tostring(L, -1)) == Canon(x));
    lua_pop(L, 1);
  }
}

TEST_CASE("KeyTypeFromName and KeyTypeName", "[value]") {
  const std::pair<const char*, KeyType> names[] = {{"none", KeyType::kNone}, {"string", KeyType::kString},
                                                   {"hash", KeyType::kHash}, {"list", KeyType::kList},
                                                   {"set", KeyType::kSet},   {"zset", KeyType::kZSet}};
  for (const auto& [name, type] : names) {
    INFO(name);
    CHECK(KeyTypeFromName(name) == type);
    CHECK(std::string(KeyTypeName(type)) == name);
  }
  CHECK(KeyTypeFromName("stream") == KeyType::kOther);
  CHECK(KeyTypeFromName("ReJSON-RL") == KeyType::kOther);
  CHECK(KeyTypeFromName("") == KeyType::kOther);
  CHECK(KeyTypeFromName("Hash") == KeyType::kOther);
  CHECK(std::string(KeyTypeName(KeyType::kOther)) == "other");
}

TEST_CASE("Value::Normalize orders pairs and set items bytewise", "[value]") {
  SECTION("hash pairs are sorted by field, bytewise") {
    Value v;
    v.type = KeyType::kHash;
    v.pairs = {{"b", "1"}, {"\xc3\xa9", "2"}, {"B", "3"}, {"a", "4"}};
    v.Normalize();
    CHECK(v.pairs == decltype(v.pairs){{"B", "3"}, {"a", "4"}, {"b", "1"}, {"\xc3\xa9", "2"}});
  }
  SECTION("set items are sorted and unique") {
    Value v;
    v.type = KeyType::kSet;
    v.items = {"b", "a", "\xff", "b", std::string("a\0", 2), "a"};
    v.Normalize();
    CHECK(v.items == std::vector<std::string>{"a", std::string("a\0", 2), "b", "\xff"});
  }
  SECTION("list items keep their order and duplicates") {
    Value v;
    v.type = KeyType::kList;
    v.items = {"b", "a", "b"};
    v.Normalize();
    CHECK(v.items == std::vector<std::string>{"b", "a", "b"});
  }
}

TEST_CASE("Value equality", "[value]") {
  Value a;
  a.type = KeyType::kHash;
  a.pairs = {{"x", "1"}, {"y", "2"}};
  Value b;
  b.type = KeyType::kHash;
  b.pairs = {{"y", "2"}, {"x", "1"}};
  CHECK(a != b);  // not normalised yet
  b.Normalize();
  CHECK(a == b);
  SECTION("type matters") {
    b.type = KeyType::kZSet;
    CHECK(a != b);
  }
  SECTION("a value matters") {
    b.pairs[1].second.push_back('0');  // "2" -> "20"
    CHECK(a != b);
  }
  SECTION("strings compare as bytes") {
    Value s1, s2;
    s1.type = s2.type = KeyType::kString;
    s1.str = std::string("a\0b", 3);
    s2.str = std::string("a\0c", 3);
    CHECK(s1 != s2);
    s2.str = s1.str;
    CHECK(s1 == s2);
  }
  SECTION("list order matters") {
    Value l1, l2;
    l1.type = l2.type = KeyType::kList;
    l1.items = {"a", "b"};
    l2.items = {"b", "a"};
    CHECK(l1 != l2);
  }
}
