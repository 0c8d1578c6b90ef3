// A native encoder for the common case of stdlib/json.lua's json.encode, in
// host mode only (Redis runs json.lua's encoder; see bindings/boundary.h).
//
// It writes what json.lua's encode_value writes, reading the same side
// tables (kinds, key order, kept texts, frozen duplicates) with raw access
// throughout. Anything json.lua
// would refuse (nan, inf, nil, functions, holes, non-string keys, nesting
// past this encoder's own depth, a cycle) gives "not handled" (nil): json.lua
// then encodes the value itself and raises its own error. Encoding has no
// effect on the value, so doing it twice is safe.
#include <algorithm>
#include <optional>
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

#include "lauxlib.h"
#include "lua.h"

#include "bindings/json_native.h"
#include "bindings/sandbox.h"
#include "core/value.h"

namespace keyshift {

namespace {

// Objects with up to this many members as decoded skip them without a set.
constexpr lua_Unsigned kLinearMembers = 32;

constexpr int kMaxNativeDepth = 100;  // below json.lua's 500: deeper goes to json.lua
constexpr unsigned kValuesPerDeadlineCheck = 1u << 14;

// Upvalues of the encode closure: json.lua's host.json_encoder arguments.
constexpr int kUpMeta = 1, kUpNull = 2, kUpBoxTexts = 3;

struct Encoder {
  lua_State* L;
  std::string out;
  size_t max_bytes;
  unsigned values = 0;

  bool Value(int v, int depth);
  bool Number(int v);
  void String(int v);
  bool Table(int t, int depth);
  bool Array(int t, int m, lua_Integer len, int depth);
  bool Object(int t, int m, int depth);
  bool OriginalMembers(int t, int m, int depth, size_t start, lua_Integer* present);
  bool Member(int m, int key, int value, int depth);
  bool AddedMembers(int t, int m, int depth, size_t start);
  // Is the value at `key` raw-equal to one of the `count` values from `first` on?
  bool IsOriginal(int first, int count, int key) {
    for (int i = 0; i < count; ++i)
      if (lua_rawequal(L, first + i, key)) return true;
    return false;
  }
  // The string at idx, as it is.
  void Append(int idx) {
    size_t len;
    const char* s = lua_tolstring(L, idx, &len);
    out.append(s, len);
  }
  // A comma before every member of the object that starts at out[start].
  void Comma(size_t start) {
    if (out.size() > start) out += ',';
  }
  // Does table `tab` (if it is one) hold a string at key `key`? Pushes it (or nil).
  bool HasText(int tab, int key) {
    if (!lua_istable(L, tab)) {
      lua_pushnil(L);
      return false;
    }
    lua_pushvalue(L, key);
    return lua_rawget(L, tab) == LUA_TSTRING;
  }
  // Is the value at v the one table `orig` (if it is one) holds at `key`? Pushes that.
  bool SameAsOriginal(int orig, int key, int v) {
    if (!lua_istable(L, orig)) {
      lua_pushnil(L);
      return false;
    }
    lua_pushvalue(L, key);
    lua_rawget(L, orig);
    return lua_rawequal(L, -1, v);
  }
  // Pushes m[field] (nil without m).
  int Field(int m, const char* field) {
    if (m == 0) {
      lua_pushnil(L);
      return LUA_TNIL;
    }
    return lua_getfield(L, m, field);
  }
};

// Writes the string at v as json.lua does: `"`, `\` and control bytes escaped.
void Encoder::String(int v) {
  size_t len;
  const char* s = lua_tolstring(L, v, &len);
  out += '"';
  for (size_t i = 0; i < len; ++i) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c != '"' && c != '\\') {
      out += static_cast<char>(c);
      continue;
    }
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default: {
        char hex[8];
        std::snprintf(hex, sizeof hex, "\\u%04x", c);
        out += hex;
      }
    }
  }
  out += '"';
}

// Integers as "%d", floats as canon.number writes them (CanonicalNumber
// agrees with it: tests/core/value_test.cc).
bool Encoder::Number(int v) {
  if (lua_isinteger(L, v)) {
    char text[32];
    std::snprintf(text, sizeof text, LUA_INTEGER_FMT, static_cast<LUAI_UACINT>(lua_tointeger(L, v)));
    out += text;
    return true;
  }
  std::optional<std::string> text = CanonicalNumber(lua_tonumber(L, v));
  if (!text) return false;  // nan, inf: json.lua's error
  out += *text;
  return true;
}

