// Dry-run diff rendering (cli/diff.h): exact output per type and action,
// hunks, truncation, escaping and color.
#include "cli/diff.h"

#include <algorithm>
#include <catch.hpp>
#include <string>
#include <vector>

using keyshift::DiffStyle;
using keyshift::KeyAction;
using keyshift::KeyChange;
using keyshift::KeyType;
using keyshift::RenderDiff;
using keyshift::Value;

namespace {

using Pairs = std::vector<std::pair<std::string, std::string>>;
using Items = std::vector<std::string>;

Value Str(std::string s) {
  Value v;
  v.type = KeyType::kString;
  v.str = std::move(s);
  return v;
}

Value WithPairs(KeyType type, Pairs pairs) {
  Value v;
  v.type = type;
  v.pairs = std::move(pairs);
  return v;
}

Value WithItems(KeyType type, Items items) {
  Value v;
  v.type = type;
  v.items = std::move(items);
  return v;
}

KeyChange Rewrite(std::string key, Value before, Value after, long long pttl = -1) {
  return KeyChange{std::move(key), std::move(before), pttl, KeyAction::kRewrite, "", std::move(after)};
}

KeyChange Delete(std::string key, Value before, long long pttl = -1) {
  return KeyChange{std::move(key), std::move(before), pttl, KeyAction::kDelete, "", Value{}};
}

KeyChange Rename(std::string key, std::string new_key, Value before, Value after, long long pttl = -1) {
  return KeyChange{std::move(key),     std::move(before),  pttl,
                   KeyAction::kRename, std::move(new_key), std::move(after)};
}

std::string Plain(const KeyChange& change, int context = 3) {
  return RenderDiff(change, DiffStyle{false, context});
}

Items Numbered(int from, int to) {
  Items items;
  for (int i = from; i <= to; ++i) items.push_back("item " + std::to_string(i));
  return items;
}

std::string Join(const Items& lines) {
  std::string s;
  for (size_t i = 0; i < lines.size(); ++i) s += (i ? "\n" : "") + lines[i];
  return s;
}

size_t CountLines(const std::string& s) { return size_t(std::count(s.begin(), s.end(), '\n')); }

}  // namespace

TEST_CASE("hash: only changed, added and removed fields, in field order", "[diff]") {
  auto change = Rewrite(
      "user:1",
      WithPairs(
          KeyType::kHash,
          {{"age", "41"}, {"created_at", "2021-03-04T05:06:07Z"}, {"email", "a@x.io"}, {"name", "Ann"}}),
      WithPairs(KeyType::kHash,
                {{"age", "41"}, {"created_at", "1614834367"}, {"created_by", "import"}, {"name", "Ann"}}),
      3600000);
  CHECK(Plain(change) ==
        "--- user:1\n"
        "+++ user:1\n"
        "@@ hash, ttl 3600s @@\n"
        "-created_at: 2021-03-04T05:06:07Z\n"
        "+created_at: 1614834367\n"
        "+created_by: import\n"
        "-email: a@x.io\n"
        " (2 fields unchanged)\n");
}

TEST_CASE("hash: no unchanged note when every field changed; singular when one", "[diff]") {
  auto all = Rewrite("h", WithPairs(KeyType::kHash, {{"a", "1"}}), WithPairs(KeyType::kHash, {{"a", "2"}}));
  CHECK(Plain(all) == "--- h\n+++ h\n@@ hash, no ttl @@\n-a: 1\n+a: 2\n");
  auto one = Rewrite("h", WithPairs(KeyType::kHash, {{"a", "1"}, {"b", "1"}}),
                     WithPairs(KeyType::kHash, {{"a", "1"}, {"b", "2"}}));
  CHECK(Plain(one) == "--- h\n+++ h\n@@ hash, no ttl @@\n-b: 1\n+b: 2\n (1 field unchanged)\n");
}

TEST_CASE("hash: fields are ordered bytewise even if the Value was not normalized", "[diff]") {
  auto change = Rewrite("h", WithPairs(KeyType::kHash, {{"z", "1"}, {"\xc3\xa9", "1"}, {"B", "1"}}),
                        WithPairs(KeyType::kHash, {{"B", "2"}, {"z", "2"}, {"\xc3\xa9", "2"}}));
  CHECK(Plain(change) ==
        "--- h\n+++ h\n@@ hash, no ttl @@\n"
        "-B: 1\n+B: 2\n-z: 1\n+z: 2\n-\xc3\xa9: 1\n+\xc3\xa9: 2\n");
}

