// `down` for keys the application changed since the migration, when the
// migration has a `revert`: the application's value is put into the old
// shape instead of being overwritten by the journaled one (SPEC 5,
// guarantee 10). Also the dry-run's simulated state of earlier steps.
//
// Exactly once. The reverted value is written, and the key's journal entry
// dropped, in one atomic script that first checks the entry is still there
// and the key still holds what the host read (CAS). A `down` killed at any
// instant either wrote and dropped the entry, or did neither: a second
// `down` never applies revert to a key twice. A key that changes between
// the read and the write is read and reverted again.
#include <algorithm>
#include <cstdlib>

#include <fmt/format.h>

#include "bindings/migration_script.h"
#include "core/digest.h"
#include "engine/journal.h"
#include "engine/rollback.h"
#include "engine/rollback_internal.h"
#include "engine/writer.h"
#include "redis/script_safety.h"

namespace keyshift {

// KEYS: the journaled key, its journal hash, its holder (the key itself, or
// where a rename moved it), the holder's journal hash.
// ARGV: as WriteArgs (writer.h) sends them: the holder's CAS content and
// expiry as read, code, type, m and the m elements as read, elements:
//   W write the elements to the key, D delete the holder, K keep the
//   holder's value (moved back to the key), X the holder was gone when read.
// Runs after kScriptSafetyLua, kJournalEntryLua, kWriteValueLua, kParseEntryLua.
const char* const kRevertScript = R"LUA(
local key, jkey, holder, hjkey = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local cas, expire_at, code, typ = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local m = tonumber(ARGV[5]) or 0
local entry = redis.call('HGET', jkey, key)
if not entry then return 'gone' end
local _, action, old_expire, _, _, dump = parse_entry(entry)
local t = redis.call('TYPE', holder).ok
if code == 'X' then
  if t ~= 'none' then return 'changed' end
elseif t ~= typ or string.format('%d', redis.call('PEXPIRETIME', holder)) ~= expire_at
       or not content_is(holder, typ, cas, ARGV, 6, m) then
  return 'changed'
end
local moves = holder ~= key and (code == 'W' or code == 'K')
if moves and redis.call('EXISTS', key) == 1 then return 'exists' end
local checks = {{'HDEL', jkey}, {'DEL', holder}, {'DEL', key}, {'RENAME', holder, key}, {'RESTORE', key},
                {'HDEL', hjkey}}
if code == 'W' then add_write_checks(checks, key, typ, expire_at) end
local refusal = refused(checks)
if refusal then return refusal end
if code == 'X' and action == 'D' then
  redis.call('RESTORE', key, old_expire == '-1' and '0' or old_expire, dump, 'REPLACE', 'ABSTTL')
elseif code == 'K' and moves then
  redis.call('RENAME', holder, key)
elseif code == 'D' then
  redis.call('DEL', holder)
elseif code == 'W' then
  redis.call('DEL', holder, key)
  write_value(key, typ, ARGV, 6 + m, expire_at)
end
redis.call('HDEL', jkey, key)
if holder ~= key then redis.call('HDEL', hjkey, holder) end
return 'ok'
)LUA";

namespace {

constexpr int kRevertAttempts = 20;

const LuaScript& RevertScript() {
  static const LuaScript script(std::string(kScriptSafetyLua) + kJournalEntryLua + kWriteValueLua + kParseEntryLua +
                                kRevertScript);
  return script;
}

// The script's ARGV for `entry`, whose holder now reads as `now`.
Result<std::vector<std::string>> RevertArgs(MigrationScript& script, const RollbackLoaded& l, const KeySnapshot& now) {
  if (now.state != KeySnapshot::kPresent) return std::vector<std::string>{"", "-1", "X", "none"};
  auto outcome = script.Revert(l.key, now.value);
  if (!outcome.ok()) return outcome.error();
  // The action's code is the script's: W, D or K (Revert never renames).
  WriteOp op{now.key, now.cas(), outcome->action, "", {}};
  if (op.action == KeyAction::kRewrite) op.value = std::move(outcome->value);
  return WriteArgs(op);
}

}  // namespace

Status Rollback::RevertBatch(Pass& p, const std::string& journal_hash, std::vector<RollbackLoaded> pending) {
  for (int attempt = 0; attempt < kRevertAttempts && !pending.empty(); ++attempt) {
    std::vector<std::string> holders;
    for (const auto& l : pending) holders.push_back(Holder(l));
    auto now = ReadKeys(scripts_, keys_, p.version, holders, /*skip_done=*/false);
    if (!now.ok()) return now.error();
    std::vector<Command> commands;
    std::vector<RollbackLoaded> sent;
    for (size_t i = 0; i < pending.size(); ++i) {
      if ((*now)[i].state == KeySnapshot::kUnsupported) {
        NoteConflict(p, pending[i].key, ConflictKind::kUnsupported);
        continue;
      }
      auto args = RevertArgs(*p.options->revert, pending[i], (*now)[i]);
      if (!args.ok()) return args.error();
      commands.push_back(scripts_.Evalsha(RevertScript(), {pending[i].key, journal_hash, holders[i],
                                                           keys_.journal(p.version, holders[i])}, *args));
      sent.push_back(std::move(pending[i]));
    }
    auto replies = scripts_.Run(commands);
    if (!replies.ok()) return replies.error();
    pending.clear();
    for (size_t i = 0; i < sent.size(); ++i) {
      const Reply& r = (*replies)[i];
      if (r.is_error()) return Fail(fmt::format("reverting {}: {}", QuoteKey(sent[i].key), r.str));
      if (r.str == "ok") ++p.report.reverted;
      else if (r.str == "changed") pending.push_back(std::move(sent[i]));
      else if (r.str == "exists") NoteConflict(p, sent[i].key, ConflictKind::kExists);
    }
  }
  for (const auto& l : pending) NoteConflict(p, l.key, ConflictKind::kBusy);
  return Status::Ok();
}

