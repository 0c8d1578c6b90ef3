// Server mode (SPEC 6): one migration's transform, with the stdlib modules,
// wrapped into a Redis Lua 5.1 script that reads a key, transforms it,
// journals its previous state and writes it, atomically, in one EVALSHA.
// The script computes everything before its first write, so SCRIPT KILL can
// still stop a runaway transform with the key untouched.
//
// Script contract. KEYS[1] the data key, KEYS[2] its journal hash.
// ARGV[1] "1" for a dry-run (the no-writes variant): compute and return the
// change instead of writing it. Replies, first element first:
//   {"done"} already journaled by this migration    {"none"} key gone
//   {"skip"} not of the scanned type                {"unsupported", type}
//   {"keep"} transform left it unchanged             {"error", message}
//   {"target_exists", new_key}
//   {"ok", action}                                   written (W, D or R)
//   dry-run: {"change", action, new_key, type, expire_at, dump_bytes, n_before,
//             before flat..., after flat...}
// Flat values are the runner's normalised arrays (stdlib/runner.lua).
#pragma once

#include <string>

#include "core/migration_file.h"
#include "core/result.h"
#include "core/value.h"
#include "redis/script_cache.h"

namespace keyshift {

struct ServerScript {
  LuaScript body{""};      // the writing script
  LuaScript dry_body{""};  // the same, read-only (#!lua flags=no-writes)
  int first_line = 0;    // script line of the migration file's line 1 (in `body`)
  // Rewrites "user_script:N:" positions in a server error into "file:line:".
  std::string MapError(const std::string& message, const std::string& path, bool dry) const;
};

// `scan_type` empty: every supported type. `journal_prefix`: the start of the
// migration's journal hash names ("<prefix>j:<V>:"), for rename targets.
// `state_prefix`: keyshift's own prefix, which no rename may target.
ServerScript BuildServerScript(const MigrationFile& file, const std::string& scan_type,
                               const std::string& journal_prefix, const std::string& state_prefix);

}  // namespace keyshift
