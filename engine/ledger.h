// The ledger: which migrations were applied to this Redis, from which file
// contents, with what result (SPEC 3). `status` reads it; `up` appends to it;
// drift detection compares its sha256 with the file's.
//
// Format: hash <prefix>{state}:ledger, field = version (decimal), value = a
// JSON object:
//   {"version":1, "name":"0001_iso_dates", "sha256":"<hex of the file>",
//    "status":"applied" | "failed" | "rolled_back",
//    "applied_at":"2026-11-23T10:00:00Z", "duration_ms":1234,
//    "scanned":N, "changed":N, "deleted":N, "renamed":N, "failed":N,
//    "mode":"host" | "server", "by":"user@host",
//    "error":"...", "failed_key":"...",             (only when failed)
//    "rolled_back_at":"...", "conflicts":N,          (only after `down`)
//    "pruned_at":"...",                              (only after `prune`: no journal left)
//    "caught":N, "caught_at":"...",                  (only after `catchup`)
//    "copied_from":"host:port/db"}                   (only when `copy --apply`/`--revert` brought the
//                                                     keys in that shape: no journal here)
// Unknown fields are kept as they are (also when an older binary rewrites a
// record: `down`, `prune`, `catchup`), so older binaries can read newer records.
#pragma once

#include <map>
#include <string>
#include <string_view>

#include "core/result.h"
#include "core/run_mode.h"
#include "engine/checkpoint.h"
#include "engine/state_keys.h"
#include "redis/redis_client.h"

namespace keyshift {

// A record's "status" (stored as LedgerStatusName: applied, failed, rolled_back).
enum class LedgerStatus { kApplied, kFailed, kRolledBack };

const char* LedgerStatusName(LedgerStatus status);
// An unknown word is an error naming it.
Result<LedgerStatus> ParseLedgerStatus(std::string_view word);

struct LedgerRecord {
  long long version = 0;
  std::string name;
  std::string sha256;
  LedgerStatus status = LedgerStatus::kApplied;  // also when a record has no "status"
  std::string applied_at;
  long long duration_ms = 0;
  Counters counters;
  RunMode mode = RunMode::kHost;  // also when a record has no "mode"
  std::string by;
  std::string error;
  std::string failed_key;
  std::string rolled_back_at;
  long long conflicts = 0;  // keys `down` left alone because the application changed them
  std::string pruned_at;
  // `catchup` (catchup.h): keys it transformed over all its runs, and when it last ran.
  long long caught = 0;
  std::string caught_at;
  // `copy --apply` or `--revert` wrote this Redis's keys in this migration's
  // shape, from this source: there is no journal here for `down` to undo.
  std::string copied_from;
  // Members this build does not know (a newer binary wrote them), as a JSON
  // object: ToJson writes them back as they were.
  std::string unknown;

  std::string ToJson() const;
  static Result<LedgerRecord> FromJson(const std::string& text);
};

class Ledger {
 public:
  Ledger(RedisConnection* conn, const StateKeys& keys) : conn_(conn), keys_(keys) {}
  Result<std::map<long long, LedgerRecord>> LoadAll();
  Status Put(const LedgerRecord& record);

 private:
  RedisConnection* conn_;
  const StateKeys& keys_;
};

// user@host of whoever runs this process.
std::string CurrentUserAtHost();
// Now as ISO-8601 UTC with seconds, and any epoch-ms value the same way.
std::string NowIso8601();
std::string Iso8601FromMs(long long ms);

}  // namespace keyshift
