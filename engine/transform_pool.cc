// The worker threads: one generation per Run, inputs taken by an atomic
// index so a slow key does not hold back the others' share.
#include "engine/transform_pool.h"

#include <algorithm>
#include <exception>

#include <fmt/format.h>

namespace keyshift {

int DefaultWorkers(unsigned cores) {
  // On two cores a loopback Redis needs one: a second Lua thread would only
  // take turns with it (docs/performance-notes.md, Workers).
  if (cores <= 2) return 1;
  return std::min<int>(kMaxDefaultWorkers, static_cast<int>(cores / 2));
}

Result<std::unique_ptr<TransformPool>> TransformPool::Create(const MigrationScript& script, const std::string& text,
                                                             int workers) {
  std::unique_ptr<TransformPool> pool(new TransformPool());
  size_t n = static_cast<size_t>(std::max(1, workers));
  pool->log_to_.assign(n, nullptr);
  for (size_t w = 0; w < n; ++w) {
    auto loaded = MigrationScript::Load(script.path(), text, script.info().limits);
    if (!loaded.ok()) return loaded.error();
    std::vector<std::string>** slot = &pool->log_to_[w];
    (*loaded)->SetLogSink([slot](const std::string& line) {
      if (*slot) (*slot)->push_back(line);
    });
    pool->scripts_.push_back(std::move(loaded.value()));
  }
  for (size_t w = 1; w < n; ++w) pool->threads_.emplace_back([p = pool.get(), w] { p->Work(w); });
  return pool;
}

TransformPool::~TransformPool() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    quit_ = true;
  }
  wake_.notify_all();
  for (auto& t : threads_) t.join();
}

void TransformPool::Drain(size_t w) {
  MigrationScript& script = *scripts_[w];
  for (size_t i; (i = next_.fetch_add(1)) < inputs_->size();) {
    PooledTransform& slot = (*out_)[i];
    log_to_[w] = &slot.log;
    // An exception leaving a thread would terminate keyshift: it becomes the key's error.
    try {
      slot.outcome.emplace(script.Transform(*(*inputs_)[i].key, *(*inputs_)[i].value));
    } catch (const std::exception& e) {
      slot.outcome.emplace(Fail(fmt::format("{}: key {}: {}", script.path(), QuoteKey(*(*inputs_)[i].key), e.what())));
    }
    log_to_[w] = nullptr;
  }
}

void TransformPool::Work(size_t w) {
  unsigned long long seen = 0;
  for (;;) {
    {
      std::unique_lock<std::mutex> lock(mu_);
      wake_.wait(lock, [&] { return quit_ || generation_ != seen; });
      if (quit_) return;
      seen = generation_;
    }
    Drain(w);
    std::lock_guard<std::mutex> lock(mu_);
    if (--busy_ == 0) done_.notify_one();
  }
}

void TransformPool::Run(const std::vector<TransformInput>& inputs, std::vector<PooledTransform>* out) {
  out->clear();
  out->resize(inputs.size());
  inputs_ = &inputs;
  out_ = out;
  next_ = 0;
  if (inputs.size() < 2 || threads_.empty()) {  // waking the workers would cost more than it saves
    Drain(0);
    return;
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    busy_ = threads_.size();
    ++generation_;
  }
  wake_.notify_all();
  Drain(0);
  std::unique_lock<std::mutex> lock(mu_);
  done_.wait(lock, [&] { return busy_ == 0; });
}

}  // namespace keyshift
