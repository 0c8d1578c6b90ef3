// Server-side Lua scripts by sha1: commands are sent as EVALSHA, and a
// NOSCRIPT reply (fresh server, SCRIPT FLUSH, failover) loads the script and
// resends just those commands, which cannot have run.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "runtime/redis_client.h"

namespace keyshift {

class ScriptCache {
 public:
  explicit ScriptCache(RedisConnection* conn) : conn_(conn) {}

  // EVALSHA <sha> numkeys keys... args...; remembers the body for reloads.
  Command Evalsha(const std::string& body, const std::vector<std::string>& keys,
                  const std::vector<std::string>& args);
  // Pipelines `commands`; EVALSHA commands answered NOSCRIPT are loaded and resent.
  Result<std::vector<Reply>> Run(const std::vector<Command>& commands);
  RedisConnection* connection() const { return conn_; }

 private:
  RedisConnection* conn_;
  std::map<std::string, std::string> bodies_;  // sha1 -> script
};

std::string Sha1Hex(const std::string& data);

}  // namespace keyshift
