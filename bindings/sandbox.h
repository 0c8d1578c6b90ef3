// One sandboxed Lua 5.4 state per migration: allow-listed globals, text-only
// chunks, a capped allocator, and an instruction + wall-time budget per call.
// This (with convert.cc, ks_host.cc and migration_script.cc) is the only code
// that touches lua_State; see bindings/boundary.h for every host/script crossing.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>

#include "core/result.h"

struct lua_State;

namespace keyshift {

struct SandboxLimits {
  size_t memory_bytes = 64u << 20;          // whole Lua state
  long long instructions = 200'000'000;     // per protected call (transform, verify, file load)
  long long wall_ms = 5'000;                // per protected call
};

// Whether json.decode and json.encode may use the native decoder and encoder
// for common documents (json_native*.cc); kOff leaves all to json.lua, as in
// Redis (the differential test compares the two).
enum class NativeJson { kOn, kOff };

// How a protected call failed; kinds the caller words differently.
enum class LuaFailure { kNone, kError, kMemory, kBudget };

class Sandbox {
 public:
  // Creates the state, opens the allow-listed libraries and loads the
  // embedded stdlib. Fails only if the stdlib itself does not load.
  static Result<std::unique_ptr<Sandbox>> Create(const SandboxLimits& limits,
                                                NativeJson native_json = NativeJson::kOn);
  ~Sandbox();
  Sandbox(const Sandbox&) = delete;
  Sandbox& operator=(const Sandbox&) = delete;

  lua_State* L() const { return L_; }
  const SandboxLimits& limits() const { return limits_; }
  // A migration may set its own limits once its file is loaded.
  void set_limits(const SandboxLimits& limits) { limits_ = limits; }

  // Compiles a text chunk (bytecode refused) named `chunkname` (e.g.
  // "@migrations/0001_x.lua") with a fresh migration environment as _ENV.
  // Pushes the function on success; on failure returns the compiler message.
  Status LoadChunk(const std::string& text, const std::string& chunkname);

  // lua_pcall with traceback handler and a fresh budget. Stack as lua_pcall:
  // function and nargs arguments on top; on success nresults pushed. On
  // failure nothing is pushed and the error is returned as text; `failure`
  // tells what kind.
  Status ProtectedCall(int nargs, int nresults, LuaFailure* failure = nullptr);

  // Runs `fn` inside a protected call (with the budget), so that API calls
  // which allocate fail with a memory-limit error instead of aborting. `fn`
  // finds the top `nargs` values on its stack; what it leaves there is pushed
  // on success, nothing on failure.
  Status Protect(int nargs, const std::function<Status(lua_State*)>& fn);

  // Where the last failing call was executing in a migration file, when the
  // error message itself has no position (memory and budget errors).
  const std::string& last_position() const { return last_position_; }

  // Pushes a stdlib module table ("json", "ks", "runner", ...).
  void PushModule(const char* name);

  // Called from the count hook and the pcall wrappers; public for the C callbacks.
  struct Budget {
    long long steps_left = 0;
    std::chrono::steady_clock::time_point deadline;
    bool killed = false;       // sticky until the outermost call returns
    std::string kill_reason;
  };
  Budget& budget() { return budget_; }
  void NotePosition(lua_State* L);

  // Documents the native decoder (json_native.cc) decoded, json.lua's parser
  // doing the others: tests check that the native path is the one they probe.
  size_t native_json_decodes() const { return native_json_decodes_; }
  void CountNativeJsonDecode() { ++native_json_decodes_; }

  // Where ks.log / print lines go. Default: standard error.
  std::function<void(const std::string&)> log_sink;

 private:
  Sandbox(const SandboxLimits& limits, NativeJson native_json);
  static void* Allocate(void* ud, void* ptr, size_t osize, size_t nsize);
  Status LoadStdlib();
  void OpenLibraries();
  // Pushes a fresh allow-listed env table; a migration's (not the stdlib's) sees
  // kWrappedGlobals through globals.wrap.
  void BuildEnvironment(bool migration);

  SandboxLimits limits_;
  NativeJson native_json_;
  lua_State* L_ = nullptr;
  size_t used_ = 0;
  bool memory_refused_ = false;
  Budget budget_;
  std::string last_position_;
  size_t native_json_decodes_ = 0;
  int depth_ = 0;  // nesting of ProtectedCall: the budget is per outermost call
};

// Raises the budget error if the running call is past its wall-time limit
// (or already killed). For C code that loops over big values, where the
// count hook never fires.
void CheckDeadline(lua_State* L);

// The embedded Lua's release ("Lua 5.4.4"), for --version: lua.h stays in bindings/.
const char* LuaRelease();

}  // namespace keyshift
