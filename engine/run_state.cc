// Checkpoint, failed-keys set and ledger over one run.
#include "engine/run_state.h"

#include "engine/ledger.h"

namespace keyshift {

RunState::RunState(Topology* conn, const StateKeys& keys, const RunOptions& options, long long version)
    : conn_(conn), keys_(keys), options_(options), version_(version), store_(conn, keys, options.catchup) {}

Status RunState::Begin() {
  if (options_.dry_run) return Status::Ok();
  auto loaded = store_.Load(version_);
  if (!loaded.ok()) return loaded.error();
  if (loaded->has_value()) {
    cp_ = **loaded;
    resumed_ = true;
  } else {
    cp_.started_at = NowIso8601();
    if (options_.retry_failed) cp_.counters = *options_.retry_failed;
  }
  cp_.by = CurrentUserAtHost();
  cp_.status = CheckpointStatus::kRunning;
  return Status::Ok();
}

Status RunState::SaveStart(const std::string& position, const std::string& run_id) {
  if (options_.dry_run) return Status::Ok();
  cp_.cursor = position;
  cp_.run_id = run_id;
  return store_.Save(version_, cp_);
}

long long RunState::elapsed_ms() const {
  auto ran = std::chrono::steady_clock::now() - started_;
  return cp_.elapsed_ms + std::chrono::duration_cast<std::chrono::milliseconds>(ran).count();
}

namespace {

// `verb` (SREM, SADD) `keys` on the failed-keys set `set`; nothing for no keys.
void AddSetCommand(std::vector<Command>* commands, const char* verb, const std::string& set,
                   const std::vector<std::string>& keys) {
  if (keys.empty()) return;
  Command c{verb, set};
  c.insert(c.end(), keys.begin(), keys.end());
  commands->push_back(std::move(c));
}

}  // namespace

Status RunState::SaveBatch(const std::vector<std::string>& retried, const std::vector<std::string>& skipped) {
  if (options_.dry_run) return Status::Ok();
  std::vector<Command> commands;
  AddSetCommand(&commands, "SREM", keys_.failed_keys(version_), retried);
  AddSetCommand(&commands, "SADD", keys_.failed_keys(version_), skipped);
  Checkpoint now = cp_;
  now.elapsed_ms = elapsed_ms();
  commands.push_back(store_.SaveCommand(version_, now));
  auto replies = conn_->Pipeline(commands);
  if (!replies.ok()) return replies.error();
  for (size_t i = 0; i < replies->size(); ++i) {
    const Reply& r = (*replies)[i];
    if (r.is_error()) return StateRefusal(commands[i], r, commands[i][1]);
  }
  return Status::Ok();
}

Result<RunReport> RunState::Finish(const MigrationFile& file, const RunReport& report) {
  if (options_.dry_run || report.interrupted) return report;
  return options_.catchup ? FinishCatchup(report) : FinishUp(file, report);
}

Status RunState::SaveFailed(const RunReport& report) {
  cp_.status = CheckpointStatus::kFailed;
  cp_.error = report.error.message;
  cp_.failed_key = report.failed_key;
  cp_.elapsed_ms = report.duration_ms;
  return store_.Save(version_, cp_);
}

Result<RunReport> RunState::FinishUp(const MigrationFile& file, const RunReport& report) {
  LedgerRecord rec;
  rec.version = file.version;
  rec.name = file.name();
  rec.sha256 = file.sha256;
  // A retry of an applied migration's failed keys that fails again leaves it
  // applied with its failed keys, for the next `up` to retry; the checkpoint
  // counts them right (a stopped batch is not counted, its keys stay in the set).
  bool retry = options_.retry_failed.has_value();
  rec.status = report.ok || retry ? LedgerStatus::kApplied : LedgerStatus::kFailed;
  rec.applied_at = NowIso8601();
  rec.duration_ms = report.duration_ms;
  rec.counters = report.ok || !retry ? report.counters : cp_.counters;
  rec.mode = options_.mode;
  rec.by = CurrentUserAtHost();
  if (!report.ok && !retry) {
    rec.error = report.error.message;
    rec.failed_key = report.failed_key;
    if (Status st = SaveFailed(report); !st) return st.error();
  }
  if (Status st = Ledger(conn_, keys_).Put(rec); !st) return st.error();
  if (rec.status == LedgerStatus::kApplied)
    if (Status st = store_.Delete(version_); !st) return st.error();
  return report;
}

// Catch-up's checkpoint: dropped when its scan is complete, else kept (a
// failed key is retried by the next `catchup`) with the error, for `status`.
Result<RunReport> RunState::FinishCatchup(const RunReport& report) {
  if (report.ok) {
    if (Status st = store_.Delete(version_); !st) return st.error();
    return report;
  }
  if (Status st = SaveFailed(report); !st) return st.error();
  return report;
}

}  // namespace keyshift
