// `keyshift copy --to URL`: a snapshot copy of every matching key from one
// Redis (server or cluster) to another, value, type and absolute expiry
// (docs/copy.md).
//
// Per batch: a SCAN batch from the source (Scanner, per primary), each key's
// DUMP and PEXPIRETIME read together by a read-only script (one consistent
// moment per key), then one target-side script per key that RESTOREs it with
// ABSTTL and, in the same atomic step, records the key in a progress hash on
// the target, in the key's own slot:
//   <prefix>copied:<id>:{<slot tag>}   hash  key -> c (copied), o (overwritten), s (skipped),
//                                      then the number of the batch that wrote it
// A key the progress hash names is never written again: not after kill -9
// between the write and the checkpoint, not when SCAN returns it twice. So a
// resumed copy ends with the same target (and the same counts) as one that
// was never interrupted, and never rewrites a key from a later read.
//
// Checkpoint (after every batch, on the TARGET, which the copy locks):
//   <prefix>{state}:copy:<id>   hash  cursor run_id match transforms phase started_at batches + counters
// <id> names the source (host:port/db of --url). phase "retry" means the
// scan finished with keys a migration failed on, kept in
//   <prefix>{state}:copyfailed:<id>   set  source keys to read and transform again
// and "cleanup" that only the progress hashes remain to drop; all go at the end.
//
// A big key (copy_chunks.h) is moved page by page into
//   <prefix>chunks:<id>:{<slot tag>}   the key's type, its temporary copy
// and the same write script renames it into place with its mark.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "core/key_change.h"
#include "core/result.h"
#include "engine/ledger.h"
#include "engine/state_keys.h"
#include "redis/topology.h"

namespace keyshift {

class CopyTransforms;

// What to do with a key that already exists on the target (and that this
// copy did not write).
enum class OnConflict { kFail, kSkip, kOverwrite };

const char* OnConflictName(OnConflict mode);

struct CopyOptions {
  std::string match = "*";
  OnConflict on_conflict = OnConflict::kFail;
  bool dry_run = false;  // reads both sides, writes nothing anywhere (no lock, no checkpoint)
  int batch = 500;
  std::string source_id;  // names the source in the target's state keys (CopySourceId)
  // copy --apply / --revert (copy_transform.h): the migrations run on the
  // way, and what the target's ledger records once the snapshot is complete.
  CopyTransforms* transforms = nullptr;
  std::vector<LedgerRecord> ledger;
  bool keep_names = false;  // --follow will need the renamed keys' names (copy_shaped.h)
  std::function<void(const KeyChange&)> diff;  // dry-run: each key the migrations change
};

struct CopyCounters {
  long long scanned = 0;      // keys SCAN returned (a key returned twice counts twice)
  long long copied = 0;       // keys written, overwritten ones included
  long long overwritten = 0;  // of those, keys that existed on the target (--on-conflict overwrite)
  long long skipped = 0;      // existing target keys left alone (--on-conflict skip)
  long long conflicts = 0;    // existing target keys found (all modes)
  long long vanished = 0;     // keys gone (or expired) on the source before they were read
  long long bytes = 0;        // DUMP payload bytes (big keys: element bytes) of the keys written
  long long chunked = 0;      // of the keys written, big ones copied in chunks (copy_chunks.h)
  // copy --apply / --revert:
  long long transformed = 0;  // of the keys written, those the migrations changed (value or name)
  long long renamed = 0;      // of those, written under another name
  long long dropped = 0;      // keys a migration deleted: not copied
  long long failed = 0;       // keys a migration failed on: not copied; the next run retries them
};

// A key a migration failed on, and the message (file:line, key).
struct CopyKeyError {
  std::string key;
  std::string message;
};

struct CopyReport {
  CopyCounters counters;
  bool resumed = false;       // continued from a checkpoint
  std::string conflict_key;   // --on-conflict fail stopped here ("" = not stopped)
  std::vector<CopyKeyError> key_errors;  // the first of the keys counted as failed, in this run
};

// Called after every batch with the counts so far.
using CopyProgress = std::function<void(const CopyCounters&)>;

class Lock;
// Run once the snapshot is complete, still under the copy's lock on the
// target (copy --follow, copy_follow.h).
using AfterCopy = std::function<Status(Lock&)>;

// A state-key-safe name for the source: its address and database, without
// credentials, glob or hash-tag characters.
std::string CopySourceId(const std::string& address, int db);

// The error for the target refusing to write `key` with `reply`; a DUMP
// payload of another RDB format (another major version) is exit 2, saying so.
Error CopyWriteRefusal(const std::string& key, const std::string& reply);

// Deletes every key on `target` that starts with one of `prefixes`
// (keyshift's own: marks, temporary keys, names).
Status DropCopyState(Topology* target, const std::vector<std::string>& prefixes);

// Copies (or, with dry_run, counts) every key of `source` matching
// options.match, keyshift's own keys excluded. `target_factory` opens the
// lock renewal's own connection to the target. A conflict under kFail is a
// report with conflict_key set (the caller exits 1); a key a migration fails
// on is counted (failed, key_errors), left out, and retried by the next run:
// until none fails, the copy is not complete (no ledger, no `after`). Errors
// name the key.
// `after` (not with dry_run) runs when the copy is complete.
Result<CopyReport> RunCopy(Topology* source, Topology* target, const StateKeys& state, const CopyOptions& options,
                           const TopologyFactory& target_factory, const CopyProgress& progress,
                           const AfterCopy& after = nullptr);

}  // namespace keyshift
