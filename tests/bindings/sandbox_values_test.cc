// What a transform receives and what its results become (SPEC 2): result
// shapes, canonical numbers, actions, value types, verify, logs and the
// stdlib globals. No server: every test loads a migration from a string.
#include "tests/bindings/sandbox_helpers.h"

using namespace sandbox_test;

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
