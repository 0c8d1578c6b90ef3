// RunState (engine/run_state.h) against a real server: what one run leaves
// for the next (checkpoint, failed-keys set) and how a run's outcome is
// recorded (ledger, checkpoint dropped or kept as failed).
#include <catch.hpp>

#include <algorithm>
#include <memory>

#include "engine/key_source.h"
#include "engine/ledger.h"
#include "engine/run_state.h"
#include "tests/support/integration_fixtures.h"

using namespace keyshift;
using namespace keyshift::testing;

namespace {

constexpr long long kVersion = 7;

MigrationFile File() {
  MigrationFile f;
  f.version = kVersion;
  f.filename = "0007_demo.lua";
  f.path = "migrations/0007_demo.lua";
  f.sha256 = "abc";
  return f;
}

std::vector<std::string> Failed(Topology& conn, const StateKeys& keys) {
  auto failed = FailedKeys(&conn, keys, kVersion);
  REQUIRE(failed.ok());
  std::sort(failed->begin(), failed->end());
  return *failed;
}

LedgerRecord Record(Topology& conn, const StateKeys& keys) {
  auto all = Ledger(&conn, keys).LoadAll();
  REQUIRE(all.ok());
  REQUIRE(all->count(kVersion) == 1);
  return all->at(kVersion);
}

// A server, keyshift's state keys on it, and runs of kVersion over them.
struct Fixture {
  RedisServer server;
  std::unique_ptr<Topology> conn = server.Connect();
  StateKeys keys{"keyshift:"};
  // A run begun and its scan's start saved.
  std::unique_ptr<RunState> Started(const RunOptions& options, const std::string& run_id = "") {
    auto state = std::make_unique<RunState>(conn.get(), keys, options, kVersion);
    REQUIRE(state->Begin());
    REQUIRE(state->SaveStart("0", run_id));
    return state;
  }
};

}  // namespace

TEST_CASE("RunState: the next run resumes from the last batch's checkpoint and failed keys", "[redis][run_state]") {
  Fixture f;
  auto first = f.Started(RunOptions{}, "run-a");
  CHECK_FALSE(first->resumed());
  first->counters().scanned = 3;
  first->counters().failed = 2;
  first->Advance("12");
  REQUIRE(first->SaveBatch({}, {"k1", "k2"}));
  CHECK(Failed(*f.conn, f.keys) == std::vector<std::string>{"k1", "k2"});

  RunState second(f.conn.get(), f.keys, RunOptions{}, kVersion);
  REQUIRE(second.Begin());
  CHECK(second.resumed());
  CHECK(second.checkpoint().cursor == "12");
  CHECK(second.checkpoint().run_id == "run-a");
  CHECK(second.counters().scanned == 3);
  REQUIRE(second.SaveBatch({"k1"}, {}));  // retried, and did not fail again
  CHECK(Failed(*f.conn, f.keys) == std::vector<std::string>{"k2"});

  RunReport report;
  report.counters = second.counters();
  REQUIRE(second.Finish(File(), report).ok());
  CHECK(Record(*f.conn, f.keys).status == LedgerStatus::kApplied);
  CHECK(Record(*f.conn, f.keys).counters.scanned == 3);
  CHECK(Cmd(*f.conn, {"EXISTS", f.keys.checkpoint(kVersion)}).integer == 0);
}

TEST_CASE("RunState: a failed run keeps its checkpoint, marked failed, and the ledger says failed",
          "[redis][run_state]") {
  Fixture f;
  auto state = f.Started(RunOptions{});
  RunReport report;
  report.ok = false;
  report.error = Fail("boom");
  report.failed_key = "user:1";
  REQUIRE(state->Finish(File(), report).ok());
  LedgerRecord rec = Record(*f.conn, f.keys);
  CHECK(rec.status == LedgerStatus::kFailed);
  CHECK(rec.error == "boom");
  CHECK(rec.failed_key == "user:1");
  auto cp = CheckpointStore(f.conn.get(), f.keys).Load(kVersion);
  REQUIRE(cp.ok());
  REQUIRE(cp->has_value());
  CHECK((*cp)->status == CheckpointStatus::kFailed);
  CHECK((*cp)->failed_key == "user:1");
}

TEST_CASE("RunState: a dry-run and an interrupted run leave their state as it was", "[redis][run_state]") {
  Fixture f;
  RunOptions dry;
  dry.dry_run = true;
  auto preview = f.Started(dry);
  REQUIRE(preview->SaveBatch({}, {"k1"}));
  REQUIRE(preview->Finish(File(), RunReport{}).ok());
  CHECK(Cmd(*f.conn, {"DBSIZE"}).integer == 0);

  auto run = f.Started(RunOptions{});
  RunReport interrupted;
  interrupted.interrupted = true;
  REQUIRE(run->Finish(File(), interrupted).ok());
  CHECK(Cmd(*f.conn, {"EXISTS", f.keys.checkpoint(kVersion)}).integer == 1);  // the next run resumes from it
  CHECK(Cmd(*f.conn, {"EXISTS", f.keys.ledger()}).integer == 0);
}
