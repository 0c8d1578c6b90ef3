// Host mode: read -> transform -> CAS write, the re-read loop for keys the
// application is writing, and the hot-key fallback.
#include "engine/host_strategy.h"

#include <algorithm>

#include <fmt/format.h>

#include "core/slot.h"
#include "engine/journal.h"
#include "redis/script_safety.h"

namespace keyshift {

namespace {

KeyChange ToKeyChange(const WriteOp& op, const KeySnapshot& read) {
  KeyChange c;
  c.key = op.key;
  c.before = read.value;
  c.before_pttl_ms = PttlFromExpireAt(read.expire_at);
  c.action = op.action;
  c.new_key = op.new_key;
  c.after = op.value;
  return c;
}

long long JournalCost(const KeySnapshot& read) { return JournalEntryBytes(read.dump_bytes, read.key.size()); }

// A rename is one atomic script over the key, its new name and both journal
// entries; Redis Cluster runs a script only within one slot.
std::string CrossSlotRename(const std::string& path, const std::string& key, const std::string& target) {
  return fmt::format("{}: ks.rename of {} to {} crosses hash slots ({} -> {}): on Redis Cluster keyshift renames a key "
                     "only within its slot, so that the move and its journal entry stay one atomic step. Give both "
                     "names the same hash tag (e.g. user:{{42}}:profile -> profile:{{42}}); the key was left as it was",
                     path, QuoteKey(key), QuoteKey(target), KeySlot(key), KeySlot(target));
}

// Catch-up's dry-run asks what its write script would: does the target
// exist, other than as one keyshift made from this key and nobody changed?
const LuaScript& TargetBlocksScript() {
  static const LuaScript script(std::string("#!lua flags=no-writes\n") + kScriptSafetyLua + kCatchupDoneLua + R"LUA(
if redis.call('EXISTS', KEYS[1]) == 0 or replaceable_target(KEYS[2], KEYS[1], ARGV[1]) then return 0 end
return 1
)LUA");
  return script;
}

}  // namespace

std::string HostStrategy::Refusal(const KeySnapshot& snap, const TransformOutcome& outcome) const {
  if (outcome.action != KeyAction::kRename) return "";
  if (ctx_.keys.Owns(outcome.new_key))
    return fmt::format("{}: ks.rename target {} is inside keyshift's prefix '{}' (key {})", ctx_.script.path(),
                       QuoteKey(outcome.new_key), ctx_.keys.prefix(), QuoteKey(snap.key));
  if (ctx_.cluster && KeySlot(outcome.new_key) != KeySlot(snap.key))
    return CrossSlotRename(ctx_.script.path(), snap.key, outcome.new_key);
  return "";
}

bool HostStrategy::Transformable(const KeySnapshot& snap) const {
  const ScanSpec& scan = ctx_.script.info().scan;
  // A key that changed type since SCAN is left alone.
  return snap.state == KeySnapshot::kPresent && !(scan.type && *scan.type != snap.value.type);
}

std::vector<PooledTransform> HostStrategy::Pretransform(const std::vector<KeySnapshot>& snaps, size_t from) {
  std::vector<PooledTransform> pooled;
  if (!pool_) return pooled;
  std::vector<TransformInput> inputs;
  for (size_t i = from; i < snaps.size(); ++i)
    if (Transformable(snaps[i])) inputs.push_back(TransformInput{&snaps[i].key, &snaps[i].value});
  pool_->Run(inputs, &pooled);
  return pooled;
}

Result<TransformOutcome> HostStrategy::Outcome(const KeySnapshot& snap, std::vector<PooledTransform>& pooled,
                                                size_t* next) {
  if (!pool_) return ctx_.script.Transform(snap.key, snap.value);
  PooledTransform& p = pooled[(*next)++];
  for (const std::string& line : p.log) ctx_.script.Log(line);
  return std::move(*p.outcome);
}

void HostStrategy::TransformAll(const std::vector<KeySnapshot>& snaps, size_t from, Writes* writes) {
  if (ctx_.errors.stopped()) return;
  std::vector<PooledTransform> pooled = Pretransform(snaps, from);
  size_t next = 0;
  for (size_t i = from; i < snaps.size(); ++i) {
    const KeySnapshot& snap = snaps[i];
    if (ctx_.errors.stopped()) break;  // --on-error abort (or --max-errors): no key after the failing one runs
    if (snap.state == KeySnapshot::kDone) {
      ++ctx_.counters->skipped;
      continue;
    }
    if (snap.state == KeySnapshot::kUnsupported) {
      ctx_.errors.KeyFailed(snap.key, Fail(fmt::format("{}: key {} is a {}; keyshift migrates string, hash, list, set "
                                                       "and zset keys",
                                                       ctx_.script.path(), QuoteKey(snap.key), snap.type_name)));
      continue;
    }
    if (!Transformable(snap)) continue;
    auto outcome = Outcome(snap, pooled, &next);
    if (!outcome.ok()) {
      ctx_.errors.KeyFailed(snap.key, outcome.error());
      continue;
    }
    if (outcome->action == KeyAction::kKeep) continue;
    if (std::string refusal = Refusal(snap, *outcome); !refusal.empty()) {
      ctx_.errors.KeyFailed(snap.key, Fail(refusal));
      continue;
    }
    writes->ops.push_back(WriteOp{snap.key, snap.cas(), outcome->action, outcome->new_key, std::move(outcome->value)});
    writes->read.push_back(&snap);
  }
}

void HostStrategy::TargetExists(const WriteOp& op) {
  ctx_.errors.KeyFailed(op.key, Fail(fmt::format("{}: ks.rename target {} already exists (key {})", ctx_.script.path(),
                                                 QuoteKey(op.new_key), QuoteKey(op.key))));
}

void HostStrategy::CountWrites(const Writes& writes, const std::vector<WriteResult>& results,
                               std::vector<std::string>* changed) {
  for (size_t i = 0; i < results.size(); ++i) {
    const WriteOp& op = writes.ops[i];
    switch (results[i].status) {
      case WriteStatus::kWritten: {
        long long journal = JournalEntryBytes(results[i].dump_bytes, op.key.size());
        CountChange(ctx_.counters, op.action, journal);
        CountChange(&written_, op.action, journal);
        break;
      }
      case WriteStatus::kChanged:
        changed->push_back(op.key);
        break;
      case WriteStatus::kDone:
        ++ctx_.counters->skipped;
        break;
      case WriteStatus::kTargetExists:
        TargetExists(op);
        break;
    }
  }
}

Status HostStrategy::ApplyWrites(const Writes& writes, std::vector<std::string>* changed) {
  if (writes.ops.empty()) return Status::Ok();
  if (Status st = ctx_.lock->Renew(); !st) return st;
  auto results = WriteBatch(ctx_.scripts, ctx_.keys, ctx_.version, writes.ops, ctx_.options.catchup, PerCall());
  if (!results.ok()) return results.error();
  CountWrites(writes, *results, changed);
  return Status::Ok();
}

Status HostStrategy::DropExistingTargets(Writes* writes) {
  std::vector<Command> exists;
  for (const auto& op : writes->ops)
    if (op.action == KeyAction::kRename)
      exists.push_back(ctx_.options.catchup
                           ? ctx_.scripts.Evalsha(TargetBlocksScript(),
                                                  {op.new_key, ctx_.keys.journal(ctx_.version, op.new_key)}, {op.key})
                           : Command{"EXISTS", op.new_key});
  if (exists.empty()) return Status::Ok();
  auto replies = ctx_.scripts.Run(exists);
  if (!replies.ok()) return replies.error();
  Writes kept;
  size_t r = 0;
  for (size_t i = 0; i < writes->ops.size(); ++i) {
    WriteOp& op = writes->ops[i];
    if (op.action == KeyAction::kRename && (*replies)[r++].integer == 1) {
      TargetExists(op);
      continue;
    }
    kept.ops.push_back(std::move(op));
    kept.read.push_back(writes->read[i]);
  }
  *writes = std::move(kept);
  return Status::Ok();
}

void HostStrategy::Preview(const Writes& writes) {
  for (size_t i = 0; i < writes.ops.size(); ++i) {
    CountChange(ctx_.counters, writes.ops[i].action, JournalCost(*writes.read[i]));
    if (ctx_.sinks.diff) ctx_.sinks.diff(ToKeyChange(writes.ops[i], *writes.read[i]));
  }
}

size_t HostStrategy::PerCall() const { return ctx_.cluster ? 1 : kKeysPerCall; }

ReadOptions HostStrategy::ReadOpts() const {
  ReadOptions read;
  read.catchup = ctx_.options.catchup;
  read.type = ctx_.script.info().scan.type;
  // The CAS writer journals the DUMP and reports its size; a dry-run
  // estimates the journal from the read.
  read.dump = ctx_.options.dry_run ? ReadOptions::kDumpSize : ReadOptions::kNoDump;
  read.per_call = PerCall();
  read.digest = false;  // its writes compare small values by value (cas_condition.h)
  return read;
}

// One read -> transform -> CAS write pass over `pending`; leaves in it the
// keys whose CAS failed because the application wrote them meanwhile.
Status HostStrategy::Pass(std::vector<std::string>* pending) {
  if (!ctx_.options.dry_run && !ctx_.cluster && ctx_.scripts.connection()->CanStream()) return StreamedPass(pending);
  auto snaps = ReadBatch(ctx_.scripts, ctx_.keys, ctx_.version, *pending, ReadOpts());
  if (!snaps.ok()) return snaps.error();
  Writes writes;
  TransformAll(*snaps, 0, &writes);
  pending->clear();
  if (ctx_.errors.stopped()) return Status::Ok();  // abort: nothing of this batch is written
  if (!ctx_.options.dry_run) return ApplyWrites(writes, pending);
  if (Status st = DropExistingTargets(&writes); !st || ctx_.errors.stopped()) return st;
  Preview(writes);
  return Status::Ok();
}

Status HostStrategy::Migrate(const std::vector<std::string>& keys) {
  written_ = Counters();
  std::vector<std::string> pending = keys;
  if (Status st = Pass(&pending); !st || ctx_.errors.stopped()) return st;
  // Keys the application is writing right now: retry them one at a time, so
  // the window between keyshift's read and its write is one key wide.
  // A key that loses every attempt fails alone: with --on-error skip the
  // batch's other keys still get theirs, so none is left unmigrated unreported.
  for (const std::string& key : pending)
    if (Status st = RetryAlone(key); !st || ctx_.errors.stopped()) return st;
  return Status::Ok();
}

Status HostStrategy::Abandon(const Status& why) {
  ctx_.scripts.Forget();
  return why;
}

Status HostStrategy::SendReads(const std::vector<std::string>& keys, const ReadOptions& read) {
  for (size_t from = 0; from < keys.size(); from += read.per_call) {
    size_t to = std::min(keys.size(), from + read.per_call);
    if (Status st = ctx_.scripts.Send(ReadCall(ctx_.scripts, ctx_.keys, ctx_.version, keys, from, to, read)); !st)
      return st;
  }
  return Status::Ok();
}

Status HostStrategy::SendWrites(const Writes& writes, size_t* sent, std::vector<size_t>* call_ends) {
  // Renewing the lease talks to Redis: only with no reply left on the wire.
  if (ctx_.lock->RenewDue())
    if (Status st = ctx_.scripts.Drain(); !st) return st;
  if (Status st = ctx_.lock->Renew(); !st) return st;
  size_t end = writes.ops.size();
  if (Status st = ctx_.scripts.Send(
          WriteCall(ctx_.scripts, ctx_.keys, ctx_.version, writes.ops, *sent, end, ctx_.options.catchup));
      !st)
    return st;
  call_ends->push_back(end);
  *sent = end;
  return Status::Ok();
}

Result<std::vector<WriteResult>> HostStrategy::TakeWrites(const Writes& writes, const std::vector<size_t>& call_ends) {
  std::vector<WriteResult> results;
  size_t from = 0;
  for (size_t end : call_ends) {
    auto reply = ctx_.scripts.Next();
    if (!reply.ok()) return reply.error();
    if (Status st = ResultsFromCall(writes.ops, from, end, *reply, &results); !st) return st.error();
    from = end;
  }
  return results;
}

Status HostStrategy::StreamedPass(std::vector<std::string>* pending) {
  const std::vector<std::string>& keys = *pending;
  const ReadOptions read = ReadOpts();
  if (Status st = SendReads(keys, read); !st) return Abandon(st);
  std::vector<KeySnapshot> snaps;
  snaps.reserve(keys.size());  // Writes::read points into it
  Writes writes;
  size_t sent = 0;
  std::vector<size_t> call_ends;
  for (size_t from = 0; from < keys.size(); from += read.per_call) {
    auto reply = ctx_.scripts.Next();
    if (!reply.ok()) return Abandon(reply.error());
    size_t first = snaps.size();
    size_t to = std::min(keys.size(), from + read.per_call);
    if (Status st = SnapshotsFromCall(keys, from, to, *reply, &snaps, read.digest); !st) {
      Abandon(st);
      return NameRefusedKey(ctx_.scripts, ctx_.keys, ctx_.version, keys, from, to, read, *reply, st);
    }
    if (ctx_.errors.stopped()) continue;  // abort: no key after the failing one runs
    TransformAll(snaps, first, &writes);
    if (ctx_.errors.stopped() || writes.ops.size() == sent) continue;
    if (Status st = SendWrites(writes, &sent, &call_ends); !st) return Abandon(st);
  }
  auto results = TakeWrites(writes, call_ends);
  if (!results.ok()) return Abandon(results.error());
  pending->clear();
  CountWrites(writes, *results, pending);
  return Status::Ok();
}

Status HostStrategy::RetryAlone(const std::string& key) {
  std::vector<std::string> one{key};
  for (int attempt = 1; !one.empty(); ++attempt) {
    if (attempt > kHotKeyAttempts && hot_keys_) {
      ++moved_server_side_;
      return hot_keys_->Send({key});
    }
    if (attempt > ctx_.options.max_cas_retries) {
      ctx_.errors.KeyFailed(key, Fail(fmt::format(
                                     "key {} changed on every one of {} attempts to migrate it: the application "
                                     "writes it faster than keyshift can read, transform and write it back. A "
                                     "migration that `check` accepts as portable is migrated inside Redis for such "
                                     "keys (see docs/server-mode.md)",
                                     QuoteKey(key), attempt - 1)));
      return Status::Ok();
    }
    ++cas_retries_;
    if (Status st = Pass(&one); !st || ctx_.errors.stopped()) return st;
  }
  return Status::Ok();
}

}  // namespace keyshift
