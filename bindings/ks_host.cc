// The host primitives offered to the stdlib (the `host` module): the only C
// functions a migration can reach besides Lua's own libraries.
#include <algorithm>
#include <string>
#include <string_view>
#include <vector>

#include "lauxlib.h"
#include "lua.h"

#include "bindings/boundary.h"
#include "bindings/sandbox.h"

namespace keyshift {

namespace {

// host.log(text): one line to the sandbox's log sink.
int ks_host_log(lua_State* L) {
  size_t len;
  const char* text = luaL_checklstring(L, 1, &len);
  Sandbox* sb = *static_cast<Sandbox**>(lua_getextraspace(L));
  std::string line(text, len);
  if (sb->log_sink) sb->log_sink(line);
  return 0;
}

constexpr lua_Integer kSortOnStack = 4096;

// host.sort_strings(list) -> true, list sorted bytewise in place; or false,
// untouched, when an element is not a string or the list has a metatable (canon.sort then sorts it in
// Lua, with its own errors). canon.less's order (memcmp, a prefix first), in
// C: hash fields and set members are sorted for every key a transform returns.
int ks_host_sort_strings(lua_State* L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  if (lua_getmetatable(L, 1)) {  // table.sort would honour its metamethods
    lua_pushboolean(L, 0);
    return 1;
  }
  lua_Integer n = static_cast<lua_Integer>(lua_rawlen(L, 1));
  std::vector<std::pair<std::string_view, lua_Integer>> items;
  items.reserve(static_cast<size_t>(n));
  for (lua_Integer i = 1; i <= n; ++i) {
    // The strings stay anchored by the list until it is rewritten below.
    if (lua_rawgeti(L, 1, i) != LUA_TSTRING) {
      lua_pushboolean(L, 0);
      return 1;
    }
    size_t len;
    const char* s = lua_tolstring(L, -1, &len);
    items.emplace_back(std::string_view(s, len), i);
    lua_pop(L, 1);
  }
  std::sort(items.begin(), items.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  if (n <= kSortOnStack) {  // the strings themselves, in order, on the stack
    luaL_checkstack(L, static_cast<int>(n) + 2, "sort_strings");
    for (const auto& item : items) lua_rawgeti(L, 1, item.second);
    for (lua_Integer i = n; i >= 1; --i) lua_rawseti(L, 1, i);
  } else {  // too many for the stack: copies, pushed back one by one
    std::vector<std::string> sorted(items.size());
    for (size_t i = 0; i < items.size(); ++i) sorted[i] = std::string(items[i].first);
    for (size_t i = 0; i < sorted.size(); ++i) {
      lua_pushlstring(L, sorted[i].data(), sorted[i].size());
      lua_rawseti(L, 1, static_cast<lua_Integer>(i + 1));
    }
  }
  lua_pushboolean(L, 1);
  return 1;
}

const luaL_Reg kHostLib[] = {
    {"log", ks_host_log},
    {"sort_strings", ks_host_sort_strings},
    {nullptr, nullptr},
};

}  // namespace

int luaopen_kshost(lua_State* L) {
  luaL_newlib(L, kHostLib);
  return 1;
}

}  // namespace keyshift
