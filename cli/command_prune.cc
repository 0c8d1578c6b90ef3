// `keyshift prune V`: drops an applied migration's undo journal, after a
// confirmation, making the migration final.
#include <iostream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "engine/catalog.h"
#include "engine/interrupt.h"
#include "engine/journal.h"
#include "engine/lock.h"
#include "engine/server_check.h"

namespace keyshift {

namespace {

Status Confirm(const Context& ctx, const MigrationState& m, size_t hashes) {
  if (ctx.options().yes) return Status::Ok();
  fmt::print(stderr,
             "prune drops the undo journal of {} ({} journal hashes): it can no longer be undone.\n"
             "Type the version number ({}) to confirm: ",
             m.name, hashes, m.version);
  std::fflush(stderr);
  std::string line;
  if (!std::getline(std::cin, line) || line != std::to_string(m.version))
    return UsageError("not confirmed; nothing was pruned (pass --yes to skip the question)");
  return Status::Ok();
}

// One UNLINK per hash: on a cluster every journal hash sits in a slot of its
// own, and a command naming keys of several slots is refused (CROSSSLOT).
// Pipelined, so the topology sends each to its node and the nodes work at once.
Status DropJournal(Topology* conn, const std::vector<std::string>& hashes) {
  for (size_t i = 0; i < hashes.size(); i += 500) {
    std::vector<Command> batch;
    for (size_t j = i; j < hashes.size() && j < i + 500; ++j) batch.push_back({"UNLINK", hashes[j]});
    auto replies = conn->Pipeline(batch);
    if (!replies.ok()) return replies.error();
    for (size_t j = 0; j < replies->size(); ++j)
      if ((*replies)[j].is_error())
        return Fail(fmt::format("cannot drop journal hash '{}': {}", batch[j][1], (*replies)[j].str));
  }
  return Status::Ok();
}

// The applied migration `version` of `cat`, or why it cannot be pruned.
Result<const MigrationState*> Prunable(const Catalog& cat, long long version) {
  for (const auto& s : cat.migrations)
    if (s.version == version && s.applied()) return &s;
  return UsageError(fmt::format("migration {} is not applied; only an applied migration's journal can be pruned",
                                version));
}

int AlreadyPruned(const Context& ctx, const MigrationState& m) {
  if (ctx.json())
    fmt::print("{}\n", nlohmann::json({{"ok", true}, {"pruned", m.name}, {"already", true}}).dump());
  else
    fmt::print("{} was already pruned at {}\n", m.name, m.record->pruned_at);
  return kExitOk;
}

}  // namespace

int CmdPrune(Context& ctx) {
  auto ws = CheckServerAndOpen(ctx, true);
  if (!ws.ok()) return ReportError(ctx, ws.error());
  Topology* conn = (*ws)->conn;
  long long version = ctx.options().version.value_or(0);
  auto m = Prunable((*ws)->catalog, version);
  if (!m.ok()) return ReportError(ctx, m.error());
  if (!(*m)->record->pruned_at.empty()) return AlreadyPruned(ctx, **m);
  auto hashes = ListJournalHashes(conn, ctx.state(), version);
  if (!hashes.ok()) return ReportError(ctx, hashes.error());
  if (Status st = Confirm(ctx, **m, hashes->size()); !st) return ReportError(ctx, st.error());
  ServerNeeds needs{true, ctx.options().allow_eviction, {}};
  if (Status st = AddUndoCommands(conn, &needs.commands, ctx.state(), version, true); !st) return ReportError(ctx, st.error());
  if (Status st = CheckServer(conn, needs); !st) return ReportError(ctx, st.error());
  // The answer may have taken minutes: `down` may have rolled the migration
  // back meanwhile. Decide again under the lock, from what Redis holds now.
  InterruptScope defer_signals;
  auto lock = ctx.LockAndReload(**ws, "prune");
  if (!lock.ok()) return ReportError(ctx, lock.error());
  m = Prunable((*ws)->catalog, version);
  if (!m.ok()) return ReportError(ctx, Error{m.error().exit_code, m.error().message + " (it changed while you "
                                                                                      "confirmed); nothing was pruned"});
  if (!(*m)->record->pruned_at.empty()) return AlreadyPruned(ctx, **m);
  if (Interrupted()) return ReportError(ctx, Error{InterruptExitCode(), "interrupted; nothing was pruned"});
  hashes = ListJournalHashes(conn, ctx.state(), version);
  if (!hashes.ok()) return ReportError(ctx, hashes.error());
  // The ledger first: should dropping the journal then fail, the migration
  // is final with a leftover journal, never "undoable" with none.
  LedgerRecord rec = *(*m)->record;
  rec.pruned_at = NowIso8601();
  if (Status st = Ledger(conn, ctx.state()).Put(rec); !st) return ReportError(ctx, st.error());
  if (Status st = DropJournal(conn, *hashes); !st) return ReportError(ctx, st.error());
  if (ctx.json()) fmt::print("{}\n", nlohmann::json({{"ok", true}, {"pruned", (*m)->name}}).dump());
  else fmt::print("{}: journal pruned ({} hashes dropped); this migration is now final\n", (*m)->name, hashes->size());
  return kExitOk;
}

}  // namespace keyshift
