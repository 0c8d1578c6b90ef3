// --workers N in host mode: N sandboxes loaded from the migration's file,
// transforming a chunk's keys on N threads (the caller's thread is one of
// them) while the caller keeps all Redis I/O. The pool only computes
// outcomes: the caller consumes them in key order, exactly as it would have
// called MigrationScript::Transform itself, so error handling, writes and
// output do not depend on the worker count. Requires per-key pure transforms
// (docs/migrations.md, Determinism): each state has its own globals.
#pragma once

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "bindings/migration_script.h"
#include "core/result.h"

namespace keyshift {

struct TransformInput {
  const std::string* key;
  const Value* value;
};

// One key's transform, and the ks.log lines it wrote (held back so that they
// are printed in key order, by the caller, only for keys a --workers 1 run
// would have transformed).
struct PooledTransform {
  std::optional<Result<TransformOutcome>> outcome;
  std::vector<std::string> log;
};

class TransformPool {
 public:
  // Loads `text` `workers` times with the limits of `script` (the run's own,
  // already loaded: the file's limits, else the defaults it was loaded with).
  static Result<std::unique_ptr<TransformPool>> Create(const MigrationScript& script, const std::string& text,
                                                       int workers);
  ~TransformPool();
  TransformPool(const TransformPool&) = delete;
  TransformPool& operator=(const TransformPool&) = delete;

  // Transforms every input; (*out)[i] is inputs[i]'s. Returns when all are done.
  void Run(const std::vector<TransformInput>& inputs, std::vector<PooledTransform>* out);
  size_t workers() const { return scripts_.size(); }

 private:
  TransformPool() = default;
  void Work(size_t w);   // a worker thread's loop (w >= 1)
  void Drain(size_t w);  // takes inputs until none is left

  std::vector<std::unique_ptr<MigrationScript>> scripts_;  // [w]: worker w's; 0 is the caller's
  std::vector<std::vector<std::string>*> log_to_;          // [w]: where worker w's current key logs
  std::vector<std::thread> threads_;
  std::mutex mu_;
  std::condition_variable wake_, done_;
  unsigned long long generation_ = 0;  // one per Run: wakes the workers
  size_t busy_ = 0;                    // workers not yet through this Run
  bool quit_ = false;
  const std::vector<TransformInput>* inputs_ = nullptr;
  std::vector<PooledTransform>* out_ = nullptr;
  std::atomic<size_t> next_{0};
};

// The --workers default: 1 where Redis and keyshift would share two cores or
// fewer, else half the cores, at most kMaxDefaultWorkers (docs/benchmarks.md).
int DefaultWorkers(unsigned cores);
constexpr int kMaxDefaultWorkers = 4;
constexpr int kMaxWorkers = 64;

}  // namespace keyshift
