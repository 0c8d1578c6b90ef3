// Host mode's KeySink: each batch is read (reader.h), transformed in the
// host sandbox and written through the CAS writer (writer.h), or, in a
// dry-run, rendered as diffs. A key whose CAS lost to an application write
// is re-read and re-transformed alone, up to RunOptions::max_cas_retries
// times; a portable migration hands a key that keeps losing to the
// server-side path (the hot-key fallback, server_strategy.h) after
// kHotKeyAttempts.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "engine/checkpoint.h"
#include "engine/key_sink.h"
#include "engine/reader.h"
#include "engine/server_strategy.h"
#include "engine/transform_pool.h"
#include "engine/writer.h"

namespace keyshift {

class HostStrategy : public KeySink {
 public:
  // `hot_keys` may be null; so may `pool` (--workers 1: ctx.script transforms).
  HostStrategy(const SinkContext& ctx, std::unique_ptr<ServerStrategy> hot_keys,
               std::unique_ptr<TransformPool> pool = nullptr)
      : ctx_(ctx), hot_keys_(std::move(hot_keys)), pool_(std::move(pool)) {}
  Status Migrate(const std::vector<std::string>& keys) override;
  long long cas_retries() const override { return cas_retries_; }
  long long moved_server_side() const override { return moved_server_side_; }
  Counters written_in_batch() const override { return written_; }

 private:
  // Write ops and, at the same index, the snapshot each was made from (for
  // counting the journal and rendering diffs; the writer needs only the op).
  struct Writes {
    std::vector<WriteOp> ops;
    std::vector<const KeySnapshot*> read;
  };
  static constexpr int kHotKeyAttempts = 5;  // CAS attempts before a portable migration goes server-side
  // Keys per read or write script call on a single server: enough to spread
  // a call's fixed cost thin, few enough that one call holds Redis for about
  // a millisecond. On a cluster a script reaches one slot: one key per call.
  static constexpr size_t kKeysPerCall = 64;
  size_t PerCall() const;

  Status Pass(std::vector<std::string>* pending);
  // Pass on one server, streamed: every read call goes out at once; each
  // chunk is transformed as its reply arrives and its writes go out at once,
  // so Redis reads and writes while the host transforms. The chunk with a
  // key that stops the run (--on-error abort) and every chunk after it are
  // not written; chunks before it are (written_in_batch() counts them).
  Status StreamedPass(std::vector<std::string>* pending);
  Status SendReads(const std::vector<std::string>& keys, const ReadOptions& read);
  // Sends the write call for writes->ops[*sent, end); lease checked first.
  Status SendWrites(const Writes& writes, size_t* sent, std::vector<size_t>* call_ends);
  Result<std::vector<WriteResult>> TakeWrites(const Writes& writes, const std::vector<size_t>& call_ends);
  // An error mid-stream: the replies still on the wire are read and dropped.
  Status Abandon(const Status& why);
  ReadOptions ReadOpts() const;
  // Counts acknowledged writes; keys whose CAS lost go to *changed.
  void CountWrites(const Writes& writes, const std::vector<WriteResult>& results, std::vector<std::string>* changed);
  // Re-reads `key` alone until its CAS wins, it goes server-side, or it fails.
  Status RetryAlone(const std::string& key);
  // Transforms snaps[from...] into writes, in order; a key after one that
  // stops the run is not transformed (with a pool: its outcome is dropped).
  void TransformAll(const std::vector<KeySnapshot>& snaps, size_t from, Writes* writes);
  // Whether TransformAll runs the transform on `snap` (a present key of the scan's type).
  bool Transformable(const KeySnapshot& snap) const;
  // With a pool: the transforms of snaps[from...] that TransformAll will
  // consume in order, computed in parallel; empty without a pool.
  std::vector<PooledTransform> Pretransform(const std::vector<KeySnapshot>& snaps, size_t from);
  // The next key's outcome: from the pool (its ks.log lines printed now) or ctx_.script.
  Result<TransformOutcome> Outcome(const KeySnapshot& snap, std::vector<PooledTransform>& pooled, size_t* next);
  // Why the transform's outcome for `snap` cannot be written ("" if it can).
  std::string Refusal(const KeySnapshot& snap, const TransformOutcome& outcome) const;
  Status ApplyWrites(const Writes& writes, std::vector<std::string>* changed);
  // Dry-run: a rename onto an existing key fails in a real run; say so now.
  Status DropExistingTargets(Writes* writes);
  void Preview(const Writes& writes);
  void TargetExists(const WriteOp& op);

  const SinkContext& ctx_;
  std::unique_ptr<ServerStrategy> hot_keys_;
  std::unique_ptr<TransformPool> pool_;
  long long cas_retries_ = 0;
  long long moved_server_side_ = 0;
  Counters written_;  // this batch's acknowledged writes
};

}  // namespace keyshift
