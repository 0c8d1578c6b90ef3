// Undo journal entries (engine/journal.h): the binary-safe encoding, its
// decoder, and the server-side Lua that must build the same bytes.
#include "engine/journal.h"

#include <catch.hpp>
#include <memory>
#include <string>

#include "bindings/sandbox.h"
#include "lua.h"

using keyshift::DecodeJournalEntry;
using keyshift::EncodeJournalEntry;
using keyshift::JournalEntry;

namespace {

// A DUMP-like payload with the bytes that would break a naive parser.
const std::string kDump("\x00\x03|a|\x00\xff\x0b\x00|tail\x00", 17);

// `code`: the entry's ACTION as stored (W, D, R, C).
JournalEntry Entry(char code, long long expire_at, std::string digest, std::string other, std::string dump) {
  JournalEntry e;
  e.action = keyshift::ParseKeyActionCode(std::string(1, code)).value();
  e.expire_at = expire_at;
  e.post_digest = std::move(digest);
  e.other_key = std::move(other);
  e.dump = std::move(dump);
  return e;
}

void CheckSame(const JournalEntry& a, const JournalEntry& b) {
  CHECK(a.action == b.action);
  CHECK(a.expire_at == b.expire_at);
  CHECK(a.post_digest == b.post_digest);
  CHECK(a.other_key == b.other_key);
  CHECK(a.dump == b.dump);
}

JournalEntry MustDecode(const std::string& text) {
  auto r = DecodeJournalEntry(text);
  if (!r.ok()) FAIL("unexpected decode error: " << r.error().message);
  return r.value();
}

const std::string kDigest = "2ef7bde608ce5404e97d5f042f95f89f1c232871";

}  // namespace

TEST_CASE("the entry format is as documented", "[journal]") {
  CHECK(EncodeJournalEntry(Entry('W', -1, kDigest, "", "DUMP")) == "2|W|-1|" + kDigest + "|0|DUMP");
  CHECK(EncodeJournalEntry(Entry('R', 1700000000123, kDigest, "new:key", "DUMP")) ==
        "2|R|1700000000123|" + kDigest + "|7|new:keyDUMP");
  CHECK(EncodeJournalEntry(Entry('D', -1, "", "", "")) == "2|D|-1||0|");
}

TEST_CASE("format 1 entries (DUMP digests) are still read", "[journal]") {
  JournalEntry e = MustDecode("1|W|-1|" + kDigest + "|0|DUMP");
  CHECK(e.format == 1);
  CHECK(e.post_digest == kDigest);
  CHECK(e.dump == "DUMP");
  CHECK(MustDecode(EncodeJournalEntry(Entry('W', -1, kDigest, "", "DUMP"))).format == 2);
}

TEST_CASE("every action round-trips", "[journal]") {
  const JournalEntry entries[] = {
      Entry('W', -1, kDigest, "", kDump),
      Entry('D', 1700000000123, "", "", kDump),
      Entry('R', 42, kDigest, "new:key", kDump),
      Entry('C', -1, kDigest, "old:key", ""),
  };
  for (const auto& e : entries) {
    INFO(keyshift::KeyActionCode(e.action));
    CheckSame(MustDecode(EncodeJournalEntry(e)), e);
  }
}

TEST_CASE("binary dump bytes with '|' and NUL round-trip", "[journal]") {
  std::string every_byte;
  for (int c = 0; c < 256; ++c) every_byte += static_cast<char>(c);
  for (const std::string& dump : {kDump, every_byte, std::string("|"), std::string(1, '\0'), std::string("||||")}) {
    auto e = Entry('W', 5, kDigest, "", dump);
    CheckSame(MustDecode(EncodeJournalEntry(e)), e);
  }
}

TEST_CASE("an other_key with '|' and binary bytes round-trips", "[journal]") {
  for (const std::string& other : {std::string("a|b"), std::string("|"), std::string("x|1|y|"),
                                   std::string("k\0|\xff", 4), std::string(1000, '|')}) {
    auto e = Entry('R', -1, kDigest, other, kDump);
    CheckSame(MustDecode(EncodeJournalEntry(e)), e);
    auto c = Entry('C', -1, kDigest, other, "");
    CheckSame(MustDecode(EncodeJournalEntry(c)), c);
  }
}

TEST_CASE("corrupt entries are rejected", "[journal]") {
  struct Case {
    const char* name;
    std::string text;
  };
  const Case cases[] = {
      {"empty", ""},
      {"no header end", "1|W|-1|digest|0"},
      {"only version", "1|"},
      {"unknown format version", "3|W|-1||0|DUMP"},
      {"unknown action", "1|X|-1||0|DUMP"},
      {"empty action", "1||-1||0|DUMP"},
      {"two-letter action", "1|WW|-1||0|DUMP"},
      {"keep, an action never journaled", "2|K|-1||0|DUMP"},
      {"other key longer than the rest", "1|R|-1|d|10|short"},
  };
  for (const auto& c : cases) {
    INFO(c.name);
    auto r = DecodeJournalEntry(c.text);
    CHECK_FALSE(r.ok());
  }
}

TEST_CASE("corrupt numeric header fields are rejected", "[journal]") {
  // strtoll/strtoull read these leniently: "abc" becomes 0 (an expiry in
  // 1970: the restored key would vanish at once) and "-5" wraps around.
  struct Case {
    const char* name;
    std::string text;
  };
  const Case cases[] = {
      {"non-numeric expiry", "1|W|abc||0|DUMP"},
      {"empty expiry", "1|W|||0|DUMP"},
      {"expiry with trailing junk", "1|W|12x||0|DUMP"},
      {"non-numeric other length", "1|R|-1|d|x|DUMP"},
      {"empty other length", "1|R|-1|d||DUMP"},
      {"negative other length", "1|R|-1|d|-5|abcdefgh"},
  };
  for (const auto& c : cases) {
    INFO(c.name);
    auto r = DecodeJournalEntry(c.text);
    CHECK_FALSE(r.ok());
  }
}

TEST_CASE("the server-side journal_entry builds the same bytes", "[journal]") {
  // kJournalEntryLua is Lua 5.1 that 5.4 also runs; run it in a sandbox.
  auto sb = keyshift::Sandbox::Create(keyshift::SandboxLimits{});
  REQUIRE(sb.ok());
  lua_State* L = (*sb)->L();
  const JournalEntry entries[] = {
      Entry('W', -1, kDigest, "", kDump),
      Entry('R', 1700000000123, kDigest, "new|key", kDump),
      Entry('C', -1, kDigest, "old:key", ""),
      Entry('D', 7, "", "", kDump),
  };
  for (const auto& e : entries) {
    INFO(keyshift::KeyActionCode(e.action));
    std::string chunk = std::string(keyshift::kJournalEntryLua) + "\nreturn journal_entry(...)\n";
    REQUIRE((*sb)->LoadChunk(chunk, "=journal").ok());
    const std::string action = keyshift::KeyActionCode(e.action), expire = std::to_string(e.expire_at);
    for (const std::string* arg : {&action, &expire, &e.post_digest, &e.other_key, &e.dump})
      lua_pushlstring(L, arg->data(), arg->size());
    auto st = (*sb)->ProtectedCall(5, 1);
    if (!st.ok()) FAIL(st.error().message);
    size_t len = 0;
    const char* s = lua_tolstring(L, -1, &len);
    REQUIRE(s != nullptr);
    CHECK(std::string(s, len) == EncodeJournalEntry(e));
    lua_pop(L, 1);
  }
}