bool Encoder::Value(int v, int depth) {
  if (++values % kValuesPerDeadlineCheck == 0) CheckDeadline(L);
  if (out.size() > max_bytes) return false;  // json.lua meets the memory limit itself
  switch (lua_type(L, v)) {
    case LUA_TSTRING: String(v); return true;
    case LUA_TNUMBER: return Number(v);
    case LUA_TBOOLEAN: out += lua_toboolean(L, v) ? "true" : "false"; return true;
    case LUA_TTABLE: break;
    default: return false;  // nil, functions...: json.lua's error
  }
  if (lua_rawequal(L, v, lua_upvalueindex(kUpNull))) {
    out += "null";
    return true;
  }
  lua_pushvalue(L, v);
  if (lua_rawget(L, lua_upvalueindex(kUpBoxTexts)) == LUA_TSTRING) {  // an exact number
    Append(-1);
    lua_pop(L, 1);
    return true;
  }
  lua_pop(L, 1);
  return Table(v, depth + 1);
}

// json.lua's seq_length: keys exactly 1..n -> n; otherwise -1.
lua_Integer SeqLength(lua_State* L, int t) {
  lua_Integer count = 0, max = 0;
  for (lua_pushnil(L); lua_next(L, t); lua_pop(L, 1)) {
    if (!lua_isinteger(L, -2) || lua_tointeger(L, -2) < 1) {  // float keys are never integral here
      lua_pop(L, 2);
      return -1;
    }
    ++count;
    max = std::max(max, lua_tointeger(L, -2));
  }
  return max == count ? count : -1;
}

bool Encoder::Table(int t, int depth) {
  if (depth > kMaxNativeDepth) return false;
  luaL_checkstack(L, 16, "json: nesting too deep");
  lua_pushvalue(L, t);
  int m = lua_rawget(L, lua_upvalueindex(kUpMeta)) == LUA_TTABLE ? lua_gettop(L) : 0;
  bool ok;
  if (m) {
    bool array = Field(m, "array") != LUA_TNIL && lua_toboolean(L, -1);
    lua_pop(L, 1);
    ok = array ? Array(t, m, SeqLength(L, t), depth) : Object(t, m, depth);
  } else {
    lua_Integer len = SeqLength(L, t);
    ok = len > 0 ? Array(t, 0, len, depth) : Object(t, 0, depth);
  }
  lua_pop(L, 1);  // m or nil
  return ok;
}

bool Encoder::Array(int t, int m, lua_Integer len, int depth) {
  if (len < 0) return false;  // a hole or a non-index key: json.lua's error
  if (len == 0) {
    out += "[]";
    return true;
  }
  int raw = (Field(m, "raw"), lua_gettop(L));
  int orig = (Field(m, "orig"), lua_gettop(L));
  out += '[';
  for (lua_Integer i = 1; i <= len; ++i) {
    if (i > 1) out += ',';
    lua_rawgeti(L, t, i);
    int v = lua_gettop(L);
    lua_pushinteger(L, i);
    int index = lua_gettop(L);
    if (HasText(raw, index) && SameAsOriginal(orig, index, v)) {
      Append(-2);
    } else if (!Value(v, depth)) {
      return false;
    }
    lua_settop(L, orig);
  }
  out += ']';
  lua_pop(L, 2);
  return true;
}

// "key":value of decoded object t as it is now (json.lua's encode_member).
bool Encoder::Member(int m, int key, int value, int depth) {
  int kraw = (Field(m, "kraw"), lua_gettop(L));
  if (HasText(kraw, key)) {
    Append(-1);
    out += ':';
  } else {
    out += '"';
    Append(key);
    out += "\":";
  }
  int raw = (Field(m, "raw"), lua_gettop(L));
  int orig = (Field(m, "orig"), lua_gettop(L));
  bool kept = HasText(raw, key) && SameAsOriginal(orig, key, value);
  if (kept) Append(-2);
  lua_settop(L, value);
  return kept || Value(value, depth);
}

