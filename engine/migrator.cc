// One migration's run: batches of scan -> read -> transform -> CAS write,
// with the error budget and a checkpoint after every batch.
#include "engine/migrator.h"

#include <chrono>

#include <fmt/format.h>

#include "core/slot.h"
#include "engine/interrupt.h"
#include "engine/journal.h"
#include "engine/ledger.h"
#include "engine/server_check.h"
#include "redis/script_safety.h"
#include "server_mode/portability.h"

namespace keyshift {

namespace {

KeyChange ToKeyChange(const WriteOp& op) {
  KeyChange c;
  c.key = op.before->key;
  c.before = op.before->value;
  c.before_pttl_ms = PttlFromExpireAt(op.before->expire_at);
  c.action = op.action;
  c.new_key = op.new_key;
  c.after = op.value;
  return c;
}

// A rename is one atomic script over the key, its new name and both journal
// entries; Redis Cluster runs a script only within one slot.
std::string CrossSlotRename(const std::string& path, const std::string& key, const std::string& target) {
  return fmt::format("{}: ks.rename of {} to {} crosses hash slots ({} -> {}): on Redis Cluster keyshift renames a key "
                     "only within its slot, so that the move and its journal entry stay one atomic step. Give both "
                     "names the same hash tag (e.g. user:{{42}}:profile -> profile:{{42}}); the key was left as it was",
                     path, QuoteKey(key), QuoteKey(target), KeySlot(key), KeySlot(target));
}

}  // namespace

void CountChange(Counters* c, KeyAction action, long long journal_bytes) {
  ++(action == KeyAction::kDelete ? c->deleted : action == KeyAction::kRename ? c->renamed : c->changed);
  c->journal_bytes += journal_bytes;
}

void Migrator::ReportStop(const Batch& b, RunReport* report) {
  if (!b.stop) return;
  report->ok = false;
  report->error = *b.stop;
  report->failed_key = b.stop_key;
}

Status Migrator::KeyFailed(Batch& b, const std::string& key, const Error& error) {
  ++b.counters->failed;
  if (b.options->on_error == OnError::kAbort) {
    if (!b.stop) {
      b.stop = error;
      b.stop_key = key;
    }
    return Status::Ok();
  }
  b.skipped.push_back(key);
  if (b.sinks->key_error) b.sinks->key_error(key, error.message);
  if (!b.over_budget && b.options->max_errors > 0 && b.counters->failed >= b.options->max_errors) {
    b.over_budget = Fail(fmt::format("{} failed keys reached --max-errors {}; stopped after the batch; last: {}",
                                     b.counters->failed, b.options->max_errors, error.message));
    b.over_budget_key = key;
  }
  return Status::Ok();
}

Status Migrator::SaveProgress(Batch& b, long long version, const Checkpoint& cp,
                              const std::vector<std::string>* retried) {
  std::vector<Command> commands;
  if (retried && !retried->empty()) {
    Command srem{"SREM", keys_.failed_keys(version)};
    srem.insert(srem.end(), retried->begin(), retried->end());
    commands.push_back(std::move(srem));
  }
  if (!b.skipped.empty()) {
    Command sadd{"SADD", keys_.failed_keys(version)};
    sadd.insert(sadd.end(), b.skipped.begin(), b.skipped.end());
    commands.push_back(std::move(sadd));
  }
  commands.push_back(CheckpointStore(conn_, keys_, b.options->catchup).SaveCommand(version, cp));
  b.skipped.clear();
  auto replies = conn_->Pipeline(commands);
  if (!replies.ok()) return replies.error();
  for (size_t i = 0; i < replies->size(); ++i) {
    const Reply& r = (*replies)[i];
    if (r.is_error()) return StateRefusal(commands[i], r, commands[i][1]);
  }
  return Status::Ok();
}

Result<std::vector<std::vector<std::string>>> Migrator::SkippedKeys(long long version, size_t batch_size) {
  auto members = CallState(conn_, {"SMEMBERS", keys_.failed_keys(version)}, keys_.failed_keys(version));
  if (!members.ok()) return members.error();
  std::vector<std::vector<std::string>> batches;
  for (size_t i = 0; i < members->elements.size(); ++i) {
    if (i % batch_size == 0) batches.emplace_back();
    batches.back().push_back(std::move(members->elements[i].str));
  }
  return batches;
}

Status Migrator::TransformAll(Batch& b, const std::vector<KeySnapshot>& snaps, std::vector<WriteOp>* ops) {
  const ScanSpec& scan = b.script->info().scan;
  for (const auto& snap : snaps) {
    if (b.stop) break;  // --on-error abort (or --max-errors): no key after the failing one runs
    if (snap.state == KeySnapshot::kDone) {
      ++b.counters->skipped;
      continue;
    }
    if (snap.state == KeySnapshot::kMissing) continue;
    if (snap.state == KeySnapshot::kUnsupported) {
      KeyFailed(b, snap.key, Fail(fmt::format("{}: key {} is a {}; keyshift migrates string, hash, list, set and zset keys",
                                              b.script->path(), QuoteKey(snap.key), snap.type_name)));
      continue;
    }
    if (scan.type && *scan.type != snap.value.type) continue;  // the key changed type since SCAN
    auto outcome = b.script->Transform(snap.key, snap.value);
    if (!outcome.ok()) {
      KeyFailed(b, snap.key, outcome.error());
      continue;
    }
    if (outcome->action == KeyAction::kKeep) continue;
    if (outcome->action == KeyAction::kRename && keys_.Owns(outcome->new_key)) {
      KeyFailed(b, snap.key, Fail(fmt::format("{}: ks.rename target {} is inside keyshift's prefix '{}' (key {})",
                                              b.script->path(), QuoteKey(outcome->new_key), keys_.prefix(),
                                              QuoteKey(snap.key))));
      continue;
    }
    if (outcome->action == KeyAction::kRename && conn_->cluster() && KeySlot(outcome->new_key) != KeySlot(snap.key)) {
      KeyFailed(b, snap.key, Fail(CrossSlotRename(b.script->path(), snap.key, outcome->new_key)));
      continue;
    }
    ops->push_back(WriteOp{&snap, outcome->action, outcome->new_key, std::move(outcome->value)});
  }
  return Status::Ok();
}

void Migrator::TargetExists(Batch& b, const WriteOp& op) {
  KeyFailed(b, op.before->key, Fail(fmt::format("{}: ks.rename target {} already exists (key {})", b.script->path(),
                                                QuoteKey(op.new_key), QuoteKey(op.before->key))));
}

Status Migrator::ApplyWrites(Batch& b, const std::vector<WriteOp>& ops, std::vector<std::string>* changed) {
  if (ops.empty()) return Status::Ok();
  Status st = b.lock->Renew();
  if (!st) return st;
  auto statuses = WriteBatch(scripts_, keys_, b.version, ops, b.options->catchup);
  if (!statuses.ok()) return statuses.error();
  for (size_t i = 0; i < ops.size(); ++i) {
    const WriteOp& op = ops[i];
    switch ((*statuses)[i]) {
      case WriteStatus::kWritten:
        CountChange(b.counters, op.action, JournalEntryBytes(op.before->dump_bytes, op.before->key.size()));
        break;
      case WriteStatus::kChanged:
        changed->push_back(op.before->key);
        break;
      case WriteStatus::kDone:
        ++b.counters->skipped;
        break;
      case WriteStatus::kTargetExists:
        TargetExists(b, op);
        break;
    }
  }
  return Status::Ok();
}

// Catch-up's dry-run asks what its write script would: does the target
// exist, other than as one keyshift made from this key and nobody changed?
static const LuaScript& TargetBlocksScript() {
  static const LuaScript script(std::string("#!lua flags=no-writes\n") + kScriptSafetyLua + kCatchupDoneLua + R"LUA(
if redis.call('EXISTS', KEYS[1]) == 0 or replaceable_target(KEYS[2], KEYS[1], ARGV[1]) then return 0 end
return 1
)LUA");
  return script;
}

Status Migrator::DropExistingTargets(Batch& b, std::vector<WriteOp>* ops) {
  std::vector<Command> exists;
  for (const auto& op : *ops)
    if (op.action == KeyAction::kRename)
      exists.push_back(b.options->catchup ? scripts_.Evalsha(TargetBlocksScript(),
                                                             {op.new_key, keys_.journal(b.version, op.new_key)},
                                                             {op.before->key})
                                          : Command{"EXISTS", op.new_key});
  if (exists.empty()) return Status::Ok();
  auto replies = scripts_.Run(exists);
  if (!replies.ok()) return replies.error();
  std::vector<WriteOp> kept;
  size_t i = 0;
  for (auto& op : *ops) {
    if (op.action == KeyAction::kRename && (*replies)[i++].integer == 1) {
      TargetExists(b, op);
      continue;
    }
    kept.push_back(std::move(op));
  }
  *ops = std::move(kept);
  return Status::Ok();
}

// One read -> transform -> CAS write pass over `pending`; leaves in it the
// keys whose CAS failed because the application wrote them meanwhile.
Status Migrator::Pass(Batch& b, std::vector<std::string>* pending) {
  auto snaps = ReadKeys(scripts_, keys_, b.version, *pending, true, b.options->catchup);
  if (!snaps.ok()) return snaps.error();
  std::vector<WriteOp> ops;
  TransformAll(b, *snaps, &ops);
  pending->clear();
  if (b.stop) return Status::Ok();  // abort: nothing of this batch is written
  if (b.options->dry_run) {
    if (Status st = DropExistingTargets(b, &ops); !st || b.stop) return st;
    for (const auto& op : ops) {
      CountChange(b.counters, op.action, JournalEntryBytes(op.before->dump_bytes, op.before->key.size()));
      if (b.sinks->diff) b.sinks->diff(ToKeyChange(op));
    }
    return Status::Ok();
  }
  return ApplyWrites(b, ops, pending);
}

Status Migrator::ProcessBatch(Batch& b) {
  if (server_) return ServerBatch(b);
  std::vector<std::string> pending = b.keys;
  if (Status st = Pass(b, &pending); !st || b.stop) return st;
  // Keys the application is writing right now: retry them one at a time, so
  // the window between keyshift's read and its write is one key wide.
  for (const std::string& key : std::vector<std::string>(pending)) {
    std::vector<std::string> one{key};
    for (int attempt = 1; !one.empty(); ++attempt) {
      if (attempt > kHotKeyAttempts && hot_keys_) {
        ++b.moved_server_side;
        if (Status st = MigrateHotKey(b, key); !st || b.stop) return st;
        break;
      }
      if (attempt > b.options->max_cas_retries)
        return KeyFailed(b, key, Fail(fmt::format(
                                     "key {} changed on every one of {} attempts to migrate it: the application "
                                     "writes it faster than keyshift can read, transform and write it back. A "
                                     "migration that `check` accepts as portable is migrated inside Redis for such "
                                     "keys (see docs/server-mode.md)",
                                     QuoteKey(key), attempt - 1)));
      ++b.cas_retries;
      if (Status st = Pass(b, &one); !st || b.stop) return st;
    }
  }
  return Status::Ok();
}

Result<RunReport> Migrator::Up(const MigrationFile& file, MigrationScript& script, const RunOptions& options,
                               Lock* lock, const RunSinks& sinks) {
  auto started = std::chrono::steady_clock::now();
  CheckpointStore checkpoints(conn_, keys_, options.catchup);
  RunReport report;
  Checkpoint cp;
  if (!options.dry_run) {
    auto loaded = checkpoints.Load(file.version);
    if (!loaded.ok()) return loaded.error();
    if (loaded->has_value()) {
      cp = **loaded;
      report.resumed = true;
    } else {
      cp.started_at = NowIso8601();
      if (options.retry_failed) cp.counters = *options.retry_failed;
    }
    cp.by = CurrentUserAtHost();
    cp.status = CheckpointStatus::kRunning;
  }
  const ScanSpec& scan = script.info().scan;
  int batch_size = options.batch.value_or(scan.batch);
  Scanner scanner(conn_, scan.match, scan.type, batch_size, &keys_);
  if (Status st = report.resumed ? scanner.Start(cp.cursor, cp.run_id) : scanner.Start(); !st) return st.error();
  if (!options.dry_run) {
    cp.cursor = scanner.position();
    cp.run_id = scanner.run_id();
    if (Status st = checkpoints.Save(file.version, cp); !st) return st.error();
  }
  Batch b{file.version, &script, &options, &sinks, lock, &cp.counters, {}, std::nullopt, "", true, {}, std::nullopt, ""};
  server_.reset();
  hot_keys_.reset();
  // The server-side paths know only up's "done": catch-up stays on the CAS writer.
  if (options.catchup) {
  } else if (options.mode == RunMode::kServer)
    server_ = std::make_unique<ServerRunner>(scripts_, keys_, file, script.info(), options.connect);
  else if (!options.dry_run && CheckPortability(file.text).empty())
    hot_keys_ = std::make_unique<ServerRunner>(scripts_, keys_, file, script.info(), options.connect);
  auto elapsed = [&] {
    return cp.elapsed_ms + std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started).count();
  };
  // A resumed run first retries the keys earlier runs skipped (--on-error
  // skip); that set is up's: catch-up's rescan reaches those keys anyway.
  std::vector<std::vector<std::string>> retry;
  if ((report.resumed && !options.catchup) || options.retry_failed) {
    auto skipped = SkippedKeys(file.version, static_cast<size_t>(batch_size));
    if (!skipped.ok()) return skipped.error();
    retry = std::move(skipped.value());
  }
  // Retrying an applied migration's failed keys: its scan is complete.
  bool scan_more = !options.retry_failed;
  while (!retry.empty() || (scan_more && !scanner.done())) {
    if (Interrupted()) {
      report.interrupted = true;  // the last batch's checkpoint is saved: the next run resumes from it
      break;
    }
    if (options.guard && !options.dry_run)
      if (Status st = options.guard(); !st) {
        b.stop = st.error();
        report.counters = cp.counters;
        break;
      }
    bool retrying = !retry.empty();
    Counters before_batch = cp.counters;
    if (retrying) {
      b.keys = std::move(retry.back());
      retry.pop_back();
      cp.counters.failed = std::max(0LL, cp.counters.failed - static_cast<long long>(b.keys.size()));
    } else {
      auto keys = scanner.Next();
      if (!keys.ok()) return keys.error();
      cp.counters.scanned += static_cast<long long>(keys->size());
      b.keys = std::move(*keys);
    }
    if (Status st = ProcessBatch(b); !st) return st.error();
    if (b.stop) {
      // The stopped batch is redone by the next run (from the saved cursor,
      // or from the skipped-keys set): the report counts it, the checkpoint does not.
      report.counters = cp.counters;
      cp.counters = before_batch;
      break;
    }
    if (!retrying) cp.cursor = scanner.position();
    if (!options.dry_run) {
      Checkpoint now = cp;
      now.elapsed_ms = elapsed();
      if (Status st = SaveProgress(b, file.version, now, retrying ? &b.keys : nullptr); !st) return st.error();
    }
    if (sinks.progress) sinks.progress(cp.counters);
    if (b.over_budget) {
      b.stop = b.over_budget;
      b.stop_key = b.over_budget_key;
      report.counters = cp.counters;  // the batch is complete: nothing to redo, nothing to discount
      break;
    }
  }
  if (!b.stop) report.counters = cp.counters;
  report.cas_retries = b.cas_retries;
  report.moved_server_side = b.moved_server_side;
  report.duration_ms = elapsed();
  ReportStop(b, &report);
  if (options.dry_run || report.interrupted) return report;
  if (options.catchup) return FinishCatchup(file.version, cp, report, checkpoints);
  return Finish(file, options, cp, report, checkpoints);
}

