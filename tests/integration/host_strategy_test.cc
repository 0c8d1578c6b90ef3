// HostStrategy (engine/host_strategy.h) against a real server, with the
// application's writes made deterministic: a connection that appends to a
// key just before keyshift's CAS write of it, so that write loses.
#include <catch.hpp>

#include <algorithm>
#include <cstdlib>
#include <map>

#include "bindings/migration_script.h"
#include "engine/host_strategy.h"
#include "tests/support/integration_fixtures.h"

using namespace keyshift;
using namespace keyshift::testing;

namespace {

// The data keys a CAS write call (writer.h) names: its keys come in fours
// and its first argument counts the first op's arguments (at least 4); a
// read's first argument is a one-letter rule, server mode's a flag.
std::vector<std::string> CasWriteKeys(const Command& c) {
  if (c.size() < 4 || c[0] != "EVALSHA") return {};
  size_t n = std::stoul(c[2]);
  if (n == 0 || n % 4 != 0 || c.size() <= 3 + n || c[3 + n].size() < 1 || std::atoi(c[3 + n].c_str()) < 4) return {};
  std::vector<std::string> keys;
  for (size_t i = 0; i < n; i += 4) keys.push_back(c[3 + i]);
  return keys;
}

// Forwards to `real`; before each CAS write of a key, the first `times`
// times for that key, appends "!" to the key as an application would
// (times < 0: every time).
class WritesFirst : public RedisConnection {
 public:
  WritesFirst(Topology* real, int times) : real_(real), times_(times) {}
  Result<std::vector<Reply>> Pipeline(const std::vector<Command>& commands) override {
    for (const Command& c : commands)
      for (const std::string& key : CasWriteKeys(c))
        if (times_ < 0 || written_[key]++ < times_) REQUIRE(real_->Call({"APPEND", key, "!"}).ok());
    return real_->Pipeline(commands);
  }
  std::string Describe() const override { return real_->Describe(); }

 private:
  Topology* real_;
  int times_;
  std::map<std::string, int> written_;
};

// As WritesFirst, over a connection that streams (HostStrategy's streamed
// pass on a single server): the application appends over its own connection,
// while keyshift's earlier calls are still in flight.
class StreamWritesFirst : public RedisConnection {
 public:
  StreamWritesFirst(std::unique_ptr<Topology> stream, Topology* app, int times)
      : stream_(std::move(stream)), app_(app), times_(times) {}
  Result<std::vector<Reply>> Pipeline(const std::vector<Command>& commands) override {
    for (const Command& c : commands) Interfere(c);
    return stream_->Pipeline(commands);
  }
  Status Send(const Command& command) override {
    Interfere(command);
    return stream_->Send(command);
  }
  Result<std::optional<Reply>> Receive(int timeout_ms) override { return stream_->Receive(timeout_ms); }
  bool CanStream() const override { return true; }
  std::string Describe() const override { return stream_->Describe(); }

 private:
  void Interfere(const Command& c) {
    for (const std::string& key : CasWriteKeys(c))
      if (times_ < 0 || written_[key]++ < times_) REQUIRE(app_->Call({"APPEND", key, "!"}).ok());
  }
  std::unique_ptr<Topology> stream_;
  Topology* app_;
  int times_;
  std::map<std::string, int> written_;
};

// Portable (server_mode/portability.h), so it may go server-side.
const char* const kAppendX = R"(return {
  description = "append x",
  scan = { match = "e:*", type = "string" },
  transform = function(key, value) return value .. "x" end,
})";

// One host-mode batch over `keys` (strings "v"), the application racing it
// `times` times per key; with `hot_keys`, the server-side fallback.
struct Race {
  RedisServer server;
  std::unique_ptr<Topology> admin = server.Connect();
  StateKeys state{"keyshift:"};
  std::vector<std::string> reported;  // keys the error policy skipped
  Counters counters;
  long long cas_retries = 0;
  long long moved_server_side = 0;

