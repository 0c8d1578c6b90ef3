// `keyshift copy --to URL`: copies every matching key of --url to --to
// (engine/copy.h), with progress on a terminal and a summary.
#include <chrono>
#include <optional>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "bindings/migration_script.h"
#include "cli/commands.h"
#include "cli/diff.h"
#include "cli/diff_budget.h"
#include "cli/emit.h"
#include "cli/json_output.h"
#include "cli/json_stream.h"
#include "cli/progress.h"
#include "core/text.h"
#include "engine/catchup.h"
#include "engine/copy.h"
#include "engine/copy_follow.h"
#include "engine/interrupt.h"

namespace keyshift {
namespace {

// Keys on the source's primaries (keyshift's own included): the progress
// line's estimate, nothing more.
long long SourceKeys(Topology* source) {
  auto replies = OnEveryPrimary(source, {"DBSIZE"});
  long long total = 0;
  if (replies.ok())
    for (const PrimaryReply& r : *replies) total += r.reply.integer;
  return total;
}

// Both ends, and the source's name in the target's state keys.
Result<std::pair<Topology*, Topology*>> Ends(Context& ctx, std::string* source_id) {
  auto url = ctx.Url();
  if (!url.ok()) return url.error();
  *source_id = CopySourceId(url->Address(), url->db);
  auto source = ctx.Redis();
  if (!source.ok()) return source.error();
  auto target = ctx.Target();
  if (!target.ok()) return target.error();
  return std::make_pair(*source, *target);
}

nlohmann::json CountsJson(const CopyCounters& c) {
  return {{"scanned", c.scanned}, {"copied", c.copied},     {"overwritten", c.overwritten}, {"skipped", c.skipped},
          {"conflicts", c.conflicts}, {"vanished", c.vanished}, {"bytes", c.bytes},
          {"chunked", c.chunked}, {"transformed", c.transformed}, {"renamed", c.renamed}, {"dropped", c.dropped},
          {"failed", c.failed}};
}

std::string KeyFailedMessage(const CopyReport& r, bool dry_run) {
  if (dry_run) return fmt::format("{} keys would fail in a migration and not be copied", r.counters.failed);
  return fmt::format("{} keys failed in a migration and were not copied; the copy is not complete (the target's "
                     "ledger is not written). Fix the data on the source or the migration, and run the same copy "
                     "again: it retries them, then completes",
                     r.counters.failed);
}

nlohmann::json KeyErrorsJson(const CopyReport& r) {
  nlohmann::json list = nlohmann::json::array();
  for (const CopyKeyError& e : r.key_errors) list.push_back({{"key", e.key}, {"message", e.message}});
  return list;
}

// What the migrations did on the way (copy --apply / --revert).
std::string ShapeText(const CopyCounters& c, bool dry_run) {
  return fmt::format("migrations {}: {} keys transformed ({} renamed), {} deleted (not copied), {} failed\n",
                     dry_run ? "would run on the way" : "ran on the way", c.transformed, c.renamed, c.dropped,
                     c.failed);
}

std::string ConflictMessage(const CopyReport& r) {
  return fmt::format("key {} already exists on the target (--on-conflict fail); {} keys were copied before it. "
                     "Delete it there, or choose --on-conflict skip or overwrite, and run the same copy again to "
                     "resume",
                     QuoteKey(r.conflict_key), r.counters.copied);
}

void PrintText(const CopyReport& r, bool dry_run) {
  const CopyCounters& c = r.counters;
  if (dry_run) {
    fmt::print("dry-run: {} keys scanned; would copy {} ({} bytes, {} of them overwriting), skip {}; {} already on "
               "the target; nothing was written\n",
               c.scanned, c.copied, c.bytes, c.overwritten, c.skipped, c.conflicts);
    return;
  }
  fmt::print("{}{} keys scanned, {} copied ({} overwritten, {} bytes), {} skipped, {} gone from the source before "
             "they were read\n",
             r.resumed ? "resumed; " : "", c.scanned, c.copied, c.overwritten, c.bytes, c.skipped, c.vanished);
}

// copy --follow: notifications on and subscribed before the snapshot starts
// (a write during it is then read by the snapshot or notified after it).
struct Follow {
  std::optional<KeyspaceSubscriber> sub;
  EventsRestorer restorer;
  FollowOptions options;
  FollowCounters counters;
  long long ms = 0;
  bool shown = false;
  bool ran = false;  // the snapshot completed and following started

  Status Start(Context& ctx, Topology* source, const CopyOptions& copy) {
    auto old = EnableKeyspaceEvents(source, kCopyFollowEvents);
    if (!old.ok()) return old.error();
    restorer.changed = std::move(old.value());
    auto url = ctx.Url();
    if (!url.ok()) return url.error();
    options = FollowOptions{copy.match, copy.batch, copy.source_id, std::nullopt};
    if (!ctx.options().follow_for.empty()) options.for_ms = *ParseDurationMs(ctx.options().follow_for);
    sub.emplace(ctx.ConnectionFactory(), url->db, copy.match);
    return sub->Subscribe();
  }

