// Joining files with the ledger, checkpoints and lock.
#include "engine/catalog.h"

#include <map>

#include <fmt/format.h>

namespace keyshift {

const char* MigrationStatusName(MigrationStatus status) {
  switch (status) {
    case MigrationStatus::kPending: return "pending";
    case MigrationStatus::kApplied: return "applied";
    case MigrationStatus::kRunning: return "running";
    case MigrationStatus::kInterrupted: return "interrupted";
    case MigrationStatus::kFailed: return "failed";
    case MigrationStatus::kDrifted: return "drifted";
  }
  return "?";
}

namespace {

MigrationStatus Decide(const MigrationState& m, bool locked) {
  if (m.record && m.record->status == LedgerStatus::kApplied) {
    // A run that left failed keys is not finished: fixing its file so that
    // `up` can retry them is the way forward, not drift.
    bool changed = !m.file || (m.file->sha256 != m.record->sha256 && m.failed_keys() == 0);
    return changed ? MigrationStatus::kDrifted : MigrationStatus::kApplied;
  }
  if (m.checkpoint) {
    if (m.checkpoint->status == CheckpointStatus::kFailed) return MigrationStatus::kFailed;
    return locked ? MigrationStatus::kRunning : MigrationStatus::kInterrupted;
  }
  if (m.record && m.record->status == LedgerStatus::kFailed) return MigrationStatus::kFailed;
  return MigrationStatus::kPending;
}

}  // namespace

Result<Catalog> LoadCatalog(RedisConnection* conn, const StateKeys& keys, const MigrationDir& dir) {
  auto ledger = Ledger(conn, keys).LoadAll();
  if (!ledger.ok()) return ledger.error();
  auto lock = CallState(conn, {"GET", keys.lock()}, keys.lock());
  if (!lock.ok()) return lock.error();
  Catalog cat;
  if (!lock->is_nil()) cat.lock_holder = lock->str;
  std::map<long long, MigrationState> by_version;
  for (const auto& f : dir.files) {
    MigrationState& m = by_version[f.version];
    m.version = f.version;
    m.name = f.name();
    m.file = &f;
  }
  for (const auto& [version, rec] : ledger.value()) {
    MigrationState& m = by_version[version];
    m.version = version;
    if (m.name.empty()) m.name = rec.name;
    m.record = rec;
  }
  std::vector<Command> reads;  // every checkpoint in one round trip
  for (const auto& [version, m] : by_version) reads.push_back({"HGETALL", keys.checkpoint(version)});
  if (reads.empty()) return cat;
  auto replies = conn->Pipeline(reads);
  if (!replies.ok()) return replies.error();
  size_t i = 0;
  for (auto& [version, m] : by_version) {
    auto checkpoint = ParseCheckpoint((*replies)[i++], keys.checkpoint(version));
    if (!checkpoint.ok()) return checkpoint.error();
    m.checkpoint = std::move(checkpoint.value());
    m.status = Decide(m, cat.lock_holder.has_value());
    cat.migrations.push_back(m);
  }
  return cat;
}

}  // namespace keyshift
