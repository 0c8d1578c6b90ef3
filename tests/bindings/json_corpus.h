// Documents for the native JSON differential test (json_native_test.cc):
// the string literals of a Lua file, hand-written edge cases, and seeded
// random documents with broken variants.
#pragma once

#include <cstdint>
#include <random>
#include <string>
#include <vector>

namespace json_corpus {

// Lua escape \ddd, \n, \t... of a short string literal, enough for the spec
// file (which writes raw bytes as \195\169 and JSON escapes as \\u00e9).
inline size_t UnescapeLua(const std::string& src, size_t i, std::string& out) {
  char c = src[i];
  if (c >= '0' && c <= '9') {
    int v = 0, n = 0;
    while (n < 3 && i < src.size() && src[i] >= '0' && src[i] <= '9') v = v * 10 + (src[i++] - '0'), ++n;
    out += static_cast<char>(v);
    return i;
  }
  switch (c) {
    case 'n': out += '\n'; break;
    case 't': out += '\t'; break;
    case 'r': out += '\r'; break;
    case 'b': out += '\b'; break;
    case 'f': out += '\f'; break;
    case '0': out += '\0'; break;
    default: out += c;
  }
  return i + 1;
}

// The level of a long bracket opening at i ("[[" 0, "[=[" 1), or -1.
inline int LongBracket(const std::string& s, size_t i) {
  if (s[i] != '[') return -1;
  size_t j = i + 1;
  while (j < s.size() && s[j] == '=') ++j;
  return j < s.size() && s[j] == '[' ? static_cast<int>(j - i - 1) : -1;
}

// Skips the long bracket of `level` opening at i; its contents go to out.
inline size_t ReadLong(const std::string& s, size_t i, int level, std::string* out) {
  std::string close = "]" + std::string(level, '=') + "]";
  size_t start = i + level + 2, end = s.find(close, start);
  if (end == std::string::npos) return s.size();
  if (out) *out = s.substr(start, end - start);
  return end + close.size();
}

// Every string literal of a Lua source text, comments skipped.
inline std::vector<std::string> LuaStringLiterals(const std::string& s) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i < s.size()) {
    if (s.compare(i, 2, "--") == 0) {
      int level = LongBracket(s, i + 2);
      i = level >= 0 ? ReadLong(s, i + 2, level, nullptr) : s.find('\n', i);
      if (i == std::string::npos) break;
      continue;
    }
    int level = LongBracket(s, i);
    if (level >= 0) {
      std::string text;
      i = ReadLong(s, i, level, &text);
      out.push_back(text);
      continue;
    }
    if (s[i] != '"' && s[i] != '\'') {
      ++i;
      continue;
    }
    char quote = s[i++];
    std::string text;
    while (i < s.size() && s[i] != quote) {
      if (s[i] == '\\' && i + 1 < s.size()) {
        i = UnescapeLua(s, i + 1, text);
      } else {
        text += s[i++];
      }
    }
    ++i;
    out.push_back(text);
  }
  return out;
}

inline std::string Nested(const std::string& open, const std::string& inner, const std::string& close, int n) {
  std::string s;
  for (int i = 0; i < n; ++i) s += open;
  s += inner;
  for (int i = 0; i < n; ++i) s += close;
  return s;
}

