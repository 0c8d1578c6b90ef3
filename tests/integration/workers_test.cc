// up --workers N (host mode, transform_pool.h) against real redis-servers:
// the same data, journal, ledger, failed keys and output as --workers 1,
// --on-error abort's boundary, dry-run order. The concurrent-writer and
// kill -9 cases run with workers in guarantees_test.cc.
#include <algorithm>
#include <chrono>
#include <map>
#include <set>
#include <sstream>
#include <thread>

#include <catch.hpp>

#include <regex>
#include <fmt/format.h>

#include "core/dump_decoder.h"
#include "engine/journal.h"
#include "engine/ledger.h"
#include "tests/support/integration_fixtures.h"

using namespace keyshift;
using namespace keyshift::testing;

namespace {

// Every type, some keys with an absolute expiry (same bytes on every server).
void SeedMixed(RedisConnection& conn, int per_type) {
  std::vector<Command> seed;
  for (int i = 0; i < per_type; ++i) {
    std::string n = std::to_string(i);
    seed.push_back({"SET", "m:s:" + n, fmt::format(R"({{"v": {}, "name": "u{}", "pi": 3.14159265358979323846}})", i, i)});
    seed.push_back({"HSET", "m:h:" + n, "a", n, "b", "x" + n});
    seed.push_back({"RPUSH", "m:l:" + n, "a", n});
    seed.push_back({"SADD", "m:t:" + n, "1", n});
    seed.push_back({"ZADD", "m:z:" + n, "1.5", "a", n, "b"});
    if (i % 5 == 0) seed.push_back({"PEXPIREAT", "m:h:" + n, "4102444800000"});
  }
  for (size_t i = 0; i < seed.size(); i += 1000) {
    std::vector<Command> part(seed.begin() + i, seed.begin() + std::min(seed.size(), i + 1000));
    REQUIRE(conn.Pipeline(part).ok());
  }
}

// Rewrites every type (json for strings), and deletes, renames, keeps, logs
// and fails some keys by number.
const char* const kMixed = R"(return {
  description = "mixed types: json, fields, members; deletes, renames, failures, log lines",
  scan = { match = "m:*", batch = 300 },
  transform = function(key, value)
    local t, n = key:match("^m:(%a):(%d+)$")
    n = tonumber(n)
    if n % 50 == 3 then ks.log("note", key) end
    if n % 97 == 5 then error("refused " .. key) end
    if n % 41 == 1 then return ks.DELETE end
    if n % 43 == 2 then return ks.rename("moved:" .. key, value) end
    if n % 7 == 0 then return nil end
    if t == "s" then
      local doc = json.decode(value)
      doc.v = doc.v + 1
      doc.tag = "migrated"
      return json.encode(doc)
    elseif t == "h" then value.seen = tostring(n)
    elseif t == "l" or t == "t" then value[#value + 1] = "new"
    else value.c = n / 3 end
    return value
  end,
})";

// V1's journal, entries decoded: field -> action, expiry, digest, other key, old value.
std::map<std::string, std::string> Journal(RedisConnection& conn) {
  std::map<std::string, std::string> out;
  for (const std::string& hash : ScanKeys(conn, "keyshift:j:1:*"))
    for (const auto& [field, text] : PairMap(Cmd(conn, {"HGETALL", hash}))) {
      auto e = DecodeJournalEntry(text);
      REQUIRE(e.ok());
      auto old = DecodeDump(e->dump);
      std::ostringstream s;
      s << KeyActionCode(e->action) << "|" << e->expire_at << "|" << e->post_digest << "|" << e->other_key << "|"
        << (e->dump.empty() ? "" : old.ok() ? "ok" : "undecodable");
      out[field] = s.str();
    }
  return out;
}

std::vector<long long> LedgerCounts(RedisConnection& conn) {
  auto ledger = Ledger(&conn, StateKeys{"keyshift:"}).LoadAll();
  REQUIRE(ledger.ok());
  const Counters& c = ledger->at(1).counters;
  return {c.scanned, c.changed, c.deleted, c.renamed, c.failed, c.skipped, c.journal_bytes};
}

// stderr's per-key lines (ks.log and skipped keys), sorted: SCAN order differs between servers.
std::vector<std::string> KeyLines(const std::string& err) {
  std::vector<std::string> out;
  std::istringstream in(err);
  for (std::string line; std::getline(in, line);)
    if (line.find("m:") != std::string::npos) out.push_back(line);
  std::sort(out.begin(), out.end());
  return out;
}

std::string Sorted(std::vector<std::string> v) {
  std::sort(v.begin(), v.end());
  std::string out;
  for (auto& s : v) out += s + "\n";
  return out;
}

// The first SCAN batch once the keyspace's hash table is done rehashing (it
// grew while seeding; an unfinished rehash may order the next SCAN otherwise).
std::vector<std::string> SettledFirstScan(RedisConnection& conn, const std::string& match = "e:*") {
  Command scan{"SCAN", "0", "MATCH", match, "COUNT", "500", "TYPE", "string"};
  std::vector<std::string> last, now = Strings(Cmd(conn, scan).elements[1]);
  for (int i = 0; i < 50 && now != last; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(120));  // the server's cron finishes the rehash
    last = now;
    now = Strings(Cmd(conn, scan).elements[1]);
  }
  return now;
}

