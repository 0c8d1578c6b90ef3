// `keyshift compare --to URL`: counts and names the differences between the
// keys of --url and --to (engine/compare.h). Reads only.
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "bindings/migration_script.h"
#include "cli/commands.h"
#include "cli/emit.h"
#include "cli/json_output.h"
#include "core/text.h"
#include "engine/compare.h"
#include "engine/copy.h"

namespace keyshift {
namespace {

constexpr const char* kMeaning[kDifferenceKinds] = {
    "on the source, not on the target", "on the target, not on the source", "of another type on the target",
    "with another value on the target", "with another expiry on the target"};

void PrintText(const CompareReport& r, bool full) {
  for (size_t i = 0; i < kDifferenceKinds; ++i) {
    const DifferenceList& d = r.differences[i];
    if (d.count == 0) continue;
    fmt::print("{}: {} keys {}\n", DifferenceName(static_cast<Difference>(i)), d.count, kMeaning[i]);
    for (const auto& key : d.first) Emit(stdout, TerminalSafe(fmt::format("  {}\n", QuoteKey(key))));
    if (d.count > static_cast<long long>(d.first.size()))
      fmt::print("  ... and {} more\n", d.count - static_cast<long long>(d.first.size()));
  }
  fmt::print("{} source keys and {} target keys checked ({}): {} differences\n", r.checked, r.checked_target,
             full ? "type, expiry and value" : "type and expiry; --full also compares values", r.total());
}

nlohmann::json ReportJson(const CompareReport& r, bool full) {
  nlohmann::json differences = nlohmann::json::object();
  for (size_t i = 0; i < kDifferenceKinds; ++i)
    differences[DifferenceName(static_cast<Difference>(i))] = {{"count", r.differences[i].count},
                                                                {"keys", r.differences[i].first}};
  return {{"ok", r.total() == 0}, {"full", full}, {"checked", r.checked}, {"checked_target", r.checked_target},
          {"differences", differences}, {"total", r.total()}};
}

}  // namespace

int CmdCompare(Context& ctx) {
  const CliOptions& o = ctx.options();
  auto source = ctx.Redis();
  if (!source.ok()) return ReportError(ctx, source.error());
  auto target = ctx.Target();
  if (!target.ok()) return ReportError(ctx, target.error());
  CompareOptions options;
  options.match = o.match;
  options.sample = o.compare_sample;
  options.full = o.full;
  options.batch = o.batch.value_or(500);
  options.shown = o.limit;
  auto url = ctx.Url();
  if (!url.ok()) return ReportError(ctx, url.error());
  auto plan = LoadCopyPlan(ctx, *source, *target, CopySourceId(url->Address(), url->db));
  if (!plan.ok()) return ReportError(ctx, plan.error());
  if (!plan->transforms.empty()) options.transforms = &plan->transforms;
  auto report = RunCompare(*source, *target, ctx.state(), options);
  if (!report.ok()) return ReportError(ctx, report.error());
  if (ctx.json()) Emit(stdout, DumpJson(ReportJson(*report, o.full)) + "\n");
  else PrintText(*report, o.full);
  return report->total() == 0 ? kExitOk : kExitFailed;
}

}  // namespace keyshift
