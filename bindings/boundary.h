// Every crossing between the C++ host and Lua, in one place.
//
// Host -> Lua (C functions the stdlib can reach; migrations cannot: the
// `host` module is never one of their globals), opened by luaopen_kshost as
// the stdlib's `host` module (stdlib/ks.lua and stdlib/json.lua use it):
//   host.log(text)            write one log line (ks.log, print)
//   host.sort_strings(list)   canon.sort's bytewise order in C (ks_host.cc):
//                             true, sorted in place; false for a list it
//                             leaves to canon.sort's Lua (a non-string, a
//                             metatable)
//   host.json_decoder(meta, null, from_text, box_texts) -> decode
//                             (json_native.cc; only stdlib/json.lua calls it,
//                             once, as it loads; absent with NativeJson::kOff,
//                             in Redis and in the stdlib specs). decode(text)
//                             builds json.lua's tables and side-table entries
//                             for a common-case document, or returns nil and
//                             json.lua's own parser decodes it.
//   host.json_encoder(meta, null, box_texts) -> encode
//                             (json_native_encode.cc; the same, for
//                             json.encode of a table: its text, or nil and
//                             json.lua's own encoder writes it).
//
// Lua -> host (Lua functions the host calls), all through Sandbox::ProtectedCall:
//   migration chunk()                         -> the migration table      (migration_script.cc)
//   runner.apply(mig, key, type, value)       -> action, value, new_key   (migration_script.cc)
//   runner.verify(mig, key, value)            -> ok, reason               (migration_script.cc)
//
// Values cross as described in convert.h: Redis values become plain Lua
// tables/strings; the runner hands back values already normalised to flat
// arrays of strings, so the host never formats a Lua number itself.
//
// Globals a migration sees (allow-list, sandbox.cc): base functions without
// loading or files, string, table, math (no random), utf8, os.time/os.clock,
// and the stdlib modules below. Forbidden names raise a clear error.
#pragma once

struct lua_State;

namespace keyshift {

// Stdlib modules in load order; each gets the ones before it as its argument.
// "pattern" comes last: it replaces string.find/match/gmatch/gsub in the host
// (stdlib/pattern.lua), and the modules before it keep the native ones.
inline constexpr const char* kStdlibLoadOrder[] = {"canon", "globals", "exact", "json", "time", "ks", "runner", "pattern"};
// The stdlib modules migrations see as globals.
inline constexpr const char* kGlobalModules[] = {"json", "time", "ks"};
// Globals a migration sees through stdlib/globals.lua's globals.wrap (numbers
// as Lua 5.1 writes them, exact numbers), in the host sandbox and the
// server-mode script alike, so that both engines write the same text.
inline constexpr const char* kWrappedGlobals[] = {"type", "tonumber", "tostring", "string", "table", "math"};

// Pushes the table of host primitives (see above).
int luaopen_kshost(lua_State* L);
// Adds json_decoder and json_encoder to the host table at index `host`.
void AddNativeJson(lua_State* L, int host);

}  // namespace keyshift