// The keys the run logged ("saw KEY"), in the order it printed them.
std::vector<std::string> Saw(const std::string& err) {
  std::vector<std::string> out;
  std::istringstream in(err);
  for (std::string line; std::getline(in, line);)
    if (size_t at = line.find(": saw "); at != std::string::npos) out.push_back(line.substr(at + 6));
  return out;
}

}  // namespace

TEST_CASE("--workers 4 writes what --workers 1 writes: data, journal, ledger, failed keys, per-key lines",
          "[redis][workers]") {
  RedisServer one, four;
  auto c1 = one.Connect();
  auto c4 = four.Connect();
  SeedMixed(*c1, 700);
  SeedMixed(*c4, 700);
  REQUIRE(ReadAll(*c1) == ReadAll(*c4));
  TempDir dir;
  dir.Write("0001_mixed.lua", kMixed);
  CliResult r1 = Keyshift(one, dir).Run({"up", "--workers", "1", "--on-error", "skip"});
  CliResult r4 = Keyshift(four, dir).Run({"up", "--workers", "4", "--on-error", "skip"});
  INFO(Describe(r1) << "\n---\n" << Describe(r4));
  REQUIRE(r1.exit_code == 1);  // keys were skipped
  REQUIRE(r4.exit_code == 1);
  CHECK(ReadAll(*c1) == ReadAll(*c4));
  auto journal = Journal(*c1);
  CHECK(journal.size() > 2000);
  CHECK(journal == Journal(*c4));
  auto counts = LedgerCounts(*c1);
  CHECK(counts[4] == 5 * 8);  // n % 97 == 5 for 8 values of n under 700, five types
  CHECK(counts == LedgerCounts(*c4));
  CHECK(Sorted(Strings(Cmd(*c1, {"SMEMBERS", "keyshift:{state}:failed:1"}))) ==
        Sorted(Strings(Cmd(*c4, {"SMEMBERS", "keyshift:{state}:failed:1"}))));
  auto lines = KeyLines(r1.err);
  CHECK(lines.size() == 5 * (14 + 8));  // 14 log lines and 8 skipped keys per type
  CHECK(lines == KeyLines(r4.err));
  CHECK_THAT(r4.err, Catch::Contains("0001_mixed.lua:8: refused m:s:5"));
}

TEST_CASE("--workers with --on-error abort: no key after the failing one is written or logged", "[redis][workers]") {
  const char* workers = GENERATE("1", "4");
  RedisServer server;
  auto conn = server.Connect();
  SeedStrings(*conn, "e:", 300, "v");
  // keyshift's first batch is this SCAN; its read and write calls hold 64 keys each.
  std::vector<std::string> batch = SettledFirstScan(*conn);
  REQUIRE(batch.size() > 110);
  std::string bad = batch[100];  // inside the second call's chunk
  Cmd(*conn, {"SET", bad, "bad"});
  TempDir dir;
  dir.Write("0001_x.lua", R"(return {
    description = "append x, logging every key", scan = { match = "e:*", type = "string", batch = 500 },
    transform = function(key, value)
      ks.log("saw", key)
      if value == "bad" then error("bad value") else return value .. "x" end
    end })");
  CliResult r = Keyshift(server, dir).Run({"up", "--workers", workers});
  INFO("--workers " << workers << "\n" << Describe(r));
  REQUIRE(r.exit_code == 1);
  CHECK_THAT(r.err, Catch::Contains("0001_x.lua:5: bad value (key '" + bad + "')"));
  // Logged: every key up to the failing one, in order, and none after it.
  std::vector<std::string> saw = Saw(r.err);
  CHECK(saw == std::vector<std::string>(batch.begin(), batch.begin() + 101));
  // Written: the chunk before the failing key's, nothing else.
  std::set<std::string> written(batch.begin(), batch.begin() + 64);
  for (const std::string& key : NumberedKeys("e:", 0, 300)) {
    std::string value = Cmd(*conn, {"GET", key}).str;
    CHECK(value == (key == bad ? "bad" : written.count(key) ? "vx" : "v"));
  }
}

TEST_CASE("up --dry-run --workers 4 prints what --workers 1 prints, in the same order", "[redis][workers]") {
  RedisServer server;
  auto conn = server.Connect();
  SeedMixed(*conn, 300);
  SettledFirstScan(*conn, "m:*");  // both runs must meet the same SCAN order
  TempDir dir;
  dir.Write("0001_mixed.lua", kMixed);
  Keyshift ks(server, dir);
  CliResult r1 = ks.Run({"up", "--dry-run", "--workers", "1", "--on-error", "skip"});
  CliResult r4 = ks.Run({"up", "--dry-run", "--workers", "4", "--on-error", "skip"});
  INFO(Describe(r1) << "\n---\n" << Describe(r4));
  REQUIRE(r1.exit_code == 1);
  CHECK(CountLines(r1.out) > 1000);
  // A remaining TTL is printed in whole seconds and may tick between the runs.
  auto settled = [](const std::string& out) { return std::regex_replace(out, std::regex("ttl [0-9]+s"), "ttl Ns"); };
  CHECK(settled(r1.out) == settled(r4.out));
  CHECK(r1.err == r4.err);
}

TEST_CASE("--workers 0 is a usage error", "[redis][workers]") {
  RedisServer server;
  TempDir dir;
  dir.Write("0001_mixed.lua", kMixed);
  CliResult r = Keyshift(server, dir).Run({"up", "--workers", "0"});
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.err, Catch::Contains("--workers"));
}
