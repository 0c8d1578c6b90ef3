// The streaming JSON writer (cli/json_stream.h): the text it writes is the
// text nlohmann's dump(2) makes of the same document, a document ended by
// an error part-way stays valid, and the spool gives back its elements.
#include "cli/json_stream.h"

#include <catch.hpp>
#include <cstdio>
#include <string>

using keyshift::JsonSpool;
using keyshift::JsonStream;
using keyshift::LazyArray;
using nlohmann::json;

namespace {

// What `write` streams into a temporary file.
template <typename F>
std::string Streamed(F write) {
  std::FILE* f = std::tmpfile();
  REQUIRE(f != nullptr);
  {
    JsonStream s(f);
    write(s);
  }
  std::rewind(f);
  std::string text;
  for (int c; (c = std::fgetc(f)) != EOF;) text.push_back(static_cast<char>(c));
  std::fclose(f);
  return text;
}

}  // namespace

TEST_CASE("a streamed document is laid out as dump(2) lays out the whole document", "[json_stream]") {
  json item = {{"key", "k\n\"1\""}, {"diff", "--- a\n+++ b\n"}, {"nested", {{"list", {1, 2}}, {"empty", json::array()}}}};
  json expected = {{"dry_run", true},
                   {"migrations", {{{"version", 1}, {"diffs", {item, item}}, {"empty", json::object()}}}},
                   {"ok", true}};
  std::string text = Streamed([&](JsonStream& s) {
    s.BeginObject();
    s.Member("dry_run", true);
    s.Key("migrations");
    s.BeginArray();
    s.BeginObject();  // members in nlohmann's (sorted) order, to compare the text
    LazyArray diffs(s, "diffs");
    diffs.Add(item);
    diffs.Add(item);
    diffs.Close();
    LazyArray unused(s, "unused");  // never given an element: not written
    unused.Close();
    s.Key("empty");
    s.BeginObject();
    s.End();
    s.Member("version", 1);
    s.End();
    s.End();
    s.Member("ok", true);
    s.End();
  });
  CHECK(text == expected.dump(2) + "\n");
}

TEST_CASE("an error part-way closes what is open and ends the document with ok false and error", "[json_stream]") {
  json error = {{"ok", false}, {"error", {{"code", 2}, {"message", "lost connection"}}}};
  std::string text = Streamed([&](JsonStream& s) {
    s.BeginObject();
    s.Key("migrations");
    s.BeginArray();
    s.BeginObject();
    s.Key("diffs");
    s.BeginArray();
    s.Value({{"key", "a"}});
    s.End();
    s.Key("pending");  // stopped before its value was known
    s.FinishWithError(error);
    CHECK(s.complete());
    s.FinishWithError(error);  // a second error does not add a second document
  });
  json j = json::parse(text, nullptr, false);
  REQUIRE_FALSE(j.is_discarded());
  CHECK(j["ok"] == false);
  CHECK(j["error"]["code"] == 2);
  CHECK(j["migrations"][0]["diffs"][0]["key"] == "a");
  CHECK(j["migrations"][0]["pending"].is_null());
}

TEST_CASE("a document never started is left to the caller", "[json_stream]") {
  std::string text = Streamed([](JsonStream& s) {
    s.FinishWithError({{"ok", false}});
    CHECK_FALSE(s.started());
  });
  CHECK(text.empty());
}

TEST_CASE("the spool writes back every element in order, as a member array", "[json_stream]") {
  JsonSpool spool;
  CHECK(spool.empty());
  json all = json::array();
  for (int i = 0; i < 5000; ++i) {
    json e = {{"key", "k" + std::to_string(i)}, {"message", "line\nbreak \xff"}};
    spool.Add(e);
    all.push_back(e);
  }
  std::string text = Streamed([&](JsonStream& s) {
    s.BeginObject();
    spool.WriteMember(s, "key_errors");
    JsonSpool none;
    none.WriteMember(s, "nothing");
    s.End();
  });
  json j = json::parse(text);
  REQUIRE(j.size() == 1);
  REQUIRE(j["key_errors"].size() == 5000);
  CHECK(j["key_errors"][4999]["key"] == "k4999");
  CHECK(j["key_errors"][0]["message"] == "line\nbreak \xef\xbf\xbd");  // invalid UTF-8 replaced, as DumpJson does
}
