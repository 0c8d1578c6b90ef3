// Undo of one migration from its journal: the undo script, batches, passes.
#include "engine/rollback.h"

#include <chrono>

#include <fmt/format.h>

#include "bindings/migration_script.h"
#include "core/dump_decoder.h"
#include "engine/interrupt.h"
#include "engine/journal.h"
#include "engine/reader.h"
#include "engine/rollback_internal.h"
#include "redis/script_safety.h"

namespace keyshift {

const char* const kParseEntryLua = R"LUA(
local function parse_entry(entry)
  local fields, pos = {}, 1
  for i = 1, 5 do
    local bar = string.find(entry, '|', pos, true)
    fields[i] = string.sub(entry, pos, bar - 1)
    pos = bar + 1
  end
  local n = tonumber(fields[5])
  return fields[1], fields[2], fields[3], fields[4], string.sub(entry, pos, pos + n - 1), string.sub(entry, pos + n)
end
)LUA";

// KEYS: data key, its journal hash, the other key of a rename, its journal hash.
// ARGV[1]: '1' to restore even keys the application changed since.
// Runs after kScriptSafetyLua and kParseEntryLua.
const char* const kUndoScript = R"LUA(
local key, jkey, other, ojkey = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local force = ARGV[1] == '1'
local entry = redis.call('HGET', jkey, key)
if not entry then return 'gone' end
local format, action, expire_at, post, _, dump = parse_entry(entry)
if action == 'C' then return 'skip' end
local holder = key
if action == 'R' then holder = other end
-- What the holder's value digests to, in the entry's format (journal.h).
local function current_digest()
  local t = redis.call('TYPE', holder).ok
  if t == 'none' then return nil end
  if format == '1' then return redis.sha1hex(redis.call('DUMP', holder)) end
  if not READ_COMMAND[t] then return t end
  return digest_of(holder, t)
end
if action ~= 'D' and not force and current_digest() ~= post then return 'changed' end
if action ~= 'W' and not force and redis.call('EXISTS', key) == 1 then return 'exists' end
local checks = {{'RESTORE', key}, {'HDEL', jkey}}
if action == 'R' then checks[3], checks[4] = {'DEL', other}, {'HDEL', ojkey} end
local refusal = refused(checks)
if refusal then return refusal end
-- Restore before dropping anything: whatever fails after this leaves the
-- value under both names and its journal entry, never under neither.
local ttl = '0'
if expire_at ~= '-1' then ttl = expire_at end
redis.call('RESTORE', key, ttl, dump, 'REPLACE', 'ABSTTL')
if action == 'R' then
  redis.call('DEL', other)
  redis.call('HDEL', ojkey, other)
end
redis.call('HDEL', jkey, key)
return 'ok'
)LUA";

namespace {

using Loaded = RollbackLoaded;

Result<std::vector<Loaded>> LoadEntries(RedisConnection* conn, const std::string& journal_hash,
                                        const std::vector<std::string>& fields) {
  Command cmd{"HMGET", journal_hash};
  cmd.insert(cmd.end(), fields.begin(), fields.end());
  auto reply = conn->Call(cmd);
  if (!reply.ok()) return reply.error();
  std::vector<Loaded> out;
  for (size_t i = 0; i < fields.size() && i < reply->elements.size(); ++i) {
    if (reply->elements[i].is_nil()) continue;
    auto e = DecodeJournalEntry(reply->elements[i].str);
    if (!e.ok()) return Fail(fmt::format("{} entry for {}: {}", journal_hash, QuoteKey(fields[i]), e.error().message));
    if (e->action != KeyAction::kCreate) out.push_back(Loaded{fields[i], std::move(e.value())});
  }
  return out;
}

const LuaScript& UndoScript() {
  static const LuaScript script(std::string(kScriptSafetyLua) + kParseEntryLua + kUndoScript);
  return script;
}

}  // namespace

std::string Conflict::Text() const { return fmt::format("{}: {}", QuoteKey(key), reason); }

Status Rollback::UndoBatch(Pass& p, const std::string& journal_hash, const std::vector<std::string>& fields) {
  auto entries = LoadEntries(conn_, journal_hash, fields);
  if (!entries.ok()) return entries.error();
  if (entries->empty()) return Status::Ok();
  if (Status st = p.lock->Renew(); !st) return st;
  std::vector<Command> commands;
  for (const auto& l : *entries) {
    const std::string& other = Holder(l);
    commands.push_back(scripts_.Evalsha(UndoScript(), {l.key, journal_hash, other, keys_.journal(p.version, other)},
                                        {p.options->force ? "1" : "0"}));
  }
  auto replies = scripts_.Run(commands);
  if (!replies.ok()) return replies.error();
  std::vector<Loaded> to_revert;
  for (size_t i = 0; i < entries->size(); ++i) {
    const Reply& r = (*replies)[i];
    Loaded& l = (*entries)[i];
    if (r.is_error()) return Fail(fmt::format("restoring {}: {}", QuoteKey(l.key), r.str));
    if (r.str == "ok") ++p.report.restored;
    if (r.str != "changed" && r.str != "exists") continue;
    auto kind = r.str == "changed" ? ConflictKind::kChanged : ConflictKind::kExists;
    // A renamed key whose old name the application recreated has two
    // application values: a conflict either way.
    if (p.options->revert && (kind == ConflictKind::kChanged || l.entry.action == KeyAction::kDelete))
      to_revert.push_back(std::move(l));
    else NoteConflict(p, l.key, kind);
  }
  if (to_revert.empty()) return Status::Ok();
  return RevertBatch(p, journal_hash, std::move(to_revert));
}

