// Stops a runaway server-side script (SPEC 6). While armed around a pipeline
// of server-mode calls, a thread with its own connections pings every
// primary (on a cluster the scripts run on many); once a primary answers BUSY (a script has run past busy-reply-threshold) and the
// migration's time limit has passed, it sends SCRIPT KILL. The killed call
// fails with an error for its key, which is left untouched because the
// script computes before it writes; Redis stays available.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "redis/redis_client.h"
#include "redis/topology.h"

namespace keyshift {

class ScriptWatchdog {
 public:
  ScriptWatchdog(ConnectionFactory connect, long long limit_ms);
  ~ScriptWatchdog();
  void Arm();
  void Disarm();
  // True if it killed a script since the last Arm().
  bool Fired() const { return fired_; }

 private:
  void Loop();
  void Check();

  std::unique_ptr<Topology> conn_;  // opened before any script runs
  long long limit_ms_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool armed_ = false, stop_ = false;
  std::chrono::steady_clock::time_point armed_at_;
  std::atomic<bool> fired_{false};
  std::thread thread_;
};

}  // namespace keyshift
