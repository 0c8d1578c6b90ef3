// The copy loop: scan the source, read each key whole, write it on the target
// with its progress mark, checkpoint, and drop the marks at the end.
#include "engine/copy.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <memory>
#include <string_view>
#include <tuple>

#include "core/slot.h"
#include "bindings/migration_script.h"
#include "core/text.h"
#include "engine/copy_checkpoint.h"
#include "engine/copy_chunks.h"
#include "engine/copy_read.h"
#include "engine/copy_shaped.h"
#include "engine/copy_transform.h"
#include "engine/interrupt.h"
#include "engine/journal.h"
#include "engine/ledger.h"
#include "engine/lock.h"
#include "engine/scanner.h"
#include "redis/script_cache.h"

namespace keyshift {
namespace {

// KEYS: the key, its progress hash, and for a chunked key the temporary key
// holding it. ARGV: payload ("" when chunked), absolute expiry in ms (0:
// none), mode, the batch's number. The mark is c, o or s followed by that
// number. Returns "d" + the mark when this copy already handled the key,
// "n" + the new mark's letter, "x" (conflict, nothing written) or "v" (a chunked key
// that came out empty: gone from the source). The mark goes in first and
// comes out again if RESTORE or RENAME is refused, so a refusal at any step
// leaves neither a key without its mark nor a mark without its key.
const LuaScript kWriteScript(R"(
local key, marks, tmp = KEYS[1], KEYS[2], KEYS[3]
local function drop() if tmp then redis.call('DEL', tmp) end end
local done = redis.call('HGET', marks, key)
if done then drop() return 'd' .. done end
local exists = redis.call('EXISTS', key) == 1
local mode = ARGV[3]
if exists and mode == 'fail' then drop() return 'x' end
local mark = 'c'
if exists then mark = (mode == 'skip') and 's' or 'o' end
if mark ~= 's' and tmp and redis.call('EXISTS', tmp) == 0 then return 'v' end
redis.call('HSET', marks, key, mark .. ARGV[4])
if mark == 's' then drop() return 'ns' end
local r
if tmp then
  r = redis.pcall('RENAME', tmp, key)
  if not (type(r) == 'table' and r.err) and ARGV[2] ~= '0' then r = redis.pcall('PEXPIREAT', key, ARGV[2]) end
elseif exists then
  r = redis.pcall('RESTORE', key, ARGV[2], ARGV[1], 'ABSTTL', 'REPLACE')
else
  r = redis.pcall('RESTORE', key, ARGV[2], ARGV[1], 'ABSTTL')
end
if type(r) == 'table' and r.err then
  redis.call('HDEL', marks, key)
  return r
end
return 'n' .. mark
)");

// What the write script would answer, from the target's mark and EXISTS.
std::string Predict(const Reply& mark, const Reply& exists, OnConflict mode, bool dropped) {
  if (!mark.is_nil()) return "d" + mark.str;
  if (dropped) return "ng";
  if (exists.integer == 0) return "nc";
  if (mode == OnConflict::kSkip) return "ns";
  return mode == OnConflict::kOverwrite ? "no" : "x";
}

// The write script's (or Predict's) answers, read without writing.
Result<std::vector<std::string>> ProbeTarget(Topology* target, const StateKeys& state, const CopyOptions& options,
                                             const std::vector<SourceKey>& keys) {
  std::vector<Command> probes;
  for (const auto& k : keys) {
    probes.push_back({"HGET", MarksOf(state, options.source_id, k.key), k.key});
    probes.push_back({"EXISTS", k.shaped && !k.shaped->dropped ? k.shaped->key : k.key});
  }
  auto replies = target->Pipeline(probes);
  if (!replies.ok()) return replies.error();
  std::vector<std::string> codes;
  for (size_t i = 0; i < keys.size(); ++i) {
    const Reply &mark = (*replies)[2 * i], &exists = (*replies)[2 * i + 1];
    if (mark.is_error() || exists.is_error())
      return Fail(fmt::format("the target refused reading key {}: {}", QuoteKey(keys[i].key),
                              mark.is_error() ? mark.str : exists.str));
    codes.push_back(Predict(mark, exists, options.on_conflict, keys[i].shaped && keys[i].shaped->dropped));
  }
  return codes;
}

Result<std::vector<std::string>> WriteTarget(ScriptCache& target, const StateKeys& state,
                                             const CopyOptions& options, const std::vector<SourceKey>& keys,
                                             long long batch) {
  std::vector<Command> writes;
  for (const auto& k : keys) {
    if (k.shaped) {
      writes.push_back(ShapedWrite(target, state, options.source_id, k, options.on_conflict, batch));
      continue;
    }
    std::vector<std::string> names = {k.key, MarksOf(state, options.source_id, k.key)};
    if (!k.chunked.empty()) names.push_back(ChunksOf(state, options.source_id, k.key));
    writes.push_back(target.Evalsha(kWriteScript, names,
                                    {k.payload, std::to_string(k.expire_ms), OnConflictName(options.on_conflict),
                                     std::to_string(batch)}));
  }
  auto replies = target.Run(writes);
  if (!replies.ok()) return replies.error();
  std::vector<std::string> codes;
  for (size_t i = 0; i < keys.size(); ++i) {
    const Reply& r = (*replies)[i];
    if (r.is_error()) return CopyWriteRefusal(keys[i].key, r.str);
    codes.push_back(r.str);
  }
  return codes;
}

// Adds one key's outcome in batch number `batch`; false for a conflict that
// stops the copy. A key marked in an earlier batch was counted then (saved
// in the checkpoint, or by this run): SCAN returned it again. One marked in
// this very batch number was written by a run killed before it saved this
// batch's counts: it counts now, once, as an uninterrupted run counts it.
bool Count(const std::string& code, const SourceKey& key, CopyCounters& c, long long batch) {
  if (code == "v") {
    ++c.vanished;
    return true;
  }
  if (code[0] == 'd' && ParseStateInt(code.substr(2)) != batch) return true;
  char mark = code.size() >= 2 ? code[1] : 'x';
  if (mark == 'g') {
    ++c.dropped;
    return true;
  }
  if (mark != 'c') ++c.conflicts;
  if (mark == 'x') return false;
  if (mark == 's') {
    ++c.skipped;
    return true;
  }
  ++c.copied;
  if (mark == 'o') ++c.overwritten;
  if (!key.chunked.empty()) ++c.chunked;
  c.bytes += key.bytes;
  if (key.shaped) {
    ++c.transformed;
    if (key.shaped->key != key.key) ++c.renamed;
  }
  return true;
}

class Copier {
 public:
  Copier(Topology* source, Topology* target, const StateKeys& state, const CopyOptions& options)
      : source_(source), target_(target), state_(state), options_(options), source_scripts_(source),
        target_scripts_(target),
        checkpoints_(target, state.prefix() + "{state}:copy:" + options.source_id,
                     state.prefix() + "{state}:copyfailed:" + options.source_id) {}

