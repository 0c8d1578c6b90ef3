// Server-side Lua scripts by sha1: each script is sent with SCRIPT LOAD
// once, before its first EVALSHA; a NOSCRIPT reply later (SCRIPT FLUSH,
// restart, failover) loads it again and resends just those commands, which
// cannot have run.
#pragma once

#include <deque>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "core/digest.h"
#include "redis/redis_client.h"

namespace keyshift {

// A script's text with its sha1, computed once (server-mode scripts run to
// 100 KB: hashing them per call would cost more than the call).
struct LuaScript {
  explicit LuaScript(std::string text) : body(std::move(text)), sha(Sha1Hex(body)) {}
  std::string body;
  std::string sha;
};

class ScriptCache {
 public:
  explicit ScriptCache(RedisConnection* conn) : conn_(conn) {}

  // EVALSHA <sha> numkeys keys... args...; remembers the script for reloads.
  // Takes keys and args by value: a caller done with them moves them in.
  Command Evalsha(const LuaScript& script, std::vector<std::string> keys, std::vector<std::string> args);
  // Pipelines `commands`; EVALSHA commands answered NOSCRIPT are loaded and resent.
  Result<std::vector<Reply>> Run(const std::vector<Command>& commands);
  RedisConnection* connection() const { return conn_; }

  // Asks once (ACL WHOAMI, ACL GETUSER) whether the connection's user may run
  // every command on every key (`+@all` on `~*`), so the write scripts may
  // skip their per-key redis.acl_check_cmd (script_safety.h). A user that
  // may not ask, or any doubt, counts as restricted: the checks stay. ACLs
  // are per node: call it only on a single server. Not while calls are in flight.
  void ProbeAcl();
  bool acl_unrestricted() const { return acl_unrestricted_; }

  // Streaming, where the connection CanStream(): Send puts a command on the
  // wire now; Next returns the reply of the oldest one sent and not yet
  // taken, so the caller works while Redis runs the rest. A command answered
  // NOSCRIPT did not run: it runs again (Run) once the replies ahead of it
  // on the wire are read. Run() and Send() may not mix while calls are in flight.
  Status Send(Command command);
  Result<Reply> Next();
  size_t in_flight() const { return sent_.size(); }
  // Reads every reply still on the wire (they stay queued for Next), so the
  // connection may carry other commands, e.g. a lock renewal, in between.
  Status Drain();
  // After an error mid-stream: reads what is left on the wire, if it can,
  // and forgets every call in flight.
  void Forget();

 private:
  RedisConnection* conn_;
  Status LoadNew(const std::vector<Command>& commands);
  Status ReadOne();
  std::deque<Command> sent_;  // awaiting Next, oldest first
  std::deque<Reply> read_;    // replies read ahead for sent_'s first entries
  size_t on_wire_ = 0;        // of sent_, replies not yet read
  bool acl_probed_ = false, acl_unrestricted_ = false;
  std::map<std::string, const LuaScript*> scripts_;  // sha1 -> script; scripts outlive the cache's use
  std::set<std::string> loaded_;                     // shas this cache has sent SCRIPT LOAD for
};

}  // namespace keyshift
