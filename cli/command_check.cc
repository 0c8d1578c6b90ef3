// `keyshift check`: lints the directory without changing anything: file
// names and numbering, each file loaded in its sandbox (syntax, required
// fields, top-level sandbox violations), and drift against the ledger when
// Redis is reachable.
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "bindings/migration_script.h"
#include "cli/commands.h"
#include "core/enum_words.h"
#include "core/text.h"
#include "engine/catalog.h"
#include "engine/planner.h"
#include "server_mode/portability.h"

namespace keyshift {

namespace {

enum class Level { kError, kWarning, kOk };
// The words text and JSON output show ("level").
constexpr EnumWord<Level> kLevelWords[] = {{Level::kError, "error"}, {Level::kWarning, "warning"}, {Level::kOk, "ok"}};

struct Finding {
  Level level;
  std::string text;
};

void CheckFiles(const MigrationDir& dir, std::vector<Finding>* out) {
  long long expected = dir.files.empty() ? 0 : dir.files.front().version;
  for (const auto& f : dir.files) {
    if (f.version != expected)
      out->push_back({Level::kWarning, fmt::format("{}: version {} follows {} (gap in numbering)", f.path, f.version,
                                             expected - 1)});
    expected = f.version + 1;
    auto script = MigrationScript::Load(f.path, f.text, SandboxLimits{});
    if (!script.ok()) {
      out->push_back({Level::kError, script.error().message});
      continue;
    }
    bool server = (*script)->info().mode == RunMode::kServer;
    auto issues = server ? CheckPortability(f.text) : std::vector<PortabilityIssue>{};
    for (const auto& issue : issues)
      out->push_back({Level::kError, fmt::format("{}:{}: {} (mode = \"server\": Redis runs Lua 5.1)", f.path,
                                                 issue.line, issue.message)});
    if (issues.empty()) out->push_back({Level::kOk, fmt::format("{}: {}", f.path, (*script)->info().description)});
  }
}

// With a server at hand: revert(transform(v)) == v over a sample of each
// revert's keys, as warnings (offline, check cannot see any values).
void CheckRevertRoundTrips(Topology* conn, const StateKeys& keys, const Catalog& cat, std::vector<Finding>* out) {
  for (const auto& m : cat.migrations) {
    if (!m.file) continue;
    auto script = MigrationScript::Load(m.file->path, m.file->text, SandboxLimits{});
    if (!script.ok() || !(*script)->info().has_revert) continue;
    (*script)->SetLogSink([](const std::string&) {});
    auto r = SampleRevert(conn, keys, *m.file, **script);
    if (!r.ok()) {
      out->push_back({Level::kWarning, fmt::format("{}: revert not sampled: {}", m.file->path, r.error().message)});
      continue;
    }
    for (const auto& x : r->examples)
      out->push_back({Level::kWarning,
                      fmt::format("{}: revert does not undo transform on sampled key {}", m.file->path, x)});
    if (r->mismatched > static_cast<long long>(r->examples.size()))
      out->push_back({Level::kWarning, fmt::format("{}: ... and {} more sampled keys", m.file->path,
                                             r->mismatched - static_cast<long long>(r->examples.size()))});
  }
}

void CheckDrift(Context& ctx, const MigrationDir& dir, std::vector<Finding>* out) {
  auto conn = ctx.Redis();
  if (!conn.ok()) {
    out->push_back({Level::kWarning, fmt::format("drift not checked: {}", conn.error().message)});
    return;
  }
  auto cat = LoadCatalog(*conn, ctx.state(), dir);
  if (!cat.ok()) {
    out->push_back({Level::kWarning, fmt::format("drift not checked: {}", cat.error().message)});
    return;
  }
  CheckRevertRoundTrips(*conn, ctx.state(), *cat, out);
  for (const auto& m : cat->migrations)
    if (m.status == MigrationStatus::kDrifted)
      out->push_back({Level::kError, fmt::format("{}: drifted: {} since it was applied at {}", m.name,
                                           m.file ? "the file changed" : "the file was removed",
                                           m.record->applied_at)});
}

}  // namespace

int CmdCheck(Context& ctx) {
  auto dir = ReadMigrationDir(ctx.options().dir);
  if (!dir.ok()) return ReportError(ctx, dir.error());
  std::vector<Finding> findings;
  for (const auto& w : dir->warnings) findings.push_back({Level::kWarning, w});
  CheckFiles(*dir, &findings);
  CheckDrift(ctx, *dir, &findings);
  int errors = 0;
  for (const auto& f : findings) errors += f.level == Level::kError;
  if (ctx.json()) {
    nlohmann::json list = nlohmann::json::array();
    for (const auto& f : findings) list.push_back({{"level", WordOf(kLevelWords, f.level)}, {"message", f.text}});
    fmt::print("{}\n", nlohmann::json({{"ok", errors == 0}, {"findings", list}})
                           .dump(2, ' ', false, nlohmann::json::error_handler_t::replace));
  } else {
    for (const auto& f : findings) fmt::print("{:<8} {}\n", WordOf(kLevelWords, f.level), TerminalSafe(f.text));
    fmt::print("{} file(s), {} error(s)\n", dir->files.size(), errors);
  }
  return errors ? kExitFailed : kExitOk;
}

}  // namespace keyshift