  // `streamed`: over a connection that streams (else one that pipelines).
  void Run(const std::vector<std::string>& keys, int times, const RunOptions& options, bool hot_keys = false,
           bool streamed = false) {
    for (const auto& k : keys) Cmd(*admin, {"SET", k, "v"});
    auto lock = Lock::Acquire(admin.get(), state, "up");
    REQUIRE(lock.ok());
    MigrationFile file{1, "append_x", "0001_append_x.lua", "m/0001_append_x.lua", kAppendX, ""};
    auto script = MigrationScript::Load(file.path, file.text, SandboxLimits{});
    REQUIRE(script.ok());
    WritesFirst pipelined(admin.get(), times);
    StreamWritesFirst streaming(server.Connect(), admin.get(), times);
    ScriptCache scripts(streamed ? static_cast<RedisConnection*>(&streaming) : &pipelined);
    RunSinks sinks;
    sinks.key_error = [this](const std::string& key, const std::string&) { reported.push_back(key); };
    ErrorPolicy errors(options.on_error, options.max_errors, sinks.key_error, &counters);
    SinkContext ctx{scripts, state, 1, **script, options, sinks, lock->get(), &counters, errors};
    HostStrategy host(ctx, hot_keys ? std::make_unique<ServerStrategy>(ctx, file, (*script)->info()) : nullptr);
    REQUIRE(host.Migrate(keys));
    cas_retries = host.cas_retries();
    moved_server_side = host.moved_server_side();
    std::sort(reported.begin(), reported.end());
  }
};

// What the batch counted: keys written, keys failed, CAS re-reads.
void ExpectCounts(const Race& race, long long changed, long long failed, long long cas_retries) {
  CHECK(race.counters.changed == changed);
  CHECK(race.counters.failed == failed);
  CHECK(race.cas_retries == cas_retries);
}

}  // namespace

TEST_CASE("HostStrategy: a key written between the read and the CAS is re-read and transformed from its new value",
          "[redis][host]") {
  for (bool streamed : {false, true}) {
    INFO("streamed " << streamed);
    Race race;
    auto keys = NumberedKeys("e:", 0, streamed ? 150 : 3);  // streamed: several calls per batch
    race.Run(keys, 2, RunOptions{}, false, streamed);
    CHECK(Values(*race.admin, keys) == std::vector<std::string>(keys.size(), "v!!x"));
    long long n = static_cast<long long>(keys.size());
    ExpectCounts(race, n, 0, n * 2);
  }
}

TEST_CASE("HostStrategy --on-error skip: every key whose CAS always loses fails, none is silently left",
          "[redis][host]") {
  for (bool streamed : {false, true}) {
    INFO("streamed " << streamed);
    Race race;
    auto keys = NumberedKeys("e:", 0, streamed ? 70 : 4);
    std::sort(keys.begin(), keys.end());
    RunOptions options;
    options.on_error = OnError::kSkip;
    options.max_cas_retries = 2;
    race.Run(keys, -1, options, false, streamed);
    CHECK(race.reported == keys);
    long long n = static_cast<long long>(keys.size());
    ExpectCounts(race, 0, n, n * 2);
  }
}

TEST_CASE("HostStrategy: a portable migration's key that keeps losing the CAS is migrated server-side",
          "[redis][host]") {
  for (bool streamed : {false, true}) {
    INFO("streamed " << streamed);
    Race race;
    auto keys = NumberedKeys("e:", 0, 3);
    race.Run(keys, -1, RunOptions{}, /*hot_keys=*/true, streamed);
    // The batch's write and five re-read writes lost (one "!" each), then one
    // atomic step inside Redis transformed what the application wrote last.
    CHECK(Values(*race.admin, keys) == std::vector<std::string>(3, "v!!!!!!x"));
    CHECK(race.moved_server_side == 3);
    ExpectCounts(race, 3, 0, 3 * 5);
  }
}
