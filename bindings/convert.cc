// Value <-> Lua conversion (see convert.h for the mapping).
#include "bindings/convert.h"

#include <cstdlib>
#include <limits>

#include "bindings/sandbox.h"
#include "lauxlib.h"
#include "lua.h"

namespace keyshift {

namespace {

// Elements converted between wall-time checks: a million-field hash must not
// outlast the limit inside C code the count hook cannot see.
constexpr size_t kCheckEvery = 4096;

void PushString(lua_State* L, const std::string& s) { lua_pushlstring(L, s.data(), s.size()); }

void PushArray(lua_State* L, const std::vector<std::string>& items) {
  lua_createtable(L, static_cast<int>(items.size()), 0);
  for (size_t i = 0; i < items.size(); ++i) {
    if (i % kCheckEvery == kCheckEvery - 1) CheckDeadline(L);
    PushString(L, items[i]);
    lua_rawseti(L, -2, static_cast<lua_Integer>(i + 1));
  }
}

std::string StringAt(lua_State* L, int table, lua_Integer i) {
  lua_rawgeti(L, table, i);
  size_t len = 0;
  const char* s = lua_tolstring(L, -1, &len);
  std::string out = s ? std::string(s, len) : std::string();
  lua_pop(L, 1);
  return out;
}

}  // namespace

double ScoreToNumber(const std::string& text) {
  if (text == "inf" || text == "+inf") return std::numeric_limits<double>::infinity();
  if (text == "-inf") return -std::numeric_limits<double>::infinity();
  return std::strtod(text.c_str(), nullptr);
}

void PushValue(lua_State* L, const Value& value) {
  switch (value.type) {
    case KeyType::kString:
      PushString(L, value.str);
      return;
    case KeyType::kList:
    case KeyType::kSet:
      PushArray(L, value.items);
      return;
    case KeyType::kHash:
    case KeyType::kZSet:
      lua_createtable(L, 0, static_cast<int>(value.pairs.size()));
      for (size_t i = 0; i < value.pairs.size(); ++i) {
        const auto& [name, text] = value.pairs[i];
        if (i % kCheckEvery == kCheckEvery - 1) CheckDeadline(L);
        PushString(L, name);
        if (value.type == KeyType::kZSet)
          lua_pushnumber(L, ScoreToNumber(text));
        else
          PushString(L, text);
        lua_rawset(L, -3);
      }
      return;
    default:
      lua_pushnil(L);
  }
}

Value FlatToValue(lua_State* L, int index, KeyType type) {
  index = lua_absindex(L, index);
  Value v;
  v.type = type;
  lua_Integer n = static_cast<lua_Integer>(lua_rawlen(L, index));
  if (type == KeyType::kString) {
    v.str = StringAt(L, index, 1);
  } else if (type == KeyType::kHash || type == KeyType::kZSet) {
    for (lua_Integer i = 1; i + 1 <= n; i += 2) v.pairs.emplace_back(StringAt(L, index, i), StringAt(L, index, i + 1));
  } else {
    for (lua_Integer i = 1; i <= n; ++i) v.items.push_back(StringAt(L, index, i));
  }
  v.Normalize();
  return v;
}

}  // namespace keyshift
