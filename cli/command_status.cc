// `keyshift status`: every migration with its state, counts and times.
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "core/text.h"
#include "engine/catalog.h"

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
      if (m.retryable() && m.file && m.file->sha256 != m.record->sha256)
        s += "; file changed since: `keyshift up` retries the failed keys with it";
      else if (m.retryable())
        s += "; they were left as they were: `keyshift up` retries them";
      if (m.status == MigrationStatus::kDrifted)
        s += m.file ? "; FILE CHANGED since it was applied" : "; FILE MISSING from the directory";
      if (m.record->conflicts > 0)
        s += fmt::format("; `down` at {} left {} conflicting keys (`keyshift down --force` restores them)",
                         m.record->rolled_back_at, m.record->conflicts);
      if (!m.record->pruned_at.empty()) s += "; journal pruned (final)";
      if (!m.record->copied_from.empty())
        s += fmt::format("; keys copied in this shape from {} (no journal: the way back is `copy --revert`)",
                         m.record->copied_from);
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
      return m.record && m.record->status == LedgerStatus::kRolledBack ? "rolled back" : "";
  }
  return "";
}

// The status column: "applied, 3 keys failed" for a run --on-error skip
// finished with keys it could not migrate.
std::string StatusText(const MigrationState& m) {
  std::string s = MigrationStatusName(m.status);
  if (m.failed_keys() > 0) s += fmt::format(", {} keys failed", m.failed_keys());
  return s;
}

// What `status --check` answers (SPEC 4): 1 when anything needs a look
// (failed, failed keys, drifted, interrupted, running, a partial `down`),
// else 4 when something is still pending, else 0.
int CheckExitCode(const Catalog& cat) {
  bool pending = false, unclean = false;
  for (const auto& m : cat.migrations) {
    pending |= m.status == MigrationStatus::kPending && m.file;
    unclean |= m.status != MigrationStatus::kPending && m.status != MigrationStatus::kApplied;
    unclean |= m.failed_keys() > 0 || (m.record && m.record->conflicts > 0);
  }
  return unclean ? kExitFailed : pending ? kExitPending : kExitOk;
}

const char* CheckVerdict(int code) {
  switch (code) {
    case kExitOk: return "check: every migration is applied and clean";
    case kExitPending: return "check: pending migrations remain";
    default: return "check: a migration failed, left failed keys, drifted or was interrupted";
  }
}

nlohmann::json ToJson(const MigrationState& m) {
  nlohmann::json j = {{"version", m.version}, {"name", m.name}, {"status", MigrationStatusName(m.status)},
                      {"keys_failed", m.failed_keys()}, {"file", m.file ? m.file->path : ""}};
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
  int code = ctx.options().check ? CheckExitCode(cat) : kExitOk;
  if (ctx.json()) {
    nlohmann::json list = nlohmann::json::array();
    for (const auto& m : cat.migrations) list.push_back(ToJson(m));
    nlohmann::json out = {{"ok", code == kExitOk}, {"redis", ctx.RedisDescription()}, {"migrations", list}};
    if (ctx.options().check) out["check"] = {{"exit_code", code}, {"verdict", CheckVerdict(code)}};
    fmt::print("{}\n", out.dump(2, ' ', false, nlohmann::json::error_handler_t::replace));
    return code;
  }
  fmt::print("{} (prefix {}), migrations in {}\n", ctx.RedisDescription(), ctx.state().prefix(), ctx.options().dir);
  if (cat.migrations.empty()) fmt::print("  no migrations yet: `keyshift new SLUG` writes the first one\n");
  int pending = 0;
  for (const auto& m : cat.migrations) {
    pending += m.status == MigrationStatus::kPending;
    fmt::print("  {:<32} {:<11} {}\n", TerminalSafe(m.name), StatusText(m), TerminalSafe(Detail(m)));
  }
  if (pending) fmt::print("{} pending: `keyshift up --dry-run` shows what they would change\n", pending);
  if (ctx.options().check) fmt::print("{}\n", CheckVerdict(code));
  return code;
}

}  // namespace keyshift
