// `keyshift verify [V]`: runs a migration's verify(key, value) over the keys
// it scans and reports the failing ones. Reads only.
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "bindings/migration_script.h"
#include "cli/commands.h"
#include "cli/json_output.h"
#include "core/text.h"
#include "engine/catalog.h"
#include "engine/journal.h"
#include "engine/reader.h"
#include "engine/scanner.h"

namespace keyshift {

namespace {

struct VerifyResult {
  long long checked = 0;
  long long failed = 0;
  std::vector<std::pair<std::string, std::string>> shown;  // key, reason
};

Result<VerifyResult> VerifyOne(Context& ctx, Topology* conn, const MigrationFile& file, MigrationScript& script) {
  VerifyResult r;
  const ScanSpec& scan = script.info().scan;
  Scanner scanner(conn, scan.match, scan.type, scan.batch, &ctx.state());
  ScriptCache scripts(conn);
  while (!scanner.done()) {
    auto keys = scanner.Next();
    if (!keys.ok()) return keys.error();
    auto snaps = ReadKeys(scripts, ctx.state(), file.version, *keys, /*skip_done=*/false);
    if (!snaps.ok()) return snaps.error();
    for (const auto& s : *snaps) {
      if (s.state != KeySnapshot::kPresent) continue;
      ++r.checked;
      auto outcome = script.Verify(s.key, s.value);
      std::string reason = !outcome.ok() ? outcome.error().message : outcome->second;
      if (outcome.ok() && outcome->first) continue;
      ++r.failed;
      if (static_cast<int>(r.shown.size()) < ctx.options().limit) r.shown.emplace_back(s.key, reason);
    }
  }
  return r;
}

// A rolled-back migration has no shape of its own left to check: `verify V`
// checks instead that `down` left nothing of it behind. Every key V's
// journal still holds is one it changed that was neither restored nor
// reverted (a rename's new name, entry C, counts with its old name).
Result<VerifyResult> VerifyRolledBack(Context& ctx, Topology* conn, long long version) {
  VerifyResult r;
  auto hashes = ListJournalHashes(conn, ctx.state(), version);
  if (!hashes.ok()) return hashes.error();
  for (const auto& hash : *hashes) {
    auto fields = CallState(conn, {"HKEYS", hash}, hash);
    if (!fields.ok()) return fields.error();
    for (const auto& f : fields->elements) {
      ++r.checked;
      ++r.failed;
      if (static_cast<int>(r.shown.size()) < ctx.options().limit)
        r.shown.emplace_back(f.str, "still in the migration's journal: `down` did not undo it");
    }
  }
  return r;
}

// Fully or partly (conflicts left) rolled back; `up` writes a fresh record.
bool RolledBack(const MigrationState& m) { return m.record && !m.record->rolled_back_at.empty(); }

}  // namespace

int CmdVerify(Context& ctx) {
  auto ws = ctx.Open();
  if (!ws.ok()) return ReportError(ctx, ws.error());
  const MigrationDir& dir = (*ws)->dir;
  Topology* conn = (*ws)->conn;
  const Catalog& cat = (*ws)->catalog;
  const auto& version = ctx.options().version;
  if (version && !dir.Find(*version))
    return ReportError(ctx, UsageError(fmt::format("no migration with version {} in {}", *version, ctx.options().dir)));
  nlohmann::json results = nlohmann::json::array();
  long long total_failed = 0;
  for (const auto& m : cat.migrations) {
    if (!m.file || (version ? m.version != *version : !m.applied())) continue;
    bool rolled_back = RolledBack(m);
    auto script = MigrationScript::Load(m.file->path, m.file->text, SandboxLimits{});
    if (!script.ok()) return ReportError(ctx, script.error());
    if (!(*script)->info().has_verify && !rolled_back) {
      if (version) return ReportError(ctx, UsageError(fmt::format("{} has no verify function", m.file->path)));
      continue;
    }
    auto r = rolled_back ? VerifyRolledBack(ctx, conn, m.version) : VerifyOne(ctx, conn, *m.file, **script);
    if (!r.ok()) return ReportError(ctx, r.error());
    total_failed += r->failed;
    nlohmann::json shown = nlohmann::json::array();
    for (const auto& [key, reason] : r->shown) {
      // A key error object (json_output.h); `reason` kept for older readers.
      nlohmann::json failure = KeyErrorJson(key, m.file->path, reason);
      failure["reason"] = reason;
      shown.push_back(std::move(failure));
      if (!ctx.json()) fmt::print("{}", TerminalSafe(fmt::format("  FAIL {} {}: {}\n", m.name, QuoteKey(key), reason)));
    }
    if (!ctx.json())
      fmt::print("{}{}: {} keys checked, {} failed{}\n", m.name, rolled_back ? " (rolled back: its journal)" : "",
                 r->checked, r->failed,
                 r->failed > static_cast<long long>(r->shown.size()) ? fmt::format(" ({} shown)", r->shown.size()) : "");
    results.push_back({{"version", m.version}, {"name", m.name}, {"checked", r->checked}, {"failed", r->failed},
                       {"rolled_back", rolled_back}, {"failures", shown}});
  }
  if (ctx.json())
    fmt::print("{}\n", nlohmann::json({{"ok", total_failed == 0}, {"migrations", results}})
                           .dump(2, ' ', false, nlohmann::json::error_handler_t::replace));
  else if (results.empty())
    fmt::print("nothing to verify: no applied migration has a verify function\n");
  return total_failed ? kExitFailed : kExitOk;
}

}  // namespace keyshift
