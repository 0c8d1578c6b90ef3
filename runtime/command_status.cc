// `keyshift status`: every migration with its state, counts and times.
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "runtime/catalog.h"
#include "runtime/commands.h"
#include "runtime/terminal.h"

namespace keyshift {

namespace {

std::string Detail(const MigrationState& m) {
  const Counters* c = m.record ? &m.record->counters : nullptr;
  switch (m.status) {
    case MigrationStatus::kApplied:
    case MigrationStatus::kDrifted: {
      std::string s = fmt::format("{} by {}; {} scanned, {} changed, {} deleted, {} renamed in {:.1f}s",
                                  m.record->applied_at, m.record->by, c->scanned, c->changed, c->deleted, c->renamed,
                                  m.record->duration_ms / 1000.0);
      if (c->failed > 0)
        s += fmt::format("; {} keys FAILED and were left as they were (see the ledger: --output json)", c->failed);
      if (m.status == MigrationStatus::kDrifted)
        s += m.file ? "; FILE CHANGED since it was applied" : "; FILE MISSING from the directory";
      if (m.record->conflicts > 0)
        s += fmt::format("; `down` at {} left {} conflicting keys (`keyshift down --force` restores them)",
                         m.record->rolled_back_at, m.record->conflicts);
      if (!m.record->pruned_at.empty()) s += "; journal pruned (final)";
      if (!m.record->caught_at.empty())
        s += fmt::format("; catch-up caught {} keys (last {})", m.record->caught, m.record->caught_at);
      return s;
    }
    case MigrationStatus::kRunning:
    case MigrationStatus::kInterrupted:
    case MigrationStatus::kFailed: {
      const Checkpoint* cp = m.checkpoint ? &*m.checkpoint : nullptr;
      std::string s = cp ? fmt::format("{} scanned, {} changed, {} failed so far", cp->counters.scanned,
                                       cp->counters.changed, cp->counters.failed)
                         : "";
      std::string error = cp && !cp->error.empty() ? cp->error : (m.record ? m.record->error : "");
      if (!error.empty()) s += "; " + error;
      if (m.status != MigrationStatus::kRunning) s += "; `keyshift up` resumes it";
      return s;
    }
    case MigrationStatus::kPending:
      return m.record && m.record->status == "rolled_back" ? "rolled back" : "";
  }
  return "";
}

nlohmann::json ToJson(const MigrationState& m) {
  nlohmann::json j = {{"version", m.version}, {"name", m.name}, {"status", MigrationStatusName(m.status)},
                      {"file", m.file ? m.file->path : ""}};
  if (m.record) j["ledger"] = nlohmann::json::parse(m.record->ToJson());
  if (m.checkpoint)
    j["checkpoint"] = {{"scanned", m.checkpoint->counters.scanned}, {"changed", m.checkpoint->counters.changed},
                       {"failed", m.checkpoint->counters.failed},
                       {"status", m.checkpoint->status}, {"error", m.checkpoint->error}};
  return j;
}

}  // namespace

int CmdStatus(Context& ctx) {
  auto ws = ctx.Open();
  if (!ws.ok()) return ReportError(ctx, ws.error());
  const Catalog& cat = (*ws)->catalog;
  if (ctx.json()) {
    nlohmann::json list = nlohmann::json::array();
    for (const auto& m : cat.migrations) list.push_back(ToJson(m));
    nlohmann::json out = {{"ok", true}, {"redis", ctx.RedisDescription()}, {"migrations", list}};
    fmt::print("{}\n", out.dump(2, ' ', false, nlohmann::json::error_handler_t::replace));
    return kExitOk;
  }
  fmt::print("{} (prefix {}), migrations in {}\n", ctx.RedisDescription(), ctx.state().prefix(), ctx.options().dir);
  if (cat.migrations.empty()) fmt::print("  no migrations yet: `keyshift new SLUG` writes the first one\n");
  int pending = 0;
  for (const auto& m : cat.migrations) {
    pending += m.status == MigrationStatus::kPending;
    fmt::print("  {:<32} {:<11} {}\n", TerminalSafe(m.name), MigrationStatusName(m.status), TerminalSafe(Detail(m)));
  }
  if (pending) fmt::print("{} pending: `keyshift up --dry-run` shows what they would change\n", pending);
  return kExitOk;
}

}  // namespace keyshift