inline std::vector<std::string> EdgeCases() {
  std::vector<std::string> docs = {
      "{}", "[]", " {} ", "\t[ ]\n", "{ }", "[\n]", "null", "1.50", "\"s\"", "-0", "[-0]", "{\"a\":-0}",
      "[1e400,-1e400,1e-400,-1e-400]", "[9007199254740993,9007199254740992,-9007199254740993]",
      "[123456789012345,1234567890123456,-123456789012345,-1234567890123456]",
      "[999999999999999,9999999999999999,99999999999999999999,18446744073709551617]",
      "[9223372036854775807,9223372036854775808,-9223372036854775808,-9223372036854775809]",
      "[1.50,0.1e1,0.10,1.0,1E+2,1e-5,-0.0,0e0,-0E-0,2.5E-3,1.7976931348623157e308,5e-324]",
      "[1.000000000000000000001,0.30000000000000004,123456789.123456789,1.5e300,4.9e-324]",
      // the edges of exact.lua's fast path (15/16 characters, e at byte 16, |exponent| 280)
      "[1234567890123456,123456789012345.6,-123456789012345,-1234567890123456,1234567890.12345e1]",
      "[12345678901234.5e1,123456789012345.6e1,1234567890123456e1,1e279,1e280,1e-279,1e-280,1e+0279,-1e+280]",
      "[1.5e00000000000000000000000000001,9007199254740993e0,0.1e-279,123456789012345678e-3,2.2250738585072014e-308]",
      "[0.000000000000001,0.0000000000000001,-0.00000000000001,99999999999999.99,999999999999999.9,1.7976931348623157e309]",
      "{\"a\":1,\"a\":2}", "{\"a\":1,\"b\":{\"c\":1,\"c\":[1,2]},\"a\":3}", "[{\"x\":1,\"y\":2,\"x\":3}]",
      "{\"a\":\"\\u00e9\",\"b\":\"\\ud83d\\ude00\",\"c\":\"\\ud800\",\"d\":\"\\/\\\"\\\\\\b\\f\\n\\r\\t\"}",
      "{\"\\u0041\":1,\"A\":2}", "{\"k\\n\":\"v\"}", "[\"\\u0000\",\"\\u001F\"]", "[\"a\\x\"]", "[\"\\u12\"]",
      "[\"\x01\"]", "[\"\xc3\xa9\xff\"]", "{\"\":\"\"}", "[\"\",\"\"]",
      "{\"a\" : 1 , \"b\" :\n[ 1 , 2 ] ,\"c\":{ } }", " [ 1 ,\t2\r\n, 3 ] ", "{\"a\":1}  ", "  {\"a\":1}",
      "[true,false,null]", "{\"t\":true,\"f\":false,\"n\":null}", "[tru]", "[nul]", "[falsey]", "[True]",
      "", " ", "{", "[", "}", "]", "{\"a\"", "{\"a\":", "{\"a\":1", "{\"a\":1,", "{\"a\":1,}", "[1,]", "[,1]",
      "[1 2]", "{\"a\" 1}", "{1:2}", "{\"a\":1}x", "[1]]", "[01]", "[-01]", "[1.]", "[.5]", "[1e]", "[1e+]",
      "[-]", "[+1]", "[0x10]", "[1.5e5.5]", "[\"abc", "{\"a\":\"b", "[\"\\", "[\"\\u", "[nan]", "[inf]",
      "[-inf]", "[Infinity]", std::string("[\"a\0b\"]", 7), std::string("[1,\0]", 5), "[\"\t\"]",
      Nested("[", "1", "]", 99), Nested("[", "1", "]", 100), Nested("[", "1", "]", 101),
      Nested("[", "", "]", 150), Nested("[", "", "]", 500), Nested("[", "", "]", 501),
      Nested("{\"a\":", "1", "}", 100), Nested("{\"a\":", "{}", "}", 120), Nested("{\"a\":", "0", "}", 501),
      Nested("[{\"k\":", "[]", "}]", 60), Nested("[", "1", "]", 100) + " ", Nested("[", "1", "", 100),
  };
  return docs;
}

// Lua code building values for json.encode: plain tables, marked ones,
// edited decoded ones, and everything json.lua refuses.
inline std::vector<std::string> EncodeCases() {
  std::vector<std::string> cases = {
      "return {}", "return {1,2,3}", "return {a=1,b={c={}},d={{}}}", "return {[1]=1,[3]=3}",
      "return {1,nil,3}", "return {x=0/0}", "return {x=1/0}", "return {-1/0}", "return {f=function() end}",
      "return json.array()", "return json.object({1,2})", "return json.array({a=1})", "return {json.array(), json.object()}",
      "return {1.5,0.1,1e300,-0.0,2^53,2^63,-2^63,1e15+0.5,123456789.123,1/3,5e-324,100.0,-7.0}",
      "return {math.maxinteger, math.mininteger, 0, -1}",
      R"(return {'\0\1\31\127\"\\/\b\f\n\r\t', '\u{e9}', ''})",
      R"(return {b=1,a=2,A=3,['\u{e9}']=4,['']=5,['a\0b']=6,['a\n']=7,ab=8,['\255']=9})",
      "local t = {} t.t = t return t", "local t = {} t[1] = t return t", "return {[1.5]=1}", "return {[true]=1}",
      "return {a={[2]=1}}", "return {json.null, {json.null}}", "return {json.decode('[1e400]')[1]}",
      "return {n=json.decode('{\"a\":9007199254740993}').a}",
      "return setmetatable({}, {__index=function() return 1 end})",
      "return setmetatable({1,2}, {__len=function() return 5 end})",
      "local t = json.decode('{\"a\":1}') t[1] = 2 return t", "local t = json.decode('[1,2,3]') t[2] = nil return t",
      "local t = json.decode('[1,2,3]') t.x = 1 return t", "local t = json.decode('{\"b\":1,\"a\":2}') t.b = nil t.b = 3 return t",
      "local t = json.decode('{\"a\":1,\"a\":2,\"b\":-0}') t.c = {1.50} return t",
      "local t = json.decode('{\"a\":1,\"a\":2}') t.a = nil return t",
      R"(local t = json.decode('{"\\u00e9":"\\u00e9","n":1.50,"m":2.50}') t.n = 1.5 return t)",
      "local t = json.decode('{\"x\":[1.50,2.50]}') table.insert(t.x, 1, 0) return t",
      "local t = json.decode('{\"x\":{}}') t.x[1] = 1 return t", "local t = json.decode('[]') t[1] = {} return t",
      "local t = json.decode('{\"a\":1}') setmetatable(t, {__pairs=function() end}) t.z = 1 return t",
      "return json.decode('[1,2]')", "return 1.5", "return 's'", "return json.null", "return nil", "return true",
      "return json.decode('[1e400]')[1]", "return print",
  };
  for (int depth : {99, 100, 101, 499, 500, 501}) {
    cases.push_back("local t = {} for i = 1, " + std::to_string(depth) + " do t = {t} end return t");
    cases.push_back("local t = 'x' for i = 1, " + std::to_string(depth) + " do t = {a=t} end return t");
  }
  return cases;
}

