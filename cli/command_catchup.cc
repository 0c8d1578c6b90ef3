// `keyshift catchup V [--dry-run] [--follow [--for D]]`: transforms V's keys
// the application wrote in the old shape since (catchup.h).
#include <algorithm>
#include <chrono>
#include <memory>
#include <optional>
#include <unordered_set>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/diff.h"
#include "cli/emit.h"
#include "cli/json_output.h"
#include "cli/json_stream.h"
#include "core/text.h"
#include "engine/catchup.h"
#include "engine/interrupt.h"
#include "engine/migrator.h"
#include "engine/server_check.h"

namespace keyshift {

namespace {

using Clock = std::chrono::steady_clock;

long long Caught(const Counters& c) { return c.changed + c.deleted + c.renamed; }

struct Target {
  const MigrationState* state = nullptr;
  std::unique_ptr<MigrationScript> script;
};

// Catch-up continues an applied migration; one that is pending, failed or
// interrupted is `up`'s to finish (its resumed scan reaches every key).
Result<Target> SelectTarget(const Context& ctx, const Catalog& cat) {
  long long v = *ctx.options().version;
  for (const auto& m : cat.migrations) {
    if (m.version != v) continue;
    if (!m.file) return UsageError(fmt::format("{}: its file is not in {}; catchup runs its transform", m.name, ctx.options().dir));
    if (m.status == MigrationStatus::kDrifted)
      return UsageError(fmt::format("{} has changed since it was applied: restore the file before catching up", m.name));
    if (m.status != MigrationStatus::kApplied)
      return UsageError(fmt::format("{} is {}, not applied: catchup continues an applied migration; `keyshift up` "
                                    "applies or resumes it",
                                    m.name, MigrationStatusName(m.status)));
    // Without its journal every key would look new: each would be transformed a second time.
    if (!m.record->pruned_at.empty())
      return UsageError(fmt::format("{}: its journal was pruned at {}, so catchup cannot tell keyshift's writes from "
                                    "the application's; nothing was changed",
                                    m.name, m.record->pruned_at));
    auto script = MigrationScript::Load(m.file->path, m.file->text, SandboxLimits{});
    if (!script.ok()) return script.error();
    return Target{&m, std::move(script.value())};
  }
  return UsageError(fmt::format("no migration {} in {} or in the ledger", v, ctx.options().dir));
}

Status CheckServerForCatchup(const Context& ctx, Topology* conn, const Target& t) {
  ServerNeeds needs{!ctx.options().dry_run, ctx.options().allow_eviction, {}};
  const ScanSpec& scan = t.script->info().scan;
  AddStateCommands(&needs.commands, ctx.state(), t.state->version);
  AddDataCommands(&needs.commands, ctx.state(), t.state->version, SampleKey(scan.match), scan.type);
  return CheckServer(conn, needs);
}


// The state of one `catchup` invocation.
struct Run {
  Context& ctx;
  Topology* conn;
  Target& target;
  Lock* lock;
  Migrator migrator;
  RunOptions options;
  RunSinks sinks;
  LazyArray diffs{ctx.json_out(), "diffs"};  // streamed: a dry-run over many keys holds none of them
  RunReport rescan;           // the last rescan
  Counters followed;          // keys caught while following
  long long rescans_caught = 0;
  long long follow_ms = 0;
  bool progress_shown = false;

