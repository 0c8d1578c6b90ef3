// Guarantee 8 below the pre-check: when Redis refuses any command a write or
// undo script runs (an ACL user lacking it, a bad argument), the key is left
// as it was, or written and journaled; never half-written. These tests call
// the write and undo paths directly, so `up`'s ACL pre-check cannot stop the
// refusal first.
#include <catch.hpp>
#include <fmt/format.h>

#include "bindings/migration_script.h"
#include "engine/directory.h"
#include "engine/lock.h"
#include "engine/reader.h"
#include "engine/rollback.h"
#include "engine/server_runner.h"
#include "engine/writer.h"
#include "tests/support/integration_fixtures.h"
#include "tests/support/values.h"

using namespace keyshift;
using namespace keyshift::testing;

namespace {

constexpr long long kVersion = 1;

// Every command the read, write and undo scripts run.
const std::vector<std::string> kScriptCommands = {
    "hexists", "dump",  "type",  "pexpiretime", "exists", "del",  "hset",     "hdel",     "hget",   "restore",
    "pexpireat", "set", "get",  "hgetall",     "rpush",  "lrange", "sadd",   "smembers", "zadd",   "zrange"};

struct Scenario {
  const char* name;
  std::vector<Command> seed;
  std::string key;
  KeyAction action;
  std::string new_key;
  Value value;
};

std::vector<Scenario> Scenarios() {
  return {
      {"rewrite a hash with a TTL",
       {{"HSET", "user:h", "a", "1", "b", "2"}, {"PEXPIRE", "user:h", "900000"}},
       "user:h", KeyAction::kRewrite, "", Pairs(KeyType::kHash, {{"a", "10"}, {"c", "3"}})},
      {"rename a string with a TTL",
       {{"SET", "user:s", "hello", "PX", "900000"}}, "user:s", KeyAction::kRename, "user:s2", Text("HELLO")},
      // integer members: an intset, whose DUMP survives RESTORE byte for byte
      {"delete a set", {{"SADD", "user:set", "1", "2", "3"}}, "user:set", KeyAction::kDelete, "", Value{}},
      {"rewrite a list", {{"RPUSH", "user:l", "x", "y"}}, "user:l", KeyAction::kRewrite, "",
       Items(KeyType::kList, {"y", "x", "z"})},
      {"rewrite a zset with a TTL",
       {{"ZADD", "user:z", "1", "a", "2", "b"}, {"PEXPIRE", "user:z", "900000"}},
       "user:z", KeyAction::kRewrite, "", Pairs(KeyType::kZSet, {{"a", "5"}})},
  };
}

void Seed(Topology& admin, const Scenario& s) {
  Cmd(admin, {"FLUSHALL"});
  for (const auto& c : s.seed) Cmd(admin, c);
}

std::unique_ptr<Topology> UserLacking(const RedisServer& server, Topology& admin,
                                             const std::string& command) {
  Cmd(admin, {"ACL", "SETUSER", "ks", "reset", "on", ">pw", "~*", "+@all", "-" + command});
  auto url = ParseRedisUrl(fmt::format("redis://ks:pw@127.0.0.1:{}/0", server.port()));
  REQUIRE(url.ok());
  auto conn = ConnectRedis(*url);
  REQUIRE(conn.ok());
  return SingleServer(std::move(conn.value()));
}

// Writes `s` through the CAS write script on `conn`; returns whether it says written.
bool Write(Topology& reader, Topology& conn, const StateKeys& state, const Scenario& s) {
  ScriptCache read_scripts(&reader), write_scripts(&conn);
  auto snaps = ReadKeys(read_scripts, state, kVersion, {s.key});
  REQUIRE(snaps.ok());
  WriteOp op{s.key, snaps->front().cas(), s.action, s.new_key, s.value};
  auto statuses = WriteBatch(write_scripts, state, kVersion, {op});
  return statuses.ok() && statuses->front().status == WriteStatus::kWritten;
}

// The server-mode script making each scenario's change.
const char* kServerMigration = R"(return {
  description = "one change per scenario",
  mode = "server",
  transform = function(key, value)
    if key == "user:h" then value.a = "10"; value.b = nil; value.c = "3"; return value end
    if key == "user:s" then return ks.rename("user:s2", "HELLO") end
    if key == "user:set" then return ks.DELETE end
    if key == "user:l" then return { "y", "x", "z" } end
    if key == "user:z" then return { a = 5 } end
  end,
})";

