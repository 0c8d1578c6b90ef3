// The Migrator's server-mode batch: pre-flight in the host sandbox, then one
// server-side script call per key (server_runner.h).
#include <fmt/format.h>

#include "engine/journal.h"
#include "engine/migrator.h"

namespace keyshift {

Status Migrator::Preflight(Batch& b) {
  auto snaps = ReadKeys(scripts_, keys_, b.version, b.keys);
  if (!snaps.ok()) return snaps.error();
  for (const auto& s : *snaps) {
    if (s.state != KeySnapshot::kPresent) continue;
    b.first = false;  // this batch has a key to try the transform on
    auto outcome = b.script->Transform(s.key, s.value);
    if (!outcome.ok() && b.options->on_error == OnError::kAbort) {
      b.stop = Fail(fmt::format("{} (host pre-flight: nothing was sent to the server)", outcome.error().message));
      b.stop_key = s.key;
      ++b.counters->failed;
      return Status::Ok();
    }
  }
  return Status::Ok();
}

Status Migrator::ServerBatch(Batch& b) {
  if (b.first)
    if (Status st = Preflight(b); !st || b.stop) return st;
  if (b.keys.empty()) return Status::Ok();
  if (!b.options->dry_run)
    if (Status st = b.lock->Renew(); !st) return st;
  auto results = server_->Run(b.keys, b.options->dry_run, b.lock);
  if (!results.ok()) return results.error();
  for (const auto& r : *results) Account(b, r);
  return Status::Ok();
}

void Migrator::Account(Batch& b, const ServerKeyResult& r) {
  switch (r.kind) {
    case ServerKeyResult::kDone:
      ++b.counters->skipped;
      break;
    case ServerKeyResult::kUntouched:
      break;
    case ServerKeyResult::kWritten:
    case ServerKeyResult::kChange:
      CountChange(b.counters, r.action, JournalEntryBytes(r.journal_bytes, r.key.size()));
      if (r.kind == ServerKeyResult::kChange && b.sinks->diff) b.sinks->diff(r.change);
      break;
    case ServerKeyResult::kFailed:
      KeyFailed(b, r.key, r.error);
      break;
  }
}

// A key the application writes faster than a host-side CAS can follow: the
// same step as one atomic server-side script (the same bytes, guarantee 6).
Status Migrator::MigrateHotKey(Batch& b, const std::string& key) {
  auto results = hot_keys_->Run({key}, /*dry_run=*/false, b.lock);
  if (!results.ok()) return results.error();
  Account(b, results->front());
  return Status::Ok();
}

}  // namespace keyshift