// The members of m's key list still present in t; counts the live ones.
bool Encoder::OriginalMembers(int t, int m, int depth, size_t start, lua_Integer* present) {
  bool dups = Field(m, "dups") != LUA_TNIL && lua_toboolean(L, -1);
  int kraw = (Field(m, "kraw"), lua_gettop(L));
  int raw = (Field(m, "raw"), lua_gettop(L));
  lua_Unsigned n = lua_rawlen(L, m);
  for (lua_Unsigned idx = 1; idx <= n; ++idx) {
    lua_rawgeti(L, m, static_cast<lua_Integer>(idx));
    int k = lua_gettop(L);
    bool dup = dups && lua_istable(L, k);
    if (dup) lua_getfield(L, k, "key");
    else lua_pushvalue(L, k);
    if (lua_rawget(L, t) != LUA_TNIL) {
      int v = lua_gettop(L);
      Comma(start);
      if (dup) {  // an earlier occurrence of a duplicated member, as it was
        lua_getfield(L, k, "text");
        Append(-1);
      } else {
        ++*present;
        bool special = HasText(kraw, k) || HasText(raw, k);
        lua_settop(L, v);
        if (special) {
          if (!Member(m, k, v, depth)) return false;
        } else {
          out += '"';
          Append(k);
          out += "\":";
          if (!Value(v, depth)) return false;
        }
      }
    }
    lua_settop(L, raw);
  }
  lua_pop(L, 3);
  return true;
}

// Keys of t that are not among m's original keys, sorted bytewise, with
// their values (json.lua's added_keys). Non-string keys: json.lua's error.
bool Encoder::AddedMembers(int t, int m, int depth, size_t start) {
  // The original members, to skip: a small object's compared one by one on
  // the stack (no table to allocate and collect per encode), a big one's
  // gathered into a set.
  int set = 0, first = 0, count = 0;
  lua_Unsigned n = m ? lua_rawlen(L, m) : 0;
  if (n > 0 && n <= kLinearMembers) {
    luaL_checkstack(L, static_cast<int>(n) + 8, "json encode");
    first = lua_gettop(L) + 1;
    count = static_cast<int>(n);
    for (lua_Unsigned idx = 1; idx <= n; ++idx) lua_rawgeti(L, m, static_cast<lua_Integer>(idx));
  } else if (n > 0) {
    lua_newtable(L);
    set = lua_gettop(L);
    for (lua_Unsigned idx = 1; idx <= n; ++idx) {
      lua_rawgeti(L, m, static_cast<lua_Integer>(idx));
      lua_pushboolean(L, 1);
      lua_rawset(L, set);
    }
  }
  std::vector<std::string_view> extra;  // anchored by t, which nothing changes while encoding
  for (lua_pushnil(L); lua_next(L, t); lua_pop(L, 1)) {
    if (count && IsOriginal(first, count, lua_absindex(L, -2))) continue;
    if (set && (lua_pushvalue(L, -2), lua_rawget(L, set)) != LUA_TNIL) {
      lua_pop(L, 1);
      continue;
    }
    if (set) lua_pop(L, 1);
    if (lua_type(L, -2) != LUA_TSTRING) {
      lua_pop(L, 2);
      return false;
    }
    size_t len;
    const char* k = lua_tolstring(L, -2, &len);
    extra.emplace_back(k, len);
  }
  std::sort(extra.begin(), extra.end());  // bytewise (unsigned), as canon.less
  for (std::string_view k : extra) {
    Comma(start);
    lua_pushlstring(L, k.data(), k.size());
    String(lua_gettop(L));
    out += ':';
    lua_rawget(L, t);
    if (!Value(lua_gettop(L), depth)) return false;
    lua_pop(L, 1);
  }
  if (set) lua_pop(L, 1);
  lua_pop(L, count);
  return true;
}

bool Encoder::Object(int t, int m, int depth) {
  out += '{';
  size_t start = out.size();
  lua_Integer present = 0, total = 0;
  if (m && !OriginalMembers(t, m, depth, start, &present)) return false;
  for (lua_pushnil(L); lua_next(L, t); lua_pop(L, 1)) ++total;
  if (total > present && !AddedMembers(t, m, depth, start)) return false;
  out += '}';
  return true;
}

}  // namespace

// encode(table) -> its JSON text, or nil: not handled, ask json.lua.
int JsonEncodeCommonCase(lua_State* L) {
  if (lua_type(L, 1) != LUA_TTABLE) return 0;
  lua_settop(L, 1);
  Sandbox* sb = *static_cast<Sandbox**>(lua_getextraspace(L));
  Encoder e{L, {}, sb->limits().memory_bytes};
  if (!e.Value(1, 0)) return 0;
  lua_pushlstring(L, e.out.data(), e.out.size());
  return 1;
}

}  // namespace keyshift
