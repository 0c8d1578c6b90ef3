// The watchdog thread: PING while armed, SCRIPT KILL on BUSY past the limit.
#include "server_mode/script_watchdog.h"

namespace keyshift {

ScriptWatchdog::ScriptWatchdog(ConnectionFactory connect, long long limit_ms) : limit_ms_(limit_ms) {
  // Connect now: once a script runs, Redis refuses a new client's handshake.
  // On a cluster that means every primary too: the topology opens a node's
  // connection on first use, and a busy node refuses it (BUSY), so the
  // first Check() would never reach the very node it has to stop.
  auto c = connect();
  if (c.ok() && (*c)->Primaries().ok()) conn_ = std::move(c.value());
  thread_ = std::thread(&ScriptWatchdog::Loop, this);
}

ScriptWatchdog::~ScriptWatchdog() {
  {
    std::lock_guard<std::mutex> guard(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

void ScriptWatchdog::Arm() {
  std::lock_guard<std::mutex> guard(mu_);
  armed_ = true;
  armed_at_ = std::chrono::steady_clock::now();
  fired_ = false;
  cv_.notify_all();
}

void ScriptWatchdog::Disarm() {
  std::lock_guard<std::mutex> guard(mu_);
  armed_ = false;
}

void ScriptWatchdog::Check() {
  // PING blocks while a script runs, until Redis starts answering BUSY; the
  // primaries are asked at once, so one busy node delays none of the others.
  auto pings = OnEveryPrimary(conn_.get(), {"PING"});
  if (!pings.ok()) return;
  std::vector<RedisConnection*> busy;
  for (const PrimaryReply& p : *pings)
    if (p.reply.is_error() && p.reply.str.compare(0, 4, "BUSY") == 0) busy.push_back(p.node.conn);
  std::lock_guard<std::mutex> guard(mu_);
  // No busy node means no script runs now: the next one starts later. Timing
  // from here (not from Arm) keeps a late key of a long batch its full limit.
  if (busy.empty()) armed_at_ = std::chrono::steady_clock::now();
  auto elapsed = std::chrono::steady_clock::now() - armed_at_;
  if (busy.empty() || !armed_ || elapsed < std::chrono::milliseconds(limit_ms_)) return;
  for (RedisConnection* conn : busy)
    if (conn->Call({"SCRIPT", "KILL"}).ok()) fired_ = true;
}

void ScriptWatchdog::Loop() {
  std::unique_lock<std::mutex> guard(mu_);
  while (!stop_ && conn_) {
    cv_.wait_for(guard, std::chrono::milliseconds(100), [this] { return stop_; });
    if (stop_ || !armed_) continue;
    guard.unlock();
    Check();
    guard.lock();
  }
}

}  // namespace keyshift
