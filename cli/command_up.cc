// `keyshift up`: applies (or previews) pending migrations in version order.
#include <unistd.h>

#include <chrono>
#include <memory>
#include <optional>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/diff.h"
#include "cli/diff_budget.h"
#include "cli/emit.h"
#include "cli/json_output.h"
#include "cli/json_stream.h"
#include "cli/progress.h"
#include "core/text.h"
#include "engine/catalog.h"
#include "engine/interrupt.h"
#include "engine/memory_guard.h"
#include "engine/migrator.h"
#include "engine/planner.h"
#include "engine/server_check.h"
#include "server_mode/portability.h"

namespace keyshift {

namespace {

struct Pending {
  const MigrationState* state;
  std::unique_ptr<MigrationScript> script;
  RunMode mode = RunMode::kHost;
};

// Refuses drifted migrations unless allowed; collects what `up` must run.
Result<std::vector<Pending>> SelectPending(const Context& ctx, const Catalog& cat, bool warn) {
  const CliOptions& o = ctx.options();
  std::vector<Pending> out;
  const MigrationState* newest_applied = nullptr;  // versions start at 0: no "highest = 0" default
  for (const auto& m : cat.migrations) {
    if (m.status == MigrationStatus::kDrifted && !o.allow_drift)
      return Fail(fmt::format("{} was applied from a file that has {} since (ledger sha256 {:.12}); restore the file, "
                              "or pass --allow-drift to run anyway",
                              m.name, m.file ? "changed" : "been removed", m.record->sha256));
    if (m.applied() && (!newest_applied || m.version > newest_applied->version)) newest_applied = &m;
    bool wanted = m.status == MigrationStatus::kPending || m.status == MigrationStatus::kInterrupted ||
                  m.status == MigrationStatus::kFailed || m.status == MigrationStatus::kRunning || m.retryable();
    if (wanted && m.file && (!o.to || m.version <= *o.to)) out.push_back(Pending{&m, nullptr});
  }
  for (const auto& p : out) {
    // Only a migration never started counts: a resumed or retried one was let in before.
    if (!newest_applied || p.state->version > newest_applied->version) continue;
    if (p.state->status != MigrationStatus::kPending) continue;
    if (!o.out_of_order)
      return Fail(fmt::format("{} is pending but a later migration, {}, is already applied: it was written against "
                              "data that may no longer have that shape. Renumber it above {}, or pass "
                              "--out-of-order to apply it anyway; nothing was written",
                              p.state->name, newest_applied->name, newest_applied->version));
    if (warn)
      fmt::print(stderr, "warning: {} is pending although a later migration ({}) is applied; applying it now "
                 "(--out-of-order)\n", p.state->name, newest_applied->name);
  }
  return out;
}

// Loads every pending file before anything runs: a broken 0003 stops the run
// before 0001 writes a key.
Status LoadScripts(const Context& ctx, std::vector<Pending>& pending) {
  std::vector<std::string> errors;
  for (auto& p : pending) {
    auto script = MigrationScript::Load(p.state->file->path, p.state->file->text, SandboxLimits{});
    if (!script.ok()) {
      errors.push_back(script.error().message);
      continue;
    }
    p.mode = ctx.options().mode.value_or((*script)->info().mode);
    if (p.mode == RunMode::kServer) {
      auto issues = CheckPortability(p.state->file->text);
      if (!issues.empty()) {
        errors.push_back(fmt::format("{} cannot run in server mode (Redis runs Lua 5.1):\n{}", p.state->file->path,
                                     FormatPortabilityIssues(p.state->file->path, issues)));
        continue;
      }
    }
    p.script = std::move(script.value());
  }
  if (errors.empty()) return Status::Ok();
  std::string joined;
  for (const auto& e : errors) joined += (joined.empty() ? "" : "\n") + e;
  return Fail(joined);
}

std::string Summary(const std::string& name, const RunReport& r, bool dry_run) {
  const Counters& c = r.counters;
  if (dry_run)
    return fmt::format("{} (dry-run): scanned {}, would change {}, would delete {}, would rename {}, errors {}; "
                       "journal would take ~{}",
                       name, c.scanned, c.changed, c.deleted, c.renamed, c.failed, FormatBytes(c.journal_bytes));
  double secs = r.duration_ms / 1000.0;
  const char* verdict = r.interrupted ? "INTERRUPTED;" : !r.ok ? "FAILED;" : c.failed ? "applied WITH FAILED KEYS;" : "applied;";
  std::string text = fmt::format("{}: {} scanned {}, changed {}, deleted {}, renamed {}, already done {}, errors {} in "
                                 "{:.1f}s{}", name, verdict, c.scanned, c.changed, c.deleted, c.renamed, c.skipped,
                                 c.failed, secs, r.resumed ? " (resumed from checkpoint)" : "");
  if (r.cas_retries || r.moved_server_side)
    text += fmt::format("; {} re-reads of keys the application changed meanwhile (CAS retries), {} keys moved to the "
                        "server-side path", r.cas_retries, r.moved_server_side);
  if (r.ok && c.failed)
    text += fmt::format("\n{} keys failed and were left as they were: fix the file or the data, then run `keyshift up` "
                        "again to retry them", c.failed);
  return text;
}


// Refuses a server unfit for the run (server_check.h): before the lock and
// before anything is written.
Status CheckServerForUp(const Context& ctx, Topology* conn, const std::vector<Pending>& pending) {
  ServerNeeds needs{!ctx.options().dry_run, ctx.options().allow_eviction, {}};
  for (const auto& p : pending) {
    const ScanSpec& scan = p.script->info().scan;
    AddStateCommands(&needs.commands, ctx.state(), p.state->version);
    AddDataCommands(&needs.commands, ctx.state(), p.state->version, SampleKey(scan.match), scan.type);
  }
  return CheckServer(conn, needs);
}

// Refuses to start when the undo journals of the pending migrations would not
// fit in the room Redis has left (memory_guard.h), unless --journal-budget
// accepts their estimated size, and a budget that promises more than that
// room. Runs before the lock is taken: nothing is written when it refuses.
Status CheckJournalFits(Context& ctx, Topology* conn, const std::vector<Pending>& pending) {
  const std::string& budget_text = ctx.options().journal_budget;
  auto memory = ReadServerMemory(conn, ctx.options().memory_headroom);
  if (!memory.ok()) return memory.error();
  std::optional<long long> budget;
  if (!budget_text.empty()) {
    auto parsed = ParseByteSize(budget_text);
    if (!parsed.ok()) return parsed.error();
    if (Status st = CheckBudgetFits(*memory, *parsed, budget_text); !st) return st;
    budget = *parsed;
  }
  if (!budget && memory->maxmemory == 0) return Status::Ok();  // nothing to fit under: skip the sampling
  long long total = 0;
  for (const auto& p : pending) {
    p.script->SetLogSink([](const std::string&) {});  // the sample's ks.log lines are not the run's
    auto e = EstimatePlan(conn, ctx.state(), *p.state->file, *p.script, 1000);
    p.script->SetLogSink(nullptr);
    if (!e.ok()) return e.error();
    total += e->est_journal_bytes;
  }
  if (budget) {
    if (total <= *budget) return Status::Ok();
    return Fail(fmt::format("the undo journal is estimated at ~{}, over --journal-budget {}; nothing was written",
                            FormatBytes(total), budget_text));
  }
  if (total <= memory->Room()) return Status::Ok();
  return Fail(fmt::format("the undo journal (~{}) would not fit: Redis uses {} of maxmemory {} and {} is kept free "
                          "(--memory-headroom). Free memory, raise maxmemory, or pass --journal-budget SIZE to "
                          "accept it; nothing was written",
                          FormatBytes(total), FormatBytes(memory->used), FormatBytes(memory->maxmemory),
                          FormatBytes(memory->headroom)));
}

// One migration's result, after its streamed diffs and key errors.
nlohmann::json ReportJson(const RunReport& r, long long diffs_omitted) {
  const Counters& c = r.counters;
  nlohmann::json j = {{"ok", r.ok},           {"resumed", r.resumed},
                      {"scanned", c.scanned}, {"changed", c.changed}, {"deleted", c.deleted}, {"renamed", c.renamed},
                      {"skipped", c.skipped}, {"failed", c.failed},   {"journal_bytes", c.journal_bytes},
                      {"duration_ms", r.duration_ms}, {"cas_retries", r.cas_retries},
                      {"moved_server_side", r.moved_server_side}};
  if (!r.ok) j["error"] = r.error.message;
  if (!r.ok) j["failed_key"] = r.failed_key;
  j["diffs_omitted"] = diffs_omitted;
  return j;
}

// What `up` will run, chosen from `cat` and loaded.
// `final`: this is the decision that runs (warnings are printed once, here).
Result<std::vector<Pending>> Prepare(const Context& ctx, const Catalog& cat, bool final) {
  auto pending = SelectPending(ctx, cat, final);
  if (!pending.ok()) return pending.error();
  if (Status st = LoadScripts(ctx, *pending); !st) return st.error();
  return pending;
}

int NothingToDo(const Context& ctx) {
  if (ctx.json()) fmt::print("{}\n", nlohmann::json({{"ok", true}, {"migrations", nlohmann::json::array()}}).dump());
  else fmt::print("nothing to do: no pending migrations in {}\n", ctx.options().dir);
  return kExitOk;
}

// Where one migration's diffs, skipped keys and progress go: streamed into
// its object of the JSON document (json_stream.h), else printed (a closed
// pipe is noted as an interrupt, see Emit). Key errors wait in a spool: they
// arrive between diffs, and the object holds them as an array of their own.
struct MigrationOutput {
  MigrationOutput(const Context& ctx, const MigrationState& m)
      : doc(ctx.json() ? &ctx.json_out() : nullptr), diffs(ctx.json_out(), "diffs"),
        budget(ctx.options().diff_limit, ctx.options().summary) {
    if (!doc) return;
    doc->BeginObject();
    doc->Member("version", m.version);
    doc->Member("name", m.name);
  }
  // The streamed arrays are complete: the object takes its other members.
  void CloseArrays() {
    if (!doc) return;
    diffs.Close();
    errors.WriteMember(*doc, "key_errors");
  }
  void Finish(const RunReport& report) {
    CloseArrays();
    if (!doc) return;
    doc->Members(ReportJson(report, budget.omitted()));
    doc->End();
  }
  JsonStream* doc;  // null: text output
  LazyArray diffs;
  JsonSpool errors;
  DiffBudget budget;
};

RunSinks MakeSinks(const Context& ctx, Progress& progress, const MigrationFile& file, MigrationOutput& out) {
  RunSinks sinks;
  DiffStyle style{ctx.stdout_tty() && !ctx.json(), 3};
  sinks.diff = [&out, style](const KeyChange& change) {
    if (!out.budget.Take()) return;
    std::string text = RenderDiff(change, style);
    if (out.doc) out.diffs.Add({{"key", change.key}, {"diff", text}});
    else Emit(stdout, text);
  };
  sinks.key_error = [&out, &file](const std::string& key, const std::string& msg) {
    if (out.doc) out.errors.Add(KeyErrorJson(key, file.path, msg));
    else Emit(stderr, fmt::format("keyshift: skipped: {}\n", TerminalSafe(msg)));
  };
  sinks.progress = [&progress, &out](const Counters& c) {
    progress.Update(c.scanned, c.changed + c.deleted + c.renamed);
    if (out.doc) out.doc->Flush();  // a reader sees each batch's diffs; a closed pipe stops the run here
  };
  return sinks;
}

RunOptions MakeRunOptions(Context& ctx, Topology* conn) {
  const CliOptions& o = ctx.options();
  RunOptions run;
  run.dry_run = o.dry_run;
  run.batch = o.batch;
  run.on_error = o.on_error;
  run.max_errors = o.max_errors;
  run.workers = Workers(o);
  run.connect = ctx.ConnectionFactory();
  run.guard = MemoryGuard(conn, o.memory_headroom);
  return run;
}

// The keys the migration's SCAN will return, estimated only when someone
// watches the progress line (the sample costs a few SCAN calls).
long long ProgressTotal(const Context& ctx, Topology* conn, const Pending& p, bool shown) {
  if (!shown) return 0;
  auto total = EstimateMatchedKeys(conn, ctx.state(), p.script->info().scan.match);
  return total.ok() ? *total : 0;
}

struct Outcome {
  int exit_code = kExitOk;  // kExitFailed also when it only left failed keys
  bool stop = false;        // the migration failed: later ones must not run
};

// Runs one migration; its JSON result is streamed as the next element of
// the open "migrations" array. An Error for a run that could not run at all
// (what it streamed stays in its object; ReportError ends the document).
Result<Outcome> RunOne(Context& ctx, Migrator& migrator, RunOptions& run, Pending& p, Lock* lock) {
  const CliOptions& o = ctx.options();
  bool shown = ctx.stderr_tty() && !ctx.json();
  Progress progress(shown, p.state->name, ProgressTotal(ctx, migrator.connection(), p, shown));
  MigrationOutput out(ctx, *p.state);
  RunSinks sinks = MakeSinks(ctx, progress, *p.state->file, out);
  run.mode = p.mode;
  run.retry_failed.reset();
  if (p.state->retryable()) run.retry_failed = p.state->record->counters;
  // The rate counts this run's keys, not those of the runs it continues.
  if (p.state->checkpoint) progress.Start(p.state->checkpoint->counters.scanned);
  else if (run.retry_failed) progress.Start(run.retry_failed->scanned);
  auto report = migrator.Up(*p.state->file, *p.script, run, lock, sinks);
  progress.Clear();
  if (!report.ok()) {
    out.CloseArrays();
    // Name the migration once: many messages already start with its file.
    const std::string& msg = report.error().message;
    bool named = msg.find(p.state->file->path) != std::string::npos;
    return Error{report.error().exit_code, named ? msg : p.state->name + ": " + msg};
  }
  out.Finish(*report);
  if (!ctx.json()) Emit(stdout, out.budget.OmittedLine() + Summary(p.state->name, *report, o.dry_run) + "\n");
  if (!report->ok && !ctx.json()) Emit(stderr, fmt::format("keyshift: {}\n", TerminalSafe(report->error.message)));
  return Outcome{report->ok && report->counters.failed == 0 ? kExitOk : kExitFailed, !report->ok};
}

// Runs the pending migrations in order. A failed migration stops the run; one
// that only left failed keys (--on-error skip) does not, but the exit code
// is 1 (SPEC 4).
int RunAll(Context& ctx, Topology* conn, std::vector<Pending>& pending, Lock* lock) {
  const CliOptions& o = ctx.options();
  if (o.dry_run && pending.size() > 1 && !ctx.json())
    fmt::print("note: each migration is previewed against the current data, not the output of the ones before it\n");
  RunOptions run = MakeRunOptions(ctx, conn);
  Migrator migrator(conn, ctx.state());
  JsonStream& doc = ctx.json_out();
  if (ctx.json()) BeginMigrationsJson(doc, o.dry_run);
  int exit_code = kExitOk;
  for (auto& p : pending) {
    if (Interrupted()) break;
    auto outcome = RunOne(ctx, migrator, run, p, lock);
    if (!outcome.ok()) return ReportError(ctx, outcome.error());
    if (outcome->exit_code != kExitOk) exit_code = outcome->exit_code;
    if (outcome->stop) break;
  }
  if (Interrupted()) {
    exit_code = InterruptExitCode();
    if (!o.dry_run)
      Emit(stderr, "keyshift: interrupted; the checkpoint is saved and the lock released: run `keyshift up` again "
                   "to resume\n");
  }
  if (ctx.json()) EndMigrationsJson(doc, {{"ok", exit_code == kExitOk}, {"interrupted", Interrupted()}});
  return exit_code;
}

}  // namespace

int CmdUp(Context& ctx) {
  const CliOptions& o = ctx.options();
  if (Status st = DiffBudget::Check(o.diff_limit, o.summary, o.dry_run); !st) return ReportError(ctx, st.error());
  auto ws = CheckServerAndOpen(ctx, !o.dry_run);
  if (!ws.ok()) return ReportError(ctx, ws.error());
  auto pending = Prepare(ctx, (*ws)->catalog, o.dry_run);
  if (!pending.ok()) return ReportError(ctx, pending.error());
  if (pending->empty()) return NothingToDo(ctx);
  if (Status st = CheckServerForUp(ctx, (*ws)->conn, *pending); !st) return ReportError(ctx, st.error());
  if (o.dry_run) {
    auto end_json = EndJsonOnSignal(ctx.json());
    return RunAll(ctx, (*ws)->conn, *pending, nullptr);
  }
  // Before the lock, so that a refusal writes nothing at all; an estimate,
  // so the selection made under the lock does not need a second sampling.
  if (Status st = CheckJournalFits(ctx, (*ws)->conn, *pending); !st) return ReportError(ctx, st.error());
  InterruptScope defer_signals;
  // What to run is decided again under the lock: another runner may have
  // applied (or started) some of it since the look above.
  auto lock = ctx.LockAndReload(**ws, "up");
  if (!lock.ok()) return ReportError(ctx, lock.error());
  pending = Prepare(ctx, (*ws)->catalog, true);
  if (!pending.ok()) return ReportError(ctx, pending.error());
  if (pending->empty()) return NothingToDo(ctx);
  return RunAll(ctx, (*ws)->conn, *pending, lock->get());
}

}  // namespace keyshift
