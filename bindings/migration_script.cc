// Loading a migration file into its sandbox, validating its table, and
// calling its transform/verify through stdlib/runner.lua.
#include "bindings/migration_script.h"

#include <cstdio>
#include <cstring>

#include <fmt/format.h>

#include "bindings/convert.h"
#include "core/enum_words.h"
#include "core/text.h"
#include "lauxlib.h"
#include "lua.h"

namespace keyshift {

namespace {

constexpr const char* kKnownFields[] = {"description", "owner",  "expected", "rollback", "scan",
                                        "mode",        "transform", "verify", "limits", "revert"};
constexpr const char* kScanTypes[] = {"string", "hash", "list", "set", "zset"};
// runner.apply's first result (stdlib/runner.lua), when it is not "error".
constexpr EnumWord<KeyAction> kRunnerActions[] = {{KeyAction::kKeep, "keep"},
                                                   {KeyAction::kRewrite, "write"},
                                                   {KeyAction::kDelete, "delete"},
                                                   {KeyAction::kRename, "rename"}};

// Line of the file's last top-level `return`, where the migration table is
// built: the best place to point at for a missing or malformed field.
int ReturnLine(const std::string& text) {
  int line = 1, found = 1;
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    if (text.compare(start, 6, "return") == 0) found = line;
    start = end + 1;
    ++line;
  }
  return found;
}

// Raw field access: the migration table may carry metamethods.
int RawField(lua_State* L, int table, const char* name) {
  lua_pushstring(L, name);
  return lua_rawget(L, table);
}

// Pops the function on top of the stack into the registry; its reference.
// *line: the line where the function is defined.
int RefFunction(lua_State* L, int* line) {
  lua_Debug ar;
  lua_pushvalue(L, -1);
  lua_getinfo(L, ">S", &ar);
  *line = ar.linedefined;
  return luaL_ref(L, LUA_REGISTRYINDEX);
}

struct CallArgs {
  int runner_fn_ref;
  int script_fn_ref;
  const std::string* key;
  const Value* value;
  bool pass_type;
};

// Runs inside the protected call: builds the Lua value (which may hit the
// memory cap) and calls runner.apply/verify. Stack effect: pushes 3 results.
int CallThunk(lua_State* L) {
  auto* a = static_cast<CallArgs*>(lua_touserdata(L, 1));
  lua_rawgeti(L, LUA_REGISTRYINDEX, a->runner_fn_ref);
  lua_rawgeti(L, LUA_REGISTRYINDEX, a->script_fn_ref);
  lua_pushlstring(L, a->key->data(), a->key->size());
  int nargs = 3;
  if (a->pass_type) {
    lua_pushstring(L, KeyTypeName(a->value->type));
    ++nargs;
  }
  PushValue(L, *a->value);
  lua_call(L, nargs + 0, 3);
  return 3;
}

}  // namespace

bool SameValue(const Value& a, const Value& b) {
  if (a.type != KeyType::kZSet || b.type != KeyType::kZSet || a.pairs.size() != b.pairs.size()) return a == b;
  for (size_t i = 0; i < a.pairs.size(); ++i)  // scores compare as numbers: Redis may print them longer
    if (a.pairs[i].first != b.pairs[i].first || ScoreToNumber(a.pairs[i].second) != ScoreToNumber(b.pairs[i].second))
      return false;
  return true;
}

std::string QuoteKey(const std::string& key) {
  std::string out = "'";
  for (size_t i = 0; i < key.size() && i < 200; ++i) {
    unsigned char c = static_cast<unsigned char>(key[i]);
    if (c < 0x20 || c == 0x7f || c == '\'' || c == '\\') out += fmt::format("\\x{:02x}", c);
    else out += static_cast<char>(c);
  }
  if (key.size() > 200) out += fmt::format("...' ({} bytes)", key.size());
  else out += "'";
  return out;
}

MigrationScript::~MigrationScript() = default;