Status Rollback::PreviewRevert(Pass& p, const RollbackLoaded& l, const KeySnapshot& now) {
  const std::string& holder = Holder(l);
  ++p.report.reverted;
  if (now.state != KeySnapshot::kPresent) {
    if (p.sinks->note)
      p.sinks->note(fmt::format("{}: deleted by the application since; would stay deleted", QuoteKey(l.key)));
    Simulate(l.key, nullptr, -1);
    return Status::Ok();
  }
  auto outcome = p.options->revert->Revert(l.key, now.value);
  if (!outcome.ok()) return outcome.error();
  KeyChange c{holder, now.value, PttlFromExpireAt(now.expire_at), KeyAction::kRewrite, "", now.value};
  if (outcome->action == KeyAction::kDelete) c.action = KeyAction::kDelete;
  if (outcome->action == KeyAction::kRewrite) c.after = outcome->value;
  if (holder != l.key && c.action != KeyAction::kDelete) {
    c.action = KeyAction::kRename;
    c.new_key = l.key;
  }
  if (p.sinks->diff) p.sinks->diff(c);
  if (holder != l.key) Simulate(holder, nullptr, -1);
  Simulate(l.key, c.action == KeyAction::kDelete ? nullptr : &c.after, now.expire_at);
  return Status::Ok();
}

void Rollback::NoteConflict(Pass& p, const std::string& key, ConflictKind kind) {
  ++p.report.conflicts;
  if (p.report.conflict_samples.size() >= kMaxConflictSamples) return;
  const char* why = kind == ConflictKind::kChanged ? "changed by the application since the migration wrote it"
                    : kind == ConflictKind::kExists ? "exists again (the application recreated it)"
                    : kind == ConflictKind::kBusy   ? "kept changing while `down` reverted it; run `keyshift down` again"
                                                    : "now of a type keyshift cannot read";
  p.report.conflict_samples.push_back(Conflict{key, why});
}

// ------------------------------------------------------------ simulation

Result<std::vector<KeySnapshot>> Rollback::ReadSimulated(Pass& p, const std::vector<std::string>& holders) {
  auto read = ReadKeys(scripts_, keys_, p.version, holders, /*skip_done=*/false);
  if (!read.ok()) return read.error();
  for (size_t i = 0; i < holders.size(); ++i) {
    auto it = simulated_.find(holders[i]);
    if (it != simulated_.end()) (*read)[i] = it->second;
  }
  return read;
}

void Rollback::Simulate(const std::string& key, const Value* value, long long expire_at) {
  KeySnapshot s;
  s.key = key;
  if (value) {
    s.state = KeySnapshot::kPresent;
    s.type_name = KeyTypeName(value->type);
    s.value = *value;
    s.expire_at = expire_at;
    s.digest = ContentDigest(*value);
  }
  simulated_[key] = std::move(s);
}

void Rollback::SimulateRestore(const RollbackLoaded& l, const Value* old) {
  Simulate(l.key, old, l.entry.expire_at);
  KeySnapshot& s = simulated_[l.key];
  s.state = KeySnapshot::kPresent;  // an undecodable payload still has its DUMP digest
  s.dump_digest = Sha1Hex(l.entry.dump);
  if (l.entry.action == KeyAction::kRename) Simulate(l.entry.other_key, nullptr, -1);
}

// The digest over the elements Redis would reply with: a zset in Redis's
// order (score, then member bytes).
std::string ContentDigest(const Value& v) {
  std::vector<std::string_view> flat;
  if (v.type == KeyType::kString) flat.push_back(v.str);
  for (const auto& item : v.items) flat.push_back(item);
  const auto* pairs = &v.pairs;
  std::vector<std::pair<std::string, std::string>> by_score;
  if (v.type == KeyType::kZSet) {
    by_score = v.pairs;
    std::stable_sort(by_score.begin(), by_score.end(), [](const auto& a, const auto& b) {
      double x = std::strtod(a.second.c_str(), nullptr), y = std::strtod(b.second.c_str(), nullptr);
      return x != y ? x < y : a.first < b.first;
    });
    pairs = &by_score;
  }
  for (const auto& [name, text] : *pairs) flat.insert(flat.end(), {name, text});
  return FlatContentDigest(KeyTypeName(v.type), flat);
}

}  // namespace keyshift
