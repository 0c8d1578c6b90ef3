// What `down` decides around the undo itself (rollback.h does the undo):
// which migrations have a journal to undo, whether one may be undone alone
// (--only), how big its journal is (the progress denominator), and what the
// ledger and checkpoint say afterwards.
#pragma once

#include "core/result.h"
#include "engine/catalog.h"
#include "engine/rollback.h"
#include "engine/state_keys.h"
#include "redis/topology.h"

namespace keyshift {

// Applied migrations, and runs that stopped half way (failed, interrupted).
bool Undoable(const MigrationState& m);

// --only V: V alone, when no later migration with a journal has an entry
// for any key V's journal has (a rename's new name included: it carries a C
// entry). A later pruned migration has no journal to tell: refused too.
Status CheckNothingLaterOverlaps(Topology* conn, const StateKeys& keys, const Catalog& cat, long long version);

// Journal entries of migration `version`, over every journal hash (0 when
// they cannot be counted: it is only a progress denominator).
long long JournalEntries(Topology* conn, const StateKeys& keys, long long version);

// After undoing `m`: its ledger record says rolled back (or keeps its
// status, with the conflicts left); with no conflict its failed-keys set and
// checkpoint go too.
Status RecordRollback(Topology* conn, const StateKeys& keys, const MigrationState& m, const RollbackReport& r);

}  // namespace keyshift