Result<std::unique_ptr<MigrationScript>> MigrationScript::Load(const std::string& display_path,
                                                               const std::string& text,
                                                               const SandboxLimits& defaults) {
  std::unique_ptr<MigrationScript> m(new MigrationScript());
  m->path_ = display_path;
  m->info_.limits = defaults;  // the file's own `limits` override these field by field
  auto sandbox = Sandbox::Create(defaults);
  if (!sandbox.ok()) return sandbox.error();
  m->sandbox_ = std::move(sandbox.value());
  m->SetLogSink(nullptr);
  // Lua keeps at most LUA_IDSIZE (60) bytes of a chunk name and cuts a
  // longer path at its start, mid-word: the chunk gets a short name, and
  // messages get the full path back.
  std::string base = display_path.substr(display_path.find_last_of('/') + 1);
  m->chunk_label_ = base.size() <= 50 ? base : "migration.lua";
  Status st = m->sandbox_->LoadChunk(text, "@" + m->chunk_label_);
  if (!st) return Fail(m->FullPaths(st.error().message));
  st = m->sandbox_->ProtectedCall(0, 1);
  if (!st) return Fail(m->FullPaths(st.error().message));
  // Reading the table allocates (luaL_ref, field names) under the limits the
  // file itself may have just lowered: protected, so a full state is an error.
  MigrationScript* self = m.get();
  st = m->sandbox_->Protect(1, [self, &text](lua_State*) { return self->ReadInfo(text); });
  if (!st && st.error().message.compare(0, display_path.size(), display_path) != 0)
    return Fail(fmt::format("{}:{}: {}", display_path, ReturnLine(text), m->FullPaths(st.error().message)));
  if (!st) return st.error();
  return m;
}

void MigrationScript::SetLogSink(std::function<void(const std::string&)> sink) {
  if (!sink) {
    std::string path = path_;
    sink = [path](const std::string& line) { std::fprintf(stderr, "%s: %s\n", path.c_str(), TerminalSafe(line).c_str()); };
  }
  sandbox_->log_sink = std::move(sink);
}

Status MigrationScript::ReadInfo(const std::string& text) {
  lua_State* L = sandbox_->L();
  std::string where = fmt::format("{}:{}", path_, ReturnLine(text));
  if (!lua_istable(L, -1)) {
    std::string got = luaL_typename(L, -1);
    lua_pop(L, 1);
    return Fail(fmt::format("{}: the file must return a migration table, not {}", where, got));
  }
  int t = lua_gettop(L);
  for (lua_pushnil(L); lua_next(L, t); lua_pop(L, 1)) {
    const char* name = lua_type(L, -2) == LUA_TSTRING ? lua_tostring(L, -2) : nullptr;
    bool known = false;
    for (const char* f : kKnownFields) known |= name && std::strcmp(name, f) == 0;
    if (name && std::strcmp(name, "up") == 0)
      return Fail(fmt::format("{}: 'up' migrations are not supported by this version; give a transform", where));
    if (!known) {
      std::string shown = name ? name : luaL_typename(L, -2);
      lua_pop(L, 2);
      return Fail(fmt::format("{}: unknown field '{}' in the migration table", where, shown));
    }
  }
  auto text_field = [&](const char* name, std::string* out, bool required) -> Status {
    int type = RawField(L, t, name);
    if (type == LUA_TSTRING) *out = lua_tostring(L, -1);
    lua_pop(L, 1);
    if (type == LUA_TNIL && !required) return Status::Ok();
    if (type != LUA_TSTRING || out->empty())
      return Fail(fmt::format("{}: '{}' must be a non-empty string{}", where, name,
                              type == LUA_TNIL ? " (it is missing)" : ""));
    return Status::Ok();
  };
  Status st = text_field("description", &info_.description, true);
  // `keyshift new` writes "TODO: ..." (directory.h): a run must not be
  // recorded in the ledger under a description nobody wrote.
  if (st && info_.description.rfind("TODO:", 0) == 0)
    st = Fail(fmt::format("{}: 'description' is still the template's placeholder (\"{}\"): say what this migration "
                          "changes", where, info_.description));
  if (st) st = text_field("owner", &info_.owner, false);
  if (st) st = text_field("expected", &info_.expected, false);
  if (st) st = text_field("rollback", &info_.rollback, false);
  std::string mode = RunModeName(info_.mode);
  if (st) st = text_field("mode", &mode, false);
  auto parsed = ParseRunMode(mode);
  if (st && !parsed.ok())
    st = Fail(fmt::format("{}: mode must be \"host\" or \"server\", not \"{}\"", where, mode));
  if (st) info_.mode = *parsed;
  if (!st) {
    lua_pop(L, 1);
    return st;
  }
  st = ReadScanAndLimits(L, t, where);
  if (st) st = ReadFunctions(L, t, where);
  if (!st) {
    lua_pop(L, 1);
    return st;
  }
  table_ref_ = luaL_ref(L, LUA_REGISTRYINDEX);
  return Status::Ok();
}

}  // namespace keyshift

