// `keyshift catchup V`: migration V again over keys the application wrote in
// the old shape after `up`'s scan passed them (SPEC 4, guarantee 10).
//
// Which keys. Catch-up transforms a key unless V's journal shows it is
// already done (journal.h, kCatchupDoneLua): a W entry whose post-write
// content digest still matches the key, or a C entry. So it transforms keys
// with no entry (created since, or skipped by `up`), W keys the application
// rewrote, and keys of D or R entries that reappeared. It writes through the
// same CAS + journal script as `up`; the new entry replaces the old, so its
// post digest is the new value's and a second catch-up sees the key as done:
// one transform per application write, never two for the same value. The
// journal then holds the value the application last wrote before keyshift
// changed it, which is what `down` restores.
//
// Follow. `--follow` subscribes to keyspace notifications for V's scan
// pattern before the rescan (so no write falls between the two) and then
// runs every notified key through the same path, in batches, until Ctrl-C or
// the duration ends. Notifications are at-most-once: after the subscriber
// loses its connection, catch-up resubscribes and rescans.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "core/result.h"
#include "redis/redis_client.h"
#include "engine/state_keys.h"
#include "redis/topology.h"

namespace keyshift {

// notify-keyspace-events must include these for --follow to hear every
// write of the five types keyshift migrates (K: keyspace channels; g: DEL,
// RENAME, RESTORE...; $ l s h z: each type's writes).
inline constexpr const char* kNeededKeyspaceEvents = "Kg$lshz";

// The value notify-keyspace-events needs, given its current value: the
// current one plus what it lacks ("" when nothing lacks).
std::string MissingKeyspaceEvents(const std::string& current, const std::string& needed = kNeededKeyspaceEvents);

// Turns keyspace notifications on for --follow, on every primary (a cluster
// node notifies only its own keys), via CONFIG SET where needed. Returns
// what to restore afterwards: each changed node and its old value.
// A server that refuses CONFIG (managed Redis) is an exit-2 error naming the
// exact setting to ask for.
struct EventsSetting {
  RedisConnection* node;
  std::string old;
};
// `needed`: the event classes the caller must hear.
Result<std::vector<EventsSetting>> EnableKeyspaceEvents(Topology* topology,
                                                        const std::string& needed = kNeededKeyspaceEvents);
// Puts back what EnableKeyspaceEvents changed (best effort: on the way out).
void RestoreKeyspaceEvents(const std::vector<EventsSetting>& changed);
// Restores them whatever way a --follow ends.
struct EventsRestorer {
  std::vector<EventsSetting> changed;
  ~EventsRestorer() { RestoreKeyspaceEvents(changed); }
};

// The ledger counts every key catch-up transformed, over all its runs.
Status RecordCaught(Topology* conn, const StateKeys& keys, long long version, long long caught);

// Durations for --for: "90", "90s", "500ms", "5m", "2h".
Result<long long> ParseDurationMs(const std::string& text);

// Subscribers to V's keyspace channels, one per primary.
class KeyspaceSubscriber {
 public:
  using Factory = TopologyFactory;
  KeyspaceSubscriber(Factory connect, int db, std::string match) : connect_(std::move(connect)), db_(db), match_(std::move(match)) {}
  // (Re)connects and subscribes; returns once Redis confirmed it.
  Status Subscribe();
  // The next written key, nullopt after timeout_ms of silence; an Error when
  // the connection was lost (then Subscribe again, and rescan).
  Result<std::optional<std::string>> Next(int timeout_ms);

 private:
  std::string Channel() const { return "__keyspace@" + std::to_string(db_) + "__:"; }
  Factory connect_;
  int db_;
  std::string match_;
  std::unique_ptr<Topology> topology_;
  std::vector<RedisConnection*> nodes_;
  size_t next_ = 0;  // the node Next() listens to first: round-robin, so none starves
};

}  // namespace keyshift