TEST_CASE("zset: member: score lines", "[diff]") {
  auto change = Rewrite("board", WithPairs(KeyType::kZSet, {{"alice", "10"}, {"bob", "7.5"}, {"carol", "3"}}),
                        WithPairs(KeyType::kZSet, {{"alice", "10"}, {"bob", "8"}, {"dave", "1"}}), 90500);
  CHECK(Plain(change) ==
        "--- board\n"
        "+++ board\n"
        "@@ zset, ttl 91s @@\n"
        "-bob: 7.5\n"
        "+bob: 8\n"
        "-carol: 3\n"
        "+dave: 1\n"
        " (1 member unchanged)\n");
}

TEST_CASE("string: single line on both sides is -old / +new", "[diff]") {
  auto change = Rewrite("session:9", Str("{\"v\":1}"), Str("{\"v\":2}"), 250);
  CHECK(Plain(change) ==
        "--- session:9\n"
        "+++ session:9\n"
        "@@ string, ttl 250ms @@\n"
        "-{\"v\":1}\n"
        "+{\"v\":2}\n");
}

TEST_CASE("string: multi-line values get hunks with context", "[diff]") {
  Items before = Numbered(1, 20), after = before;
  after[1] = "item two";            // line 2
  after.erase(after.begin() + 14);  // line 15 removed
  auto change = Rewrite("doc", Str(Join(before)), Str(Join(after)));

  SECTION("context 3: two hunks") {
    CHECK(Plain(change, 3) ==
          "--- doc\n+++ doc\n@@ string, no ttl @@\n"
          "@@ -1,5 +1,5 @@\n"
          " item 1\n-item 2\n+item two\n item 3\n item 4\n item 5\n"
          "@@ -12,7 +12,6 @@\n"
          " item 12\n item 13\n item 14\n-item 15\n item 16\n item 17\n item 18\n");
  }
  SECTION("context 0: just the changes") {
    CHECK(Plain(change, 0) ==
          "--- doc\n+++ doc\n@@ string, no ttl @@\n"
          "@@ -2,1 +2,1 @@\n-item 2\n+item two\n"
          "@@ -15,1 +14,0 @@\n-item 15\n");
  }
  SECTION("wide context merges the hunks") {
    const std::string out = Plain(change, 6);
    CHECK(out.find("@@ -1,20 +1,19 @@\n") != std::string::npos);
    CHECK(out.find("@@ -", out.find("@@ -") + 1) == std::string::npos);
  }
}

TEST_CASE("string: single to multi-line and a trailing newline are line diffs", "[diff]") {
  CHECK(Plain(Rewrite("k", Str("a"), Str("a\nb"))) ==
        "--- k\n+++ k\n@@ string, no ttl @@\n@@ -1,1 +1,2 @@\n a\n+b\n");
  // "a\nb" and "a\nb\n" are different bytes; the new empty last line shows it.
  CHECK(Plain(Rewrite("k", Str("a\nb"), Str("a\nb\n"))) ==
        "--- k\n+++ k\n@@ string, no ttl @@\n@@ -1,2 +1,3 @@\n a\n b\n+\n");
}

TEST_CASE("list: element by element with an LCS alignment", "[diff]") {
  auto change = Rewrite("queue", WithItems(KeyType::kList, {"a", "b", "c", "d", "e"}),
                        WithItems(KeyType::kList, {"a", "c", "d", "x", "e", "f"}));
  // Changes two unchanged items apart share one hunk at context 1, as in diff -u.
  CHECK(Plain(change, 1) ==
        "--- queue\n+++ queue\n@@ list, no ttl @@\n"
        "@@ -1,5 +1,6 @@\n"
        " a\n-b\n c\n d\n+x\n e\n+f\n");
}

TEST_CASE("list: an insertion at the front names the line before it", "[diff]") {
  auto change = Rewrite("l", WithItems(KeyType::kList, {"b"}), WithItems(KeyType::kList, {"a", "b"}));
  CHECK(Plain(change, 0) == "--- l\n+++ l\n@@ list, no ttl @@\n@@ -0,0 +1,1 @@\n+a\n");
}

TEST_CASE("set: removed and added members in sorted order", "[diff]") {
  auto change = Rewrite("tags", WithItems(KeyType::kSet, {"blue", "green", "red"}),
                        WithItems(KeyType::kSet, {"blue", "cyan", "red", "yellow"}));
  CHECK(Plain(change) ==
        "--- tags\n+++ tags\n@@ set, no ttl @@\n"
        "+cyan\n-green\n+yellow\n (2 members unchanged)\n");
}

TEST_CASE("rename: unchanged value is the header and a note", "[diff]") {
  Value v = WithPairs(KeyType::kHash, {{"a", "1"}});
  CHECK(Plain(Rename("user:1", "account:1", v, v, 60000)) ==
        "--- user:1\n"
        "+++ account:1\n"
        "@@ renamed, hash, ttl 60s @@\n"
        " (value unchanged)\n");
}