// Makes `s`'s change with the server-mode script on `conn`; whether it says written.
bool ServerWrite(Topology& conn, const StateKeys& state, const Scenario& s) {
  TempDir dir;
  dir.Write("0001_server.lua", kServerMigration);
  auto files = ReadMigrationDir(dir.path());
  REQUIRE(files.ok());
  const MigrationFile& file = files->files.front();
  auto script = MigrationScript::Load(file.path, file.text, SandboxLimits{});
  REQUIRE(script.ok());
  ScriptCache scripts(&conn);
  ServerRunner runner(scripts, state, file, (*script)->info(), nullptr);
  auto results = runner.Run({s.key}, /*dry_run=*/false);
  return results.ok() && results->front().kind == ServerKeyResult::kWritten;
}

// Undoes kVersion on `conn`; the lock is held through `admin`.
Result<RollbackReport> Undo(Topology& admin, Topology& conn, const StateKeys& state) {
  auto lock = Lock::Acquire(&admin, state, "down");
  REQUIRE(lock.ok());
  Rollback rollback(&conn, state);
  return rollback.Run(kVersion, RollbackOptions{}, lock->get(), RollbackSinks{});
}

bool JournalEmpty(Topology& admin) { return ScanKeys(admin, "keyshift:j:*").empty(); }

// A script that answered "written" left the key written and journaled (so
// `down` restores `before` exactly); any other answer left it untouched.
void ExpectWholeOrNothing(Topology& admin, const StateKeys& state, const std::map<std::string, std::string>& before,
                          bool written) {
  if (!written) {
    CHECK(SnapshotData(admin) == before);
    CHECK(JournalEmpty(admin));
    return;
  }
  CHECK_FALSE(JournalEmpty(admin));
  auto undone = Undo(admin, admin, state);
  REQUIRE(undone.ok());
  CHECK(undone->conflicts == 0);
  CHECK(SnapshotData(admin) == before);
}

// Runs `check(admin, user, state, scenario, data before)` for every scenario,
// seeded afresh, with a user lacking each script command in turn.
template <typename Check>
void ForEachRefusal(Check check) {
  RedisServer server;
  auto admin = server.Connect();
  StateKeys state("keyshift:");
  for (const auto& command : kScriptCommands) {
    auto user = UserLacking(server, *admin, command);
    for (const auto& s : Scenarios()) {
      INFO(s.name << ", the user lacks " << command);
      Seed(*admin, s);
      check(*admin, *user, state, s, SnapshotData(*admin));
    }
  }
}

}  // namespace

TEST_CASE("a refused command in the write script leaves the key as it was or written and journaled",
          "[redis][guarantee][refusal]") {
  ForEachRefusal([](Topology& admin, Topology& user, const StateKeys& state, const Scenario& s,
                    const std::map<std::string, std::string>& before) {
    ExpectWholeOrNothing(admin, state, before, Write(admin, user, state, s));
  });
}

TEST_CASE("a refused command in the undo script leaves the key restored or still undoable",
          "[redis][guarantee][refusal]") {
  ForEachRefusal([](Topology& admin, Topology& user, const StateKeys& state, const Scenario& s,
                    const std::map<std::string, std::string>& before) {
    REQUIRE(Write(admin, admin, state, s));
    (void)Undo(admin, user, state);  // may fail part-way: that is the point
    auto undone = Undo(admin, admin, state);
    REQUIRE(undone.ok());
    CHECK(undone->conflicts == 0);
    CHECK(SnapshotData(admin) == before);
    CHECK(JournalEmpty(admin));
  });
}

TEST_CASE("a refused command in the server-mode script leaves the key as it was or written and journaled",
          "[redis][guarantee][refusal]") {
  ForEachRefusal([](Topology& admin, Topology& user, const StateKeys& state, const Scenario& s,
                    const std::map<std::string, std::string>& before) {
    bool written = ServerWrite(user, state, s);
    if (written) CHECK_FALSE(ServerWrite(admin, state, s));  // journaled: done, not applied again
    ExpectWholeOrNothing(admin, state, before, written);
  });
}

TEST_CASE("a write Redis rejects after the script started writing is undone in the script",
          "[redis][guarantee][refusal]") {
  RedisServer server;
  auto admin = server.Connect();
  StateKeys state("keyshift:");
  Scenario bad_score{"a zset score Redis rejects",
                     {{"ZADD", "user:z", "1", "a"}, {"PEXPIRE", "user:z", "900000"}},
                     "user:z", KeyAction::kRewrite, "", Pairs(KeyType::kZSet, {{"a", "2"}, {"b", "not-a-number"}})};
  Scenario bad_rename = bad_score;
  bad_rename.action = KeyAction::kRename;
  bad_rename.new_key = "user:z2";
  for (const auto& s : {bad_score, bad_rename}) {
    INFO(s.name << (s.new_key.empty() ? "" : " (rename)"));
    Seed(*admin, s);
    auto before = SnapshotData(*admin);
    CHECK_FALSE(Write(*admin, *admin, state, s));
    CHECK(SnapshotData(*admin) == before);
    CHECK(JournalEmpty(*admin));
  }
}
