// `keyshift down`: undoes applied migrations, newest first, from their journals.
#include <algorithm>
#include <chrono>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "bindings/migration_script.h"
#include "cli/commands.h"
#include "cli/diff.h"
#include "cli/diff_budget.h"
#include "cli/json_output.h"
#include "cli/json_stream.h"
#include "cli/progress.h"
#include "core/text.h"
#include "engine/catalog.h"
#include "engine/interrupt.h"
#include "engine/journal.h"
#include "engine/rollback.h"
#include "engine/server_check.h"
#include "engine/undo_plan.h"

namespace keyshift {

namespace {

Result<std::vector<const MigrationState*>> SelectOnly(const Context& ctx, const Catalog& cat, long long version) {
  const CliOptions& o = ctx.options();
  if (o.to || o.steps) return UsageError("give --only, --to or --steps, not two of them");
  for (const auto& m : cat.migrations)
    if (m.version == version && Undoable(m)) return std::vector<const MigrationState*>{&m};
  return UsageError(fmt::format("--only {}: no applied migration has that version", version));
}

Result<std::vector<const MigrationState*>> SelectForDown(const Context& ctx, const Workspace& ws) {
  const Catalog& cat = ws.catalog;
  const CliOptions& o = ctx.options();
  if (o.to && o.steps) return UsageError("give --to or --steps, not both");
  std::vector<const MigrationState*> out;
  if (o.only) {
    auto only = SelectOnly(ctx, cat, *o.only);
    if (!only.ok()) return only.error();
    out = std::move(only.value());
  }
  for (auto it = cat.migrations.rbegin(); it != cat.migrations.rend() && !o.only; ++it) {
    if (!Undoable(*it)) continue;
    // --to 0 means "all of them": a file numbered 0000 is undone too.
    if (o.to ? it->version <= *o.to && *o.to != 0 : static_cast<int>(out.size()) >= o.steps.value_or(1)) break;
    out.push_back(&*it);
  }
  if (o.only)
    if (Status st = CheckNothingLaterOverlaps(ws.conn, ctx.state(), cat, *o.only); !st) return st.error();
  for (const auto* m : out)
    if (m->record && !m->record->copied_from.empty())
      return Fail(fmt::format("cannot undo {}: its keys were copied here already in its shape (copy from {}), so "
                              "there is no journal here for `down`; the way back is `copy --revert` from this Redis "
                              "(docs/copy.md); nothing was changed",
                              m->name, m->record->copied_from));
  for (const auto* m : out)
    if (m->record && !m->record->pruned_at.empty())
      return Fail(fmt::format("cannot undo {}: its journal was pruned at {} (keyshift prune {}), so `down` stops "
                              "before it; nothing was changed",
                              m->name, m->record->pruned_at, m->version));
  return out;
}

// Refuses a server unfit for the undo (server_check.h) before the lock.
Status CheckServerForDown(const Context& ctx, Topology* conn, const std::vector<const MigrationState*>& selected) {
  ServerNeeds needs{!ctx.options().dry_run, ctx.options().allow_eviction, {}};
  if (needs.writes)
    for (const auto* m : selected)
      if (Status st = AddUndoCommands(conn, &needs.commands, ctx.state(), m->version, false); !st) return st;
  return CheckServer(conn, needs);
}

void PrintResult(const MigrationState& m, const RollbackReport& r, bool dry_run, bool force) {
  std::string reverted = r.reverted ? fmt::format(", {} {} by revert", r.reverted, dry_run ? "would be reverted" : "reverted") : "";
  if (dry_run)
    fmt::print("{} (dry-run): would restore {} keys{}, {} conflicts\n", m.name, r.restored, reverted, r.conflicts);
  else
    fmt::print("{}: {}; restored {} keys{}{}\n", m.name, r.conflicts ? "PARTLY rolled back" : "rolled back", r.restored,
               reverted, r.conflicts ? fmt::format(", {} conflicts left as they are", r.conflicts) : "");
  for (const auto& c : r.conflict_samples) fmt::print("  conflict: {}\n", TerminalSafe(c.Text()));
  if (r.conflicts > static_cast<long long>(r.conflict_samples.size()))
    fmt::print("  ... and {} more\n", r.conflicts - static_cast<long long>(r.conflict_samples.size()));
  if (r.conflicts && !force)
    fmt::print("  these keys keep the application's changes; `keyshift down --force` restores them anyway\n");
}

// The migration, when its file has a `revert` and --force is off: `down`
// then reverts the keys changed since instead of reporting them. A file that
// no longer loads is undone without it (its keys are conflicts, never lost).
std::unique_ptr<MigrationScript> LoadRevert(const Context& ctx, const MigrationState& m) {
  if (ctx.options().force || !m.file) return nullptr;
  auto script = MigrationScript::Load(m.file->path, m.file->text, SandboxLimits{});
  if (!script.ok()) {
    if (!ctx.json()) fmt::print(stderr, "warning: {}; undoing {} without its revert\n", TerminalSafe(script.error().message), m.name);
    return nullptr;
  }
  if (!(*script)->info().has_revert) return nullptr;
  if (m.status == MigrationStatus::kDrifted && !ctx.json())
    fmt::print(stderr, "warning: {} changed since it was applied; `down` uses its revert as the file is now\n", m.name);
  return std::move(script.value());
}

// Conflicts as key error objects (json_output.h): the file is the
// migration's; no line, a conflict is the application's doing.
nlohmann::json ConflictsJson(const MigrationState& m, const RollbackReport& r) {
  nlohmann::json list = nlohmann::json::array();
  for (const auto& c : r.conflict_samples)
    list.push_back(KeyErrorJson(c.key, m.file ? m.file->path : "", c.Text()));
  return list;
}

int NothingToUndo(const Context& ctx) {
  const CliOptions& o = ctx.options();
  if (ctx.json()) fmt::print("{}\n", nlohmann::json({{"ok", true}, {"migrations", nlohmann::json::array()}}).dump());
  else fmt::print("nothing to undo: no applied migrations{}\n", o.to ? fmt::format(" above version {}", *o.to) : "");
  return kExitOk;
}

}  // namespace

int CmdDown(Context& ctx) {
  const CliOptions& o = ctx.options();
  if (Status st = DiffBudget::Check(o.diff_limit, o.summary, o.dry_run); !st) return ReportError(ctx, st.error());
  auto ws = CheckServerAndOpen(ctx, !o.dry_run);
  if (!ws.ok()) return ReportError(ctx, ws.error());
  Topology* conn = (*ws)->conn;
  auto selected = SelectForDown(ctx, **ws);
  if (!selected.ok()) return ReportError(ctx, selected.error());
  if (selected->empty()) return NothingToUndo(ctx);
  if (Status st = CheckServerForDown(ctx, conn, *selected); !st) return ReportError(ctx, st.error());
  std::unique_ptr<Lock> lock;
  auto defer_signals = o.dry_run ? EndJsonOnSignal(ctx.json()) : std::make_unique<InterruptScope>();
  if (!o.dry_run) {
    // Decided again under the lock: a concurrent run may have changed what is applied.
    auto acquired = ctx.LockAndReload(**ws, "down");
    if (!acquired.ok()) return ReportError(ctx, acquired.error());
    lock = std::move(acquired.value());
    selected = SelectForDown(ctx, **ws);
    if (!selected.ok()) return ReportError(ctx, selected.error());
    if (selected->empty()) return NothingToUndo(ctx);
  }
  Rollback rollback(conn, ctx.state());
  RollbackOptions options{o.dry_run, o.force, o.batch.value_or(500)};
  DiffStyle style{ctx.stdout_tty() && !ctx.json(), 3};
  JsonStream& doc = ctx.json_out();
  if (ctx.json()) BeginMigrationsJson(doc, o.dry_run);
  int exit_code = kExitOk;
  for (const MigrationState* m : *selected) {
    // Streamed (json_stream.h): a long journal's diffs are not held in memory.
    if (ctx.json()) {
      doc.BeginObject();
      doc.Members({{"version", m->version}, {"name", m->name}});
    }
    LazyArray diffs(doc, "diffs");
    DiffBudget budget(o.diff_limit, o.summary);
    RollbackSinks sinks;
    sinks.diff = [&](const KeyChange& c) {
      if (!budget.Take()) return;
      std::string text = RenderDiff(c, style);
      if (ctx.json()) diffs.Add({{"key", c.new_key.empty() ? c.key : c.new_key}, {"diff", text}});
      else fmt::print("{}", text);
    };
    sinks.note = [&](const std::string& text) { if (!ctx.json()) fmt::print("{}\n", TerminalSafe(text)); };
    bool shown = ctx.stderr_tty() && !ctx.json();
    Progress progress(shown, m->name, shown ? JournalEntries(conn, ctx.state(), m->version) : 0, "journal entries undone");
    sinks.progress = [&progress, &doc](long long handled, long long restored) {
      progress.Update(handled, restored);
      doc.Flush();  // each batch's diffs reach a reader (or meet a closed pipe) now
    };
    auto revert = LoadRevert(ctx, *m);
    options.revert = revert.get();
    auto r = rollback.Run(m->version, options, lock.get(), sinks);
    progress.Clear();
    if (!r.ok()) return ReportError(ctx, r.error());
    if (!o.dry_run)
      if (Status st = RecordRollback(conn, ctx.state(), *m, *r); !st) return ReportError(ctx, st.error());
    if (!ctx.json()) fmt::print("{}", budget.OmittedLine());
    if (!ctx.json()) PrintResult(*m, *r, o.dry_run, o.force);
    if (ctx.json()) {
      diffs.Close();
      if (!diffs.opened()) doc.Member("diffs", nlohmann::json::array());  // down always lists them
      doc.Members({{"restored", r->restored}, {"reverted", r->reverted}, {"conflicts", r->conflicts},
                   {"conflict_samples", ConflictsJson(*m, *r)}, {"diffs_omitted", budget.omitted()}});
      doc.End();
    }
    if (r->conflicts && !o.dry_run) {
      exit_code = kExitFailed;
      break;  // earlier migrations stay applied under a partly undone one otherwise
    }
  }
  if (ctx.json()) EndMigrationsJson(doc, {{"ok", exit_code == kExitOk}});
  return exit_code;
}

}  // namespace keyshift
