// Server-mode portability check (server_mode/portability.h): what Redis's Lua 5.1
// would refuse or read differently from the host's Lua 5.4, each on its line,
// and nothing at all for a portable migration.
#include "server_mode/portability.h"

#include <unistd.h>

#include <catch.hpp>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

using keyshift::CheckPortability;
using keyshift::FormatPortabilityIssues;
using keyshift::PortabilityIssue;

namespace {

std::string Describe(const std::vector<PortabilityIssue>& issues) {
  return FormatPortabilityIssues("m.lua", issues);
}

// The issues found on `line`.
std::vector<std::string> On(const std::vector<PortabilityIssue>& issues, int line) {
  std::vector<std::string> out;
  for (const auto& i : issues)
    if (i.line == line) out.push_back(i.message);
  return out;
}

bool Luac51Available() {
  const char* path = std::getenv("PATH");
  if (!path) return false;
  std::string rest = path;
  size_t start = 0;
  for (;;) {
    size_t colon = rest.find(':', start);
    std::string dir = rest.substr(start, colon == std::string::npos ? std::string::npos : colon - start);
    if (::access(((dir.empty() ? "." : dir) + "/luac5.1").c_str(), X_OK) == 0) return true;
    if (colon == std::string::npos) return false;
    start = colon + 1;
  }
}

// Three portable lines, so that the construct under test sits on line 4.
const char* const kPrelude =
    "local json_text = '{\"a\":1}'\n"
    "local doc = json.decode(json_text)\n"
    "local n = math.floor(#json_text / 2)\n";

const char* const kPortableMigration = R"LUA(-- 0007: users: created_at ISO-8601 -> epoch seconds, tags joined, key renamed.
-- Comments may say anything: a // b, x & y, goto done, ::label::, utf8.char(72),
-- os.time(), print(x), table.unpack(t), foo = 1, "\x41".
--[==[ A long comment
  with ]] inside and [[ too, and string.pack("i4", 1)
]==]
local PREFIX = "user:"
local SEP = [[,]]
local HELP = [[
multi-line text: 7 // 2, a | b, goto x
]]
local M = {}
local counters = { seen = 0, changed = 0 }

local function trim(s)
  return (s:gsub("^%s+", ""):gsub("%s+$", ""))
end

function M.normalize_tag(tag)
  return trim(tag):lower()
end

local Acc = {}
Acc.__index = Acc

function Acc.new()
  return setmetatable({ items = {} }, Acc)
end

function Acc:add(...)
  for i = 1, select("#", ...) do
    local v = select(i, ...)
    if v ~= nil and v ~= "" then self.items[#self.items + 1] = v end
  end
  return self
end

function Acc:join()
  table.sort(self.items, function(a, b) return a < b end)
  return table.concat(self.items, SEP)
end

-- Recursive local function, varargs, closures.
local function count_leaves(t, depth)
  depth = depth or 0
  local n = 0
  for _, v in pairs(t) do
    if type(v) == "table" then n = n + count_leaves(v, depth + 1) else n = n + 1 end
  end
  return n
end

local function make_counter(name)
  local total = 0
  return function(step)
    total = total + (step or 1)
    counters[name] = total
    return total
  end
end
local bump = make_counter("changed")

local function first_digit_run(s)
  local i = 0
  repeat
    i = i + 1
    local c = s:sub(i, i)
    local is_digit = c:match("%d") ~= nil
  until is_digit or i >= #s
  return i
end

return {
  description = "created_at: ISO-8601 string -> epoch seconds; tags normalized",
  owner = "accounts-team",
  expected = "every user:* hash has an integer created_at",
  rollback = "keyshift down restores the journaled values",
  scan = { match = PREFIX .. "*", type = "hash", batch = 500 },
  mode = "server",
  transform = function(key, value)
    counters.seen = counters.seen + 1
    if value.deleted == "1" then return ks.DELETE end
    local id = key:match("^user:(%d+)$")
    if not id then
      ks.log("skipping", key, HELP ~= nil)
      return nil
    end
    if value.created_at and not value.created_at:match("^%d+$") then
      value.created_at = tostring(time.to_epoch(value.created_at))
    end
    local ok, profile = pcall(json.decode, value.profile or "{}")
    if ok and type(profile) == "table" then
      profile.leaves = count_leaves(profile)
      profile.score = math.floor((tonumber(value.score) or 0) * 100 + 0.5) / 100
      value.profile = json.encode(profile)
    end
    local acc = Acc.new()
    for tag in (value.tags or ""):gmatch("[^,]+") do
      acc:add(M.normalize_tag(tag))
    end
    value.tags = acc:join()
    local i, parts = 1, {}
    while i <= 3 do
      parts[#parts + 1] = string.format("%02d", i % 7) .. string.rep("-", 2)
      i = i + 1
      if i > 2 then break end
    end
    do
      local hex, esc = 0xff, "tab\tnewline\n quote\" \\ \065 \
continued"
      value.check = #parts .. ":" .. hex .. ":" .. #esc .. ":" .. first_digit_run("ab1") .. ":" .. ks.number(2 ^ 3) .. ":" .. 1.5 .. ":" .. math.floor(7 / 2)
    end
    local a, b = 1, 2;
    a, b = b, a
    if a ~= b and not (a > b) then bump() elseif a == b then bump(2) else bump(3) end
    if id:len() > 6 then
      return ks.rename("user:v2:" .. id, value)
    end
    return value
  end,
  verify = function(key, value)
    return value.created_at:match("^%d+$") ~= nil, "created_at not numeric"
  end,
}
)LUA";

}  // namespace

TEST_CASE("a portable migration has no issues", "[portability]") {
  auto issues = CheckPortability(kPortableMigration);
  INFO(Describe(issues));
  CHECK(issues.empty());
}

TEST_CASE("common portable forms are not reported", "[portability]") {
  const char* const sources[] = {
      "return { transform = function(k, v) return v end }\n",
      "local t = {} t.x = 1 t['y'] = 2 t[1] = 3 return t\n",
      "local s = string\nlocal up = s.upper\nreturn up('x')\n",
      "local x = 1; local y = 2;\nreturn x + y\n",
      "local t = { a = 1, ['b'] = 2, 3; 4, f = function(...) return ... end }\nreturn t\n",
      "local function f(n) if n > 0 then return f(n - 1) end return 0 end\nreturn f(3)\n",
      "for k, v in ipairs({}) do local w = k .. v end\nfor i = 10, 1, -1 do local j = i end\n",
      "local obj = {}\nfunction obj.a() end\nfunction obj:b() return self end\nreturn obj\n",
      "local M = { sub = {} }\nfunction M.sub.deep() return 1 end\nreturn M\n",
      "local x = -2 .. '' .. #'abc' .. (not true and 1 or 2)\nlocal y = -2 ^ -2 + 1 / 3\nreturn x, y\n",
      "while true do break end\nrepeat local z = 1 until z == 1\n",
      "local s = ('x'):rep(3)\nlocal p = string.rep('ab', 2)\nreturn s .. p\n",
      "local found = ('a b'):find('%s')\nlocal g = ('%%g'):gsub('%%', '')\nreturn found, g\n",
      "local v = 1e308 * 10 + 0x7fffffff + 9007199254740992 + 0x20000000000000 + 3.0e-5\nreturn v\n",
      "local ok, err = pcall(error, 'x')\nreturn ok, xpcall(function() end, tostring)\n",
      "local n = 7\nreturn 1.5 .. '' .. ks.number(n / 2) .. math.floor(n / 2) .. tostring(n * 2) .. -n .. #'x'\n",
      "local n = 7\nreturn 'a' .. (n + 1) .. tostring(n % 3) .. ('%d'):format(n / 1)\n",
      // tostring, string.format and table.concat write numbers as Lua 5.1 does in both engines
      "local n = 7\nlocal h = n / 2\nreturn tostring(2 ^ 10) .. tostring(h) .. string.format('%s', h) .. "
      "table.concat({ h }) .. math.floor(h) .. ks.number(h)\n",
      "local h = 7 / 2\nlocal h = 1\nreturn h .. ''\n",
      "for i = 1, 3 do local s = i .. '' end\nlocal m = math.max(1, 2) .. math.floor(7 / 2)\n",
      // json, time and ks are fresh locals of every server-mode call: helpers may be added to them
      "function json.pretty(v) return json.encode(v) end\nfunction ks.helper() end\ntime.extra = 1\n",
      "local f = function(...) return function(a, ...) return ... end end\nreturn f\n",
      "return rawequal(1, 1), rawget({}, 1), next({}), getmetatable('x'), select(2, 'a', 'b'), _G.json\n",
  };
  for (const char* src : sources) {
    auto issues = CheckPortability(src);
    INFO(src << "\n" << Describe(issues));
    CHECK(issues.empty());
  }
}

#ifdef KEYSHIFT_SOURCE_DIR
TEST_CASE("the bundled example migrations are portable", "[portability]") {
  for (const char* name : {"0001_users_created_at_epoch.lua", "0002_settings_v2.lua", "0003_sessions_rename.lua"}) {
    std::ifstream in(std::string(KEYSHIFT_SOURCE_DIR) + "/examples/migrations/" + name);
    REQUIRE(in);
    std::stringstream text;
    text << in.rdbuf();
    auto issues = CheckPortability(text.str());
    INFO(name << "\n" << Describe(issues));
    CHECK(issues.empty());
  }
}
#endif

TEST_CASE("each non-portable construct is reported on its line", "[portability]") {
  struct Case {
    const char* code;  // becomes line 4 (after kPrelude)
    const char* expect;
  };
  const Case cases[] = {
      // 5.4-only syntax
      {"local q = 7 // 2", "integer division '//' is Lua 5.4 only; use math.floor(a / b)"},
      {"local b = n & 1", "bitwise operator '&' is Lua 5.4 only"},
      {"local b = n | 1", "bitwise operator '|' is Lua 5.4 only"},
      {"local b = n ~ 1", "bitwise operator '~' is Lua 5.4 only"},
      {"local b = n << 1", "bitwise operator '<<' is Lua 5.4 only"},
      {"local b = n >> 1", "bitwise operator '>>' is Lua 5.4 only"},
      {"local b = ~n", "bitwise operator '~' (unary not) is Lua 5.4 only"},
      {"for i = 1, 2 do goto skip end", "'goto' is Lua 5.4 only"},
      {"::top::", "label '::top::' is Lua 5.4 only"},
      {"local k <const> = 5", "attribute '<const>' is Lua 5.4 only"},
      {"local f <close> = nil", "attribute '<close>' is Lua 5.4 only"},
      // what 5.1's parser refuses although 5.4 takes it
      {"do ; end", "empty statement ';' is a syntax error in Lua 5.1"},
      {"local z = 1;;", "empty statement ';'"},
      {"for i = 1, 2 do break; n = i end", "'break' must be the last statement of its block in Lua 5.1"},
      {"local s = [[ a [[ b ]]", "'[[' inside a [[...]] string is a syntax error in Lua 5.1"},
      // escapes and numbers
      {"local s = \"\\x41\"", "'\\x' escape reads differently in Lua 5.1"},
      {"local s = \"\\u{48}\"", "'\\u{...}' escape is Lua 5.4 only"},
      {"local s = 'a\\z   b'", "'\\z' escape is Lua 5.4 only"},
      {"local big = 9007199254740993", "integer 9007199254740993 is beyond 2^53"},
      {"local big = 123456789012345678901", "is beyond 2^53"},
      {"local h = 0x1p4", "hexadecimal float 0x1p4 is not portable"},
      {"local h = 0xA.8", "hexadecimal float 0xA.8 is not portable"},
      {"local h = 0x20000000000001", "hexadecimal integer 0x20000000000001 is wider than 2^53"},
      {"local h = 0xFFFFFFFFFFFFFFFF", "is wider than 2^53"},
      // library
      {"local c = utf8.char(72)", "'utf8.char' is Lua 5.4 only"},
      {"local p = string.pack('i4', 1)", "'string.pack' is Lua 5.4 only"},
      {"local p = string.unpack('i4', 'abcd')", "'string.unpack' is Lua 5.4 only"},
      {"local p = string.packsize('i4')", "'string.packsize' is Lua 5.4 only"},
      {"local i = math.tointeger(3.0)", "'math.tointeger' is Lua 5.4 only"},
      {"local i = math.type(1)", "'math.type' is Lua 5.4 only"},
      {"local i = math.ult(1, 2)", "'math.ult' is Lua 5.4 only"},
      {"local i = math.maxinteger", "'math.maxinteger' is Lua 5.4 only"},
      {"local i = math.mininteger", "'math.mininteger' is Lua 5.4 only"},
      {"table.move({}, 1, 1, 1)", "'table.move' is Lua 5.4 only"},
      {"local a = table.unpack({1})", "'table.unpack' is Lua 5.4 only"},
      {"local a = unpack({1})", "'unpack' exists only in Lua 5.1"},
      {"local u = table.unpack or unpack", "'unpack' exists only in Lua 5.1"},
      {"local co = coroutine.wrap(function() end)", "'coroutine.wrap': coroutines are not offered"},
      {"local t = os.time()", "'os.time': Redis scripts have no 'os' library"},
      {"local f = io.open('x')", "'io.open': there is no 'io' library in Redis scripts"},
      {"local j = require('json')", "'require' does not exist in Redis scripts"},
      {"local f = load('return 1')", "'load' is not portable"},
      {"local f = loadstring('return 1')", "'loadstring' exists only in Lua 5.1"},
      {"local f = dofile('x.lua')", "'dofile' does not exist in Redis scripts"},
      {"print(doc)", "'print' does not exist in Redis scripts; use ks.log(...)"},
      {"collectgarbage()", "'collectgarbage' is not offered to migrations"},
      {"local r = string.rep('a', 3, ',')", "string.rep(s, n, sep): Lua 5.1 ignores the separator"},
      {"local r = json_text:rep(3, ',')", "s:rep(n, sep): Lua 5.1 ignores the separator"},
      {"local l = rawlen({})", "'rawlen' is Lua 5.4 only"},
      {"local e = _ENV", "'_ENV' is Lua 5.4 only"},
      {"local v = _VERSION", "'_VERSION' differs"},
      {"local x = cjson.encode({})", "'cjson.encode' exists only inside Redis"},
      {"local x = bit.band(1, 2)", "'bit.band' exists only inside Redis"},
      {"redis.call('SET', 'k', 'v')", "'redis.call' exists only inside Redis"},
      {"local x = math.pow(2, 3)", "'math.pow' exists only in Lua 5.1"},
      {"local x = table.getn({})", "'table.getn' exists only in Lua 5.1"},
      {"local x = math.random(10)", "'math.random' is not offered to migrations"},
      // numbers a 5.4 float turns into text differently ("5.0" vs "5")
      {"local s = 'n=' .. n / 2", "'..' turns into text a number that Lua 5.4 holds as a float"},
      {"local s = 1e3 .. ''", "'..' turns into text a number that Lua 5.4 holds as a float"},
      {"local s = (n * 1.5) .. ''", "'..' turns into text"},
      {"local s = 'x' .. n ^ 2 .. 'y'", "'..' turns into text"},
      {"local h = n / 2 local s = 'x' .. h", "'..' turns into text a number that Lua 5.4 holds as a float"},
      {"local h = 1 h = n * 0.5 local s = h .. ''", "'..' turns into text"},
      {"local r = math.sqrt(n) .. ''", "'..' turns into text"},
      {"local p = 'pi=' .. math.pi", "'..' turns into text"},
      {"local a, b = 1, n / 4 local s = a .. b", "'..' turns into text"},
      {"local m = math.max(1, n / 2) .. ''", "'..' turns into text"},
      {"for i = 0, 1, 0.5 do local s = i .. '' end", "'..' turns into text"},
      {"for i = 1.0, 3 do local s = 'x' .. i end", "'..' turns into text"},
      {"local x = math.log(8, 2)", "math.log(x, base): Lua 5.1 ignores the base"},
      {"xpcall(error, tostring, 'boom')", "xpcall(f, handler, ...): Lua 5.1 passes no arguments to f"},
      {"local m = json_text:match('%g+')", "pattern class '%g' is Lua 5.2+ only"},
      {"local m = string.find(json_text, '[%G]')", "pattern class '%G' is Lua 5.2+ only"},
      {"local x = string.frobnicate", "'string.frobnicate' does not exist in Lua 5.1 or 5.4"},
      // globals
      {"foo = 1", "global write to 'foo': Redis forbids globals; declare it local"},
      {"function helper() end", "global write to 'helper' (function helper): Redis forbids globals"},
      {"_G.foo = 1", "global write to 'foo'"},
      {"_G[json_text] = 1", "global write through _G[...]"},
      {"rawset(_G, 'x', 1)", "global write through _G[...]"},
      {"string.trim = function(s) return s end", "write into the 'string' library ('string.trim'): Redis refuses it"},
      {"function string.trim(s) return s end", "write into the 'string' library ('string.trim')"},
      {"function table:x() end", "write into the 'table' library ('table.x')"},
      {"math[json_text] = 1", "write into the 'math' library ('math[...]')"},
      {"local a = select('#', ...)", "'...' at the top level of the file"},
      {"local y = undefined_thing", "reads undefined global 'undefined_thing' (Redis scripts error on undefined globals)"},
      {"local y = doc.a + nn", "reads undefined global 'nn'"},
  };
  for (const auto& c : cases) {
    std::string src = std::string(kPrelude) + c.code + "\nreturn { transform = function(k, v) return v end }\n";
    auto issues = CheckPortability(src);
    INFO(c.code << "\n" << Describe(issues));
    auto here = On(issues, 4);
    bool found = false;
    for (const auto& m : here) found |= m.find(c.expect) != std::string::npos;
    CHECK(found);
    CHECK(here.size() == issues.size());  // nothing reported elsewhere
  }
}

TEST_CASE("an issue names the exact line of the construct, not of the statement", "[portability]") {
  auto issues = CheckPortability(
      "local a, b = 1, 2\n"
      "local c = a +\n"
      "  b // 2 +\n"
      "  1\n"
      "local s = 'x' ..\n"
      "  \"\\x41\"\n");
  INFO(Describe(issues));
  REQUIRE(issues.size() == 2);
  CHECK(issues[0].line == 3);
  CHECK(issues[0].message.find("'//'") != std::string::npos);
  CHECK(issues[1].line == 6);
  CHECK(issues[1].message.find("'\\x'") != std::string::npos);
}

TEST_CASE("several issues in one file are all reported, in line order", "[portability]") {
  const char* src =
      "local function f(x)\n"                    // 1
      "  return x // 2\n"                        // 2
      "end\n"                                    // 3
      "counter = 0\n"                            // 4
      "local t = { utf8.char(65), 1 << 2 }\n"    // 5
      "for i = 1, 3 do\n"                        // 6
      "  if i == 2 then goto next end\n"         // 7
      "  print(i)\n"                             // 8
      "  ::next::\n"                             // 9
      "end\n"                                    // 10
      "return { transform = function(k, v)\n"    // 11
      "  counter = counter + 1\n"                // 12
      "  return table.unpack({v})\n"             // 13
      "end }\n";                                 // 14
  auto issues = CheckPortability(src);
  INFO(Describe(issues));
  std::vector<int> lines;
  for (const auto& i : issues) lines.push_back(i.line);
  // counter is written twice (lines 4 and 12) but never reported as an undefined read.
  CHECK(lines == std::vector<int>{2, 4, 5, 5, 7, 8, 9, 12, 13});
  CHECK(On(issues, 5)[0].find("utf8.char") != std::string::npos);
  CHECK(On(issues, 5)[1].find("'<<'") != std::string::npos);
  CHECK(On(issues, 12)[0] == "global write to 'counter': Redis forbids globals; declare it local");
}

TEST_CASE("strings and comments are not code", "[portability]") {
  const char* src =
      "-- a // b, x & y, goto done, ::label::, utf8.char(72), foo = 1, print(x)\n"
      "--[[ os.time() and table.unpack(t)\n"
      "     local k <const> = 1 ]]\n"
      "--[==[ a ]] b ]=] still comment: string.pack ]==]\n"
      "local a = \"a // b & c | d ~ e << f >> g goto ::x:: utf8.char(1) print()\"\n"
      "local b = 'it\\'s' .. '\\'// quoted\\'' .. \"\\\"goto\\\"\"\n"
      "local c = [==[ ]] ]=] // still a string: require('x') ]==]\n"
      "local d = [[\n"
      "unpack(t) coroutine.yield() io.write(1) \\x41 \\u{48} \\z\n"
      "]]\n"
      "local e = '%g' .. \"%G\" -- a %g outside a pattern call is just text\n"
      "return a, b, c, d, e\n";
  auto issues = CheckPortability(src);
  INFO(Describe(issues));
  CHECK(issues.empty());
}

TEST_CASE("long strings and comments spanning lines keep line numbers right", "[portability]") {
  const char* src =
      "--[==[\n"             // 1
      "  comment ]] line 2\n"  // 2
      "  line 3\n"           // 3
      "]==]\n"               // 4
      "local s = [[\n"       // 5
      "line 6\n"             // 6
      "line 7]] .. 'x' .. [=[\n"  // 7
      "]=]\n"                // 8
      "local t = 'a\\\n"     // 9: a backslash-newline inside a short string
      "b' local q = 1 // 2\n"  // 10
      "local u = 'a\\z\n"    // 11: \z swallows the line break
      "   b' local r = 1 & 2\n"  // 12
      "--[[ x\n"             // 13
      "]] local v = ~1\n";   // 14
  auto issues = CheckPortability(src);
  INFO(Describe(issues));
  REQUIRE(issues.size() == 4);
  CHECK(issues[0].line == 10);
  CHECK(issues[0].message.find("'//'") != std::string::npos);
  CHECK(issues[1].line == 11);
  CHECK(issues[1].message.find("'\\z'") != std::string::npos);
  CHECK(issues[2].line == 12);
  CHECK(issues[2].message.find("'&'") != std::string::npos);
  CHECK(issues[3].line == 14);
  CHECK(issues[3].message.find("unary") != std::string::npos);
}

TEST_CASE("CRLF and CR line endings count one line each", "[portability]") {
  auto crlf = CheckPortability("local a = 1\r\nlocal s = [[\r\n\r\n]]\r\nlocal b = a // 2\r\n");
  REQUIRE(crlf.size() == 1);
  CHECK(crlf[0].line == 5);
  auto cr = CheckPortability("local a = 1\rlocal b = a // 2\r");
  REQUIRE(cr.size() == 1);
  CHECK(cr[0].line == 2);
}

TEST_CASE("global writes follow Lua's scoping rules", "[portability]") {
  SECTION("locals, parameters, loop variables and upvalues are not globals") {
    const char* src =
        "local a\n"
        "a = 1\n"
        "local function f(x, ...)\n"
        "  x = 2\n"
        "  local g = function(y) y = 3; a = 4; x = 5 end\n"
        "  for i = 1, 2 do i = 0 end\n"
        "  for k, v in pairs({}) do k, v = v, k end\n"
        "  f = nil\n"
        "end\n"
        "local obj = {}\n"
        "function obj.m() end\n"
        "function obj:n() self.x = 1 end\n"
        "return f\n";
    auto issues = CheckPortability(src);
    INFO(Describe(issues));
    CHECK(issues.empty());
  }
  SECTION("a local ends with its block") {
    const char* src =
        "do local y = 1 end\n"          // 1
        "y = 2\n"                       // 2
        "if true then local z = 1 else z = 1 end\n"  // 3
        "for i = 1, 2 do end\n"         // 4
        "i = 3\n"                       // 5
        "local function h(p) end\n"     // 6
        "p = 4\n"                       // 7
        "while false do local w end\n"  // 8
        "w = 5\n";                      // 9
    auto issues = CheckPortability(src);
    INFO(Describe(issues));
    REQUIRE(issues.size() == 5);
    CHECK(issues[0].line == 2);
    CHECK(issues[0].message.find("'y'") != std::string::npos);
    CHECK(issues[1].line == 3);
    CHECK(issues[1].message.find("'z'") != std::string::npos);
    CHECK(issues[2].line == 5);
    CHECK(issues[3].line == 7);
    CHECK(issues[4].line == 9);
  }
  SECTION("until sees the repeat body's locals") {
    auto issues = CheckPortability("repeat local done = true until done\nreturn done\n");
    INFO(Describe(issues));
    REQUIRE(issues.size() == 1);
    CHECK(issues[0].line == 2);
    CHECK(issues[0].message == "reads undefined global 'done' (Redis scripts error on undefined globals)");
  }
  SECTION("a local is in scope only after its declaration") {
    auto issues = CheckPortability(
        "local f = function() return f end\n"           // f inside is not the local
        "local x = x\n"                                 // neither is this x
        "local function g() return g end\n"             // but local function sees itself
        "return f, x, g\n");
    INFO(Describe(issues));
    REQUIRE(issues.size() == 2);
    CHECK(issues[0].line == 1);
    CHECK(issues[0].message.find("'f'") != std::string::npos);
    CHECK(issues[1].line == 2);
    CHECK(issues[1].message.find("'x'") != std::string::npos);
  }
  SECTION("nested function writes to an outer global, and a method on an undefined table") {
    auto issues = CheckPortability(
        "local function outer()\n"
        "  local function inner()\n"
        "    total = 1\n"
        "  end\n"
        "end\n"
        "function Unknown:m() end\n");
    INFO(Describe(issues));
    REQUIRE(issues.size() == 2);
    CHECK(issues[0].line == 3);
    CHECK(issues[0].message.find("global write to 'total'") != std::string::npos);
    CHECK(issues[1].line == 6);
    CHECK(issues[1].message == "reads undefined global 'Unknown' (Redis scripts error on undefined globals)");
  }
  SECTION("a local may shadow a library name") {
    auto issues = CheckPortability(
        "local os = { time = function() return 0 end }\n"
        "local string = {}\n"
        "function string.trim(s) return s end\n"
        "local utf8 = nil\n"
        "return os.time(), string.trim('x'), utf8\n");
    INFO(Describe(issues));
    CHECK(issues.empty());
  }
}

TEST_CASE("a call whose '(' starts a new line is ambiguous in Lua 5.1", "[portability]") {
  auto issues = CheckPortability("local f = tostring\nlocal g = f\n(f)(1)\nlocal h = f\n  'x'\n");
  INFO(Describe(issues));
  REQUIRE(issues.size() == 1);  // a string argument on a new line is fine in 5.1
  CHECK(issues[0].line == 3);
  CHECK(issues[0].message.find("ambiguous") != std::string::npos);
}

TEST_CASE("a file Lua 5.4 cannot load is reported as a syntax error", "[portability]") {
  auto unfinished = CheckPortability("local a = 1\nlocal s = 'abc\nreturn s\n");
  INFO(Describe(unfinished));
  REQUIRE(unfinished.size() == 1);
  CHECK(unfinished[0].line == 2);
  CHECK(unfinished[0].message.find("syntax error: unfinished string") == 0);

  auto no_varargs = CheckPortability("local function f(a)\n  return ...\nend\n");
  INFO(Describe(no_varargs));
  REQUIRE(no_varargs.size() == 1);
  CHECK(no_varargs[0].line == 2);
  CHECK(no_varargs[0].message.find("syntax error: cannot use '...' outside a vararg function") == 0);

  auto missing_end = CheckPortability("local q = 1 // 2\nlocal function f()\n  return 1\n");
  INFO(Describe(missing_end));
  REQUIRE(missing_end.size() == 2);  // what was found before the error is kept
  CHECK(missing_end[0].line == 1);
  CHECK(missing_end[1].message.find("syntax error: 'end' expected") == 0);
}

TEST_CASE("luac5.1 catches what the checker does not model", "[portability]") {
  if (!Luac51Available()) {
    WARN("luac5.1 is not on PATH (package lua5.1): skipped");
    return;
  }
  // Lua 5.4 allows 255 upvalues per function, Lua 5.1 only 60.
  std::string names;
  for (int i = 0; i < 61; ++i) names += (i ? ", v" : "v") + std::to_string(i);
  std::string sum = names;
  for (auto& ch : sum)
    if (ch == ',') ch = '+';
  std::string src = "local " + names + "\n" +          // 1
                    "local function f()\n" +            // 2
                    "  return " + sum + "\n" +          // 3
                    "end\n" +                           // 4
                    "return { transform = f }\n";       // 5
  auto issues = CheckPortability(src);
  INFO(Describe(issues));
  REQUIRE(issues.size() == 1);
  CHECK(issues[0].line == 4);
  CHECK(issues[0].message ==
        "Lua 5.1 (Redis) cannot compile this: function at line 2 has more than 60 upvalues");

  // luac5.1 also fails on a '//' line, but that is already explained: one issue only.
  auto once = CheckPortability("local a = 1\nlocal b = a // 2\n");
  INFO(Describe(once));
  REQUIRE(once.size() == 1);
  CHECK(once[0].message.find("integer division") == 0);
}

TEST_CASE("FormatPortabilityIssues prints file:line: message lines", "[portability]") {
  std::vector<PortabilityIssue> issues = {{3, "integer division '//' is Lua 5.4 only; use math.floor(a / b)"},
                                          {7, "global write to 'foo': Redis forbids globals; declare it local"}};
  CHECK(FormatPortabilityIssues("migrations/0001_x.lua", issues) ==
        "migrations/0001_x.lua:3: integer division '//' is Lua 5.4 only; use math.floor(a / b)\n"
        "migrations/0001_x.lua:7: global write to 'foo': Redis forbids globals; declare it local\n");
  CHECK(FormatPortabilityIssues("x.lua", {}).empty());
}