  Run(Context& c, Topology* cn, Target& t, Lock* l) : ctx(c), conn(cn), target(t), lock(l), migrator(cn, c.state()) {
    options.dry_run = c.options().dry_run;
    options.batch = c.options().batch;
    options.catchup = true;
    options.workers = Workers(c.options());
    options.connect = c.ConnectionFactory();
    DiffStyle style{c.stdout_tty() && !c.json(), 3};
    sinks.diff = [this, style](const KeyChange& change) {
      std::string text = RenderDiff(change, style);
      if (ctx.json()) diffs.Add({{"key", change.key}, {"diff", text}});
      else Emit(stdout, text);
    };
    sinks.progress = [this](const Counters& c) {
      Progress(fmt::format("{} scanned, {} caught", c.scanned, Caught(c)));
      ctx.json_out().Flush();  // each batch's diffs reach a reader (or meet a closed pipe) now
    };
  }
  const std::string& name() const { return target.state->name; }
  void Progress(const std::string& text) {
    if (!ctx.stderr_tty() || ctx.json()) return;
    Emit(stderr, fmt::format("\r\033[K{}: catch-up: {}", name(), text));
    progress_shown = true;
  }
  void ClearProgress() {
    if (progress_shown) Emit(stderr, "\r\033[K");
    progress_shown = false;
  }
};

Result<bool> Rescan(Run& r) {
  auto report = r.migrator.Up(*r.target.state->file, *r.target.script, r.options, r.lock, r.sinks);
  if (!report.ok()) return report.error();
  r.rescan = *report;
  if (report->ok && !report->interrupted) r.rescans_caught += Caught(report->counters);
  return report->ok && !report->interrupted;
}

// Follows the application's writes until the deadline or Ctrl-C. A lost
// subscriber misses notifications, so it resubscribes and rescans.
Status Follow(Run& r, KeyspaceSubscriber& sub, std::optional<long long> for_ms) {
  auto start = Clock::now();
  auto deadline = for_ms ? start + std::chrono::milliseconds(*for_ms) : Clock::time_point::max();
  size_t batch_size = static_cast<size_t>(r.options.batch.value_or(r.target.script->info().scan.batch));
  std::vector<std::string> batch;
  std::unordered_set<std::string> queued;
  auto oldest = start;
  auto take = [&](const std::optional<std::string>& key) {
    if (!key || r.ctx.state().Owns(*key) || !queued.insert(*key).second) return;
    if (batch.empty()) oldest = Clock::now();
    batch.push_back(*key);
  };
  auto flush = [&]() -> Status {
    if (batch.empty()) return Status::Ok();
    auto report = r.migrator.CatchKeys(*r.target.state->file, *r.target.script, r.options, r.lock, r.sinks,
                                       std::move(batch), &r.followed);
    batch.clear();
    queued.clear();
    if (!report.ok()) return report.error();
    if (!report->ok) return Error{kExitFailed, report->error.message};
    r.Progress(fmt::format("following, {} keys caught", Caught(r.followed)));
    return Status::Ok();
  };
  while (!Interrupted() && Clock::now() < deadline) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    auto key = sub.Next(static_cast<int>(std::clamp<long long>(left, 1, 100)));
    if (!key.ok()) {
      if (Status st = flush(); !st) return st;
      if (Status st = sub.Subscribe(); !st) return st;
      auto done = Rescan(r);
      if (!done.ok()) return done.error();
      if (!r.rescan.ok) return Error{kExitFailed, r.rescan.error.message};
      continue;
    }
    take(*key);
    // Batches bound the round trips; 100 ms bounds how long a written key waits.
    bool due = batch.size() >= batch_size || !*key || Clock::now() - oldest >= std::chrono::milliseconds(100);
    if (due)
      if (Status st = flush(); !st) return st;
  }
  r.follow_ms = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start).count();
  // Writes notified before the end are caught too: take what has arrived (bounded, the application may go on).
  for (size_t drained = 0; drained < 10 * batch_size; ++drained) {
    auto key = sub.Next(0);
    if (!key.ok() || !*key) break;
    take(*key);
    if (batch.size() >= batch_size)
      if (Status st = flush(); !st) return st;
  }
  return flush();
}

std::string Summary(const Run& r) {
  const Counters& c = r.rescan.counters;
  if (r.options.dry_run)
    return fmt::format("{} (catch-up dry-run): scanned {}, would change {}, would delete {}, would rename {}, errors {}",
                       r.name(), c.scanned, c.changed, c.deleted, c.renamed, c.failed);
  std::string s = fmt::format("{}: catch-up {} scanned {}, caught {} (changed {}, deleted {}, renamed {}), already "
                              "done {}, errors {}",
                              r.name(), r.rescan.interrupted ? "INTERRUPTED;" : r.rescan.ok ? "done;" : "FAILED;",
                              c.scanned, Caught(c), c.changed, c.deleted, c.renamed, c.skipped, c.failed);
  if (r.rescan.resumed) s += " (resumed from checkpoint)";
  if (r.ctx.options().follow)
    s += fmt::format("; following {:.1f}s: caught {} more", r.follow_ms / 1000.0, Caught(r.followed));
  return s;
}

// The members after the streamed diffs.
nlohmann::json ReportJson(const Run& r, int exit_code) {
  const Counters& c = r.rescan.counters;
  nlohmann::json j = {{"ok", exit_code == kExitOk}, {"interrupted", r.rescan.interrupted},
                      {"scanned", c.scanned}, {"caught", Caught(c)}, {"changed", c.changed},
                      {"deleted", c.deleted}, {"renamed", c.renamed}, {"skipped", c.skipped}, {"failed", c.failed}};
  if (r.ctx.options().follow) j["follow"] = {{"duration_ms", r.follow_ms}, {"caught", Caught(r.followed)}};
  if (!r.rescan.ok) j["error"] = r.rescan.error.message;
  return j;
}

