// The batch loop: source -> sink, the error policy's stops, a checkpoint
// after every batch.
#include "engine/migrator.h"

#include <algorithm>

#include "engine/error_policy.h"
#include "engine/host_strategy.h"
#include "engine/interrupt.h"
#include "engine/server_strategy.h"
#include "server_mode/portability.h"

namespace keyshift {

namespace {

// What the loop over one run's batches works with.
struct Loop {
  KeySource& source;
  KeySink& sink;
  RunState& state;
  ErrorPolicy& errors;
  const RunOptions& options;
  const RunSinks& sinks;
  RunReport& report;
};

// A batch's keys enter the counters: retried keys leave the failed count
// (they fail again or not), scanned keys join the scanned count.
void CountTaken(const KeyBatch& batch, Counters* c) {
  long long n = static_cast<long long>(batch.keys.size());
  if (batch.retry) c->failed = std::max(0LL, c->failed - n);
  else c->scanned += n;
}

// One batch; whether the run goes on after it.
Result<bool> RunBatch(Loop& l) {
  Counters& counters = l.state.counters();
  Counters before_batch = counters;
  auto batch = l.source.Next();
  if (!batch.ok()) return batch.error();
  CountTaken(*batch, &counters);
  if (Status st = l.sink.Migrate(batch->keys); !st) return st.error();
  if (l.errors.stopped()) {
    // The stopped batch is redone by the next run (from the saved cursor,
    // or from the failed-keys set): the report counts it, the checkpoint does not.
    l.report.counters = counters;
    counters = before_batch;
    counters += l.sink.written_in_batch();  // journaled: the next run finds them done
    return false;
  }
  if (!batch->retry) l.state.Advance(l.source.position());
  static const std::vector<std::string> kNone;
  if (Status st = l.state.SaveBatch(batch->retry ? batch->keys : kNone, l.errors.TakeSkipped()); !st)
    return st.error();
  if (l.sinks.progress) l.sinks.progress(counters);
  if (!l.errors.StopIfOverBudget()) return true;
  l.report.counters = counters;  // the batch is complete: nothing to redo, nothing to discount
  return false;
}

// Batches until the keys run out, a signal, the memory guard or the error policy stops the run.
Status RunBatches(Loop& l) {
  while (!l.source.done()) {
    if (Interrupted()) {
      l.report.interrupted = true;  // the last batch's checkpoint is saved: the next run resumes from it
      return Status::Ok();
    }
    if (l.options.guard && !l.options.dry_run)
      if (Status st = l.options.guard(); !st) {
        l.errors.Stop(st.error());
        l.report.counters = l.state.counters();
        return Status::Ok();
      }
    auto go_on = RunBatch(l);
    if (!go_on.ok()) return go_on.error();
    if (!*go_on) return Status::Ok();
  }
  return Status::Ok();
}

// The report of a run whose batches are over (a stopped run's counters are
// set where it stopped).
void Summarize(Loop& l) {
  if (!l.errors.stopped()) l.report.counters = l.state.counters();
  l.report.cas_retries = l.sink.cas_retries();
  l.report.moved_server_side = l.sink.moved_server_side();
  l.report.duration_ms = l.state.elapsed_ms();
  l.errors.Report(&l.report);
}

// A resumed run first retries the keys earlier runs skipped (--on-error
// skip); that set is up's: catch-up's rescan reaches those keys anyway.
Result<std::vector<std::string>> KeysToRetry(Topology* conn, const StateKeys& keys, const RunOptions& options,
                                             long long version, bool resumed) {
  if ((resumed && !options.catchup) || options.retry_failed) return FailedKeys(conn, keys, version);
  return std::vector<std::string>();
}

}  // namespace

Result<std::unique_ptr<KeyScan>> Migrator::ResumeScan(const RunState& state, const ScanSpec& spec, int batch) {
  if (!state.resumed()) return StartScan(conn_, keys_, spec, batch);
  return StartScan(conn_, keys_, spec, batch, state.checkpoint().cursor, state.checkpoint().run_id);
}

Result<std::unique_ptr<KeySink>> Migrator::MakeSink(const SinkContext& ctx, const MigrationFile& file) {
  const MigrationInfo& info = ctx.script.info();
  // The server-side paths know only up's "done": catch-up stays on the CAS writer.
  if (!ctx.options.catchup && ctx.options.mode == RunMode::kServer)
    return std::unique_ptr<KeySink>(std::make_unique<ServerStrategy>(ctx, file, info));
  std::unique_ptr<ServerStrategy> hot_keys;
  if (!ctx.options.catchup && !ctx.options.dry_run && CheckPortability(file.text).empty())
    hot_keys = std::make_unique<ServerStrategy>(ctx, file, info);
  std::unique_ptr<TransformPool> pool;
  if (ctx.options.workers > 1) {
    auto made = TransformPool::Create(ctx.script, file.text, ctx.options.workers);
    if (!made.ok()) return made.error();
    pool = std::move(made.value());
  }
  return std::unique_ptr<KeySink>(std::make_unique<HostStrategy>(ctx, std::move(hot_keys), std::move(pool)));
}

Result<RunReport> Migrator::Up(const MigrationFile& file, MigrationScript& script, const RunOptions& options,
                               Lock* lock, const RunSinks& sinks) {
  RunState state(conn_, keys_, options, file.version);
  if (Status st = state.Begin(); !st) return st.error();
  int batch = options.batch.value_or(script.info().scan.batch);
  auto scan = ResumeScan(state, script.info().scan, batch);
  if (!scan.ok()) return scan.error();
  if (Status st = state.SaveStart((*scan)->position(), (*scan)->run_id()); !st) return st.error();
  ErrorPolicy errors(options.on_error, options.max_errors, sinks.key_error, &state.counters());
  if (!options.dry_run && !conn_->cluster()) scripts_.ProbeAcl();
  SinkContext ctx{scripts_, keys_, file.version, script, options, sinks, lock, &state.counters(), errors,
                  conn_->cluster()};
  auto made = MakeSink(ctx, file);
  if (!made.ok()) return made.error();
  std::unique_ptr<KeySink> sink = std::move(made.value());
  auto retry = KeysToRetry(conn_, keys_, options, file.version, state.resumed());
  if (!retry.ok()) return retry.error();
  // Retrying an applied migration's failed keys: its scan is complete.
  KeySource source(std::move(*scan), std::move(*retry), static_cast<size_t>(batch), !options.retry_failed);
  RunReport report;
  report.resumed = state.resumed();
  Loop loop{source, *sink, state, errors, options, sinks, report};
  if (Status st = RunBatches(loop); !st) return st.error();
  Summarize(loop);
  return state.Finish(file, report);
}

Result<RunReport> Migrator::CatchKeys(const MigrationFile& file, MigrationScript& script, const RunOptions& options,
                                      Lock* lock, const RunSinks& sinks, std::vector<std::string> keys,
                                      Counters* counters) {
  ErrorPolicy errors(options.on_error, options.max_errors, sinks.key_error, counters);
  if (!options.dry_run && !conn_->cluster()) scripts_.ProbeAcl();
  SinkContext ctx{scripts_, keys_, file.version, script, options, sinks, lock, counters, errors, conn_->cluster()};
  HostStrategy host(ctx, nullptr);
  if (Status st = host.Migrate(keys); !st) return st.error();
  RunReport report;
  report.counters = *counters;
  errors.Report(&report);
  return report;
}

}  // namespace keyshift
