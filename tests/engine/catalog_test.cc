// LoadCatalog (engine/catalog.h) against the fake: each migration's status
// from files, ledger, checkpoints and lock, on a single server and on a
// cluster (where all of it lives on the state node).
#include "engine/catalog.h"

#include <catch.hpp>
#include <fmt/format.h>

#include "core/digest.h"
#include "tests/support/fake_redis.h"
#include "tests/support/must.h"

namespace keyshift {
namespace {

using testing::FakeCluster;
using testing::Must;
using testing::MustOk;

MigrationFile File(long long version, const std::string& slug) {
  MigrationFile f;
  f.version = version;
  f.slug = slug;
  f.filename = fmt::format("{:04d}_{}.lua", version, slug);
  f.path = "migrations/" + f.filename;
  f.text = "return { description = '" + slug + "' }";
  f.sha256 = Sha256Hex(f.text);
  return f;
}

LedgerRecord Record(const MigrationFile& f, const std::string& status, const std::string& sha256) {
  LedgerRecord r;
  r.version = f.version;
  r.name = f.name();
  r.status = *ParseLedgerStatus(status);
  r.sha256 = sha256;
  return r;
}

MigrationDir Directory() {
  MigrationDir dir;
  for (auto [v, slug] : {std::pair{1, "applied"}, {2, "drifted"}, {3, "stopped"}, {4, "failed_run"},
                         {5, "failed_record"}, {6, "retry"}, {8, "rolled_back"}, {9, "new"}})
    dir.files.push_back(File(v, slug));
  return dir;
}

// Ledger and checkpoints giving each migration of Directory() (and the
// ledger-only 0007_gone) the status its slug names.
void WriteState(RedisConnection* conn, const StateKeys& keys, const MigrationDir& dir) {
  Ledger ledger(conn, keys);
  auto file = [&](long long v) { return *dir.Find(v); };
  MustOk(ledger.Put(Record(file(1), "applied", file(1).sha256)));
  MustOk(ledger.Put(Record(file(2), "applied", Sha256Hex("an older text"))));
  MustOk(ledger.Put(Record(file(5), "failed", file(5).sha256)));
  LedgerRecord retry = Record(file(6), "applied", Sha256Hex("fixed since"));
  retry.counters.failed = 2;
  MustOk(ledger.Put(retry));
  MustOk(ledger.Put(Record(File(7, "gone"), "applied", Sha256Hex("gone"))));
  MustOk(ledger.Put(Record(file(8), "rolled_back", file(8).sha256)));
  CheckpointStore checkpoints(conn, keys);
  MustOk(checkpoints.Save(3, Checkpoint{}));
  Checkpoint failed;
  failed.status = CheckpointStatus::kFailed;
  MustOk(checkpoints.Save(4, failed));
}

std::map<long long, std::string> Statuses(const Catalog& catalog) {
  std::map<long long, std::string> out;
  for (const MigrationState& m : catalog.migrations) out[m.version] = MigrationStatusName(m.status);
  return out;
}

const std::map<long long, std::string> kExpected = {
    {1, "applied"}, {2, "drifted"}, {3, "interrupted"}, {4, "failed"}, {5, "failed"},
    {6, "applied"}, {7, "drifted"}, {8, "pending"},     {9, "pending"}};

TEST_CASE("the catalog joins files, ledger, checkpoints and lock", "[unit][catalog]") {
  auto fake = FakeCluster::SingleServer();
  auto conn = fake->Connect();
  StateKeys keys("ks:");
  MigrationDir dir = Directory();
  WriteState(conn.get(), keys, dir);
  Catalog catalog = Must(LoadCatalog(conn.get(), keys, dir));
  CHECK(Statuses(catalog) == kExpected);
  CHECK_FALSE(catalog.lock_holder.has_value());
  const MigrationState& gone = catalog.migrations[6];
  CHECK(gone.version == 7);
  CHECK(gone.name == "0007_gone");
  CHECK(gone.file == nullptr);
  CHECK(catalog.migrations[5].retryable());
  CHECK(catalog.migrations[5].failed_keys() == 2);
  CHECK(catalog.migrations[2].checkpoint.has_value());

  Must(conn->Call({"SET", keys.lock(), R"({"holder":"bob@box"})"}));
  catalog = Must(LoadCatalog(conn.get(), keys, dir));
  CHECK(Statuses(catalog).at(3) == "running");
  CHECK(catalog.lock_holder == std::optional<std::string>(R"({"holder":"bob@box"})"));
}

TEST_CASE("on a cluster the catalog reads everything from the state node", "[unit][catalog]") {
  FakeCluster fc(3);
  auto topo = Must(fc.OpenTopology());
  StateKeys keys("ks:");
  MigrationDir dir = Directory();
  WriteState(topo.get(), keys, dir);
  int state = fc.Owner(StateSlot());
  fc.ClearLogs();
  CHECK(Statuses(Must(LoadCatalog(topo.get(), keys, dir))) == kExpected);
  for (int node = 0; node < 3; ++node) CHECK(fc.Log(node).empty() == (node != state));
  CHECK(fc.Keys(state).size() == 3);  // ledger and two checkpoints
}

TEST_CASE("a corrupt checkpoint stops the catalog, naming its key", "[unit][catalog]") {
  auto fake = FakeCluster::SingleServer();
  auto conn = fake->Connect();
  StateKeys keys("ks:");
  MigrationDir dir = Directory();
  Must(conn->Call({"HSET", keys.checkpoint(4), "cursor", "somewhere"}));
  auto catalog = LoadCatalog(conn.get(), keys, dir);
  REQUIRE_FALSE(catalog.ok());
  CHECK_THAT(catalog.error().message, Catch::Contains(keys.checkpoint(4)) && Catch::Contains("cursor"));
  Must(conn->Call({"DEL", keys.checkpoint(4)}));
  Must(conn->Call({"HSET", keys.lock(), "holder", "x"}));
  auto locked = LoadCatalog(conn.get(), keys, dir);
  REQUIRE_FALSE(locked.ok());
  CHECK_THAT(locked.error().message, Catch::Contains(keys.lock()));
}

}  // namespace
}  // namespace keyshift
