// canon.sort in the host runs natively (host.sort_strings, bindings/ks_host.cc):
// the order must be canon.less's, bytewise, for any bytes; lists it declines
// (a non-string, a metatable) keep the Lua path's behaviour. No server.
#include <catch.hpp>
#include <memory>
#include <string>

#include "bindings/sandbox.h"
#include "lua.h"

using keyshift::Sandbox;

namespace {

// Lua that builds `count` pseudo-random strings of 0-5 bytes from a few byte
// values (so prefixes, duplicates, NUL and bytes >= 0x80 are common), sorts
// them with canon.sort, and checks the result against an insertion sort by
// canon.less. Returns "ok" or the first position out of order.
std::string SortCheck(int count) {
  return "local bytes, seed, list = {0, 1, 65, 97, 127, 128, 200, 255}, 7, {}\n"
         "for i = 1, " + std::to_string(count) + " do\n"
         "  seed = (seed * 1103515245 + 12345) % 2147483648\n"
         "  local parts = {}\n"
         "  for j = 1, seed % 6 do parts[j] = string.char(bytes[(seed // 7 ^ j) % 8 + 1]) end\n"
         "  list[i] = table.concat(parts)\n"
         "end\n"
         "local ref = {}\n"
         "for i = 1, #list do\n"
         "  local s, j = list[i], i - 1\n"
         "  while j >= 1 and canon.less(s, ref[j]) do ref[j + 1] = ref[j]; j = j - 1 end\n"
         "  ref[j + 1] = s\n"
         "end\n"
         "canon.sort(list)\n"
         "for i = 1, #ref do if list[i] ~= ref[i] then return 'differs at ' .. i end end\n"
         "return #list == #ref and 'ok' or 'lost elements'";
}

// Runs `body` as a stdlib chunk in a host sandbox, with the loaded stdlib
// modules as `...` (as the modules get them: sandbox.cc's registry entry),
// and `canon` bound from them; returns the string it returns, or the error.
std::string RunInHost(const std::string& body) {
  auto sb = Sandbox::Create(keyshift::SandboxLimits{}, keyshift::NativeJson::kOn);
  REQUIRE(sb.ok());
  lua_State* L = (*sb)->L();
  REQUIRE((*sb)->LoadChunk("local canon = (...).canon\n" + body, "@stdlib/canon_probe.lua"));
  lua_getfield(L, LUA_REGISTRYINDEX, "keyshift.modules");
  REQUIRE(lua_istable(L, -1));
  auto st = (*sb)->ProtectedCall(1, 1);
  if (!st) return "failed: " + st.error().message;
  const char* out = lua_tostring(L, -1);
  return out ? out : "(not a string)";
}

}  // namespace

TEST_CASE("canon.sort in the host orders any bytes as canon.less does", "[sandbox][canon]") {
  for (int count : {0, 1, 2, 300, 5000}) {  // 5000: past the on-stack limit
    INFO(count);
    CHECK(RunInHost(SortCheck(count)) == "ok");
  }
}

TEST_CASE("canon.sort in the host leaves lists with a non-string or a metatable to Lua", "[sandbox][canon]") {
  // A non-string element: canon.less fails on it, as before.
  CHECK(RunInHost("return tostring((pcall(canon.sort, {'b', 1, 'a'})))") == "false");
  // A proxy: table.sort reads and writes it through its metamethods.
  CHECK(RunInHost("return (function()\n"
                        "  local backing = {'b', 'a'}\n"
                        "  local proxy = setmetatable({}, {__index = backing, __len = function() return 2 end})\n"
                        "  canon.sort(proxy)\n"
                        "  return rawget(proxy, 1) .. rawget(proxy, 2)\n"
                        "end)()") == "ab");
  CHECK(RunInHost("return table.concat(canon.sorted_keys({b = 1, a = 2, [''] = 3}), ',')") == ",a,b");
}