Status Rollback::PreviewBatch(Pass& p, const std::string& journal_hash, const std::vector<std::string>& fields) {
  auto entries = LoadEntries(conn_, journal_hash, fields);
  if (!entries.ok()) return entries.error();
  std::vector<std::string> holders;
  for (const auto& l : *entries) holders.push_back(Holder(l));
  auto current = ReadSimulated(p, holders);
  if (!current.ok()) return current.error();
  for (size_t i = 0; i < entries->size(); ++i) {
    const Loaded& l = (*entries)[i];
    const KeySnapshot& now = (*current)[i];
    bool present = now.state == KeySnapshot::kPresent;
    const std::string& digest = l.entry.format == 1 ? now.dump_digest : now.digest;
    bool conflict = l.entry.action == KeyAction::kDelete ? present : (!present || digest != l.entry.post_digest);
    if (conflict && p.options->revert && now.state != KeySnapshot::kUnsupported) {
      if (Status st = PreviewRevert(p, l, now); !st) return st;
      continue;
    }
    if (conflict && !p.options->force) {
      NoteConflict(p, l.key, l.entry.action == KeyAction::kDelete ? ConflictKind::kExists : ConflictKind::kChanged);
      continue;
    }
    ++p.report.restored;
    auto old = DecodeDump(l.entry.dump);
    SimulateRestore(l, old.ok() ? &old.value() : nullptr);
    if (!old.ok()) {
      if (p.sinks->note) p.sinks->note(fmt::format("{}: would be restored ({} bytes; {})", QuoteKey(l.key),
                                                   l.entry.dump.size(), old.error().message));
      continue;
    }
    KeyChange c;
    c.key = holders[i];
    c.before = now.value;
    c.after = std::move(old.value());
    c.before_pttl_ms = PttlFromExpireAt(l.entry.expire_at);
    // The entry's action (rewrite, rename) is what undoing it does too, but
    // a deleted or vanished key comes back: created.
    c.action = l.entry.action == KeyAction::kDelete || !present ? KeyAction::kCreate : l.entry.action;
    c.new_key = l.key;
    if (c.action == KeyAction::kCreate) c.key = l.key;
    if (p.sinks->diff) p.sinks->diff(c);
  }
  return Status::Ok();
}

Status Rollback::RunPass(Pass& p) {
  auto hashes = ListJournalHashes(conn_, keys_, p.version);
  if (!hashes.ok()) return hashes.error();
  for (const auto& hash : *hashes) {
    auto fields = CallState(conn_, {"HKEYS", hash}, hash);
    if (!fields.ok()) return fields.error();
    std::vector<std::string> batch;
    auto flush = [&]() -> Status {
      // A signal stops between batches: restored keys left the journal, so a
      // second `down` finishes the rest.
      if (Interrupted())
        return Error{InterruptExitCode(), fmt::format("interrupted after restoring {} keys; the lock is released: run "
                                                      "`keyshift down` again to finish undoing migration {}",
                                                      p.report.restored, p.version)};
      Status st = p.options->dry_run ? PreviewBatch(p, hash, batch) : UndoBatch(p, hash, batch);
      batch.clear();
      if (st && p.sinks->progress)
        p.sinks->progress(p.report.restored + p.report.reverted + p.report.conflicts, p.report.restored + p.report.reverted);
      return st;
    };
    for (auto& f : fields->elements) {
      batch.push_back(std::move(f.str));
      if (static_cast<int>(batch.size()) >= p.options->batch)
        if (Status st = flush(); !st) return st;
    }
    if (!batch.empty())
      if (Status st = flush(); !st) return st;
  }
  return Status::Ok();
}

Result<RollbackReport> Rollback::Run(long long version, const RollbackOptions& options, Lock* lock,
                                     const RollbackSinks& sinks) {
  // A key renamed onto a name that another key of the same migration had
  // left can only be restored after that one: passes repeat while they make
  // progress, so such chains unwind and only real conflicts remain.
  RollbackReport total;
  for (int pass_no = 0; pass_no < 16; ++pass_no) {
    Pass p{version, &options, &sinks, lock, {}};
    if (Status st = RunPass(p); !st) return st.error();
    total.restored += p.report.restored;
    total.reverted += p.report.reverted;
    total.conflicts = p.report.conflicts;
    total.conflict_samples = std::move(p.report.conflict_samples);
    if (options.dry_run || p.report.conflicts == 0 || p.report.restored + p.report.reverted == 0) break;
  }
  return total;
}

}  // namespace keyshift
