// A migration file loaded into its own sandbox: its declared fields (SPEC 2)
// and calls of its transform and verify on one key at a time.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "bindings/sandbox.h"
#include "core/key_action.h"
#include "core/result.h"
#include "core/run_mode.h"
#include "core/value.h"

namespace keyshift {

struct ScanSpec {
  std::string match = "*";
  std::optional<KeyType> type;  // only keys of this type; unset = every supported type
  int batch = 500;              // SCAN COUNT hint and write batch size
};

struct MigrationInfo {
  std::string description, owner, expected, rollback;
  ScanSpec scan;
  RunMode mode = RunMode::kHost;
  bool has_transform = false;
  bool has_verify = false;
  bool has_revert = false;    // the inverse transform `down` applies to keys changed since
  int transform_line = 0;     // where `transform` is defined, for errors about its result
  int revert_line = 0;
  SandboxLimits limits;
};

struct TransformOutcome {
  KeyAction action = KeyAction::kKeep;  // kKeep, kRewrite, kDelete or kRename
  std::string new_key;  // kRename
  Value value;          // kRewrite, kRename: the new value (kRename without a value: the old one)
};

class MigrationScript {
 public:
  // Loads and validates `text` (the file's contents); `display_path` names it
  // in every message. `defaults` are the limits unless the file sets its own.
  static Result<std::unique_ptr<MigrationScript>> Load(const std::string& display_path, const std::string& text,
                                                       const SandboxLimits& defaults);
  ~MigrationScript();

  const MigrationInfo& info() const { return info_; }
  const std::string& path() const { return path_; }

  // Runs the transform on one key. Errors name file:line and the key.
  Result<TransformOutcome> Transform(const std::string& key, const Value& value);
  // Runs revert (has_revert only): the same outcomes as Transform, except
  // that a rename is an error (`down` itself moves renamed keys back).
  Result<TransformOutcome> Revert(const std::string& key, const Value& value);
  // Runs verify; {true, ""} or {false, reason}. Without verify: always true.
  Result<std::pair<bool, std::string>> Verify(const std::string& key, const Value& value);

  // Where ks.log lines go (default stderr).
  void SetLogSink(std::function<void(const std::string&)> sink);
  // Sends one line to that sink, as ks.log would (lines another state logged: transform_pool.h).
  void Log(const std::string& line) { sandbox_->log_sink(line); }

 private:
  MigrationScript() = default;
  Status ReadInfo(const std::string& text);
  Status ReadScanAndLimits(lua_State* L, int table, const std::string& where);
  Status ReadFunctions(lua_State* L, int table, const std::string& where);
  // Calls runner.<fn>(script function, key, [type,] value) protected; 3 results pushed on success.
  Status CallRunner(const char* fn, int script_ref, const std::string& key, const Value& value, bool pass_type,
                    int line);
  // runner.apply of `fn_ref` (transform or revert), its result as an outcome.
  Result<TransformOutcome> Apply(int fn_ref, int line, const char* what, const std::string& key, const Value& value);
  Error KeyError(const std::string& message, const std::string& key) const;
  // `message` with the chunk's short name replaced by path_.
  std::string FullPaths(const std::string& message) const;

  std::string path_;
  std::string chunk_label_;  // the chunk name Lua sees (short: Lua cuts long ones)
  std::unique_ptr<Sandbox> sandbox_;
  MigrationInfo info_;
  int table_ref_ = -1;  // registry refs
  int transform_ref_ = -1;
  int verify_ref_ = -1;
  int revert_ref_ = -1;
  int apply_ref_ = -1;
  int verify_runner_ref_ = -1;
};

// Equal values; zset scores compare as numbers (Redis may print them longer).
bool SameValue(const Value& a, const Value& b);

// How a key is named in messages: quoted, non-printable bytes escaped, long keys cut.
std::string QuoteKey(const std::string& key);

}  // namespace keyshift