namespace keyshift {

namespace {

// Reads an optional positive integer field of the table at `t`.
Status IntegerField(lua_State* L, int t, const char* name, long long max, long long* out, const std::string& where,
                    const char* table_name) {
  int type = RawField(L, t, name);
  bool ok = type == LUA_TNIL || (lua_isinteger(L, -1) && lua_tointeger(L, -1) > 0 && lua_tointeger(L, -1) <= max);
  if (ok && type != LUA_TNIL) *out = lua_tointeger(L, -1);
  lua_pop(L, 1);
  if (!ok) return Fail(fmt::format("{}: {}.{} must be an integer from 1 to {}", where, table_name, name, max));
  return Status::Ok();
}

}  // namespace

Status MigrationScript::ReadScanAndLimits(lua_State* L, int t, const std::string& where) {
  int type = RawField(L, t, "scan");
  Status st;
  if (type != LUA_TNIL && type != LUA_TTABLE) st = Fail(fmt::format("{}: 'scan' must be a table", where));
  if (st && type == LUA_TTABLE) {
    int s = lua_gettop(L);
    int mt = RawField(L, s, "match");
    if (mt == LUA_TSTRING && lua_rawlen(L, -1) > 0) info_.scan.match = lua_tostring(L, -1);
    else if (mt != LUA_TNIL) st = Fail(fmt::format("{}: scan.match must be a non-empty string pattern", where));
    lua_pop(L, 1);
    int tt = RawField(L, s, "type");
    if (st && tt != LUA_TNIL) {
      std::string name = tt == LUA_TSTRING ? lua_tostring(L, -1) : "";
      bool known = false;
      for (const char* k : kScanTypes) known |= name == k;
      if (known) info_.scan.type = KeyTypeFromName(name);
      else st = Fail(fmt::format("{}: scan.type must be one of string, hash, list, set, zset", where));
    }
    lua_pop(L, 1);
    long long batch = info_.scan.batch;
    if (st) st = IntegerField(L, s, "batch", 100000, &batch, where, "scan");
    info_.scan.batch = static_cast<int>(batch);
  }
  lua_pop(L, 1);
  if (!st) return st;
  type = RawField(L, t, "limits");
  if (type != LUA_TNIL && type != LUA_TTABLE) st = Fail(fmt::format("{}: 'limits' must be a table", where));
  if (st && type == LUA_TTABLE) {
    int l = lua_gettop(L);
    long long mb = static_cast<long long>(info_.limits.memory_bytes >> 20);
    st = IntegerField(L, l, "memory_mb", 16384, &mb, where, "limits");
    if (st) st = IntegerField(L, l, "instructions", 1LL << 50, &info_.limits.instructions, where, "limits");
    if (st) st = IntegerField(L, l, "time_ms", 3600 * 1000, &info_.limits.wall_ms, where, "limits");
    info_.limits.memory_bytes = static_cast<size_t>(mb) << 20;
  }
  lua_pop(L, 1);
  if (st) sandbox_->set_limits(info_.limits);
  return st;
}

Status MigrationScript::ReadFunctions(lua_State* L, int t, const std::string& where) {
  int type = RawField(L, t, "transform");
  if (type != LUA_TFUNCTION) {
    lua_pop(L, 1);
    return Fail(fmt::format("{}: 'transform' must be a function(key, value){}", where,
                            type == LUA_TNIL ? " (it is missing)" : ""));
  }
  info_.has_transform = true;
  transform_ref_ = RefFunction(L, &info_.transform_line);
  type = RawField(L, t, "verify");
  if (type == LUA_TFUNCTION) {
    info_.has_verify = true;
    verify_ref_ = luaL_ref(L, LUA_REGISTRYINDEX);
  } else {
    lua_pop(L, 1);
    if (type != LUA_TNIL) return Fail(fmt::format("{}: 'verify' must be a function(key, value)", where));
  }
  type = RawField(L, t, "revert");
  if (type == LUA_TFUNCTION) {
    info_.has_revert = true;
    revert_ref_ = RefFunction(L, &info_.revert_line);
  } else {
    lua_pop(L, 1);
    if (type != LUA_TNIL) return Fail(fmt::format("{}: 'revert' must be a function(key, value)", where));
  }
  sandbox_->PushModule("runner");
  lua_getfield(L, -1, "apply");
  apply_ref_ = luaL_ref(L, LUA_REGISTRYINDEX);
  lua_getfield(L, -1, "verify");
  verify_runner_ref_ = luaL_ref(L, LUA_REGISTRYINDEX);
  lua_pop(L, 1);
  return Status::Ok();
}

Error MigrationScript::KeyError(const std::string& message, const std::string& key) const {
  return Fail(fmt::format("{} (key {})", FullPaths(message), QuoteKey(key)));
}

std::string MigrationScript::FullPaths(const std::string& message) const {
  if (chunk_label_ == path_) return message;
  const std::string label = chunk_label_ + ":";
  std::string out;
  for (size_t i = 0; i < message.size();) {
    bool starts_word = i == 0 || std::strchr(" \t\n(\"'", message[i - 1]) != nullptr;
    if (starts_word && message.compare(i, label.size(), label) == 0) {
      out += path_ + ":";
      i += label.size();
    } else {
      out += message[i++];
    }
  }
  return out;
}

Status MigrationScript::CallRunner(const char* fn, int script_ref, const std::string& key, const Value& value,
                                   bool pass_type, int line) {
  lua_State* L = sandbox_->L();
  CallArgs args{std::strcmp(fn, "apply") == 0 ? apply_ref_ : verify_runner_ref_, script_ref, &key, &value, pass_type};
  lua_pushcfunction(L, CallThunk);
  lua_pushlightuserdata(L, &args);
  Status st = sandbox_->ProtectedCall(1, 3);
  if (!st) {
    std::string msg = FullPaths(st.error().message);
    if (msg.compare(0, path_.size(), path_) != 0) msg = fmt::format("{}:{}: {}", path_, line, msg);
    return KeyError(msg, key);
  }
  return Status::Ok();
}

Result<TransformOutcome> MigrationScript::Transform(const std::string& key, const Value& value) {
  return Apply(transform_ref_, info_.transform_line, "transform", key, value);
}

Result<TransformOutcome> MigrationScript::Revert(const std::string& key, const Value& value) {
  if (!info_.has_revert) return Fail(fmt::format("{}: has no revert function", path_));
  auto out = Apply(revert_ref_, info_.revert_line, "revert", key, value);
  if (out.ok() && out->action == KeyAction::kRename)
    return KeyError(fmt::format("{}:{}: revert returned ks.rename(...); a revert cannot rename (`down` moves renamed "
                                "keys back to the name the journal recorded)", path_, info_.revert_line), key);
  return out;
}

Result<TransformOutcome> MigrationScript::Apply(int fn_ref, int line, const char* what, const std::string& key,
                                                const Value& value) {
  lua_State* L = sandbox_->L();
  Status st = CallRunner("apply", fn_ref, key, value, true, line);
  if (!st) return st.error();
  std::string action = lua_isstring(L, -3) ? lua_tostring(L, -3) : "";
  TransformOutcome out;
  auto parsed = ParseWord(kRunnerActions, action, "runner action");
  if (!parsed.ok()) {  // "error", with the message second
    std::string msg = action != "error"        ? parsed.error().message
                      : lua_isstring(L, -2) ? lua_tostring(L, -2)
                                             : "failed";
    if (std::strcmp(what, "transform") != 0 && msg.compare(0, 9, "transform") == 0) msg = what + msg.substr(9);
    lua_pop(L, 3);
    return KeyError(fmt::format("{}:{}: {}", path_, line, msg), key);
  }
  out.action = *parsed;
  if (out.action == KeyAction::kRewrite || out.action == KeyAction::kRename) {
    out.value = lua_istable(L, -2) ? FlatToValue(L, -2, value.type) : value;
    if (out.action == KeyAction::kRename) {
      size_t len = 0;
      const char* s = lua_tolstring(L, -1, &len);
      out.new_key.assign(s, len);  // keys are binary: keep NUL bytes
    }
    if (out.action == KeyAction::kRewrite && SameValue(out.value, value)) out.action = KeyAction::kKeep;
    if (out.action == KeyAction::kRename && out.new_key == key)
      out.action = SameValue(out.value, value) ? KeyAction::kKeep : KeyAction::kRewrite;
  }
  lua_pop(L, 3);
  return out;
}

Result<std::pair<bool, std::string>> MigrationScript::Verify(const std::string& key, const Value& value) {
  if (!info_.has_verify) return std::make_pair(true, std::string());
  lua_State* L = sandbox_->L();
  Status st = CallRunner("verify", verify_ref_, key, value, false, info_.transform_line);
  if (!st) return st.error();
  bool ok = lua_toboolean(L, -3);
  std::string reason = lua_isstring(L, -2) ? lua_tostring(L, -2) : "";
  lua_pop(L, 3);
  return std::make_pair(ok, reason);
}

}  // namespace keyshift
