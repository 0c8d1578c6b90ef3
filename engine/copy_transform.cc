// copy --apply / --revert: the steps chosen from both ledgers, and one key's
// way through them (copy_transform.h).
#include "engine/copy_transform.h"

#include <fmt/format.h>

#include <algorithm>

#include "core/dump_decoder.h"
#include "core/glob.h"
#include "core/slot.h"
#include "engine/catalog.h"

namespace keyshift {

bool CopyTransforms::MaySelect(const std::string& key) const {
  for (const CopyStep& s : steps_)
    if (GlobMatch(s.script->info().scan.match, key)) return true;
  return false;
}

Result<TransformOutcome> CopyTransforms::Step(CopyStep& step, const std::string& key, const Value& value) {
  if (direction_ == CopyDirection::kRevert) return step.script->Revert(key, value);
  return step.script->Transform(key, value);
}

// The refusals host mode has (host_strategy.cc): never into keyshift's own
// keys; on a cluster target, never out of the source key's slot, since the
// key is written in one script with its progress mark (in that slot).
std::string CopyTransforms::Refusal(const CopyStep& step, const std::string& key, const std::string& source_key,
                                    const std::string& new_key) const {
  if (state_ && state_->Owns(new_key))
    return fmt::format("{}: ks.rename target {} is inside keyshift's prefix '{}' (key {})", step.script->path(),
                       QuoteKey(new_key), state_->prefix(), QuoteKey(key));
  if (cluster_ && KeySlot(new_key) != KeySlot(source_key))
    return fmt::format("{}: ks.rename of {} to {} crosses hash slots ({} -> {}): a copy into a Redis Cluster writes "
                       "a key and its progress mark in one atomic script, within one slot. Give both names the same "
                       "hash tag (e.g. user:{{42}}:profile -> profile:{{42}}); the key was not copied",
                       step.script->path(), QuoteKey(source_key), QuoteKey(new_key), KeySlot(source_key),
                       KeySlot(new_key));
  return "";
}

Result<Shaped> CopyTransforms::Run(const std::string& key, Value value) {
  Shaped out{false, false, key, std::move(value)};
  for (CopyStep& step : steps_) {
    const ScanSpec& scan = step.script->info().scan;
    if (!GlobMatch(scan.match, out.key) || (scan.type && *scan.type != out.value.type)) continue;
    auto outcome = Step(step, out.key, out.value);
    if (!outcome.ok()) return outcome.error();
    Counters& n = counts_[step.version];
    ++n.scanned;
    switch (outcome->action) {
      case KeyAction::kDelete:
        ++n.deleted;
        out.touched = out.dropped = true;
        return out;
      case KeyAction::kRename:
        if (std::string refusal = Refusal(step, out.key, key, outcome->new_key); !refusal.empty()) return Fail(refusal);
        ++n.renamed;
        out.key = outcome->new_key;
        if (outcome->value.type != KeyType::kNone) out.value = std::move(outcome->value);
        out.touched = true;
        break;
      case KeyAction::kRewrite:
        ++n.changed;
        out.value = std::move(outcome->value);
        out.touched = true;
        break;
      default:
        break;
    }
  }
  return out;
}

Result<Shaped> CopyTransforms::RunDump(const std::string& key, const std::string& payload, Value* before) {
  auto value = DecodeDump(payload);
  if (value.ok()) {
    if (before) *before = *value;
    return Run(key, std::move(value.value()));
  }
  // Streams and module types: a migration that would be handed one fails, as in `up`.
  for (const CopyStep& s : steps_) {
    const ScanSpec& scan = s.script->info().scan;
    if (!scan.type && GlobMatch(scan.match, key))
      return Fail(fmt::format("{}: key {} is of a type keyshift does not migrate ({}); keyshift migrates string, "
                              "hash, list, set and zset keys",
                              s.script->path(), QuoteKey(key), value.error().message));
  }
  return Shaped{false, false, key, {}};
}

std::string CopyTransforms::Signature() const {
  if (steps_.empty()) return "";
  std::string text = direction_ == CopyDirection::kRevert ? "revert:" : "apply:";
  for (size_t i = 0; i < steps_.size(); ++i) text += (i ? "," : "") + std::to_string(steps_[i].version);
  return text;
}

// "V:scanned:changed:deleted:renamed" per version, comma-separated.
std::string CopyTransforms::CountsText() const {
  std::string text;
  for (const auto& [version, c] : counts_)
    text += fmt::format("{}{}:{}:{}:{}:{}", text.empty() ? "" : ",", version, c.scanned, c.changed, c.deleted,
                        c.renamed);
  return text;
}

// Counts are a report, not state a decision rests on: unreadable parts are left at 0.
void CopyTransforms::SetCounts(const std::string& text) {
  counts_.clear();
  size_t at = 0;
  while (at < text.size()) {
    size_t end = std::min(text.find(',', at), text.size());
    long long v[5] = {0, 0, 0, 0, 0};
    size_t field = 0, from = at;
    for (size_t i = at; i <= end && field < 5; ++i)
      if (i == end || text[i] == ':') {
        v[field++] = ParseStateInt(text.substr(from, i - from)).value_or(0);
        from = i + 1;
      }
    Counters& c = counts_[v[0]];
    c.scanned = v[1], c.changed = v[2], c.deleted = v[3], c.renamed = v[4];
    at = end + 1;
  }
}

KeyChange CopyTransforms::Change(const std::string& key, const Value& before, long long pttl, const Shaped& after) {
  KeyChange c{key, before, pttl, KeyAction::kRewrite, "", after.value};
  if (after.dropped) c.action = KeyAction::kDelete;
  else if (after.key != key) {
    c.action = KeyAction::kRename;
    c.new_key = after.key;
  }
  return c;
}

namespace {

std::string NotFinished(const MigrationState& m) {
  return fmt::format("{} is {} on the source: its keys are partly in the new shape there, so a copy cannot tell which "
                     "to transform. Finish it on the source (keyshift up) or undo it (keyshift down) first; nothing "
                     "was copied",
                     m.name, MigrationStatusName(m.status));
}

Result<std::unique_ptr<MigrationScript>> LoadStep(const MigrationState& m) {
  if (!m.file) return UsageError(fmt::format("{}: its file is missing from the migrations directory", m.name));
  auto script = MigrationScript::Load(m.file->path, m.file->text, SandboxLimits{});
  if (!script.ok()) return UsageError(script.error().message);
  return std::move(script.value());
}

// What the target's ledger says of a migration whose keys it got through this copy.
// A pending one (`fresh`) gets a new record, as `up` would write it.
LedgerRecord CopiedRecord(const MigrationState& m, const std::string& source_id, bool fresh) {
  LedgerRecord r = fresh ? LedgerRecord{} : *m.record;
  if (fresh) {
    r.version = m.version;
    r.name = m.name;
    r.sha256 = m.file->sha256;
    r.status = LedgerStatus::kApplied;
    r.applied_at = NowIso8601();
    r.by = CurrentUserAtHost();
  }
  r.copied_from = source_id;
  return r;
}

Result<CopyPlan> PlanApply(const Catalog& source, const StateKeys& state, const TransformRequest& request,
                           const std::string& source_id, bool cluster) {
  CopyPlan plan;
  std::vector<CopyStep> steps;
  const MigrationState* newest_applied = nullptr;
  for (const MigrationState& m : source.migrations)
    if (m.applied()) newest_applied = &m;
  for (const MigrationState& m : source.migrations) {
    if (m.applied()) {
      plan.ledger.push_back(CopiedRecord(m, source_id, false));
      continue;
    }
    if (m.status != MigrationStatus::kPending) return UsageError(NotFinished(m));
    if (!m.file || (request.up_to && m.version > *request.up_to)) continue;
    if (newest_applied && newest_applied->version > m.version)
      return UsageError(fmt::format("{} is pending on the source but a later migration, {}, is applied there; apply "
                                    "it on the source first, or renumber it; nothing was copied",
                                    m.name, newest_applied->name));
    auto script = LoadStep(m);
    if (!script.ok()) return script.error();
    steps.push_back(CopyStep{m.version, m.name, std::move(script.value())});
    plan.ledger.push_back(CopiedRecord(m, source_id, true));
  }
  plan.transforms = CopyTransforms(CopyDirection::kApply, std::move(steps), &state, cluster);
  return plan;
}

std::string NoRevert(const MigrationState& m) {
  return fmt::format("{} is applied on the source and not on the target, and has no `revert`: its keys cannot be put "
                     "back into the old shape. Add a revert function to {}, or pass --without-revert {} to copy its "
                     "keys in the new shape (the target's ledger then records it as applied); nothing was copied",
                     m.name, m.file ? m.file->path : m.name, m.version);
}

Result<CopyPlan> PlanRevert(const Catalog& source, const Catalog& target, const StateKeys& state,
                            const TransformRequest& request, const std::string& source_id, bool cluster) {
  CopyPlan plan;
  std::vector<CopyStep> steps;
  for (auto it = source.migrations.rbegin(); it != source.migrations.rend(); ++it) {
    const MigrationState& m = *it;
    if (!m.applied()) {
      if (m.status != MigrationStatus::kPending) return UsageError(NotFinished(m));
      continue;
    }
    auto there = std::find_if(target.migrations.begin(), target.migrations.end(),
                              [&](const MigrationState& t) { return t.version == m.version; });
    bool on_target = there != target.migrations.end() && there->applied();
    if (on_target) continue;
    if (request.without_revert.count(m.version)) {
      plan.ledger.push_back(CopiedRecord(m, source_id, false));
      continue;
    }
    auto script = LoadStep(m);
    if (!script.ok()) return script.error();
    if (!(*script)->info().has_revert) return UsageError(NoRevert(m));
    steps.push_back(CopyStep{m.version, m.name, std::move(script.value())});
    // As `down` leaves it: a record the target had goes to rolled_back.
    if (there != target.migrations.end() && there->record) {
      LedgerRecord r = *there->record;
      r.status = LedgerStatus::kRolledBack;
      r.rolled_back_at = NowIso8601();
      plan.ledger.push_back(r);
    }
  }
  plan.transforms = CopyTransforms(CopyDirection::kRevert, std::move(steps), &state, cluster);
  return plan;
}

}  // namespace

Result<CopyPlan> PlanCopyTransforms(Topology* source, Topology* target, const StateKeys& state,
                                    const MigrationDir& dir, const TransformRequest& request,
                                    const std::string& source_id) {
  if (request.direction == CopyDirection::kNone) return CopyPlan{};
  auto from = LoadCatalog(source, state, dir);
  if (!from.ok()) return from.error();
  if (request.direction == CopyDirection::kApply)
    return PlanApply(*from, state, request, source_id, target->cluster());
  auto to = LoadCatalog(target, state, dir);
  if (!to.ok()) return to.error();
  return PlanRevert(*from, *to, state, request, source_id, target->cluster());
}

}  // namespace keyshift