Result<RunReport> Migrator::Finish(const MigrationFile& file, const RunOptions& options, Checkpoint& cp,
                                   RunReport report, CheckpointStore& checkpoints) {
  LedgerRecord rec;
  rec.version = file.version;
  rec.name = file.name();
  rec.sha256 = file.sha256;
  // A retry of an applied migration's failed keys that fails again leaves it
  // applied with its failed keys, for the next `up` to retry; the checkpoint
  // counts them right (a stopped batch is not counted, its keys stay in the set).
  bool retry = options.retry_failed.has_value();
  rec.status = report.ok || retry ? LedgerStatus::kApplied : LedgerStatus::kFailed;
  rec.applied_at = NowIso8601();
  rec.duration_ms = report.duration_ms;
  rec.counters = report.ok || !retry ? report.counters : cp.counters;
  rec.mode = options.mode;
  rec.by = CurrentUserAtHost();
  if (!report.ok && !retry) {
    rec.error = report.error.message;
    rec.failed_key = report.failed_key;
    cp.status = CheckpointStatus::kFailed;
    cp.error = rec.error;
    cp.failed_key = rec.failed_key;
    cp.elapsed_ms = report.duration_ms;
    if (Status st = checkpoints.Save(file.version, cp); !st) return st.error();
  }
  if (Status st = Ledger(conn_, keys_).Put(rec); !st) return st.error();
  if (rec.status == LedgerStatus::kApplied) {
    if (Status st = checkpoints.Delete(file.version); !st) return st.error();
  }
  return report;
}

// Catch-up's checkpoint: dropped when its scan is complete, else kept (a
// failed key is retried by the next `catchup`) with the error, for `status`.
Result<RunReport> Migrator::FinishCatchup(long long version, Checkpoint& cp, RunReport report,
                                          CheckpointStore& checkpoints) {
  if (report.ok) {
    if (Status st = checkpoints.Delete(version); !st) return st.error();
    return report;
  }
  cp.status = CheckpointStatus::kFailed;
  cp.error = report.error.message;
  cp.failed_key = report.failed_key;
  cp.elapsed_ms = report.duration_ms;
  if (Status st = checkpoints.Save(version, cp); !st) return st.error();
  return report;
}

}  // namespace keyshift
