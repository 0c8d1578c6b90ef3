// Scanner (engine/scanner.h) over the in-memory fake Redis: every key at
// least once, resumable positions, another pass for a node that gained a
// slot behind its cursor, position validation, and a restarted node.
#include "engine/scanner.h"

#include <catch.hpp>
#include <limits>
#include <set>

#include "core/slot.h"
#include "tests/support/fake_redis.h"
#include "tests/support/must.h"

namespace keyshift {
namespace {

using testing::FakeCluster;
using testing::Must;
using testing::MustOk;
using Keys = std::set<std::string>;

// Every key the scanner still has; a runaway scan fails instead of hanging.
Keys Drain(Scanner& scanner) {
  Keys out;
  for (int calls = 0; !scanner.done(); ++calls) {
    if (calls > 10000) FAIL("the scan does not end");
    for (std::string& k : Must(scanner.Next())) out.insert(std::move(k));
  }
  return out;
}

Keys NextKeys(Scanner& scanner) {
  auto keys = Must(scanner.Next());
  return Keys(keys.begin(), keys.end());
}

// `counts[n]` keys "s:..." on node n: uneven counts let one node's cursor
// run ahead of another's.
Keys Seed(FakeCluster& fc, const std::vector<int>& counts) {
  Keys all;
  for (int node = 0; node < static_cast<int>(counts.size()); ++node)
    for (int i = 0; i < counts[static_cast<size_t>(node)]; ++i) {
      std::string key = fc.KeyOn(node, "s:", i);
      fc.Put(key, "v");
      all.insert(key);
    }
  return all;
}

// The SCAN cursor `position` holds for node `id` (max when done).
uint64_t CursorOf(const std::string& position, const std::string& id) {
  size_t at = position.find(id + "@");
  REQUIRE(at != std::string::npos);
  size_t eq = position.find('=', at);
  std::string cursor = position.substr(eq + 1, position.find_first_of(";|!", eq) - eq - 1);
  return cursor == "done" ? std::numeric_limits<uint64_t>::max() : std::stoull(cursor);
}

// A key on node 0 that the scan has not returned, placed behind node 1's
// cursor: moved to node 1, only another pass there can find it.
std::string KeyBehind(const FakeCluster& fc, const Scanner& scanner, const Keys& seen) {
  uint64_t passed = CursorOf(scanner.position(), fc.id(1));
  for (const std::string& k : fc.Keys(0))
    if (!seen.count(k) && FakeCluster::ScanOrder(k) < passed) return k;
  FAIL("no key of node 0 lies behind node 1's cursor");
  return "";
}

Keys Union(const Keys& a, const Keys& b) {
  Keys out = a;
  out.insert(b.begin(), b.end());
  return out;
}

Keys Intersection(const Keys& a, const Keys& b) {
  Keys out;
  for (const std::string& k : a)
    if (b.count(k)) out.insert(k);
  return out;
}

TEST_CASE("every key on every primary is returned, keyshift's own keys never", "[unit][scanner]") {
  FakeCluster fc(3);
  Keys all = Seed(fc, {40, 50, 60});
  fc.Put("keyshift:{state}:ledger", "x");
  fc.Put("other:1", "x");
  StateKeys state("keyshift:");
  auto topo = Must(fc.OpenTopology());
  Scanner matching(topo.get(), "s:*", std::nullopt, 30, &state);
  CHECK(Drain(matching) == all);
  Scanner everything(topo.get(), "*", KeyType::kString, 30, &state);
  all.insert("other:1");
  CHECK(Drain(everything) == all);
  Scanner hashes(topo.get(), "*", KeyType::kHash, 30, &state);
  CHECK(Drain(hashes).empty());
}

TEST_CASE("a scan that returned its last keys is done at once when nothing moved", "[unit][scanner]") {
  auto single = FakeCluster::SingleServer();
  FakeCluster cluster(3);
  for (FakeCluster* fc : {single.get(), &cluster}) {
    INFO(fc->size() << " node(s)");
    Keys all = Seed(*fc, std::vector<int>(static_cast<size_t>(fc->size()), 20));
    auto topo = Must(fc->OpenTopology());
    Scanner scanner(topo.get(), "s:*", std::nullopt, 1000, nullptr);
    CHECK(NextKeys(scanner) == all);
    CHECK(scanner.done());
  }
}

TEST_CASE("position() resumes where the scan stopped, rescanning a node with a new run_id", "[unit][scanner]") {
  FakeCluster fc(3);
  Keys all = Seed(fc, {60, 60, 60});
  auto topo = Must(fc.OpenTopology());
  Scanner first(topo.get(), "s:*", std::nullopt, 30, nullptr);
  Keys seen = Union(NextKeys(first), NextKeys(first));
  std::string position = first.position();
  CHECK(position.rfind("cluster:", 0) == 0);
  CHECK(ValidPosition(position));
  int restarted = -1;
  SECTION("the same server processes") {}
  SECTION("node 1 restarted") {
    restarted = 1;
    fc.Restart(1);
  }

  auto again = Must(fc.OpenTopology());
  Scanner second(again.get(), "s:*", std::nullopt, 30, nullptr);
  MustOk(second.Start(position, first.run_id()));
  Keys rest = Drain(second);
  CHECK_FALSE(seen.empty());
  CHECK(Union(seen, rest) == all);
  CHECK(second.extra_passes() == 0);
  for (const std::string& k : all) {
    INFO(k << " on node " << fc.NodeOf(k));
    if (fc.NodeOf(k) == restarted) CHECK(rest.count(k));  // scanned from 0
    else CHECK(rest.count(k) + seen.count(k) == 1);       // resumed, not started over
  }
}

TEST_CASE("a single server's cursor resumes, unless its run_id changed", "[unit][scanner]") {
  auto fc = FakeCluster::SingleServer();
  Keys all = Seed(*fc, {100});
  auto topo = Must(fc->OpenTopology());
  Scanner first(topo.get(), "s:*", std::nullopt, 30, nullptr);
  Keys seen = NextKeys(first);
  CHECK(ValidPosition(first.position()));
  CHECK(first.run_id() == fc->run_id(0));

  Scanner resumed(topo.get(), "s:*", std::nullopt, 30, nullptr);
  MustOk(resumed.Start(first.position(), first.run_id()));
  Keys rest = Drain(resumed);
  CHECK(Intersection(seen, rest).empty());
  CHECK(Union(seen, rest) == all);

  fc->Restart(0);
  Scanner restarted(topo.get(), "s:*", std::nullopt, 30, nullptr);
  MustOk(restarted.Start(first.position(), first.run_id()));
  CHECK(Drain(restarted) == all);
}

TEST_CASE("a node that gains keys behind its cursor is scanned again", "[unit][scanner]") {
  FakeCluster fc(3);
  Keys all = Seed(fc, {300, 30, 30});  // node 1's cursor runs far ahead of node 0's
  auto topo = Must(fc.OpenTopology());
  Scanner scanner(topo.get(), "s:*", std::nullopt, 30, nullptr);
  Keys seen = NextKeys(scanner);
  std::string behind = KeyBehind(fc, scanner, seen);
  int slot = KeySlot(behind);
  SECTION("its slot moved at once") { fc.MoveSlot(slot, 0, 1); }
  SECTION("its slot still migrating") {
    fc.BeginMigration(slot, 0, 1);
    fc.MigrateKey(behind);  // on node 1 now, which does not own the slot yet
    // Found while the slot map is unchanged: only node 1's IMPORTING mark tells.
    for (int calls = 0; calls < 200 && !seen.count(behind); ++calls) seen = Union(seen, NextKeys(scanner));
    CHECK(seen.count(behind));
    fc.FinishMigration(slot);
  }
  Keys rest = Drain(scanner);
  CHECK(Union(seen, rest).count(behind));
  CHECK(Union(seen, rest) == all);
  CHECK(scanner.extra_passes() >= 1);
}

TEST_CASE("an import that stops moving keys does not keep the scan going", "[unit][scanner]") {
  FakeCluster fc(3);
  Keys all = Seed(fc, {30, 30, 30});
  std::string moving = fc.KeyOn(0, "s:");
  int slot = KeySlot(moving);
  auto topo = Must(fc.OpenTopology());
  Scanner scanner(topo.get(), "s:*", std::nullopt, 30, nullptr);
  Keys seen;
  SECTION("a reshard left half done before the scan began") { fc.BeginMigration(slot, 0, 1); }
  SECTION("two, from one source") {
    fc.BeginMigration(slot, 0, 1);
    fc.BeginMigration(KeySlot(fc.KeyOn(0, "s:", 1)), 0, 2);
  }
  SECTION("a reshard that stalls during the scan, one key moved") {
    seen = NextKeys(scanner);
    fc.BeginMigration(slot, 0, 1);
    fc.MigrateKey(moving);
  }
  CHECK(Union(seen, Drain(scanner)) == all);  // Drain fails a scan that does not end
  CHECK(scanner.extra_passes() <= 2);
}

TEST_CASE("ValidPosition accepts what position() writes and refuses anything else", "[unit][scanner]") {
  FakeCluster fc(3);
  Seed(fc, {300, 30, 30});
  auto topo = Must(fc.OpenTopology());
  Scanner scanner(topo.get(), "s:*", std::nullopt, 30, nullptr);
  MustOk(scanner.Start());
  std::vector<std::string> written{scanner.position()};
  Must(scanner.Next());
  fc.MoveSlot(KeySlot(fc.KeyOn(0, "moving:")), 0, 1);  // marks a node for another pass: "!"
  Must(scanner.Next());
  written.push_back(scanner.position());
  Drain(scanner);
  written.push_back(scanner.position());
  for (const std::string& p : written) {
    INFO(p.substr(0, 300));
    CHECK(ValidPosition(p));
  }
  CHECK(written[1].find('!') != std::string::npos);

  for (const char* ok : {"0", "1536", "18446744073709551615", "cluster:a@r=0|", "cluster:a@r=done!;b@r=12|0-16383:a"})
    CHECK(ValidPosition(ok));
  for (const char* bad : {"", "abc", "-1", "12a", " 12", "123456789012345678901", "cluster:", "cluster:|",
                          "cluster:a@r=|", "cluster:a@r=x|", "cluster:a@r=5!!|", "cluster:a=5@r|",
                          "cluster:a@r=5", "cluster:a@r=5|0-10", "cluster:a@r=5|9-3:a", "cluster:a@r=5|0-16384:a",
                          "cluster:a@r=5|x-y:a", "cluster:a@r=5|a|b", "CLUSTER:a@r=5|"}) {
    INFO("'" << bad << "'");
    CHECK_FALSE(ValidPosition(bad));
  }
}

}  // namespace
}  // namespace keyshift
