// `keyshift copy --to URL`: copies every matching key of --url to --to
// (engine/copy.h), with progress on a terminal and a summary.
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "bindings/migration_script.h"
#include "cli/commands.h"
#include "cli/emit.h"
#include "cli/json_output.h"
#include "cli/progress.h"
#include "core/text.h"
#include "engine/copy.h"
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
          {"chunked", c.chunked}};
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

}  // namespace

int CmdCopy(Context& ctx) {
  const CliOptions& o = ctx.options();
  CopyOptions options;
  auto ends = Ends(ctx, &options.source_id);
  if (!ends.ok()) return ReportError(ctx, ends.error());
  auto [source, target] = *ends;
  options.match = o.match;
  options.on_conflict = o.on_conflict;
  options.dry_run = o.dry_run;
  options.batch = o.batch.value_or(500);
  InterruptScope defer_signals;
  // DBSIZE estimates only a copy of everything.
  long long total = o.match == "*" ? SourceKeys(source) : 0;
  Progress progress(ctx.stderr_tty() && !ctx.json(), "copy", total, "keys scanned",
                    o.dry_run ? "to copy" : "copied");
  auto report = RunCopy(source, target, ctx.state(), options, ctx.TargetFactory(),
                        [&progress](const CopyCounters& c) { progress.Update(c.scanned, c.copied); });
  progress.Clear();
  if (!report.ok()) return ReportError(ctx, report.error());
  bool conflict = !report->conflict_key.empty();
  if (ctx.json()) {
    nlohmann::json j = CountsJson(report->counters);
    j["ok"] = !conflict;
    j["dry_run"] = o.dry_run;
    j["resumed"] = report->resumed;
    if (conflict) {
      j["conflict_key"] = report->conflict_key;
      j["error"] = {{"code", kExitFailed}, {"message", ConflictMessage(*report)}};
    }
    Emit(stdout, DumpJson(j) + "\n");
  } else {
    PrintText(*report, o.dry_run);
  }
  if (!conflict) return kExitOk;
  Emit(stderr, fmt::format("keyshift: {}\n", TerminalSafe(ConflictMessage(*report))));
  return kExitFailed;
}

}  // namespace keyshift
