// GlobMatch (core/glob.h) against what Redis's SCAN MATCH answers for the
// same pattern and key (the cases with a non-empty key were checked against
// redis-server 7.0's SCAN MATCH).
#include <catch.hpp>

#include <string>

#include "core/glob.h"

namespace keyshift {
namespace {

TEST_CASE("glob: stars, question marks, classes and escapes as Redis matches them", "[glob]") {
  CHECK(GlobMatch("*", ""));
  CHECK(GlobMatch("*", "anything"));
  CHECK(GlobMatch("user:*", "user:42"));
  CHECK(GlobMatch("user:*", "user:"));
  CHECK_FALSE(GlobMatch("user:*", "users:42"));
  CHECK_FALSE(GlobMatch("user:*", "User:42"));  // case-sensitive
  CHECK(GlobMatch("*:profile", "user:{42}:profile"));
  CHECK(GlobMatch("a*b*c", "aXXbYYbZc"));
  CHECK_FALSE(GlobMatch("a*b*c", "aXXbYYbZ"));
  CHECK(GlobMatch("h?llo", "hello"));
  CHECK_FALSE(GlobMatch("h?llo", "hllo"));
  CHECK(GlobMatch("h[ae]llo", "hallo"));
  CHECK_FALSE(GlobMatch("h[ae]llo", "hillo"));
  CHECK(GlobMatch("h[^e]llo", "hallo"));
  CHECK_FALSE(GlobMatch("h[^e]llo", "hello"));
  CHECK(GlobMatch("k[a-c]", "kb"));
  CHECK(GlobMatch("k[c-a]", "kb"));  // a reversed range still matches
  CHECK_FALSE(GlobMatch("k[a-c]", "kd"));
  CHECK(GlobMatch("k\\*", "k*"));
  CHECK_FALSE(GlobMatch("k\\*", "kx"));
  CHECK(GlobMatch("k[\\]]", "k]"));
  CHECK(GlobMatch("**x", "abx"));
}

TEST_CASE("glob: binary bytes match byte for byte", "[glob]") {
  std::string key("bin:\0\xff:key", 10);
  CHECK(GlobMatch("bin:*", key));
  CHECK(GlobMatch(std::string("bin:\0?:*", 8), key));
  CHECK_FALSE(GlobMatch("bin:?:*", key));
}

}  // namespace
}  // namespace keyshift
