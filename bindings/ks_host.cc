// The host primitives offered to the stdlib (the `host` module): the only C
// functions a migration can reach besides Lua's own libraries.
#include <string>

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

const luaL_Reg kHostLib[] = {
    {"log", ks_host_log},
    {nullptr, nullptr},
};

}  // namespace

int luaopen_kshost(lua_State* L) {
  luaL_newlib(L, kHostLib);
  return 1;
}

}  // namespace keyshift
