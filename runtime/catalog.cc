// Joining files with the ledger, checkpoints and lock.
#include "runtime/catalog.h"

#include <map>

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
  if (m.record && m.record->status == "applied")
    return (!m.file || m.file->sha256 != m.record->sha256) ? MigrationStatus::kDrifted : MigrationStatus::kApplied;
  if (m.checkpoint) {
    if (m.checkpoint->status == "failed") return MigrationStatus::kFailed;
    return locked ? MigrationStatus::kRunning : MigrationStatus::kInterrupted;
  }
  if (m.record && m.record->status == "failed") return MigrationStatus::kFailed;
  return MigrationStatus::kPending;
}

}  // namespace

Result<Catalog> LoadCatalog(RedisConnection* conn, const StateKeys& keys, const MigrationDir& dir) {
  auto ledger = Ledger(conn, keys).LoadAll();
  if (!ledger.ok()) return ledger.error();
  auto lock = conn->Call({"GET", keys.lock()});
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
  CheckpointStore checkpoints(conn, keys);
  for (auto& [version, m] : by_version) {
    auto cp = checkpoints.Load(version);
    if (!cp.ok()) return cp.error();
    m.checkpoint = cp.value();
    m.status = Decide(m, cat.lock_holder.has_value());
    cat.migrations.push_back(m);
  }
  return cat;
}

}  // namespace keyshift
