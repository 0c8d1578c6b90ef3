// Sampling the keyspace for `plan` and for `up`'s journal check.
#include "engine/planner.h"

#include <fnmatch.h>

#include <chrono>
#include <cmath>
#include <cstdlib>

#include <fmt/format.h>

#include "engine/journal.h"
#include "engine/reader.h"
#include "engine/server_check.h"
#include "engine/memory_guard.h"
#include "engine/scanner.h"
#include "redis/script_cache.h"

namespace keyshift {

namespace {

// Keys summed over the primaries; memory as `up` judges it (memory_guard.h):
// on a cluster the primary with the least room, against the whole journal.
Status ReadMemory(Topology* topology, PlanEstimate* e) {
  auto sizes = OnEveryPrimary(topology, {"DBSIZE"});
  if (!sizes.ok()) return sizes.error();
  for (const PrimaryReply& r : *sizes) e->db_keys += r.reply.integer;
  auto memory = ReadServerMemory(topology, "0");
  if (!memory.ok()) return memory.error();
  e->used_memory = memory->used;
  e->maxmemory = memory->maxmemory;
  return Status::Ok();
}

// Keys of the first SCAN pages of every primary (SCAN order follows the hash
// table, so this is a fair sample) that match the migration's pattern.
// keyshift's own keys count as sampled: the estimate scales by DBSIZE, which
// counts them, and journals alone can add one hash per slot per migration.
Result<std::vector<std::string>> SampleKeys(Topology* topology, const StateKeys& keys, const std::string& match,
                                            long long sample_size, PlanEstimate* e) {
  std::vector<std::string> matched;
  Scanner scanner(topology, "*", std::nullopt, 1000, nullptr);
  while (!scanner.done() && e->sampled < sample_size) {
    auto batch = scanner.Next();
    if (!batch.ok()) return batch.error();
    for (auto& k : *batch) {
      ++e->sampled;
      if (!keys.Owns(k) && fnmatch(match.c_str(), k.c_str(), 0) == 0) matched.push_back(std::move(k));
    }
  }
  e->exact = scanner.done();
  return matched;
}

void AddRoundTrip(MigrationScript& script, const KeySnapshot& s, const TransformOutcome& out, RevertSample* r) {
  if (!script.info().has_revert || out.action == KeyAction::kKeep || out.action == KeyAction::kDelete)
    return;
  ++r->checked;
  auto back = script.Revert(s.key, out.value);
  std::string why;
  if (!back.ok()) why = back.error().message;
  else if (back->action == KeyAction::kDelete) why = "revert deletes the migrated value";
  else if (!SameValue(back->action == KeyAction::kKeep ? out.value : back->value, s.value))
    why = "revert(transform(value)) differs from value";
  if (why.empty()) return;
  ++r->mismatched;
  if (r->examples.size() < 5) r->examples.push_back(fmt::format("{}: {}", QuoteKey(s.key), why));
}

}  // namespace

Result<RevertSample> SampleRevert(Topology* conn, const StateKeys& keys, const MigrationFile& file,
                                  MigrationScript& script, long long sample_size) {
  RevertSample r;
  PlanEstimate e;
  auto sample = SampleKeys(conn, keys, script.info().scan.match, sample_size, &e);
  if (!sample.ok()) return sample.error();
  ScriptCache scripts(conn);
  auto snaps = ReadKeys(scripts, keys, file.version, *sample, /*skip_done=*/false);
  if (!snaps.ok()) return snaps.error();
  for (const auto& s : *snaps) {
    if (s.state != KeySnapshot::kPresent || (script.info().scan.type && *script.info().scan.type != s.value.type))
      continue;
    auto outcome = script.Transform(s.key, s.value);
    if (outcome.ok()) AddRoundTrip(script, s, *outcome, &r);
  }
  return r;
}

Result<PlanEstimate> EstimatePlan(Topology* conn, const StateKeys& keys, const MigrationFile& file,
                                  MigrationScript& script, long long sample_size) {
  PlanEstimate e;
  if (Status st = ReadMemory(conn, &e); !st) return st.error();
  const ScanSpec& scan = script.info().scan;
  auto scan_start = std::chrono::steady_clock::now();
  auto sample = SampleKeys(conn, keys, scan.match, sample_size, &e);
  if (!sample.ok()) return sample.error();
  auto start = std::chrono::steady_clock::now();
  double scan_secs = std::chrono::duration<double>(start - scan_start).count();
  ScriptCache scripts(conn);
  auto snaps = ReadKeys(scripts, keys, file.version, *sample);
  if (!snaps.ok()) return snaps.error();
  long long changed_bytes = 0;
  std::vector<std::pair<const KeySnapshot*, TransformOutcome>> changed;
  for (const auto& s : *snaps) {
    if (s.state != KeySnapshot::kPresent || (scan.type && *scan.type != s.value.type)) continue;
    ++e.sample_matched;
    auto outcome = script.Transform(s.key, s.value);
    if (!outcome.ok() && ++e.sample_errors <= static_cast<long long>(PlanEstimate::kNamedFailures))
      e.failures.emplace_back(s.key, outcome.error().message);
    if (!outcome.ok() || outcome->action == KeyAction::kKeep) continue;
    changed.emplace_back(&s, std::move(outcome.value()));
    ++e.sample_changed;
    changed_bytes += JournalEntryBytes(s.dump_bytes, s.key.size());
  }
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  for (const auto& [snap, outcome] : changed) AddRoundTrip(script, *snap, outcome, &e.revert);  // not timed
  double scale = e.exact || e.sampled == 0 ? 1.0 : static_cast<double>(e.db_keys) / e.sampled;
  e.est_matched = std::llround(e.sample_matched * scale);
  e.est_changed = std::llround(e.sample_changed * scale);
  e.est_journal_bytes = std::llround(changed_bytes * scale);
  // Writing a changed key costs about what reading it did: count it twice.
  long long work = e.sample_matched + e.sample_changed;
  e.seconds_per_key = work > 0 ? secs / work : 0;
  double scan_per_key = e.sampled > 0 ? scan_secs / e.sampled : 0;
  e.eta_seconds = e.seconds_per_key * static_cast<double>(e.est_matched + e.est_changed) +
                  scan_per_key * static_cast<double>(std::max(0LL, e.db_keys - e.sampled));
  return e;
}

Result<long long> EstimateMatchedKeys(Topology* conn, const StateKeys& keys, const std::string& match,
                                      long long sample_size) {
  PlanEstimate e;
  if (Status st = ReadMemory(conn, &e); !st) return st.error();
  auto sample = SampleKeys(conn, keys, match, sample_size, &e);
  if (!sample.ok()) return sample.error();
  if (e.exact || e.sampled == 0) return static_cast<long long>(sample->size());
  return std::llround(static_cast<double>(sample->size()) * static_cast<double>(e.db_keys) / e.sampled);
}

Result<long long> ParseByteSize(const std::string& text) {
  char* end = nullptr;
  double n = std::strtod(text.c_str(), &end);
  std::string unit = end ? end : "";
  for (auto& c : unit) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  long long mult = 0;
  if (unit.empty() || unit == "b") mult = 1;
  else if (unit == "k" || unit == "kb" || unit == "kib") mult = 1LL << 10;
  else if (unit == "m" || unit == "mb" || unit == "mib") mult = 1LL << 20;
  else if (unit == "g" || unit == "gb" || unit == "gib") mult = 1LL << 30;
  else if (unit == "t" || unit == "tb" || unit == "tib") mult = 1LL << 40;
  if (end == text.c_str() || mult == 0 || n < 0)
    return UsageError(fmt::format("invalid size '{}': use e.g. 512MB, 2GB or a number of bytes", text));
  return static_cast<long long>(n * mult);
}

std::string FormatBytes(long long n) {
  if (n < 10 * 1024) return fmt::format("{} B", n);
  if (n < 10LL * 1024 * 1024) return fmt::format("{:.1f} KiB", n / 1024.0);
  if (n < 10LL * 1024 * 1024 * 1024) return fmt::format("{:.1f} MiB", n / 1048576.0);
  return fmt::format("{:.1f} GiB", n / 1073741824.0);
}

}  // namespace keyshift