TEST_CASE("rename: changed value adds the value diff", "[diff]") {
  auto change = Rename("user:1", "account:1", WithPairs(KeyType::kHash, {{"a", "1"}, {"b", "2"}}),
                       WithPairs(KeyType::kHash, {{"a", "1"}, {"b", "3"}}));
  CHECK(Plain(change) ==
        "--- user:1\n"
        "+++ account:1\n"
        "@@ renamed, hash, no ttl @@\n"
        "-b: 2\n"
        "+b: 3\n"
        " (1 field unchanged)\n");
}

TEST_CASE("delete: every line of the old value", "[diff]") {
  CHECK(Plain(Delete("jobs", WithItems(KeyType::kList, {"one", "two", "three"}))) ==
        "--- jobs\n+++ /dev/null\n@@ deleted, list of 3, no ttl @@\n-one\n-two\n-three\n");
  CHECK(Plain(Delete("user:7", WithPairs(KeyType::kHash, {{"a", "1"}, {"b", "2"}}), 7200000)) ==
        "--- user:7\n+++ /dev/null\n@@ deleted, hash of 2 fields, ttl 7200s @@\n-a: 1\n-b: 2\n");
  CHECK(Plain(Delete("note", Str("line 1\nline 2"))) ==
        "--- note\n+++ /dev/null\n@@ deleted, string of 13 bytes, no ttl @@\n-line 1\n-line 2\n");
}

TEST_CASE("delete: capped at 50 lines", "[diff]") {
  const std::string out = Plain(Delete("big", WithItems(KeyType::kList, Numbered(1, 80))));
  CHECK(CountLines(out) == 3 + 50 + 1);
  CHECK(out.find("-item 50\n … 30 more\n") != std::string::npos);
  CHECK(out.find("item 51") == std::string::npos);
}

TEST_CASE("long lines are cut at 200 bytes with the rest counted", "[diff]") {
  const std::string long_a(300, 'a');
  CHECK(Plain(Rewrite("k", Str("x"), Str(long_a))) ==
        "--- k\n+++ k\n@@ string, no ttl @@\n-x\n+" + std::string(200, 'a') + "… (100 more bytes)\n");

  SECTION("never inside a UTF-8 character") {
    std::string text = "a";
    for (int i = 0; i < 150; ++i) text += "\xc3\xa9";  // é
    const std::string out = Plain(Rewrite("k", Str("x"), Str(text)));
    std::string shown = "a";
    for (int i = 0; i < 99; ++i) shown += "\xc3\xa9";
    CHECK(out.find("\n+" + shown + "… (102 more bytes)\n") != std::string::npos);
  }
  SECTION("singular byte") {
    CHECK(Plain(Rewrite("k", Str("x"), Str(std::string(201, 'b')))).find("… (1 more byte)\n") !=
          std::string::npos);
  }
  SECTION("hash field lines and keys too") {
    const std::string out = Plain(Rewrite(std::string(250, 'k'), WithPairs(KeyType::kHash, {{"f", long_a}}),
                                          WithPairs(KeyType::kHash, {{"f", "1"}})));
    CHECK(out.find("--- " + std::string(200, 'k') + "… (50 more bytes)\n") == 0);
    CHECK(out.find("\n-f: " + std::string(197, 'a') + "… (103 more bytes)\n") != std::string::npos);
  }
}

TEST_CASE("binary and control bytes are escaped", "[diff]") {
  SECTION("control characters, DEL and ESC; tab kept") {
    CHECK(Plain(Rewrite("k", Str("a\tb"), Str(std::string("\x1b[2J\r\x7f\x00z", 8)))) ==
          "--- k\n+++ k\n@@ string, no ttl @@\n-a\tb\n+\\x1b[2J\\x0d\\x7f\\x00z\n");
  }
  SECTION("invalid UTF-8 escaped, valid UTF-8 kept") {
    // lone continuation, overlong '/', surrogate, truncated sequence, 0xff; then é € 😀
    const std::string bad = "\x80|\xc0\xaf|\xed\xa0\x80|\xe2\x82|\xff|\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80";
    CHECK(Plain(Rewrite("k", Str("x"), Str(bad))) ==
          "--- k\n+++ k\n@@ string, no ttl @@\n-x\n"
          "+\\x80|\\xc0\\xaf|\\xed\\xa0\\x80|\\xe2\\x82|\\xff|\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\n");
  }
  SECTION("C1 controls are escaped even though they are valid UTF-8") {
    CHECK(Plain(Rewrite("k", Str("x"), Str("\xc2\x9b[31m"))).find("\n+\\xc2\\x9b[31m\n") !=
          std::string::npos);
  }
  SECTION("newlines inside hash values, list items and keys stay on one line") {
    auto change = Rewrite("key\n2", WithPairs(KeyType::kHash, {{"f", "a\nb"}}),
                          WithPairs(KeyType::kHash, {{"f", "a"}}));
    CHECK(Plain(change) == "--- key\\x0a2\n+++ key\\x0a2\n@@ hash, no ttl @@\n-f: a\\x0ab\n+f: a\n");
  }
}

