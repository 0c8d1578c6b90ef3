// A native decoder for the common case of stdlib/json.lua's json.decode, in
// host mode only (Redis runs the Lua parser; see bindings/boundary.h).
//
// json.lua stays the one definition of behaviour: this builds exactly the
// tables and side-table metadata its Lua parser builds (same tables, same
// insertion order, same `meta` entries, numbers through exact.from_text,
// texts of escaped strings and keys), and on anything it does not handle --
// a syntax error, a raw control byte, a duplicate member, deep nesting, a
// top-level scalar -- it answers "not handled" (nil) and json.lua parses the
// whole document again, raising its own errors at its own positions.
// Whatever it built is garbage then (`meta` has weak keys).
#include <algorithm>
#include <cstdint>
#include <cstring>

#include "lauxlib.h"
#include "lua.h"

#include "bindings/boundary.h"
#include "bindings/json_native.h"
#include "bindings/sandbox.h"

namespace keyshift {

namespace {

// Deeper documents go to the Lua parser (which enforces its limit of 500):
// keeps this recursion's C stack small.
constexpr int kMaxNativeDepth = 100;
// Values between wall-time checks: a huge document never runs a Lua hook.
constexpr unsigned kValuesPerDeadlineCheck = 1u << 14;

// Upvalues of the decode closure: json.lua's host.json_decoder arguments.
constexpr int kUpMeta = 1, kUpNull = 2, kUpFromText = 3, kUpBoxTexts = 4;

// What parsing one value left on the stack.
enum class Parsed {
  kUnhandled,  // stack above the value's slot is garbage: the caller unwinds
  kValue,      // the value
  kWithText,   // the value, then its original text (json.lua's `raw`)
};

struct Parser {
  lua_State* L;
  const char* p;
  const char* end;
  unsigned values = 0;

