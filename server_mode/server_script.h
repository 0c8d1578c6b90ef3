// Server mode (SPEC 6): one migration's transform, with the stdlib modules,
// wrapped into a Redis Lua 5.1 script that reads keys, transforms them,
// journals their previous state and writes them, atomically, in one EVALSHA.
// A call takes several keys (of one slot on a cluster): it runs every key's
// transform before its first write, so SCRIPT KILL can still stop a runaway
// transform on any of them with nothing written.
//
// Script contract. KEYS: a data key and its journal hash for each key of the
// call, then (optional, making #KEYS odd) the runner's lock, with ARGV[2] its
// value and ARGV[3] its lease in ms. ARGV[1] "1" for a dry-run (the
// no-writes variant: compute and return each change instead of writing it),
// else "0"; a "c" after it on Redis Cluster.
// The reply is one reply per key, in order, or a single one for the whole
// call ({"lost"} another runner holds the lock, or {"error", message}).
// A key's reply, first element first:
//   {"done"} already journaled by this migration    {"none"} key gone
//   {"skip"} not of the scanned type                {"unsupported", type}
//   {"keep"} transform left it unchanged             {"error", message}
//   {"target_exists", new_key}                       an error reply (refused)
//   {"ok", action, dump_bytes}                       written (W, D or R)
//   {"retry"} not done in this call: send it again (an earlier key of the
//             call writes it, or the call read its byte budget)
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

// Bytes of values one call reads or is to write before it leaves its
// remaining keys for the next call: a call's run time, and the part of it
// SCRIPT KILL cannot stop (the writes), stay near that of a few keys.
inline constexpr long long kServerCallByteBudget = 256 * 1024;

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