  // The lag on a terminal: keys waiting, and for how long the oldest has.
  Status Run(Context& ctx, Topology* source, Topology* target, Lock& lock) {
    bool tty = ctx.stderr_tty() && !ctx.json();
    auto show = [this, tty](const FollowLag& lag) {
      if (!tty) return;
      Emit(stderr, fmt::format("\r\033[Kcopy: following: {} written, {} deleted; lag {} keys queued, oldest {} ms",
                               lag.counters->written, lag.counters->deleted, lag.queued, lag.oldest_ms));
      shown = true;
    };
    ran = true;
    auto start = std::chrono::steady_clock::now();
    auto done = FollowSource(source, target, ctx.state(), options, *sub, lock, show);
    ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start).count();
    if (shown) Emit(stderr, "\r\033[K");
    if (!done.ok()) return done.error();
    counters = *done;
    return Status::Ok();
  }

  nlohmann::json Json() const {
    return {{"duration_ms", ms}, {"notified", counters.notified}, {"written", counters.written},
            {"deleted", counters.deleted}, {"resyncs", counters.resyncs}};
  }
  std::string Text() const {
    return fmt::format("followed {:.1f}s: {} keys notified, {} written, {} deleted, {} full passes after a lost "
                       "subscription\n",
                       ms / 1000.0, counters.notified, counters.written, counters.deleted, counters.resyncs);
  }
};

}  // namespace

int CmdCopy(Context& ctx) {
  const CliOptions& o = ctx.options();
  if (Status st = CheckFollowUsage(o); !st) return ReportError(ctx, st.error());
  CopyOptions options;
  auto ends = Ends(ctx, &options.source_id);
  if (!ends.ok()) return ReportError(ctx, ends.error());
  auto [source, target] = *ends;
  options.match = o.match;
  options.on_conflict = o.on_conflict;
  options.dry_run = o.dry_run;
  options.batch = o.batch.value_or(500);
  auto plan = LoadCopyPlan(ctx, source, target, options.source_id);
  if (!plan.ok()) return ReportError(ctx, plan.error());
  bool shaped = o.apply || o.revert;
  if (!plan->transforms.empty()) options.transforms = &plan->transforms;
  options.ledger = plan->ledger;
  options.keep_names = o.follow;
  DiffStyle style{ctx.stdout_tty() && !ctx.json(), 3};
  JsonStream& doc = ctx.json_out();
  LazyArray diffs(doc, "diffs");  // streamed: a dry-run over many keys holds none of them
  DiffBudget budget(o.diff_limit, o.summary);
  if (o.dry_run && options.transforms)
    options.diff = [&](const KeyChange& change) {
      if (!budget.Take()) return;
      std::string text = RenderDiff(change, style);
      if (ctx.json()) diffs.Add({{"key", change.key}, {"diff", text}});
      else Emit(stdout, text);
    };
  InterruptScope defer_signals;
  Follow follow;
  AfterCopy after;
  if (o.follow) {
    if (Status st = follow.Start(ctx, source, options); !st) return ReportError(ctx, st.error());
    follow.options.transforms = options.transforms;
    after = [&](Lock& lock) { return follow.Run(ctx, source, target, lock); };
  }
  // DBSIZE estimates only a copy of everything.
  long long total = o.match == "*" ? SourceKeys(source) : 0;
  if (ctx.json()) {
    doc.BeginObject();
    doc.Member("dry_run", o.dry_run);
  }
  Progress progress(ctx.stderr_tty() && !ctx.json(), "copy", total, "keys scanned",
                    o.dry_run ? "to copy" : "copied");
  auto report = RunCopy(source, target, ctx.state(), options, ctx.TargetFactory(),
                        [&progress, &doc](const CopyCounters& c) {
                          progress.Update(c.scanned, c.copied);
                          doc.Flush();  // each batch's diffs reach a reader (or meet a closed pipe) now
                        },
                        after ? AfterCopy([&](Lock& l) {
                          progress.Clear();
                          return after(l);
                        })
                              : AfterCopy());
  progress.Clear();
  if (!report.ok()) return ReportError(ctx, report.error());
  bool conflict = !report->conflict_key.empty(), failed = report->counters.failed > 0;
  std::string stop = conflict ? ConflictMessage(*report) : failed ? KeyFailedMessage(*report, o.dry_run) : "";
  if (ctx.json()) {
    diffs.Close();
    if (shaped && !diffs.opened()) doc.Member("diffs", nlohmann::json::array());
    nlohmann::json j = CountsJson(report->counters);
    j["ok"] = stop.empty();
    j["resumed"] = report->resumed;
    if (follow.ran) j["follow"] = follow.Json();
    if (conflict) j["conflict_key"] = report->conflict_key;
    if (shaped) j["key_errors"] = KeyErrorsJson(*report);
    if (!stop.empty()) j["error"] = {{"code", kExitFailed}, {"message", stop}};
    doc.Members(j);
    doc.End();
  } else {
    for (const CopyKeyError& e : report->key_errors)
      Emit(stderr, fmt::format("keyshift: not copied: {}\n", TerminalSafe(e.message)));
    Emit(stdout, budget.OmittedLine());
    PrintText(*report, o.dry_run);
    if (shaped) fmt::print("{}", ShapeText(report->counters, o.dry_run));
    if (follow.ran) fmt::print("{}", follow.Text());
  }
  if (stop.empty()) return kExitOk;
  Emit(stderr, fmt::format("keyshift: {}\n", TerminalSafe(stop)));
  return kExitFailed;
}

}  // namespace keyshift