// Seeded random JSON: mostly what json.lua calls the common case, with
// escapes, odd numbers, duplicates, blanks and nesting mixed in.
class Generator {
 public:
  explicit Generator(uint32_t seed) : rng_(seed) {}

  std::string Document() {
    std::string s;
    Value(s, 0, Pick(3) == 0 ? '[' : '{');
    return s;
  }

  // doc with one byte changed, dropped or the rest cut off.
  std::string Broken(const std::string& doc) {
    static const std::string kBytes = "{}[],:\"\\ 0-e.x\x01\t+E5";
    std::string s = doc;
    size_t at = Pick(static_cast<int>(s.size()));
    switch (Pick(3)) {
      case 0: s[at] = kBytes[Pick(static_cast<int>(kBytes.size()))]; break;
      case 1: s.erase(at, 1); break;
      default: s.resize(at);
    }
    return s;
  }

 private:
  int Pick(int n) { return static_cast<int>(rng_() % static_cast<uint32_t>(n)); }

  void Blank(std::string& s) {
    static const char* const kBlanks[] = {" ", "\n", "\t ", "\r\n"};
    if (Pick(25) == 0) s += kBlanks[Pick(4)];
  }

  void Number(std::string& s) {
    static const char* const kOdd[] = {"-0", "1e400", "-1e400", "1e-400", "9007199254740993", "1.50", "0.1e1",
                                       "18446744073709551616", "1E+2", "-0.0", "1.000000000000000000001",
                                       "123456789012345", "1234567890123456", "0.1", "2.5e-3", "5e-324"};
    switch (Pick(6)) {
      case 0: s += kOdd[Pick(16)]; return;
      case 1: s += std::to_string(static_cast<int64_t>(rng_()) * (Pick(2) ? 1 : -1)); return;
      case 2: s += std::to_string(Pick(1000)) + "." + std::to_string(Pick(100000)); return;
      case 3: s += "-" + std::to_string(Pick(100)) + "." + std::to_string(Pick(10)) + "e" + std::to_string(Pick(40) - 20);
        return;
      default: s += std::to_string(Pick(100000));
    }
  }

  void String(std::string& s) {
    static const char* const kPieces[] = {"a", "name", "é", "中", " ", "x y", "\\\"", "\\\\", "\\/", "\\n",
                                          "\\u00e9", "\\ud83d\\ude00", "\\ud800", "\\t", "2024-01-01T00:00:00Z"};
    s += '"';
    int n = Pick(4);
    for (int i = 0; i < n; ++i) s += kPieces[Pick(Pick(12) == 0 ? 15 : 6)];
    s += '"';
  }

  void Key(std::string& s) {
    static const char* const kKeys[] = {"\"a\"", "\"b\"", "\"id\"", "\"name\"", "\"created_at\"", "\"n\"",
                                        "\"tags\"", "\"\"", "\"é\"", "\"score\"", "\"email\"", "\"x y\"",
                                        "\"active\"", "\"1\"", "\"z\"", "\"meta\"",
                                        "\"k\\u0041\"", "\"x\\n\""};
    s += kKeys[Pick(Pick(16) == 0 ? 18 : 16)];
  }

  void Container(std::string& s, int depth, char open) {
    bool object = open == '{';
    s += open;
    Blank(s);
    int n = Pick(6);
    for (int i = 0; i < n; ++i) {
      if (i > 0) s += ',';
      Blank(s);
      if (object) {
        Key(s);
        Blank(s);
        s += ':';
        Blank(s);
      }
      Value(s, depth + 1, 0);
      Blank(s);
    }
    s += object ? '}' : ']';
  }

  void Value(std::string& s, int depth, char container) {
    int kind = container ? 0 : Pick(depth < 5 ? 10 : 7);
    if (container || kind >= 7) return Container(s, depth, container ? container : (kind == 7 ? '[' : '{'));
    switch (kind) {
      case 0: case 1: String(s); return;
      case 2: case 3: Number(s); return;
      case 4: s += "true"; return;
      case 5: s += "false"; return;
      default: s += "null";
    }
  }

  std::mt19937 rng_;
};

inline std::vector<std::string> Generated(uint32_t seed, int count) {
  Generator g(seed);
  std::vector<std::string> docs;
  for (int i = 0; i < count; ++i) {
    docs.push_back(g.Document());
    if (i % 3 == 0) docs.push_back(g.Broken(docs.back()));
  }
  return docs;
}

}  // namespace json_corpus
