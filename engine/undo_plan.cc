// down's decisions around the undo: --only overlaps, journal size, ledger record.
#include "engine/undo_plan.h"

#include <fmt/format.h>

#include "core/text.h"
#include "bindings/migration_script.h"
#include "engine/journal.h"

namespace keyshift {

bool Undoable(const MigrationState& m) {
  return m.applied() || m.status == MigrationStatus::kFailed || m.status == MigrationStatus::kInterrupted;
}

Status CheckNothingLaterOverlaps(Topology* conn, const StateKeys& keys, const Catalog& cat, long long version) {
  std::vector<const MigrationState*> later;
  for (const auto& m : cat.migrations)
    if (m.version > version && Undoable(m)) later.push_back(&m);
  for (const auto* m : later)
    if (m->record && !m->record->pruned_at.empty())
      return Fail(fmt::format("cannot undo {} alone: the later migration {} was pruned, so its journal cannot tell "
                              "whether it changed the same keys; nothing was changed", version, m->name));
  auto hashes = ListJournalHashes(conn, keys, version);
  if (!hashes.ok()) return hashes.error();
  for (const auto& hash : *hashes) {
    auto fields = CallState(conn, {"HKEYS", hash}, hash);
    if (!fields.ok()) return fields.error();
    const auto& f = fields->elements;
    for (const auto* m : later)
      for (size_t from = 0; from < f.size(); from += 1000) {
        std::vector<Command> probes;
        for (size_t i = from; i < f.size() && i < from + 1000; ++i)
          probes.push_back({"HEXISTS", keys.journal(m->version, f[i].str), f[i].str});
        auto replies = conn->Pipeline(probes);
        if (!replies.ok()) return replies.error();
        for (size_t i = 0; i < replies->size(); ++i)
          if ((*replies)[i].integer == 1)
            return Fail(fmt::format("cannot undo {} alone: the later migration {} also changed key {}; undo it first "
                                    "(keyshift down --to {}); nothing was changed",
                                    version, m->name, QuoteKey(f[from + i].str), version - 1));
      }
  }
  return Status::Ok();
}

long long JournalEntries(Topology* conn, const StateKeys& keys, long long version) {
  auto hashes = ListJournalHashes(conn, keys, version);
  if (!hashes.ok()) return 0;
  std::vector<Command> lengths;
  for (const auto& hash : *hashes) lengths.push_back({"HLEN", hash});
  auto replies = conn->Pipeline(lengths);
  if (!replies.ok()) return 0;
  long long total = 0;
  for (const auto& n : *replies)
    if (!n.is_error()) total += n.integer;
  return total;
}

Status RecordRollback(Topology* conn, const StateKeys& keys, const MigrationState& m,
                      const RollbackReport& r) {
  LedgerRecord rec = m.record.value_or(LedgerRecord{});
  rec.version = m.version;
  if (rec.name.empty()) rec.name = m.name;
  rec.rolled_back_at = NowIso8601();
  rec.conflicts = r.conflicts;
  // With conflicts, a record keeps its status; a run that left none is failed.
  if (r.conflicts == 0) rec.status = LedgerStatus::kRolledBack;
  else if (!m.record) rec.status = LedgerStatus::kFailed;
  if (Status st = Ledger(conn, keys).Put(rec); !st) return st;
  if (r.conflicts == 0) {
    auto dropped = conn->Call({"DEL", keys.failed_keys(m.version)});
    if (!dropped.ok()) return dropped.error();
    return CheckpointStore(conn, keys).Delete(m.version);
  }
  return Status::Ok();
}

}  // namespace keyshift
