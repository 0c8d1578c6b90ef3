// `keyshift copy --to URL` and `keyshift compare --to URL` between two
// private redis-servers (and into a local cluster): every type, expiry and
// binary name arrives; kill -9 and resume gives the same target; each
// --on-conflict mode; --dry-run writes nothing; compare finds each kind of
// difference and none after a clean copy; a bad or unreachable target is exit 2.
#include <catch.hpp>
#include <nlohmann/json.hpp>

#include <signal.h>

#include <chrono>
#include <fstream>
#include <iterator>
#include <map>
#include <random>
#include <thread>
#include <string>
#include <vector>

#include "core/dump_decoder.h"
#include "engine/copy.h"
#include "engine/copy_chunks.h"
#include "tests/support/copy_fixtures.h"
#include "tests/support/integration_fixtures.h"

namespace keyshift::testing {
namespace {

TEST_CASE("copy: every type, expiry and binary name and value arrives as it is on the source", "[redis][copy]") {
  TwoServers t;
  auto& [source, target, dir, src, dst, ks] = t;
  int keys = SeedEveryType(*src);

  CliResult r = Copy(ks, target.url());
  INFO(Describe(r));
  REQUIRE(r.exit_code == 0);
  auto j = Json(r);
  CHECK(j["copied"] == keys);
  CHECK(j["conflicts"] == 0);
  long long dumped = 0;
  for (const auto& key : ScanKeys(*src))
    if (key.rfind("keyshift:", 0) != 0) dumped += static_cast<long long>(Cmd(*src, {"DUMP", key}).str.size());
  CHECK(j["bytes"] == dumped);
  CHECK(ReadAll(*src) == ReadAll(*dst));
  CHECK(Cmd(*dst, {"GET", kBinKey}).str == kBinValue);
  CHECK(Cmd(*dst, {"PEXPIRETIME", "z:z"}).integer == Cmd(*src, {"PEXPIRETIME", "z:z"}).integer);
  // The source's own state stays behind; the copy's marks and checkpoint go.
  CHECK(StateKeysOn(*dst).empty());

  CliResult same = Compare(ks, target.url(), {"--full"});
  INFO(Describe(same));
  CHECK(same.exit_code == 0);
  CHECK(Json(same)["total"] == 0);
}

TEST_CASE("copy: big keys of every type go in chunks and arrive whole, expiry included", "[redis][copy]") {
  TwoServers t;
  auto& [source, target, dir, src, dst, ks] = t;
  const int n = static_cast<int>(kChunkedElements) + 2000;
  std::vector<Command> seed;
  for (int i = 0; i < n; i += 1000) {
    Command h{"HSET", "big:hash"}, l{"RPUSH", "big:list"}, st{"SADD", "big:set"}, z{"ZADD", "{tag}big:zset"};
    for (int j = i; j < i + 1000 && j < n; ++j) {
      std::string item = "item" + std::to_string(j) + std::string("\0\xff", 2);
      h.insert(h.end(), {item, "v" + std::to_string(j)});
      l.push_back(item);
      st.push_back(item);
      z.insert(z.end(), {std::to_string(j) + ".25", item});
    }
    seed.insert(seed.end(), {h, l, st, z});
  }
  std::string big(static_cast<size_t>(kChunkedStringBytes) + 12345, 'x');
  for (size_t i = 0; i < big.size(); i += 4097) big[i] = static_cast<char>(i % 256);
  seed.push_back({"SET", "big:string", big});
  seed.push_back({"PEXPIRE", "big:list", "3600000"});
  seed.push_back({"SET", "small", "v"});
  REQUIRE(src->Pipeline(seed).ok());

  CliResult r = Copy(ks, target.url(), {"--batch", "3"});
  INFO(Describe(r));
  REQUIRE(r.exit_code == 0);
  auto j = Json(r);
  CHECK(j["chunked"] == 5);
  CHECK(j["copied"] == 6);
  CHECK(ReadAll(*src) == ReadAll(*dst));
  CHECK(Cmd(*dst, {"PEXPIRETIME", "big:list"}).integer == Cmd(*src, {"PEXPIRETIME", "big:list"}).integer);
  CHECK(StateKeysOn(*dst).empty());
  CHECK(Compare(ks, target.url(), {"--full"}).exit_code == 0);

  // A big key that exists on the target: skip leaves it, overwrite replaces it.
  Cmd(*dst, {"DEL", "big:hash"});
  Cmd(*dst, {"SET", "big:hash", "target's"});
  Cmd(*dst, {"DEL", "big:set"});
  CliResult skip = Copy(ks, target.url(), {"--on-conflict", "skip"});
  INFO(Describe(skip));
  REQUIRE(skip.exit_code == 0);
  CHECK(Cmd(*dst, {"GET", "big:hash"}).str == "target's");
  CHECK(Cmd(*dst, {"SCARD", "big:set"}).integer == n);
  CliResult over = Copy(ks, target.url(), {"--on-conflict", "overwrite"});
  REQUIRE(over.exit_code == 0);
  CHECK(ReadAll(*src) == ReadAll(*dst));
}

TEST_CASE("copy: --match copies only the keys it names", "[redis][copy]") {
  TwoServers t;
  auto& [source, target, dir, src, dst, ks] = t;
  SeedEveryType(*src);
  CliResult r = Copy(ks, target.url(), {"--match", "s:*"});
  INFO(Describe(r));
  REQUIRE(r.exit_code == 0);
  CHECK(ScanKeys(*dst) == std::vector<std::string>{"s:plain", "s:ttl"});
}

TEST_CASE("copy: killed with SIGKILL at random moments, resumed, the target is the source", "[redis][copy]") {
  TwoServers t;
  auto& [source, target, dir, src, dst, ks] = t;
  TempDir scratch;
  constexpr int kKeys = 40000;
  SeedStrings(*src, "k:", kKeys, std::string(64, 'v'));
  std::vector<std::string> args = {"copy", "--to", target.url(), "--batch", "20"};

  // One kill landing mid-copy for sure: once the first checkpoint is there
  // (2000 batches, so the copy is far from done).
  Spawned first = SpawnKeyshift(ks.Args(args), scratch, "first", kShortLease);
  std::string checkpoint = CheckpointOf(source);
  for (int i = 0; i < 20000 && Cmd(*dst, {"EXISTS", checkpoint}).integer == 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  REQUIRE(kill(first.pid, SIGKILL) == 0);
  CliResult killed = WaitKeyshift(first);
  INFO(Describe(killed));
  REQUIRE(killed.exit_code == 128 + SIGKILL);
  REQUIRE(Cmd(*dst, {"EXISTS", checkpoint}).integer == 1);
  std::this_thread::sleep_for(std::chrono::milliseconds(650));  // its lease runs out

  // More kills at random moments (seeded); the run that outlives its kill is
  // the last one (a later run would be a second copy, conflicting with the first).
  args.insert(args.begin(), {"--output", "json"});
  std::mt19937 rng(20261129);
  CliResult done;
  for (int round = 0; round < 6 && done.exit_code != 0; ++round) {
    Spawned run = SpawnKeyshift(ks.Args(args), scratch, "run" + std::to_string(round), kShortLease);
    std::this_thread::sleep_for(std::chrono::milliseconds(20 + rng() % 150));
    kill(run.pid, SIGKILL);
    CliResult r = WaitKeyshift(run);
    if (r.exit_code == 0) done = r;
    std::this_thread::sleep_for(std::chrono::milliseconds(650));
  }
  if (done.exit_code != 0) done = RunUntilDone(ks, args);
  INFO(Describe(done));
  REQUIRE(done.exit_code == 0);
  auto j = Json(done);
  // Keys written before a kill but after the last checkpoint count as
  // copied once, not as conflicts and not twice.
  CHECK(j["copied"] == kKeys);
  CHECK(j["conflicts"] == 0);
  CHECK(j["resumed"] == true);
  CHECK(SnapshotData(*src) == SnapshotData(*dst));
  CHECK(StateKeysOn(*dst).empty());
}

TEST_CASE("copy: a key this copy already wrote is never written again, even with overwrite", "[redis][copy]") {
  TwoServers t;
  auto& [source, target, dir, src, dst, ks] = t;
  SeedStrings(*src, "k:", 50, "source");
  // As a copy killed after writing k:7 but before its checkpoint leaves it:
  // the key written and marked in its slot's progress hash (engine/copy.h);
  // then the application wrote to it on the target. A resumed copy re-reads
  // k:7 from the source, and must not write it again.
  std::string marks = MarksOf(source, "k:7");
  Cmd(*dst, {"SET", "k:7", "written by the application since"});
  Cmd(*dst, {"HSET", marks, "k:7", "c0"});  // in batch 0, k:7's (one batch of 500)

  CliResult r = Copy(ks, target.url(), {"--on-conflict", "overwrite"});
  INFO(Describe(r));
  REQUIRE(r.exit_code == 0);
  auto j = Json(r);
  CHECK(j["copied"] == 50);  // k:7 once, as the first run wrote it
  CHECK(j["overwritten"] == 0);
  CHECK(Cmd(*dst, {"GET", "k:7"}).str == "written by the application since");
  CHECK(Cmd(*dst, {"GET", "k:8"}).str == "source");
  CHECK(StateKeysOn(*dst).empty());
}

TEST_CASE("copy: --on-conflict fail stops at an existing key, naming it; fixed, the copy resumes", "[redis][copy]") {
  TwoServers t;
  auto& [source, target, dir, src, dst, ks] = t;
  SeedStrings(*src, "k:", 300, "source");
  Cmd(*dst, {"SET", "k:150", "target's own"});

  CliResult r = Copy(ks, target.url(), {"--batch", "10"});
  INFO(Describe(r));
  REQUIRE(r.exit_code == 1);
  CHECK(Contains(r.err, "'k:150' already exists on the target"));
  auto j = Json(r);
  CHECK(j["conflict_key"] == "k:150");
  CHECK(j["ok"] == false);
  CHECK(Cmd(*dst, {"GET", "k:150"}).str == "target's own");
  // What it copied is what it says, and nothing of the batch after the key.
  long long copied = j["copied"].get<long long>();
  CHECK(Cmd(*dst, {"DBSIZE"}).integer - 1 - static_cast<long long>(StateKeysOn(*dst).size()) == copied);
  CHECK(copied < 300);

  Cmd(*dst, {"DEL", "k:150"});
  CliResult resumed = Copy(ks, target.url(), {"--batch", "10"});
  INFO(Describe(resumed));
  REQUIRE(resumed.exit_code == 0);
  CHECK(Json(resumed)["copied"] == 300);
  CHECK(SnapshotData(*src) == SnapshotData(*dst));
}

TEST_CASE("copy: --on-conflict skip leaves existing keys, overwrite replaces them", "[redis][copy]") {
  TwoServers t;
  auto& [source, target, dir, src, dst, ks] = t;
  SeedStrings(*src, "k:", 100, "source");

  SECTION("skip") {
    Cmd(*dst, {"RPUSH", "k:3", "a list on the target"});
    CliResult r = Copy(ks, target.url(), {"--on-conflict", "skip"});
    INFO(Describe(r));
    REQUIRE(r.exit_code == 0);
    auto j = Json(r);
    CHECK(j["skipped"] == 1);
    CHECK(j["copied"] == 99);
    CHECK(Cmd(*dst, {"TYPE", "k:3"}).str == "list");
    CHECK(Cmd(*dst, {"GET", "k:4"}).str == "source");
  }
  SECTION("overwrite") {
    Cmd(*dst, {"RPUSH", "k:3", "a list on the target"});
    Cmd(*dst, {"SET", "k:4", "old", "EX", "1000"});
    CliResult r = Copy(ks, target.url(), {"--on-conflict", "overwrite"});
    INFO(Describe(r));
    REQUIRE(r.exit_code == 0);
    auto j = Json(r);
    CHECK(j["overwritten"] == 2);
    CHECK(j["copied"] == 100);
    CHECK(SnapshotData(*src) == SnapshotData(*dst));  // k:4's expiry went too
  }
}

TEST_CASE("copy: --dry-run writes nothing on either side and counts copies and conflicts", "[redis][copy]") {
  TwoServers t;
  auto& [source, target, dir, src, dst, ks] = t;
  SeedStrings(*src, "k:", 200, "source");
  Cmd(*dst, {"SET", "k:5", "exists"});
  long long src_changes = RdbChanges(*src), dst_changes = RdbChanges(*dst);

  CliResult r = Copy(ks, target.url(), {"--dry-run"});
  INFO(Describe(r));
  REQUIRE(r.exit_code == 0);
  auto j = Json(r);
  CHECK(j["dry_run"] == true);
  CHECK(j["copied"] == 199);
  CHECK(j["conflicts"] == 1);
  CHECK(RdbChanges(*src) == src_changes);
  CHECK(RdbChanges(*dst) == dst_changes);
  CHECK(Cmd(*dst, {"DBSIZE"}).integer == 1);
}

TEST_CASE("copy: the target's password is gone from /proc/PID/cmdline; SIGTERM stops it resumably",
          "[redis][copy]") {
  RedisServer source;
  RedisServer::Options options;
  options.requirepass = "t0-s3cret";
  RedisServer target(options);
  TempDir dir, scratch;
  auto src = source.Connect();
  auto dst = target.Connect();
  SeedStrings(*src, "k:", 40000, "v");
  Keyshift ks(source, dir);
  std::vector<std::string> args = {"copy", "--to", target.url_with_password(), "--batch", "20"};
  Spawned run = SpawnKeyshift(ks.Args(args), scratch, "run");
  std::string checkpoint = CheckpointOf(source);
  for (int i = 0; i < 20000 && Cmd(*dst, {"EXISTS", checkpoint}).integer == 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  std::ifstream in("/proc/" + std::to_string(run.pid) + "/cmdline", std::ios::binary);
  std::string cmdline((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  kill(run.pid, SIGTERM);
  CliResult stopped = WaitKeyshift(run);
  INFO(cmdline);
  INFO(Describe(stopped));
  CHECK(Contains(cmdline, "@127.0.0.1"));
  CHECK_FALSE(Contains(cmdline, "t0-s3cret"));
  REQUIRE(stopped.exit_code == 128 + SIGTERM);
  CHECK(Cmd(*dst, {"EXISTS", checkpoint}).integer == 1);
  CHECK(Cmd(*dst, {"EXISTS", "keyshift:{state}:lock"}).integer == 0);  // released

  args.insert(args.begin(), {"--output", "json"});
  CliResult done = ks.Run(args);
  INFO(Describe(done));
  REQUIRE(done.exit_code == 0);
  CHECK(Json(done)["resumed"] == true);
  CHECK(Json(done)["copied"] == 40000);
  CHECK(SnapshotData(*src) == SnapshotData(*dst));
}

TEST_CASE("copy: another copy holding the target's lock is exit 3", "[redis][copy]") {
  TwoServers t;
  auto& [source, target, dir, src, dst, ks] = t;
  SeedStrings(*src, "k:", 10, "v");
  Cmd(*dst, {"SET", "keyshift:{state}:lock", R"({"token":"x","holder":"someone@elsewhere","pid":1,"command":"copy",)"
                                              R"("since":"2026-01-01T00:00:00Z"})", "PX", "60000"});
  CliResult r = ks.Run({"copy", "--to", target.url()});
  INFO(Describe(r));
  CHECK(r.exit_code == 3);
  CHECK(Contains(r.err, "someone@elsewhere"));
  CHECK(ScanKeys(*dst, "k:*").empty());
}

TEST_CASE("copy: killed while dropping its progress marks, a rerun finishes the clean-up only", "[redis][copy]") {
  TwoServers t;
  auto& [source, target, dir, src, dst, ks] = t;
  SeedStrings(*src, "k:", 20, "v");
  // What a copy that finished its scan leaves when killed during the
  // clean-up: the checkpoint in phase cleanup, some marks left.
  std::string marks = MarksOf(source, "k:1");
  Cmd(*dst, {"HSET", marks, "k:1", "c"});
  Cmd(*dst, {"HSET", CheckpointOf(source), "cursor", "0", "run_id", "", "match", "*", "started_at", "x",
             "phase", "cleanup", "scanned", "20", "copied", "20", "overwritten", "0", "skipped", "0", "conflicts",
             "0", "vanished", "0", "bytes", "400", "chunked", "0", "batches", "1"});
  // and the temporary key of a big key it was moving when an earlier kill came
  Cmd(*dst, {"RPUSH", ChunksOf(source, "k:2"), "half", "a", "list"});
  CliResult r = Copy(ks, target.url());
  INFO(Describe(r));
  REQUIRE(r.exit_code == 0);
  auto j = Json(r);
  CHECK(j["copied"] == 20);
  CHECK(j["resumed"] == true);
  CHECK(ScanKeys(*dst, "k:*").empty());  // nothing copied again: the scan was over
  CHECK(StateKeysOn(*dst).empty());
}

TEST_CASE("copy: a payload of another RDB version, as Redis refuses it, says a later keyshift is needed",
          "[redis][copy]") {
  RedisServer server;
  auto conn = server.Connect();
  Cmd(*conn, {"SET", "k", "v"});
  // A DUMP as a newer major version writes it: RDB version 99, CRC resealed.
  std::string payload = Cmd(*conn, {"DUMP", "k"}).str;
  std::string body = payload.substr(0, payload.size() - 10) + std::string("\x63\x00", 2);
  uint64_t crc = DumpCrc64(body);
  for (int i = 0; i < 8; ++i) body.push_back(static_cast<char>((crc >> (8 * i)) & 0xff));
  auto replies = conn->Pipeline({{"RESTORE", "k2", "0", body}});
  REQUIRE(replies.ok());
  const Reply& refusal = replies->front();
  REQUIRE(refusal.is_error());

  Error e = CopyWriteRefusal("k2", refusal.str);
  CHECK(e.exit_code == kExitUsage);
  CHECK(Contains(e.message, "'k2'"));
  CHECK(Contains(e.message, "needs a later keyshift"));
  Error other = CopyWriteRefusal("k3", "OOM command not allowed when used memory > 'maxmemory'.");
  CHECK(other.exit_code == kExitFailed);
  CHECK(Contains(other.message, "'k3'"));
}

TEST_CASE("copy and compare: a bad or unreachable target is exit 2 naming it, password never shown",
          "[redis][copy]") {
  RedisServer source;
  TempDir dir;
  Keyshift ks(source, dir);
  for (const char* cmd : {"copy", "compare"}) {
    CliResult bad = ks.Run({cmd, "--to", "http://somewhere"});
    INFO(Describe(bad));
    CHECK(bad.exit_code == 2);
    CHECK(Contains(bad.err, "--to"));

    CliResult gone = ks.Run({cmd, "--to", "redis://:s3cret@127.0.0.1:1/0"});
    INFO(Describe(gone));
    CHECK(gone.exit_code == 2);
    CHECK(Contains(gone.err, "the target (--to)"));
    CHECK_FALSE(Contains(gone.all(), "s3cret"));
    CHECK(CountLines(gone.err) == 1);

    CliResult tls = ks.Run({cmd, "--to", "redis://127.0.0.1:1/0", "--to-cacert", "/nonexistent"});
    INFO(Describe(tls));
    CHECK(tls.exit_code == 2);
    CHECK(Contains(tls.err, "--to-cacert"));

    CliResult missing = ks.Run({cmd});
    CHECK(missing.exit_code == 2);
  }
}

}  // namespace
}  // namespace keyshift::testing
