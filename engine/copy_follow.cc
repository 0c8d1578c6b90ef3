// The --follow loop of `copy` (copy_follow.h): notified keys in batches,
// each read whole on the source and written or deleted on the target.
#include "engine/copy_follow.h"

#include <fmt/format.h>

#include <algorithm>
#include <unordered_set>
#include <vector>

#include "core/text.h"
#include "engine/copy.h"
#include "engine/copy_chunks.h"
#include "engine/copy_read.h"
#include "engine/copy_shaped.h"
#include "engine/interrupt.h"
#include "engine/scanner.h"
#include "redis/script_cache.h"

namespace keyshift {
namespace {

using Clock = std::chrono::steady_clock;

// KEYS: the key, and for a big key its temporary copy. ARGV: the DUMP
// payload ("" for a big key, or for a key gone from the source), absolute
// expiry in ms (0: none). Overwrites whatever the target holds: "w" written,
// "d" deleted, "-" nothing to delete. A big key whose temporary copy came out
// empty vanished from the source while it was read: it goes too.
const LuaScript kSyncScript(R"(
local key, tmp = KEYS[1], KEYS[2]
local function gone() if redis.call('DEL', key) == 1 then return 'd' end return '-' end
if tmp then
  if redis.call('EXISTS', tmp) == 0 then return gone() end
  redis.call('RENAME', tmp, key)
  if ARGV[2] ~= '0' then redis.call('PEXPIREAT', key, ARGV[2]) end
  return 'w'
end
if ARGV[1] == '' then return gone() end
redis.call('RESTORE', key, ARGV[2], ARGV[1], 'ABSTTL', 'REPLACE')
return 'w'
)");

class Follower {
 public:
  Follower(Topology* source, Topology* target, const StateKeys& state, const FollowOptions& options, Lock& lock)
      : source_(source), target_(target), state_(state), options_(options), lock_(lock), source_scripts_(source),
        target_scripts_(target) {}

  Result<FollowCounters> Run(KeyspaceSubscriber& sub, const std::function<void(const FollowLag&)>& lag);

 private:
  Status Sync(const std::vector<std::string>& keys);
  Status Shape(std::vector<SourceKey>& present);
  Command Plain(const SourceKey& k);
  Status MoveBig(const std::vector<SourceKey>& present);
  Status Resync();
  Result<std::vector<std::string>> GoneFromSource(const std::vector<std::string>& keys);
  void Take(const std::string& key);
  Status Flush();
  FollowLag Lag() const;

