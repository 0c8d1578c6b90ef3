// Server mode's KeySink: the whole read -> transform -> write step runs in
// Redis, one script call per key (server_runner.h). Owns the ServerRunner.
// The first keys of the first batch with a key (up to kPreflightBytes of
// values) are pre-flighted in the host sandbox, so an obvious error or
// runaway never reaches the server. The host strategy also
// sends it the keys the application writes faster than a host-side CAS can
// follow (Send).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "engine/key_sink.h"
#include "engine/server_runner.h"

namespace keyshift {

// Values the pre-flight transforms on the host, at most (plus one key): what
// one server-side call reads (kServerCallByteBudget).
inline constexpr size_t kPreflightBytes = 256 * 1024;

class ServerStrategy : public KeySink {
 public:
  ServerStrategy(const SinkContext& ctx, const MigrationFile& file, const MigrationInfo& info)
      : ctx_(ctx), runner_(ctx.scripts, ctx.keys, file, info, ctx.options.connect, ctx.cluster) {}
  Status Migrate(const std::vector<std::string>& keys) override;
  // The server-side step for `keys`, without pre-flight or lock renewal; each
  // result counted, rendered or handed to the error policy.
  Status Send(const std::vector<std::string>& keys);

 private:
  Status Preflight(const std::vector<std::string>& keys);
  void Account(const ServerKeyResult& result);

  const SinkContext& ctx_;
  ServerRunner runner_;
  bool first_ = true;  // no key has been pre-flighted yet
};

}  // namespace keyshift
