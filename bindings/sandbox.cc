// The sandboxed Lua state: allocator cap, count hook budget, allow-listed
// environment, stdlib loading and the protected-call path with traceback.
#include "bindings/sandbox.h"

#include <cstdlib>
#include <cstring>

#include <fmt/format.h>

#include "lauxlib.h"
#include "lua.h"
#include "lualib.h"

#include "bindings/boundary.h"
#include "bindings/stdlib_sources.h"

namespace keyshift {

namespace {

constexpr int kHookEvery = 1000;  // instructions between budget checks
constexpr const char* kModulesKey = "keyshift.modules";
constexpr const char* kStdlibChunkPrefix = "@stdlib/";

Sandbox* SandboxOf(lua_State* L) { return *static_cast<Sandbox**>(lua_getextraspace(L)); }

bool IsMigrationSource(const char* source) {
  return source[0] == '@' && std::strncmp(source, kStdlibChunkPrefix, std::strlen(kStdlibChunkPrefix)) != 0;
}

// "file:line" of the innermost active function defined in a migration file.
std::string MigrationPosition(lua_State* L) {
  lua_Debug ar;
  for (int level = 0; lua_getstack(L, level, &ar); ++level) {
    lua_getinfo(L, "Sl", &ar);
    if (IsMigrationSource(ar.source) && ar.currentline > 0)
      return fmt::format("{}:{}", ar.short_src, ar.currentline);
  }
  return "";
}

void RaiseIfKilled(lua_State* L, Sandbox::Budget& b) {
  if (!b.killed) return;
  lua_pushstring(L, b.kill_reason.c_str());
  lua_error(L);
}

void CheckWallTime(Sandbox* sb) {
  Sandbox::Budget& b = sb->budget();
  if (!b.killed && std::chrono::steady_clock::now() > b.deadline) {
    b.killed = true;
    b.kill_reason = fmt::format("time limit exceeded ({} ms)", sb->limits().wall_ms);
  }
}

void CountHook(lua_State* L, lua_Debug*) {
  Sandbox* sb = SandboxOf(L);
  Sandbox::Budget& b = sb->budget();
  sb->NotePosition(L);
  b.steps_left -= kHookEvery;
  if (!b.killed && b.steps_left <= 0) {
    b.killed = true;
    b.kill_reason = fmt::format("instruction limit exceeded ({} instructions)", sb->limits().instructions);
  }
  CheckWallTime(sb);
  // Re-raised on every hook tick, so a script's own pcall cannot swallow it.
  RaiseIfKilled(L, b);
}

// Message handler: makes sure the message starts with the migration file's
// file:line, even when the error was raised inside the stdlib or by the host.
// It runs with hooks off, so it never calls a metamethod (__tostring).
int MessageHandler(lua_State* L) {
  std::string text = lua_type(L, 1) == LUA_TSTRING || lua_type(L, 1) == LUA_TNUMBER
                         ? lua_tostring(L, 1)
                         : fmt::format("(error object is a {} value)", luaL_typename(L, 1));
  std::string position = MigrationPosition(L);
  if (!position.empty()) {
    std::string file = position.substr(0, position.rfind(':'));
    if (text.compare(0, file.size(), file) != 0) text = position + ": " + text;
  }
  lua_pushstring(L, text.c_str());
  return 1;
}

// pcall/xpcall for scripts: a budget kill or memory refusal is re-raised so
// that a runaway cannot hide inside its own pcall.
void RethrowIfKilled(lua_State* L, int status) {
  Sandbox* sb = SandboxOf(L);
  if (status != LUA_OK && (sb->budget().killed || status == LUA_ERRMEM)) lua_error(L);
}

int SafePcall(lua_State* L) {
  luaL_checkany(L, 1);
  int status = lua_pcall(L, lua_gettop(L) - 1, LUA_MULTRET, 0);
  RethrowIfKilled(L, status);
  lua_pushboolean(L, status == LUA_OK);
  lua_insert(L, 1);
  return lua_gettop(L);
}

// xpcall whose message handler runs after the failed call has unwound, as
// ordinary code: Lua runs a handler in place with hooks off, where a loop
// would ignore the count hook. A kill never reaches the handler.
int SafeXpcall(lua_State* L) {
  int n = lua_gettop(L);  // f, handler, args...
  luaL_checktype(L, 2, LUA_TFUNCTION);
  lua_pushvalue(L, 1);
  lua_rotate(L, 3, 1);  // f, handler, f, args...
  int status = lua_pcall(L, n - 2, LUA_MULTRET, 0);
  RethrowIfKilled(L, status);
  if (status == LUA_OK) {
    lua_pushboolean(L, 1);
    lua_replace(L, 2);  // handler slot becomes the status: returns status, results...
    return lua_gettop(L) - 1;
  }
  lua_pushvalue(L, 2);
  lua_insert(L, -2);  // handler, error
  status = lua_pcall(L, 1, 1, 0);
  RethrowIfKilled(L, status);
  if (status != LUA_OK) {
    lua_pop(L, 1);
    lua_pushliteral(L, "error in error handling");  // what Lua itself answers
  }
  lua_pushboolean(L, 0);
  lua_insert(L, -2);
  return 2;
}

// setmetatable without finalizers: Lua runs __gc with hooks off (and again at
// lua_close), beyond every limit. Checked when the metatable is set, since
// only a __gc present then marks the object for finalization.
int SafeSetmetatable(lua_State* L) {
  if (lua_type(L, 2) == LUA_TTABLE) {
    lua_pushliteral(L, "__gc");
    if (lua_rawget(L, 2) != LUA_TNIL)
      return luaL_error(L, "__gc metamethods are not available in the keyshift sandbox (finalizers run outside "
                           "the time limit)");
    lua_pop(L, 1);
  }
  lua_pushvalue(L, lua_upvalueindex(1));
  lua_insert(L, 1);
  lua_call(L, lua_gettop(L) - 1, 1);
  return 1;
}

// load(text [, chunkname]): text chunks only, always in the caller's sandbox
// environment (upvalue 1).
int SafeLoad(lua_State* L) {
  size_t len;
  const char* text = luaL_checklstring(L, 1, &len);
  const char* name = luaL_optstring(L, 2, "=(load)");
  if (luaL_loadbufferx(L, text, len, name, "t") != LUA_OK) {
    luaL_pushfail(L);
    lua_insert(L, -2);
    return 2;
  }
  lua_pushvalue(L, lua_upvalueindex(1));
  lua_setupvalue(L, -2, 1);  // _ENV of the new chunk
  return 1;
}

// __index of an environment: unknown and forbidden names are errors, as in Redis.
int DeniedGlobal(lua_State* L) {
  const char* name = luaL_checkstring(L, 2);
  static const char* const kForbidden[] = {"require", "dofile", "loadfile", "io", "debug",
                                           "collectgarbage", "package", "coroutine", "loadstring"};
  for (const char* f : kForbidden)
    if (std::strcmp(name, f) == 0) return luaL_error(L, "'%s' is not available in the keyshift sandbox", name);
  return luaL_error(L, "undefined global '%s'", name);
}

int DeniedField(lua_State* L) {
  const char* lib = lua_tostring(L, lua_upvalueindex(1));
  const char* name = luaL_checkstring(L, 2);
  const char* why = lua_tostring(L, lua_upvalueindex(2));
  return luaL_error(L, "%s.%s is not available in the keyshift sandbox%s", lib, name, why);
}

// Pushes a new table holding the named fields of library `lib`, whose other
// fields raise a clear error.
void PushRestrictedLib(lua_State* L, const char* lib, const std::initializer_list<const char*>& keep,
                       bool all_but, const char* why) {
  lua_getglobal(L, lib);
  lua_newtable(L);
  if (all_but) {
    for (lua_pushnil(L); lua_next(L, -3); lua_pop(L, 1)) {
      bool dropped = false;
      for (const char* k : keep) dropped |= lua_type(L, -2) == LUA_TSTRING && std::strcmp(lua_tostring(L, -2), k) == 0;
      if (!dropped) {
        lua_pushvalue(L, -2);
        lua_pushvalue(L, -2);
        lua_rawset(L, -5);
      }
    }
  } else {
    for (const char* k : keep) {
      lua_getfield(L, -2, k);
      lua_setfield(L, -2, k);
    }
  }
  lua_newtable(L);  // metatable
  lua_pushstring(L, lib);
  lua_pushstring(L, why);
  lua_pushcclosure(L, DeniedField, 2);
  lua_setfield(L, -2, "__index");
  lua_setmetatable(L, -2);
  lua_remove(L, -2);  // the original library table
}

struct ProtectArgs {
  const std::function<Status(lua_State*)>* fn;
  Status result;
};

int ProtectThunk(lua_State* L) {
  auto* a = static_cast<ProtectArgs*>(lua_touserdata(L, 1));
  lua_remove(L, 1);
  a->result = (*a->fn)(L);
  return lua_gettop(L);
}

constexpr const char* kBaseAllowed[] = {
    "assert", "error",  "ipairs",   "next",     "pairs",    "rawequal", "rawget", "rawlen",
    "rawset", "select", "tonumber", "tostring", "type",     "setmetatable", "getmetatable",
    "_VERSION", "string", "table", "utf8"};

// Pushes globals.wrap(name, value at index `value`) (stdlib/globals.lua).
void PushWrapped(lua_State* L, const char* name, int value) {
  value = lua_absindex(L, value);
  lua_getfield(L, LUA_REGISTRYINDEX, kModulesKey);
  lua_getfield(L, -1, "globals");
  lua_getfield(L, -1, "wrap");
  lua_pushstring(L, name);
  lua_pushvalue(L, value);
  lua_call(L, 2, 1);
  lua_replace(L, -3);
  lua_pop(L, 1);
}

// The globals of the environment at `env` that migrations see wrapped.
void WrapGlobals(lua_State* L, int env) {
  env = lua_absindex(L, env);
  for (const char* name : kWrappedGlobals) {
    lua_getfield(L, env, name);
    PushWrapped(L, name, -1);
    lua_setfield(L, env, name);
    lua_pop(L, 1);
  }
}

// String methods ("x"):rep(n) see numbers as Lua 5.1 writes them, as in
// Redis, and string arithmetic ("10" + 1) reads numbers as tonumber does.
void WrapStringMetatable(lua_State* L) {
  lua_pushliteral(L, "");
  lua_getmetatable(L, -1);
  int mt = lua_gettop(L);
  lua_getglobal(L, LUA_STRLIBNAME);
  PushWrapped(L, "methods", -1);
  lua_setfield(L, mt, "__index");
  PushWrapped(L, "arith", -1);
  for (lua_pushnil(L); lua_next(L, -2);) {  // mt[event] = handler; the key stays for lua_next
    lua_pushvalue(L, -2);
    lua_insert(L, -2);
    lua_settable(L, mt);
  }
  lua_pop(L, 4);
}

}  // namespace

void CheckDeadline(lua_State* L) {
  Sandbox* sb = SandboxOf(L);
  CheckWallTime(sb);
  RaiseIfKilled(L, sb->budget());
}

Sandbox::Sandbox(const SandboxLimits& limits, NativeJson native_json)
    : limits_(limits), native_json_(native_json) {}

Sandbox::~Sandbox() {
  if (L_) lua_close(L_);
}

void* Sandbox::Allocate(void* ud, void* ptr, size_t osize, size_t nsize) {
  auto* self = static_cast<Sandbox*>(ud);
  size_t old = ptr ? osize : 0;
  if (nsize == 0) {
    std::free(ptr);
    self->used_ -= old;
    return nullptr;
  }
  if (nsize > old && self->used_ + (nsize - old) > self->limits_.memory_bytes) {
    self->memory_refused_ = true;
    return nullptr;
  }
  void* p = std::realloc(ptr, nsize);
  if (p) self->used_ = self->used_ - old + nsize;
  return p;
}

void Sandbox::NotePosition(lua_State* L) {
  // Cheap enough every kHookEvery instructions; used when an error has no position.
  // The innermost migration frame, not level 0: migrations call stdlib Lua
  // (globals.lua wraps string, table, math) where much of their time goes.
  std::string position = MigrationPosition(L);
  if (!position.empty()) last_position_ = std::move(position);
}

Result<std::unique_ptr<Sandbox>> Sandbox::Create(const SandboxLimits& limits, NativeJson native_json) {
  std::unique_ptr<Sandbox> sb(new Sandbox(limits, native_json));
  sb->L_ = lua_newstate(&Sandbox::Allocate, sb.get());
  if (!sb->L_) return Fail("cannot create a Lua state (memory limit too small?)");
  *static_cast<Sandbox**>(lua_getextraspace(sb->L_)) = sb.get();
  Status st = sb->Protect(0, [&sb](lua_State* L) {
    sb->OpenLibraries();
    Status loaded = sb->LoadStdlib();
    if (loaded) WrapStringMetatable(L);
    return loaded;
  });
  if (!st) return st.error();
  return sb;
}

void Sandbox::OpenLibraries() {
  lua_State* L = L_;
  luaL_requiref(L, LUA_GNAME, luaopen_base, 1);
  luaL_requiref(L, LUA_STRLIBNAME, luaopen_string, 1);
  luaL_requiref(L, LUA_TABLIBNAME, luaopen_table, 1);
  luaL_requiref(L, LUA_MATHLIBNAME, luaopen_math, 1);
  luaL_requiref(L, LUA_UTF8LIBNAME, luaopen_utf8, 1);
  luaL_requiref(L, LUA_OSLIBNAME, luaopen_os, 1);
  lua_pop(L, 6);
  // Scripts must not reach the shared string metatable.
  lua_pushliteral(L, "");
  lua_getmetatable(L, -1);
  lua_pushboolean(L, 0);
  lua_setfield(L, -2, "__metatable");
  lua_pop(L, 2);
  lua_sethook(L, CountHook, LUA_MASKCOUNT, kHookEvery);
}

void Sandbox::BuildEnvironment(bool migration) {
  lua_State* L = L_;
  lua_newtable(L);
  for (const char* name : kBaseAllowed) {
    lua_getglobal(L, name);
    lua_setfield(L, -2, name);
  }
  PushRestrictedLib(L, LUA_MATHLIBNAME, {"random", "randomseed"}, true,
                    ": transforms must be deterministic");
  lua_setfield(L, -2, "math");
  PushRestrictedLib(L, LUA_OSLIBNAME, {"time", "clock"}, false, " (only os.time and os.clock are)");
  lua_setfield(L, -2, "os");
  lua_pushcfunction(L, SafePcall);
  lua_setfield(L, -2, "pcall");
  lua_pushcfunction(L, SafeXpcall);
  lua_setfield(L, -2, "xpcall");
  lua_getglobal(L, "setmetatable");
  lua_pushcclosure(L, SafeSetmetatable, 1);
  lua_setfield(L, -2, "setmetatable");
  lua_pushvalue(L, -1);
  lua_pushcclosure(L, SafeLoad, 1);
  lua_setfield(L, -2, "load");
  lua_pushvalue(L, -1);
  lua_setfield(L, -2, "_G");
  lua_getfield(L, LUA_REGISTRYINDEX, kModulesKey);
  if (lua_istable(L, -1)) {
    for (const char* name : kGlobalModules) {
      lua_getfield(L, -1, name);
      lua_setfield(L, -3, name);
    }
    if (lua_getfield(L, -1, "ks") == LUA_TTABLE) {  // print is ks.log
      lua_getfield(L, -1, "log");
      lua_setfield(L, -4, "print");
    }
    lua_pop(L, 1);
  }
  lua_pop(L, 1);
  if (migration) WrapGlobals(L, -1);
  lua_newtable(L);
  lua_pushcfunction(L, DeniedGlobal);
  lua_setfield(L, -2, "__index");
  lua_setmetatable(L, -2);
}

Status Sandbox::LoadChunk(const std::string& text, const std::string& chunkname) {
  if (luaL_loadbufferx(L_, text.data(), text.size(), chunkname.c_str(), "t") != LUA_OK) {
    std::string msg = lua_tostring(L_, -1);
    lua_pop(L_, 1);
    return Fail(msg);
  }
  return Protect(1, [this, &chunkname](lua_State* L) {
    BuildEnvironment(IsMigrationSource(chunkname.c_str()));
    lua_setupvalue(L, -2, 1);
    return Status::Ok();
  });
}

Status Sandbox::LoadStdlib() {
  lua_newtable(L_);
  lua_setfield(L_, LUA_REGISTRYINDEX, kModulesKey);
  lua_getfield(L_, LUA_REGISTRYINDEX, kModulesKey);
  luaopen_kshost(L_);
  if (native_json_ == NativeJson::kOn) AddNativeJson(L_, -1);
  lua_setfield(L_, -2, "host");
  lua_pop(L_, 1);
  for (const char* name : kStdlibLoadOrder) {
    const StdlibSource* src = nullptr;
    for (const auto& s : StdlibSources())
      if (s.name == name) src = &s;
    if (!src) return Fail(fmt::format("stdlib module '{}' is missing from this build", name));
    Status st = LoadChunk(src->text, std::string(kStdlibChunkPrefix) + name + ".lua");
    if (!st) return st;
    lua_getfield(L_, LUA_REGISTRYINDEX, kModulesKey);
    st = ProtectedCall(1, 1);
    if (!st) return Fail(fmt::format("stdlib module '{}' failed to load: {}", name, st.error().message));
    lua_getfield(L_, LUA_REGISTRYINDEX, kModulesKey);
    lua_insert(L_, -2);
    lua_setfield(L_, -2, name);
    lua_pop(L_, 1);
  }
  return Status::Ok();
}

void Sandbox::PushModule(const char* name) {
  lua_getfield(L_, LUA_REGISTRYINDEX, kModulesKey);
  lua_getfield(L_, -1, name);
  lua_remove(L_, -2);
}

Status Sandbox::Protect(int nargs, const std::function<Status(lua_State*)>& fn) {
  ProtectArgs args{&fn, Status::Ok()};
  lua_pushcfunction(L_, ProtectThunk);
  lua_insert(L_, -(nargs + 1));
  lua_pushlightuserdata(L_, &args);
  lua_insert(L_, -(nargs + 1));
  Status st = ProtectedCall(nargs + 1, LUA_MULTRET);
  if (!st) return st;
  return args.result;
}

Status Sandbox::ProtectedCall(int nargs, int nresults, LuaFailure* failure) {
  if (depth_ == 0) {
    budget_ = Budget{limits_.instructions, std::chrono::steady_clock::now() + std::chrono::milliseconds(limits_.wall_ms), false, {}};
    memory_refused_ = false;
    last_position_.clear();
  }
  int base = lua_gettop(L_) - nargs;
  lua_pushcfunction(L_, MessageHandler);
  lua_insert(L_, base);
  ++depth_;
  int status = lua_pcall(L_, nargs, nresults, base);
  --depth_;
  lua_remove(L_, base);
  if (failure) *failure = LuaFailure::kNone;
  if (status == LUA_OK) return Status::Ok();
  std::string msg = lua_isstring(L_, -1) ? lua_tostring(L_, -1) : "(error object is not a string)";
  lua_pop(L_, 1);
  LuaFailure kind = budget_.killed ? LuaFailure::kBudget
                    : (status == LUA_ERRMEM || (memory_refused_ && msg.find("not enough memory") != std::string::npos))
                        ? LuaFailure::kMemory
                        : LuaFailure::kError;
  if (failure) *failure = kind;
  if (kind == LuaFailure::kMemory) {
    msg = fmt::format("memory limit exceeded ({} MiB for this migration's Lua state)", limits_.memory_bytes >> 20);
    if (!last_position_.empty()) msg = last_position_ + ": " + msg;
  }
  return Fail(msg);
}

const char* LuaRelease() { return LUA_RELEASE; }

}  // namespace keyshift