  Topology *source_, *target_;
  const StateKeys& state_;
  const FollowOptions& options_;
  Lock& lock_;
  ScriptCache source_scripts_, target_scripts_;
  FollowCounters counters_;
  std::vector<std::string> batch_;
  std::unordered_set<std::string> queued_;
  Clock::time_point oldest_;
  // Target names the migrations gave source keys: not "extra" in a full pass.
  std::unordered_set<std::string> written_names_;
};

Status Follower::MoveBig(const std::vector<SourceKey>& present) {
  for (const SourceKey& k : present) {
    if (k.chunked.empty()) continue;
    if (Status st = lock_.Renew(); !st) return st;
    auto moved = CopyInChunks(source_, target_, k.key, k.chunked, ChunksOf(state_, options_.source_id, k.key));
    if (!moved.ok()) return moved.error();
  }
  return Status::Ok();
}

// Runs the migrations over the read keys they may select; a key one fails
// on ends the follow (exit 1, naming it).
Status Follower::Shape(std::vector<SourceKey>& present) {
  CopyTransforms* t = options_.transforms;
  for (SourceKey& k : present) {
    if (!t || !t->MaySelect(k.key)) continue;
    auto shaped = t->RunDump(k.key, k.payload);
    if (!shaped.ok()) return shaped.error();
    if (!shaped->touched) continue;
    k.shaped = std::move(shaped.value());
    if (!k.shaped->dropped && k.shaped->key != k.key) written_names_.insert(k.shaped->key);
  }
  return Status::Ok();
}

// Makes each of `keys` on the target what it is on the source now.
Status Follower::Sync(const std::vector<std::string>& keys) {
  if (keys.empty()) return Status::Ok();
  CopyCounters unused;
  CopyTransforms* t = options_.transforms;
  auto present =
      ReadSource(source_scripts_, keys, unused, [t](const std::string& key) { return t && t->MaySelect(key); });
  if (!present.ok()) return present.error();
  if (Status st = Shape(*present); !st) return st;
  if (Status st = MoveBig(*present); !st) return st;
  std::unordered_set<std::string> read;
  std::vector<Command> writes;
  std::vector<std::string> order;
  for (const SourceKey& k : *present) {
    read.insert(k.key);
    order.push_back(k.key);
    writes.push_back(k.shaped ? ShapedSync(target_scripts_, state_, options_.source_id, k.key, &k) : Plain(k));
  }
  for (const std::string& key : keys)
    if (!read.count(key)) {
      writes.push_back(t && t->MaySelect(key) ? ShapedSync(target_scripts_, state_, options_.source_id, key, nullptr)
                                              : target_scripts_.Evalsha(kSyncScript, {key}, {"", "0"}));
      order.push_back(key);
    }
  if (Status st = lock_.Renew(); !st) return st;
  auto replies = target_scripts_.Run(writes);
  if (!replies.ok()) return replies.error();
  for (size_t i = 0; i < order.size(); ++i) {
    const Reply& r = (*replies)[i];
    if (r.is_error()) return CopyWriteRefusal(order[i], r.str);
    if (r.str == "w") ++counters_.written;
    if (r.str == "d") ++counters_.deleted;
  }
  return Status::Ok();
}

Command Follower::Plain(const SourceKey& k) {
    std::vector<std::string> names = {k.key};
    if (!k.chunked.empty()) names.push_back(ChunksOf(state_, options_.source_id, k.key));
    return target_scripts_.Evalsha(kSyncScript, names, {k.payload, std::to_string(k.expire_ms)});
}

// Of `keys` (read on the target), those the source no longer has, except
// the names the migrations gave source keys.
Result<std::vector<std::string>> Follower::GoneFromSource(const std::vector<std::string>& keys) {
  std::vector<Command> probes;
  for (const std::string& key : keys) probes.push_back({"EXISTS", key});
  auto replies = source_->Pipeline(probes);
  if (!replies.ok()) return replies.error();
  std::vector<std::string> gone;
  for (size_t i = 0; i < keys.size(); ++i)
    if ((*replies)[i].integer == 0 && !written_names_.count(keys[i])) gone.push_back(keys[i]);
  return gone;
}

// After lost notifications: every matching key of the source again, and
// every matching key of the target that the source lacks, deleted.
Status Follower::Resync() {
  ++counters_.resyncs;
  for (Topology* side : {source_, target_}) {
    Scanner scanner(side, options_.match, std::nullopt, options_.batch, &state_);
    if (Status st = scanner.Start(); !st) return st;
    while (!scanner.done()) {
      auto keys = scanner.Next();
      if (!keys.ok()) return keys.error();
      if (side == target_) keys = GoneFromSource(*keys);
      if (!keys.ok()) return keys.error();
      if (Status st = Sync(*keys); !st) return st;
    }
  }
  return Status::Ok();
}

void Follower::Take(const std::string& key) {
  if (state_.Owns(key) || !queued_.insert(key).second) return;
  if (batch_.empty()) oldest_ = Clock::now();
  batch_.push_back(key);
  ++counters_.notified;
}

Status Follower::Flush() {
  std::vector<std::string> keys = std::move(batch_);
  batch_.clear();
  queued_.clear();
  return Sync(keys);
}

FollowLag Follower::Lag() const {
  long long age = batch_.empty() ? 0
                                 : std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - oldest_).count();
  return FollowLag{batch_.size(), age, &counters_};
}

Result<FollowCounters> Follower::Run(KeyspaceSubscriber& sub, const std::function<void(const FollowLag&)>& lag) {
  auto deadline = options_.for_ms ? Clock::now() + std::chrono::milliseconds(*options_.for_ms) : Clock::time_point::max();
  size_t batch_size = static_cast<size_t>(options_.batch);
  auto shown = Clock::now();
  while (!Interrupted() && Clock::now() < deadline) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    auto key = sub.Next(static_cast<int>(std::clamp<long long>(left, 1, 100)));
    if (!key.ok()) {
      if (Status st = Flush(); !st) return st.error();
      if (Status st = sub.Subscribe(); !st) return st.error();
      if (Status st = Resync(); !st) return st.error();
      continue;
    }
    if (*key) Take(**key);
    // Batches bound the round trips; 100 ms bounds how long a written key waits.
    bool due = batch_.size() >= batch_size || (!*key && !batch_.empty()) ||
               (!batch_.empty() && Clock::now() - oldest_ >= std::chrono::milliseconds(100));
    if (lag && Clock::now() - shown >= std::chrono::milliseconds(250)) {
      lag(Lag());
      shown = Clock::now();
    }
    if (due)
      if (Status st = Flush(); !st) return st.error();
  }
  // What was notified before the end is written too (bounded: the application may go on).
  for (size_t drained = 0; drained < 10 * batch_size; ++drained) {
    auto key = sub.Next(0);
    if (!key.ok() || !*key) break;
    Take(**key);
    if (batch_.size() >= batch_size)
      if (Status st = Flush(); !st) return st.error();
  }
  if (Status st = Flush(); !st) return st.error();
  if (options_.transforms)
    if (Status st = DropCopyState(target_, {NamesPrefix(state_, options_.source_id)}); !st) return st.error();
  return counters_;
}

}  // namespace

Result<FollowCounters> FollowSource(Topology* source, Topology* target, const StateKeys& state,
                                    const FollowOptions& options, KeyspaceSubscriber& sub, Lock& lock,
                                    const std::function<void(const FollowLag&)>& lag) {
  Follower follower(source, target, state, options, lock);
  return follower.Run(sub, lag);
}

}  // namespace keyshift
