// `keyshift plan`: what `up` would do, estimated from a sample: keys matched,
// keys changed, journal size against maxmemory, and time. Reads only.
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/json_output.h"
#include "core/text.h"
#include "engine/catalog.h"
#include "engine/planner.h"

namespace keyshift {

namespace {

void PrintRevertSample(const RevertSample& r) {
  if (r.checked == 0) return;
  fmt::print("  revert         {} of {} sampled changed keys round-trip{}\n", r.checked - r.mismatched, r.checked,
             r.mismatched ? fmt::format("; WARNING: {} do not (revert(transform(v)) ~= v)", r.mismatched) : "");
  for (const auto& x : r.examples) fmt::print("    {}\n", TerminalSafe(x));
}

void PrintPlan(const MigrationState& m, const PlanEstimate& e) {
  std::string basis = e.exact ? "every key examined" : fmt::format("sampled {} of {} keys", e.sampled, e.db_keys);
  double pct = e.sample_matched ? 100.0 * e.sample_changed / e.sample_matched : 0;
  fmt::print("{} ({})\n", m.name, MigrationStatusName(m.status));
  fmt::print("  keys matched   {}{} ({})\n", e.exact ? "" : "~", e.est_matched, basis);
  fmt::print("  would change   {}{} ({:.1f}% of matched keys in the sample){}\n", e.exact ? "" : "~", e.est_changed,
             pct, e.sample_errors ? fmt::format("; {} sampled keys FAIL the transform", e.sample_errors) : "");
  for (const auto& [key, message] : e.failures)
    fmt::print("  fails on       {}: {}\n", TerminalSafe(QuoteKey(key)), TerminalSafe(message));
  if (e.sample_errors > static_cast<long long>(e.failures.size()))
    fmt::print("  ... and {} more sampled keys that fail\n", e.sample_errors - static_cast<long long>(e.failures.size()));
  std::string limit = e.maxmemory ? fmt::format("maxmemory {}", FormatBytes(e.maxmemory)) : "no maxmemory set";
  fmt::print("  journal        ~{}; Redis uses {} ({}){}\n", FormatBytes(e.est_journal_bytes),
             FormatBytes(e.used_memory), limit, e.JournalFits() ? "" : ": WOULD NOT FIT");
  fmt::print("  time           ~{:.1f}s ({:.0f} keys/s measured on the sample)\n", e.eta_seconds,
             e.seconds_per_key > 0 ? 1.0 / e.seconds_per_key : 0.0);
  PrintRevertSample(e.revert);
}

nlohmann::json SampleFailuresJson(const MigrationState& m, const PlanEstimate& e) {
  nlohmann::json list = nlohmann::json::array();
  for (const auto& [key, message] : e.failures) list.push_back(KeyErrorJson(key, m.file->path, message));
  return list;
}

nlohmann::json PlanJson(const MigrationState& m, const PlanEstimate& e) {
  return {{"version", m.version},        {"name", m.name},
          {"exact", e.exact},            {"db_keys", e.db_keys},
          {"sampled", e.sampled},        {"sample_matched", e.sample_matched},
          {"sample_changed", e.sample_changed}, {"sample_errors", e.sample_errors},
          {"est_matched", e.est_matched}, {"est_changed", e.est_changed},
          {"est_journal_bytes", e.est_journal_bytes}, {"used_memory", e.used_memory},
          {"maxmemory", e.maxmemory},    {"journal_fits", e.JournalFits()},
          {"eta_seconds", e.eta_seconds},
          {"revert_checked", e.revert.checked}, {"revert_mismatched", e.revert.mismatched},
          {"revert_examples", e.revert.examples}, {"sample_failures", SampleFailuresJson(m, e)}};
}

}  // namespace

int CmdPlan(Context& ctx) {
  auto ws = ctx.Open();
  if (!ws.ok()) return ReportError(ctx, ws.error());
  Topology* conn = (*ws)->conn;
  const Catalog& cat = (*ws)->catalog;
  nlohmann::json list = nlohmann::json::array();
  int planned = 0;
  for (const auto& m : cat.migrations) {
    if (!m.file || m.applied() || (ctx.options().to && m.version > *ctx.options().to)) continue;
    ++planned;
    auto script = MigrationScript::Load(m.file->path, m.file->text, SandboxLimits{});
    if (!script.ok()) return ReportError(ctx, script.error());
    script.value()->SetLogSink([](const std::string&) {});
    auto e = EstimatePlan(conn, ctx.state(), *m.file, **script, ctx.options().sample);
    if (!e.ok()) return ReportError(ctx, e.error());
    if (ctx.json()) list.push_back(PlanJson(m, *e));
    else PrintPlan(m, *e);
  }
  if (ctx.json())
    fmt::print("{}\n", nlohmann::json({{"ok", true}, {"migrations", list}})
                           .dump(2, ' ', false, nlohmann::json::error_handler_t::replace));
  else if (planned == 0)
    fmt::print("nothing to plan: no pending migrations in {}\n", ctx.options().dir);
  return kExitOk;
}

}  // namespace keyshift
