// keyshift on a real Redis Cluster while the cluster is live (SPEC 7): an
// application writing during `up`, `catchup --follow` on every primary,
// slots moving during a run (redis-cli reshard, a slot left half-migrated,
// kill -9 in the middle of a reshard), and a cluster over TLS. Results are
// read through the harness only; the JSON counter migration shows a double
// application as n = 2 and a skipped key as n = 0.
#include <signal.h>
#include <sys/wait.h>

#include <atomic>
#include <catch.hpp>
#include <chrono>
#include <cstring>
#include <fmt/format.h>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/cluster_fixtures.h"
#include "tests/support/tls_certs.h"

namespace keyshift::testing {
namespace {

bool Contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

std::string OldShape(int id, long long seq) { return fmt::format(R"({{"id":{},"n":0,"w":{}}})", id, seq); }
std::string NewShape(int id, long long seq) { return fmt::format(R"({{"id":{},"n":1,"w":{}}})", id, seq); }

// The application: keeps rewriting doc:<id> for the ids given, in the old
// shape, each on its owner's node through a connection of its own (the slot
// map does not change while it runs). Remembers each key's last acknowledged
// write. No Catch2 macro runs on its thread.
class OldShapeWriter {
 public:
  OldShapeWriter(RedisCluster& cluster, const std::vector<int>& ids) : ids_(ids) {
    for (size_t i = 0; i < cluster.size(); ++i) conns_.push_back(cluster.node(i).Connect());
    for (int id : ids) owner_.push_back(cluster.OwnerOf("doc:" + std::to_string(id)));
    last_.assign(ids.size(), -1);
  }
  ~OldShapeWriter() { Stop(); }
  void Start() { thread_ = std::thread([this] { Loop(); }); }
  void Stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  void WaitForWrites(long long n) {
    long long target = writes_ + n;
    while (writes_ < target && !failed_) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  long long writes() const { return writes_; }
  bool failed() const { return failed_; }
  // -1: never written.
  long long LastSeq(size_t i) const { return last_[i]; }
  const std::vector<int>& ids() const { return ids_; }

 private:
  void Loop() {
    for (long long seq = 1; !stop_; ++seq) {
      size_t i = static_cast<size_t>(seq) % ids_.size();
      auto r = conns_[owner_[i]]->Call({"SET", "doc:" + std::to_string(ids_[i]), OldShape(ids_[i], seq)});
      if (!r.ok() || r->is_error()) return void(failed_ = true);
      last_[i] = seq;
      ++writes_;
      std::this_thread::sleep_for(std::chrono::microseconds(300));
    }
  }
  std::vector<int> ids_;
  std::vector<std::unique_ptr<Topology>> conns_;
  std::vector<size_t> owner_;
  std::vector<long long> last_;
  std::atomic<bool> stop_{false}, failed_{false};
  std::atomic<long long> writes_{0};
  std::thread thread_;
};

// Every doc holds its last acknowledged write transformed once (n = 1), or,
// if the application never wrote it, the seeded document transformed once.
void RequireEveryWriteOnce(RedisCluster& cluster, const OldShapeWriter& app, int docs) {
  std::map<std::string, std::string> values = ClusterStrings(cluster, "doc:*");
  REQUIRE(values.size() == static_cast<size_t>(docs));
  std::map<int, long long> last;
  for (size_t i = 0; i < app.ids().size(); ++i) last[app.ids()[i]] = app.LastSeq(i);
  int wrong = 0;
  for (int id = 0; id < docs; ++id) {
    auto seq = last.find(id);
    std::string want = seq == last.end() || seq->second < 0 ? Doc(id, 1) : NewShape(id, seq->second);
    const std::string& got = values["doc:" + std::to_string(id)];
    if (got != want && ++wrong <= 5) FAIL_CHECK("doc:" << id << " holds " << got << ", wanted " << want);
  }
  REQUIRE(wrong == 0);
}

// Waits (bounded, not a timing assertion) until every primary has a pattern subscriber.
void WaitForSubscribers(RedisCluster& cluster) {
  for (int i = 0; i < 1000; ++i) {
    bool all = true;
    for (const Reply& n : cluster.CallEveryNode({"PUBSUB", "NUMPAT"})) all = all && n.integer > 0;
    if (all) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  FAIL("catchup --follow did not subscribe on every primary");
}

// Whether the run is still going, without reaping it (WaitKeyshift does that).
bool Running(const Spawned& run) {
  siginfo_t info{};
  return waitid(P_PID, static_cast<id_t>(run.pid), &info, WEXITED | WNOHANG | WNOWAIT) == 0 && info.si_pid == 0;
}

// Waits (bounded) until the run has journaled its first keys: it is past its
// start-up and writing.
void WaitUntilWriting(RedisCluster& cluster, const std::string& prefix = "keyshift:") {
  for (int i = 0; i < 1000 && cluster.Keys(prefix + "j:*").empty(); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  REQUIRE_FALSE(cluster.Keys(prefix + "j:*").empty());
}

// ASKING commands and TRYAGAIN replies so far, over every node (INFO
// commandstats and errorstats): the run met a slot in flight.
long long RedirectsMet(RedisCluster& cluster) {
  long long total = 0;
  for (const Reply& info : cluster.CallEveryNode({"INFO", "all"})) {
    for (const char* field : {"cmdstat_asking:calls=", "errorstat_TRYAGAIN:count="}) {
      size_t at = info.str.find(field);
      if (at != std::string::npos) total += std::stoll(info.str.substr(at + std::strlen(field)));
    }
  }
  return total;
}

// Moves `slots` slots while the run goes on for a moment, then freezes the
// run (SIGSTOP) until the reshard is done, so that the move is sure to end
// before the run does however slow the machine is. Returns whether the run
// was still going when frozen.
bool ReshardDuringRun(RedisCluster& cluster, const Spawned& run, size_t from, size_t to, int slots) {
  ReshardRun reshard = cluster.StartReshard(from, to, slots);
  std::this_thread::sleep_for(std::chrono::milliseconds(400));
  kill(run.pid, SIGSTOP);
  bool going = Running(run);
  cluster.WaitReshard(reshard);
  kill(run.pid, SIGCONT);
  return going;
}

}  // namespace

TEST_CASE("cluster: an application rewriting keys in the old shape during up loses no write", "[redis][cluster]") {
  RedisCluster cluster;
  TempDir dir;
  constexpr int kDocs = 4000;
  Keyshift ks = BumpSetup(cluster, cluster.url(), dir, kDocs, 50, "host", 0.2);
  std::vector<int> hot;
  for (int id = 0; id < kDocs; id += 50) hot.push_back(id);  // 80 keys, on every node
  OldShapeWriter app(cluster, hot);
  app.Start();
  app.WaitForWrites(100);
  CliResult up = ks.Run({"up"}, 120);
  app.WaitForWrites(100);
  app.Stop();
  ExpectExit(up, 0);
  REQUIRE_FALSE(app.failed());
  INFO("application writes: " << app.writes());
  ExpectExit(ks.Run({"catchup", "1"}), 0);
  RequireEveryWriteOnce(cluster, app, kDocs);
  ExpectExit(ks.Run({"verify", "1"}), 0);
}

TEST_CASE("cluster: catchup --follow catches old-shape writes on all three primaries", "[redis][cluster]") {
  RedisCluster cluster;
  TempDir dir, scratch("keyshift-cfollow");
  constexpr int kDocs = 600;
  Keyshift ks = BumpSetup(cluster, cluster.url(), dir, kDocs, 100);
  ExpectExit(ks.Run({"up"}), 0);
  // Ten rewritten keys and five new ones on each primary.
  std::vector<Command> writes;
  std::map<size_t, int> rewritten, created;
  std::vector<int> ids, fresh;
  for (int id = 0; id < kDocs + 200; ++id) {
    bool old = id < kDocs;
    int& on_node = (old ? rewritten : created)[cluster.OwnerOf("doc:" + std::to_string(id))];
    if (on_node >= (old ? 10 : 5)) continue;
    ++on_node;
    (old ? ids : fresh).push_back(id);
    writes.push_back({"SET", "doc:" + std::to_string(id), old ? OldShape(id, 7) : Doc(id, 0)});
  }
  REQUIRE(ids.size() == 30u);
  REQUIRE(fresh.size() == 15u);

  Spawned follow = SpawnKeyshift(ks.Args({"catchup", "1", "--follow", "--for", "3s"}), scratch, "follow");
  WaitForSubscribers(cluster);
  cluster.Pipeline(writes);
  CliResult r = WaitKeyshift(follow, 30);
  ExpectExit(r, 0);
  CHECK(Contains(r.out, "following"));
  std::map<std::string, std::string> values = ClusterStrings(cluster, "doc:*");
  for (int id : ids) CHECK(values["doc:" + std::to_string(id)] == NewShape(id, 7));
  for (int id : fresh) CHECK(values["doc:" + std::to_string(id)] == Doc(id, 1));
  for (const Reply& setting : cluster.CallEveryNode({"CONFIG", "GET", "notify-keyspace-events"}))
    CHECK(Strings(setting).at(1) == "");
}

TEST_CASE("cluster: slots resharded during up: every key exactly once, none skipped", "[redis][cluster]") {
  RedisCluster cluster;
  TempDir dir, scratch("keyshift-creshard");
  // 2 s of CPU in transforms: the run outlasts the two 0.4 s windows below.
  constexpr int kDocs = 5000;
  Keyshift ks = BumpSetup(cluster, cluster.url(), dir, kDocs, 50, "host", 0.4);
  // A long lease: the run is frozen while the reshards finish.
  Spawned up = SpawnKeyshift(ks.Args({"up"}), scratch, "up", {{"KEYSHIFT_LOCK_LEASE_MS", "120000"}});
  WaitUntilWriting(cluster);
  auto owners = cluster.SlotOwners();
  CHECK(ReshardDuringRun(cluster, up, 0, 1, 2000));
  CHECK(ReshardDuringRun(cluster, up, 1, 2, 2000));
  int moved = 0;
  for (const auto& [slot, owner] : cluster.SlotOwners()) moved += owner != owners[slot];
  CHECK(moved >= 2000);
  CliResult r = WaitKeyshift(up, 120);
  ExpectExit(r, 0);
  CHECK(NotBumpedOnce(cluster, "doc:", kDocs) == "");
  CHECK(LedgerOf(ks, "0001_bump").at("changed") == kDocs);
}

TEST_CASE("cluster: a slot left half-migrated during up (ASK, TRYAGAIN), then finished: every key once",
          "[redis][cluster]") {
  RedisCluster cluster;
  TempDir dir, scratch("keyshift-chalf");
  constexpr int kDocs = 3000, kTagged = 200;
  SeedDocs(cluster, "doc:", kDocs);
  SeedDocs(cluster, "doc:{hot}:", kTagged);  // one slot, many keys
  int slot = cluster.SlotOf("doc:{hot}:0");
  size_t from = cluster.OwnerOf("doc:{hot}:0"), to = (from + 1) % cluster.size();
  dir.Write("0001_bump.lua", BumpMigration("doc:*", 30, "host", 0.3));
  Keyshift ks(cluster.url(), dir);
  Spawned up = SpawnKeyshift(ks.Args({"up"}), scratch, "up");
  WaitUntilWriting(cluster);
  long long met = RedirectsMet(cluster);
  std::vector<std::string> half = cluster.MoveSlotByHand(slot, from, to, false);
  CHECK(half.size() >= 100u);
  // While the slot is open the run cannot end: the importing node is
  // scanned again after every pass, and the slot's keys answer ASK (moved)
  // or TRYAGAIN (a script whose key and journal hash are split). Finish it
  // once the run has met one of them.
  for (int i = 0; i < 1500 && RedirectsMet(cluster) == met; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  INFO("ASKING and TRYAGAIN replies: " << RedirectsMet(cluster) - met);
  CHECK(RedirectsMet(cluster) > met);
  CHECK(Running(up));
  cluster.MoveSlotByHand(slot, from, to, true);
  CliResult r = WaitKeyshift(up, 120);
  ExpectExit(r, 0);
  CHECK(NotBumpedOnce(cluster, "doc:{hot}:", kTagged) == "");
  auto values = ClusterStrings(cluster, "doc:*");
  int right = 0;
  for (int id = 0; id < kDocs; ++id) right += values["doc:" + std::to_string(id)] == Doc(id, 1);
  CHECK(right == kDocs);
  CHECK(values.size() == static_cast<size_t>(kDocs + kTagged));
}

TEST_CASE("cluster: kill -9 while slots move, then resume: every key exactly once", "[redis][cluster]") {
  RedisCluster cluster;
  TempDir dir, scratch("keyshift-ckillreshard");
  // 2.1 s of CPU in transforms: the three killed runs (1.5 s at most) cannot finish.
  constexpr int kDocs = 7000;
  Keyshift ks = BumpSetup(cluster, cluster.url(), dir, kDocs, 50, "host", 0.3);
  auto owners = cluster.SlotOwners();
  ReshardRun reshard = cluster.StartReshard(2, 0, 3000);
  // Hold the reshard part-way (SIGSTOP on redis-cli) while the runs are
  // killed, so every kill lands with slots moved and more to move.
  int moved = 0;
  for (int i = 0; i < 1000 && moved < 100; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    moved = 0;
    for (const auto& [slot, owner] : cluster.SlotOwners()) moved += owner != owners[slot];
  }
  kill(reshard.pid, SIGSTOP);
  REQUIRE(moved >= 100);
  int kills = KillRepeatedly(ks, {"up"}, scratch, 2, 7, 300, 300);
  kill(reshard.pid, SIGCONT);
  kills += KillRepeatedly(ks, {"up"}, scratch, 1, 8, 100, 200);  // and once while it goes on
  cluster.WaitReshard(reshard);
  INFO("slots moved before the kills: " << moved);
  CHECK(kills == 3);
  CliResult done = UpUntilDone(ks);
  ExpectExit(done, 0);
  CHECK(NotBumpedOnce(cluster, "doc:", kDocs) == "");
  CHECK(LedgerBetween(ks, kDocs - kills * 50, kDocs));  // a killed batch counts as "already done"
}

TEST_CASE("cluster over TLS: up and down through rediss:// with --cacert", "[redis][cluster]") {
  const TestCertificates& certs = Certificates();
  RedisCluster::Options options;
  options.tls = RedisServer::Tls{certs.server_cert, certs.server_key, certs.ca};
  RedisCluster cluster(options);
  TempDir dir;
  constexpr int kDocs = 3000;
  Keyshift ks = BumpSetup(cluster, cluster.tls_url(), dir, kDocs, 200);
  auto before = ClusterReadAll(cluster, {"doc:"});
  ExpectExit(ks.Run({"--cacert", certs.ca, "up"}), 0);
  CHECK(NotBumpedOnce(cluster, "doc:", kDocs) == "");
  ExpectExit(ks.Run({"--cacert", certs.ca, "down"}), 0);
  CHECK(ClusterReadAll(cluster, {"doc:"}) == before);
  CHECK(cluster.Keys("keyshift:j:*").empty());
}

}  // namespace keyshift::testing