  Result<CopyReport> Run(const TopologyFactory& target_factory, const CopyProgress& progress);
  AfterCopy after;

 private:
  Status Resume(Scanner& scanner);
  Status Batch(const std::vector<std::string>& keys, bool retry = false);
  Status NoteFailed(const std::vector<std::string>& keys, bool retry);
  Result<CopyReport> Retry(const CopyProgress& progress);
  Result<CopyReport> Done();
  Status SaveCheckpoint();
  Status Save();
  Status MoveChunked(std::vector<SourceKey>& keys, const std::vector<std::string>& codes);
  void Shape(std::vector<SourceKey>& keys);
  Status RecordLedger();
  Status Finish();
  Result<CopyReport> After();
  Error Interruption() const;
  std::string Signature() const { return options_.transforms ? options_.transforms->Signature() : ""; }

  Topology *source_, *target_;
  const StateKeys& state_;
  const CopyOptions& options_;
  ScriptCache source_scripts_, target_scripts_;
  CopyCheckpointStore checkpoints_;
  CopyCheckpoint cp_;
  std::unique_ptr<Lock> lock_;
  CopyReport report_;
  std::vector<std::string> failed_now_;  // this batch's keys a migration failed on
};

constexpr size_t kKeyErrorsShown = 20;

Error Copier::Interruption() const {
  return Error{InterruptExitCode(), options_.dry_run ? "interrupted; nothing was written"
                                                     : "interrupted; run the same copy again to resume it"};
}

Status Copier::Resume(Scanner& scanner) {
  auto saved = checkpoints_.Load();
  if (!saved.ok()) return saved.error();
  if (!*saved) {
    cp_.match = options_.match;
    cp_.transforms = Signature();
    cp_.started_at = NowIso8601();
    return scanner.Start();
  }
  cp_ = **saved;
  if (cp_.transforms != Signature())
    return UsageError(fmt::format("an unfinished copy from this source that runs the migrations '{}' on the way is "
                                  "recorded in {}: finish it with the same options, or delete that key to start over",
                                  cp_.transforms.empty() ? "none" : cp_.transforms, checkpoints_.key()));
  if (cp_.match != options_.match)
    return UsageError(fmt::format("an unfinished copy from this source with --match '{}' is recorded in {}: "
                                  "finish it with the same --match, or delete that key to start over",
                                  cp_.match, checkpoints_.key()));
  report_.resumed = true;
  report_.counters = cp_.counters;
  if (options_.transforms) options_.transforms->SetCounts(cp_.steps);
  return scanner.Start(cp_.cursor, cp_.run_id);
}

// Moves each big key the target still needs into its temporary key.
Status Copier::MoveChunked(std::vector<SourceKey>& keys, const std::vector<std::string>& codes) {
  for (size_t i = 0; i < keys.size(); ++i) {
    if (keys[i].chunked.empty() || (codes[i] != "nc" && codes[i] != "no")) continue;
    if (Status st = lock_->Renew(); !st) return st;
    auto bytes = CopyInChunks(source_, target_, keys[i].key, keys[i].chunked,
                              ChunksOf(state_, options_.source_id, keys[i].key));
    if (!bytes.ok()) return bytes.error();
    keys[i].bytes = *bytes;
  }
  return Status::Ok();
}

// Runs the migrations over the keys they may select. A key one fails on is
// left out of the batch (not copied) and noted for the next run to retry.
void Copier::Shape(std::vector<SourceKey>& keys) {
  failed_now_.clear();
  if (!options_.transforms) return;
  std::vector<SourceKey> kept;
  for (SourceKey& k : keys) {
    Value before;
    auto shaped = options_.transforms->MaySelect(k.key)
                      ? options_.transforms->RunDump(k.key, k.payload, options_.diff ? &before : nullptr)
                      : Result<Shaped>(Shaped{});
    if (!shaped.ok()) {
      failed_now_.push_back(k.key);
      ++report_.counters.failed;
      if (report_.key_errors.size() < kKeyErrorsShown) report_.key_errors.push_back({k.key, shaped.error().message});
      continue;
    }
    if (shaped->touched) {
      long long pttl = PttlFromExpireAt(k.expire_ms > 0 ? k.expire_ms : -1);
      if (options_.diff) options_.diff(CopyTransforms::Change(k.key, before, pttl, *shaped));
      k.shaped = std::move(shaped.value());
    }
    kept.push_back(std::move(k));
  }
  keys = std::move(kept);
}

// The failed-keys set: this batch's failures in, and for a retried batch the
// keys that no longer fail out.
Status Copier::NoteFailed(const std::vector<std::string>& keys, bool retry) {
  if (options_.dry_run) return Status::Ok();
  if (Status st = checkpoints_.AddFailed(failed_now_); !st) return st;
  if (!retry) return Status::Ok();
  std::vector<std::string> fixed;
  for (const std::string& key : keys)
    if (std::find(failed_now_.begin(), failed_now_.end(), key) == failed_now_.end()) fixed.push_back(key);
  return checkpoints_.DropFailed(fixed);
}

Status Copier::Batch(const std::vector<std::string>& keys, bool retry) {
  CopyCounters& c = report_.counters;
  if (!retry) c.scanned += static_cast<long long>(keys.size());
  CopyTransforms* transforms = options_.transforms;
  auto read = ReadSource(source_scripts_, keys, c,
                         [transforms](const std::string& key) { return transforms && transforms->MaySelect(key); });
  if (!read.ok()) return read.error();
  Shape(*read);
  bool chunked = std::any_of(read->begin(), read->end(), [](const SourceKey& k) { return !k.chunked.empty(); });
  auto codes = Result<std::vector<std::string>>(std::vector<std::string>{});
  if (options_.dry_run || options_.on_conflict == OnConflict::kFail || chunked) {
    codes = ProbeTarget(target_, state_, options_, *read);
    if (!codes.ok()) return codes.error();
  }
  if (!options_.dry_run) {
    // --on-conflict fail: the keys before the first conflict are written,
    // none after it (the script refuses the conflicting key itself).
    for (size_t i = 0; i < codes->size(); ++i)
      if ((*codes)[i] == "x") {
        read->resize(i + 1);
        break;
      }
    if (chunked)
      if (Status st = MoveChunked(*read, *codes); !st) return st;
    if (Status st = lock_->Renew(); !st) return st;
    codes = WriteTarget(target_scripts_, state_, options_, *read, cp_.batches);
    if (!codes.ok()) return codes.error();
  }
  for (size_t i = 0; i < read->size(); ++i) {
    if (!Count((*codes)[i], (*read)[i], c, cp_.batches) && !options_.dry_run) {
      report_.conflict_key = (*read)[i].key;
      return Status::Ok();
    }
  }
  return NoteFailed(keys, retry);
}

Status Copier::SaveCheckpoint() {
  ++cp_.batches;
  return Save();
}

Status Copier::Save() {
  cp_.counters = report_.counters;
  if (options_.transforms) cp_.steps = options_.transforms->CountsText();
  return checkpoints_.Save(cp_);
}

// The keys a migration failed on in the scan (or the last retry), read and
// transformed again: they may have been fixed on the source, or the migration.
Result<CopyReport> Copier::Retry(const CopyProgress& progress) {
  report_.counters.failed = 0;
  auto keys = checkpoints_.Failed();
  if (!keys.ok()) return keys.error();
  size_t batch = static_cast<size_t>(options_.batch);
  for (size_t from = 0; from < keys->size(); from += batch) {
    if (Interrupted()) return Interruption();
    std::vector<std::string> part(keys->begin() + from, keys->begin() + std::min(keys->size(), from + batch));
    if (Status st = Batch(part, true); !st) return st.error();
    if (!report_.conflict_key.empty()) return report_;
    if (progress) progress(report_.counters);
    if (Status st = SaveCheckpoint(); !st) return st.error();
  }
  return Done();
}

// The scan (or retry) is over: complete, or waiting for failed keys.
Result<CopyReport> Copier::Done() {
  if (report_.counters.failed > 0) {
    cp_.phase = CopyPhase::kRetry;
    if (Status st = Save(); !st) return st.error();
    return report_;
  }
  if (Status st = Finish(); !st) return st.error();
  return After();
}

// The marks only protect a copy in progress: once the scan is over they go,
// the checkpoint last, so a kill in between resumes straight into this.
Status Copier::Finish() {
  cp_.phase = CopyPhase::kCleanup;
  if (Status st = Save(); !st) return st;
  // Temporary keys of big keys a kill interrupted go too.
  const std::string& id = options_.source_id;
  std::vector<std::string> prefixes = {MarksPrefix(state_, id), ChunksPrefix(state_, id)};
  if (!options_.keep_names) prefixes.push_back(NamesPrefix(state_, id));
  if (Status st = DropCopyState(target_, prefixes); !st) return st;
  if (Status st = RecordLedger(); !st) return st;
  return checkpoints_.Delete();
}

// The target's data is now in these migrations' shape: its ledger says so
// (and `up` there leaves them alone).
Status Copier::RecordLedger() {
  Ledger ledger(target_, state_);
  for (LedgerRecord r : options_.ledger) {
    if (options_.transforms && r.status == LedgerStatus::kApplied && options_.transforms->counts().count(r.version)) {
      const Counters& n = options_.transforms->counts().at(r.version);
      std::tie(r.counters.scanned, r.counters.changed, r.counters.deleted, r.counters.renamed) =
          std::tie(n.scanned, n.changed, n.deleted, n.renamed);
    }
    if (Status st = ledger.Put(r); !st) return st;
  }
  return Status::Ok();
}

Result<CopyReport> Copier::Run(const TopologyFactory& target_factory, const CopyProgress& progress) {
  Scanner scanner(source_, options_.match, std::nullopt, options_.batch, &state_);
  if (options_.dry_run) {
    if (Status st = scanner.Start(); !st) return st.error();
  } else {
    auto lock = Lock::Acquire(target_, state_, "copy", target_factory);
    if (!lock.ok()) return lock.error();
    lock_ = std::move(lock.value());
    if (Status st = Resume(scanner); !st) return st.error();
    if (cp_.phase == CopyPhase::kCleanup) {
      if (Status st = Finish(); !st) return st.error();
      return After();
    }
    if (cp_.phase == CopyPhase::kRetry) return Retry(progress);
  }
  while (!scanner.done()) {
    if (Interrupted()) return Interruption();
    auto keys = scanner.Next();
    if (!keys.ok()) return keys.error();
    if (Status st = Batch(*keys); !st) return st.error();
    if (!report_.conflict_key.empty()) return report_;
    if (progress) progress(report_.counters);
    ++cp_.batches;
    if (options_.dry_run) continue;
    cp_.cursor = scanner.position();
    cp_.run_id = scanner.run_id();
    if (Status st = Save(); !st) return st.error();
  }
  if (options_.dry_run) return report_;
  return Done();
}

Result<CopyReport> Copier::After() {
  if (after)
    if (Status st = after(*lock_); !st) return st.error();
  return report_;
}

}  // namespace

const char* OnConflictName(OnConflict mode) {
  switch (mode) {
    case OnConflict::kSkip: return "skip";
    case OnConflict::kOverwrite: return "overwrite";
    case OnConflict::kFail: break;
  }
  return "fail";
}

Error CopyWriteRefusal(const std::string& key, const std::string& reply) {
  if (reply.find("DUMP payload version or checksum are wrong") != std::string::npos)
    return UsageError(fmt::format("the target refused the DUMP payload of key {} ({}): source and target run "
                                  "Redis versions with different RDB formats; copying between different major "
                                  "versions needs a later keyshift",
                                  QuoteKey(key), reply));
  return Fail(fmt::format("the target refused writing key {}: {}", QuoteKey(key), reply));
}

std::string CopySourceId(const std::string& address, int db) {
  std::string id = fmt::format("{}/{}", address, db);
  for (char& ch : id)
    if (!std::isalnum(static_cast<unsigned char>(ch)) && std::string_view("._:-/").find(ch) == std::string_view::npos)
      ch = '_';
  return id;
}

Status DropCopyState(Topology* target, const std::vector<std::string>& prefixes) {
  for (const std::string& prefix : prefixes) {
    auto leftovers = ListKeys(target, prefix + "*");
    if (!leftovers.ok()) return leftovers.error();
    if (Status st = DropJournalHashes(target, *leftovers); !st) return st;
  }
  return Status::Ok();
}

Result<CopyReport> RunCopy(Topology* source, Topology* target, const StateKeys& state, const CopyOptions& options,
                           const TopologyFactory& target_factory, const CopyProgress& progress,
                           const AfterCopy& after) {
  Copier copier(source, target, state, options);
  copier.after = after;
  return copier.Run(target_factory, progress);
}

}  // namespace keyshift