  int peek() const { return p < end ? static_cast<unsigned char>(*p) : -1; }
  void SkipBlanks() {
    while (p < end && (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t')) ++p;
  }
  static bool IsDigit(int c) { return c >= '0' && c <= '9'; }
  void SkipDigits() {
    while (IsDigit(peek())) ++p;
  }

  Parsed Value(int depth);
  Parsed String();
  Parsed Number();
  Parsed Literal(const char* word, int len);
  Parsed Object(int depth);
  Parsed Array(int depth);
  // Pushes tonumber(text) and, unless json.lua keeps no text for it, the text.
  Parsed NumberFromText(const char* start, bool integer);
  // Records the value at `value` with its text on top in side tables raw and
  // orig of the container's metadata `m` (created on first use, at
  // `raw_slot`/`raw_slot + 1`), under key (the value at `key`).
  void KeepText(int m, int raw_slot, int key, int value);
  void KeepKeyText(int m, int kraw_slot, int key);
  Parsed EscapedString(const char* open);
  // The value of 4 hex digits at q, or -1.
  long Hex4(const char* q) const;
};

// A string: its value, and for one written with escapes its text as well
// (json.lua's scan_string).
Parsed Parser::String() {
  const char* open = p;
  const char* start = ++p;
  while (p < end && *p != '"' && *p != '\\' && static_cast<unsigned char>(*p) >= 0x20) ++p;
  if (peek() == '\\') return EscapedString(open);
  if (peek() != '"') return Parsed::kUnhandled;  // a control byte or the end: json.lua's error
  lua_pushlstring(L, start, p - start);
  ++p;
  return Parsed::kValue;
}

long Parser::Hex4(const char* q) const {
  if (end - q < 4) return -1;
  long v = 0;
  for (int i = 0; i < 4; ++i) {
    int c = static_cast<unsigned char>(q[i]), d;
    if (c >= '0' && c <= '9') d = c - '0';
    else if (c >= 'a' && c <= 'f') d = c - 'a' + 10;
    else if (c >= 'A' && c <= 'F') d = c - 'A' + 10;
    else return -1;
    v = v * 16 + d;
  }
  return v;
}

// Appends code point cp as json.lua's utf8_char does (a lone surrogate too).
void AddUtf8(luaL_Buffer* b, long cp) {
  if (cp < 0x80) {
    luaL_addchar(b, static_cast<char>(cp));
  } else if (cp < 0x800) {
    luaL_addchar(b, static_cast<char>(0xC0 | (cp >> 6)));
    luaL_addchar(b, static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    luaL_addchar(b, static_cast<char>(0xE0 | (cp >> 12)));
    luaL_addchar(b, static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    luaL_addchar(b, static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    luaL_addchar(b, static_cast<char>(0xF0 | (cp >> 18)));
    luaL_addchar(b, static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    luaL_addchar(b, static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    luaL_addchar(b, static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

// p is at the first backslash of the string whose quote is at `open`.
// Pushes the value and the string's text, quotes included.
Parsed Parser::EscapedString(const char* open) {
  static const char kSimple[] = "\"\"\\\\//b\bf\fn\nr\rt\t";  // escape letter, byte
  luaL_Buffer b;
  luaL_buffinit(L, &b);
  luaL_addlstring(&b, open + 1, p - open - 1);
  while (peek() != '"') {
    int c = peek();
    if (c < 0x20) return Parsed::kUnhandled;  // the end or a control byte: json.lua's error
    if (c != '\\') {
      luaL_addchar(&b, *p++);
      continue;
    }
    int e = end - p > 1 ? p[1] : -1;
    if (e == 'u') {
      long cp = Hex4(p + 2);
      if (cp < 0) return Parsed::kUnhandled;
      p += 6;
      if (cp >= 0xD800 && cp <= 0xDBFF && end - p > 1 && p[0] == '\\' && p[1] == 'u') {
        long lo = Hex4(p + 2);
        if (lo >= 0xDC00 && lo <= 0xDFFF) {
          cp = 0x10000 + (cp - 0xD800) * 0x400 + (lo - 0xDC00);
          p += 6;
        }
      }
      AddUtf8(&b, cp);
      continue;
    }
    const char* simple = e > 0 ? std::strchr(kSimple, e) : nullptr;
    if (!simple || (simple - kSimple) % 2 != 0) return Parsed::kUnhandled;
    luaL_addchar(&b, simple[1]);
    p += 2;
  }
  luaL_pushresult(&b);
  ++p;
  lua_pushlstring(L, open, p - open);
  return Parsed::kWithText;
}

Parsed Parser::Literal(const char* word, int len) {
  if (end - p < len) return Parsed::kUnhandled;
  for (int i = 0; i < len; ++i)
    if (p[i] != word[i]) return Parsed::kUnhandled;
  p += len;
  return Parsed::kValue;
}

// exact.lua's plain() fast path, on the text of a JSON numeral [s, e): true
// when from_text returns tonumber's value without looking further (at most
// 15 digits, or a short mantissa with a modest exponent).
bool ShortNumeral(const char* s, const char* e) {
  const char* exp = std::find_if(s, e, [](char c) { return c == 'e' || c == 'E'; });
  if (exp == e) return e - s <= 15 || (e - s == 16 && std::find_if(s, e, [](char c) { return c == '.' || c == '-'; }) != e);
  if (exp - s + 1 > 16) return false;
  const char* d = exp + 1;
  bool negative = d < e && *d == '-';
  if (d < e && (*d == '-' || *d == '+')) ++d;
  long value = 0;
  for (; d < e && value < 1000; ++d) value = value * 10 + (*d - '0');
  if (negative) value = -value;
  return value > -280 && value < 280;
}

// The grammar of json.lua's scan_number; a numeral it rejects is unhandled.
Parsed Parser::Number() {
  const char* start = p;
  if (*p == '-') ++p;
  const char* digits = p;
  SkipDigits();
  long ndigits = p - digits;
  if (ndigits == 0 || (ndigits > 1 && *digits == '0')) return Parsed::kUnhandled;
  int c = peek();
  bool integer = c != '.' && c != 'e' && c != 'E';
  if (integer && ndigits <= 15 && !(ndigits == 1 && *digits == '0' && digits != start)) {
    // Up to 15 digits, not "-0": json.lua reads tonumber's integer, no text.
    lua_Integer v = 0;
    for (const char* d = digits; d < p; ++d) v = v * 10 + (*d - '0');
    lua_pushinteger(L, digits != start ? -v : v);
    return Parsed::kValue;
  }
  if (c == '.') {
    ++p;
    if (!IsDigit(peek())) return Parsed::kUnhandled;
    SkipDigits();
    c = peek();
  }
  if (c == 'e' || c == 'E') {
    ++p;
    if (peek() == '+' || peek() == '-') ++p;
    if (!IsDigit(peek())) return Parsed::kUnhandled;
    SkipDigits();
  }
  return NumberFromText(start, integer);
}

Parsed Parser::NumberFromText(const char* start, bool integer) {
  lua_pushlstring(L, start, p - start);  // raw
  if (lua_stringtonumber(L, lua_tostring(L, -1)) == 0) return Parsed::kUnhandled;
  if (integer && lua_tonumber(L, -1) == 0) {  // "-0": json.lua keeps integer 0 and the text
    lua_pop(L, 1);
    lua_pushinteger(L, 0);
  } else if (!ShortNumeral(start, p)) {
    lua_pushvalue(L, lua_upvalueindex(kUpFromText));
    lua_insert(L, -2);
    lua_pushvalue(L, -3);
    lua_insert(L, -2);
    lua_call(L, 2, 1);  // raw, from_text(raw, v)
    lua_pushvalue(L, -1);
    bool boxed = lua_rawget(L, lua_upvalueindex(kUpBoxTexts)) != LUA_TNIL;
    lua_pop(L, 1);
    if (boxed) {  // a box writes its own text
      lua_remove(L, -2);
      return Parsed::kValue;
    }
  }
  lua_insert(L, -2);  // value, raw
  return Parsed::kWithText;
}

Parsed Parser::Value(int depth) {
  if (++values % kValuesPerDeadlineCheck == 0) CheckDeadline(L);
  switch (peek()) {
    case '"': return String();
    case '{': return Object(depth + 1);
    case '[': return Array(depth + 1);
    case 't': lua_pushboolean(L, 1); return Literal("true", 4);
    case 'f': lua_pushboolean(L, 0); return Literal("false", 5);
    case 'n': lua_pushvalue(L, lua_upvalueindex(kUpNull)); return Literal("null", 4);
    default: break;
  }
  if (peek() == '-' || IsDigit(peek())) return Number();
  return Parsed::kUnhandled;
}

void Parser::KeepText(int m, int raw_slot, int key, int value) {
  if (lua_isnil(L, raw_slot)) {  // raw = {}; orig = {}; m.raw = raw; m.orig = orig
    lua_newtable(L);
    lua_replace(L, raw_slot);
    lua_newtable(L);
    lua_replace(L, raw_slot + 1);
    lua_pushvalue(L, raw_slot);
    lua_setfield(L, m, "raw");
    lua_pushvalue(L, raw_slot + 1);
    lua_setfield(L, m, "orig");
  }
  lua_pushvalue(L, key);
  lua_insert(L, -2);
  lua_rawset(L, raw_slot);  // raw[key] = text (popped)
  lua_pushvalue(L, key);
  lua_pushvalue(L, value);
  lua_rawset(L, raw_slot + 1);
}

// kraw[key] = the key's text (at key + 1), kraw = m.kraw made on first use.
void Parser::KeepKeyText(int m, int kraw_slot, int key) {
  if (lua_isnil(L, kraw_slot)) {
    lua_newtable(L);
    lua_replace(L, kraw_slot);
    lua_pushvalue(L, kraw_slot);
    lua_setfield(L, m, "kraw");
  }
  lua_pushvalue(L, key);
  lua_pushvalue(L, key + 1);
  lua_rawset(L, kraw_slot);
}

// Pushes t, m = json.lua's metadata for it (meta[t] = m) and three slots for
// m.raw, m.orig and m.kraw. Returns t's index.
int NewContainer(lua_State* L, bool array) {
  luaL_checkstack(L, 12, "json: nesting too deep");
  lua_newtable(L);
  lua_createtable(L, 0, array ? 1 : 0);
  if (array) {
    lua_pushboolean(L, 1);
    lua_setfield(L, -2, "array");
  }
  lua_pushvalue(L, -2);
  lua_pushvalue(L, -2);
  lua_rawset(L, lua_upvalueindex(kUpMeta));
  lua_pushnil(L);  // raw, orig, kraw: created when a member keeps a text
  lua_pushnil(L);
  lua_pushnil(L);
  return lua_gettop(L) - 4;
}

Parsed Parser::Object(int depth) {
  if (depth > kMaxNativeDepth) return Parsed::kUnhandled;
  int t = NewContainer(L, false), m = t + 1, raw = t + 2, kraw = t + 4;
  lua_Integer n = 0;
  ++p;
  SkipBlanks();
  if (peek() != '}') {
    for (;;) {
      SkipBlanks();
      Parsed k = peek() == '"' ? String() : Parsed::kUnhandled;
      if (k == Parsed::kUnhandled) return k;
      int key = kraw + 1;  // then the key's text, if it has escapes
      SkipBlanks();
      if (peek() != ':') return Parsed::kUnhandled;
      ++p;
      SkipBlanks();
      Parsed v = Value(depth);
      if (v == Parsed::kUnhandled) return v;
      int value = key + (k == Parsed::kWithText ? 2 : 1);
      lua_pushvalue(L, key);
      if (lua_rawget(L, t) != LUA_TNIL) return Parsed::kUnhandled;  // a duplicate member
      lua_pop(L, 1);
      lua_pushvalue(L, key);
      lua_rawseti(L, m, ++n);
      if (k == Parsed::kWithText) KeepKeyText(m, kraw, key);
      lua_pushvalue(L, key);
      lua_pushvalue(L, value);
      lua_rawset(L, t);
      if (v == Parsed::kWithText) KeepText(m, raw, key, value);
      lua_settop(L, kraw);
      SkipBlanks();
      if (peek() != ',') break;
      ++p;
    }
    if (peek() != '}') return Parsed::kUnhandled;
  }
  ++p;
  lua_settop(L, t);
  return Parsed::kValue;
}

Parsed Parser::Array(int depth) {
  if (depth > kMaxNativeDepth) return Parsed::kUnhandled;
  int t = NewContainer(L, true), m = t + 1, raw = t + 2, top = t + 4;
  lua_Integer n = 0;
  ++p;
  SkipBlanks();
  if (peek() != ']') {
    for (;;) {
      Parsed v = Value(depth);
      if (v == Parsed::kUnhandled) return v;
      int value = top + 1;
      lua_pushvalue(L, value);
      lua_rawseti(L, t, ++n);
      if (v == Parsed::kWithText) {
        lua_pushinteger(L, n);
        lua_rotate(L, value + 1, 1);  // value, index, text
        KeepText(m, raw, value + 1, value);
      }
      lua_settop(L, top);
      SkipBlanks();
      if (peek() != ',') break;
      ++p;
      SkipBlanks();
    }
    if (peek() != ']') return Parsed::kUnhandled;
  }
  ++p;
  lua_settop(L, t);
  return Parsed::kValue;
}

// decode(text) -> the decoded table, or nil: not handled, ask the Lua parser.
int DecodeCommonCase(lua_State* L) {
  if (lua_type(L, 1) != LUA_TSTRING) return 0;
  size_t len;
  const char* text = lua_tolstring(L, 1, &len);
  Parser parser{L, text, text + len};
  parser.SkipBlanks();
  int c = parser.peek();
  if (c != '{' && c != '[') return 0;  // a top-level scalar keeps its text in json.lua
  int base = lua_gettop(L);
  if (parser.Value(0) != Parsed::kValue) {
    lua_settop(L, base);
    return 0;
  }
  parser.SkipBlanks();
  if (parser.p != parser.end) return 0;  // trailing characters: json.lua words the error
  (*static_cast<Sandbox**>(lua_getextraspace(L)))->CountNativeJsonDecode();
  return 1;
}

// host.json_decoder(...) / host.json_encoder(...): the C function (upvalue)
// closed over the values json.lua passes (its own tables and functions).
int MakeNative(lua_State* L) {
  int n = lua_tointeger(L, lua_upvalueindex(2));
  for (int i = 1; i <= n; ++i) luaL_checkany(L, i);
  lua_settop(L, n);
  lua_pushcclosure(L, lua_tocfunction(L, lua_upvalueindex(1)), n);
  return 1;
}

void AddFactory(lua_State* L, int host, const char* name, lua_CFunction fn, int nupvalues) {
  lua_pushcfunction(L, fn);
  lua_pushinteger(L, nupvalues);
  lua_pushcclosure(L, MakeNative, 2);
  lua_setfield(L, host, name);
}

}  // namespace

void AddNativeJson(lua_State* L, int host) {
  host = lua_absindex(L, host);
  AddFactory(L, host, "json_decoder", DecodeCommonCase, 4);
  AddFactory(L, host, "json_encoder", JsonEncodeCommonCase, 3);
}

}  // namespace keyshift