// Opens the JSON document: the diffs of the rescan stream into it.
void BeginJson(const Run& r) {
  if (!r.ctx.json()) return;
  JsonStream& doc = r.ctx.json_out();
  doc.BeginObject();
  doc.Members({{"version", r.target.state->version}, {"name", r.name()}, {"dry_run", r.options.dry_run}});
}

int Finish(Run& r, int exit_code) {
  r.ClearProgress();
  if (r.ctx.json()) {
    r.diffs.Close();
    r.ctx.json_out().Members(ReportJson(r, exit_code));
    r.ctx.json_out().End();
  } else {
    Emit(stdout, Summary(r) + "\n");
  }
  if (!r.rescan.ok && !r.ctx.json()) Emit(stderr, fmt::format("keyshift: {}\n", TerminalSafe(r.rescan.error.message)));
  if (r.rescan.interrupted)
    Emit(stderr, "keyshift: interrupted; the checkpoint is saved and the lock released: run `keyshift catchup` "
                 "again to resume\n");
  return exit_code;
}

int RunCatchup(Run& r) {
  const CliOptions& o = r.ctx.options();
  std::optional<KeyspaceSubscriber> sub;
  EventsRestorer restorer;
  BeginJson(r);
  if (o.follow) {
    auto old = EnableKeyspaceEvents(r.conn);
    if (!old.ok()) return ReportError(r.ctx, old.error());
    restorer.changed = std::move(old.value());
    auto url = ParseRedisUrl(o.url, o.password);
    if (!url.ok()) return ReportError(r.ctx, url.error());
    // Subscribed before the rescan: a write during it is then seen by one or the other.
    sub.emplace(r.ctx.ConnectionFactory(), url->db, r.target.script->info().scan.match);
    if (Status st = sub->Subscribe(); !st) return ReportError(r.ctx, st.error());
  }
  auto complete = Rescan(r);
  if (!complete.ok()) return ReportError(r.ctx, complete.error());
  Status followed = Status::Ok();
  if (*complete && sub) {
    std::optional<long long> for_ms;
    if (!o.follow_for.empty()) for_ms = *ParseDurationMs(o.follow_for);
    followed = Follow(r, *sub, for_ms);
  }
  if (!o.dry_run)
    if (Status st = RecordCaught(r.conn, r.ctx.state(), r.target.state->version, r.rescans_caught + Caught(r.followed)); !st)
      return ReportError(r.ctx, st.error());
  if (!followed) {
    r.ClearProgress();
    return ReportError(r.ctx, followed.error());
  }
  // Ctrl-C is how a --follow without --for ends: after a complete rescan there is nothing to resume.
  if (r.rescan.interrupted) return Finish(r, InterruptExitCode());
  return Finish(r, r.rescan.ok ? kExitOk : kExitFailed);
}

}  // namespace

Status CheckFollowUsage(const CliOptions& o) {
  if (!o.follow_for.empty() && !o.follow) return UsageError("--for needs --follow");
  if (o.follow && o.dry_run) return UsageError("--follow writes: it cannot be combined with --dry-run");
  if (!o.follow_for.empty())
    if (auto ms = ParseDurationMs(o.follow_for); !ms.ok()) return ms.error();
  return Status::Ok();
}

int CmdCatchup(Context& ctx) {
  const CliOptions& o = ctx.options();
  if (Status st = CheckFollowUsage(o); !st) return ReportError(ctx, st.error());
  auto ws = CheckServerAndOpen(ctx, !o.dry_run);
  if (!ws.ok()) return ReportError(ctx, ws.error());
  auto target = SelectTarget(ctx, (*ws)->catalog);
  if (!target.ok()) return ReportError(ctx, target.error());
  if (Status st = CheckServerForCatchup(ctx, (*ws)->conn, *target); !st) return ReportError(ctx, st.error());
  if (o.dry_run) {
    auto end_json = EndJsonOnSignal(ctx.json());
    Run run(ctx, (*ws)->conn, *target, nullptr);
    return RunCatchup(run);
  }
  InterruptScope defer_signals;
  auto lock = ctx.LockAndReload(**ws, "catchup");
  if (!lock.ok()) return ReportError(ctx, lock.error());
  target = SelectTarget(ctx, (*ws)->catalog);  // decided again under the lock (a `down` may have run)
  if (!target.ok()) return ReportError(ctx, target.error());
  Run run(ctx, (*ws)->conn, *target, lock->get());
  return RunCatchup(run);
}

}  // namespace keyshift