TEST_CASE("color: none at all when off, ANSI per line when on", "[diff]") {
  auto change = Rewrite("h", WithPairs(KeyType::kHash, {{"a", "\x1b[31m"}, {"b", "1"}}),
                        WithPairs(KeyType::kHash, {{"a", "2"}, {"b", "1"}}), 5000);
  CHECK(RenderDiff(change, DiffStyle{false, 3}).find('\x1b') == std::string::npos);
  CHECK(RenderDiff(change, DiffStyle{true, 3}) ==
        "\x1b[1m--- h\x1b[0m\n"
        "\x1b[1m+++ h\x1b[0m\n"
        "\x1b[36m@@ hash, ttl 5s @@\x1b[0m\n"
        "\x1b[31m-a: \\x1b[31m\x1b[0m\n"
        "\x1b[32m+a: 2\x1b[0m\n"
        " (1 field unchanged)\n");

  SECTION("hunk headers are cyan, context lines plain") {
    auto text = Rewrite("t", Str("a\nb"), Str("a\nc"));
    CHECK(RenderDiff(text, DiffStyle{true, 3})
              .find("\x1b[36m@@ -1,2 +1,2 @@\x1b[0m\n a\n\x1b[31m-b\x1b[0m\n") != std::string::npos);
    CHECK(RenderDiff(text, DiffStyle{false, 3}).find('\x1b') == std::string::npos);
  }
}

TEST_CASE("ttl is shown once, rounded to seconds", "[diff]") {
  Value v = Str("a");
  CHECK(Plain(Rename("a", "b", v, v, 1499)).find("@@ renamed, string, ttl 1s @@\n") != std::string::npos);
  CHECK(Plain(Rename("a", "b", v, v, 0)).find("@@ renamed, string, ttl 0ms @@\n") != std::string::npos);
  CHECK(Plain(Rename("a", "b", v, v, -2)).find("@@ renamed, string, no ttl @@\n") != std::string::npos);
}

TEST_CASE("large lists: trimmed prefix/suffix keeps a small change cheap and exact", "[diff]") {
  Items before = Numbered(1, 50000), after = before;
  after[25000] = "changed";
  const std::string out =
      Plain(Rewrite("big", WithItems(KeyType::kList, before), WithItems(KeyType::kList, after)), 1);
  CHECK(out ==
        "--- big\n+++ big\n@@ list, no ttl @@\n"
        "@@ -25000,3 +25000,3 @@\n item 25000\n-item 25001\n+changed\n item 25002\n");
}

TEST_CASE("large lists: beyond the alignment limit, a summary and capped blocks", "[diff]") {
  Items before = Numbered(1, 3000), after = Numbered(2, 3001);
  before.insert(before.begin(), "head");
  after.insert(after.begin(), "head");
  after.push_back("tail");
  before.push_back("tail");
  const std::string out =
      Plain(Rewrite("big", WithItems(KeyType::kList, before), WithItems(KeyType::kList, after)), 1);
  CHECK(out.rfind("--- big\n+++ big\n@@ list, no ttl @@\n"
                  " (too large to align: 3000 items removed, 3000 added)\n"
                  "@@ -1,3002 +1,3002 @@\n head\n-item 1\n",
                  0) == 0);
  CHECK(out.find("-item 50\n … 2950 more\n+item 2\n") != std::string::npos);
  CHECK(out.find("+item 51\n … 2950 more\n tail\n") != std::string::npos);
  CHECK(CountLines(out) == 4 + 1 + 1 + 50 + 1 + 50 + 1 + 1);
}

TEST_CASE("unchanged rewrite and changed type are still readable", "[diff]") {
  Value v = WithItems(KeyType::kSet, {"a"});
  CHECK(Plain(Rewrite("s", v, v)) == "--- s\n+++ s\n@@ set, no ttl @@\n (value unchanged)\n");
  CHECK(Plain(Rewrite("k", Str("1"), WithItems(KeyType::kList, {"1", "2"}))) ==
        "--- k\n+++ k\n@@ string -> list, no ttl @@\n-1\n+1\n+2\n");
}

TEST_CASE("every rendering ends with a newline", "[diff]") {
  const std::vector<KeyChange> changes = {Rewrite("a", Str(""), Str("")), Rewrite("a", Str(""), Str("x")),
                                          Delete("a", Str("")), Rename("a", "b", Str("x"), Str("y")),
                                          Delete("a", WithItems(KeyType::kSet, {"m"}))};
  for (const auto& change : changes) {
    const std::string out = RenderDiff(change, DiffStyle{});
    REQUIRE(!out.empty());
    CHECK(out.back() == '\n');
  }
}
