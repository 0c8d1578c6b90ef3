// Change detection by content (redis/script_safety.h): large hashes and
// sets whose DUMP bytes change when the application merely reads them, or
// across a restart, are not conflicts for `down`; a real change still is.
#include <catch.hpp>
#include <fmt/format.h>

#include <tuple>

#include "engine/journal.h"
#include "engine/lock.h"
#include "engine/reader.h"
#include "engine/rollback.h"
#include "redis/script_safety.h"
#include "tests/support/integration_fixtures.h"

using namespace keyshift;
using namespace keyshift::testing;

namespace {

// Past 1000 fields (listpack -> hashtable) and just past a power of two
// (1024), where Redis rehashes incrementally as the key is read.
constexpr int kFields = 1030;

const char* kTouch = R"(return {
  description = "mark big keys as migrated",
  scan = { match = "big:*" },
  transform = function(key, value)
    if key:match("^big:h") then value.migrated = "1" return value end
    if key:match("^big:s") then value[#value + 1] = "migrated" return value end
  end,
})";

void SeedBig(RedisConnection& conn) {
  for (const char* key : {"big:h1", "big:h2"}) {
    Command hset{"HSET", key};
    for (int i = 0; i < kFields; ++i) hset.insert(hset.end(), {fmt::format("field:{}", i), fmt::format("v{}", i)});
    Cmd(conn, hset);
  }
  for (const char* key : {"big:s1", "big:s2"}) {
    Command sadd{"SADD", key};
    for (int i = 0; i < kFields; ++i) sadd.push_back(fmt::format("member:{}", i));
    Cmd(conn, sadd);
  }
  Cmd(conn, {"PEXPIRE", "big:h2", "900000"});
}

// What the application does that changes no content: reads in every way.
void ReadLikeAnApplication(RedisConnection& conn) {
  for (int round = 0; round < 50; ++round)
    for (const char* key : {"big:h1", "big:h2", "big:s1", "big:s2"}) {
      bool hash = key[4] == 'h';
      Cmd(conn, {hash ? "HGETALL" : "SMEMBERS", key});
      std::string cursor = "0";
      do {
        Reply r = Cmd(conn, {hash ? "HSCAN" : "SSCAN", key, cursor, "COUNT", "100"});
        cursor = r.elements[0].str;
      } while (cursor != "0");
      Cmd(conn, {hash ? "HGET" : "SISMEMBER", key, hash ? "field:7" : "member:7"});
    }
}

std::map<std::string, std::string> Contents(RedisConnection& conn) {
  std::map<std::string, std::string> out;
  for (const char* key : {"big:h1", "big:h2"}) {
    for (const auto& [f, v] : PairMap(Cmd(conn, {"HGETALL", key}))) out[std::string(key) + "/" + f] = v;
    out[std::string(key) + "@"] = std::to_string(Cmd(conn, {"PEXPIRETIME", key}).integer);
  }
  for (const char* key : {"big:s1", "big:s2"})
    for (const auto& m : Strings(Cmd(conn, {"SMEMBERS", key}))) out[std::string(key) + "/" + m] = "";
  return out;
}

}  // namespace

TEST_CASE("down restores large hashes and sets the application only read, or that survived a restart",
          "[redis][guarantee][digest]") {
  RedisServer server({{"--enable-debug-command", "yes", "--save", ""}, ""});
  auto conn = server.Connect();
  SeedBig(*conn);
  auto before = Contents(*conn);
  TempDir dir;
  dir.Write("0001_touch.lua", kTouch);
  Keyshift ks(server, dir);
  CliResult up = ks.Run({"up"});
  INFO(Describe(up));
  REQUIRE(up.exit_code == 0);
  REQUIRE(Cmd(*conn, {"HGET", "big:h1", "migrated"}).str == "1");
  SECTION("read by the application") { ReadLikeAnApplication(*conn); }
  SECTION("reloaded by the server") {
    Cmd(*conn, {"DEBUG", "RELOAD"});
    ReadLikeAnApplication(*conn);
  }
  CliResult down = ks.Run({"down"});
  INFO(Describe(down));
  CHECK(down.exit_code == 0);
  CHECK_THAT(down.out, Catch::Contains("restored 4 keys"));
  CHECK(Contents(*conn) == before);
}

TEST_CASE("a real change to a large hash or set is still a conflict", "[redis][guarantee][digest]") {
  RedisServer server;
  auto conn = server.Connect();
  SeedBig(*conn);
  TempDir dir;
  dir.Write("0001_touch.lua", kTouch);
  Keyshift ks(server, dir);
  REQUIRE(ks.Run({"up"}).exit_code == 0);
  Cmd(*conn, {"HSET", "big:h1", "field:3", "changed"});  // a value
  Cmd(*conn, {"HDEL", "big:h2", "field:4"});             // a field gone
  Cmd(*conn, {"SREM", "big:s1", "member:5"});            // a member gone
  ReadLikeAnApplication(*conn);
  CliResult down = ks.Run({"down"});
  INFO(Describe(down));
  CHECK(down.exit_code == 1);
  CHECK_THAT(down.out, Catch::Contains("3 conflicts") && Catch::Contains("big:h1") && Catch::Contains("big:h2") &&
                           Catch::Contains("big:s1") && Catch::Contains("restored 1 keys"));
  CHECK(Cmd(*conn, {"HGET", "big:h1", "field:3"}).str == "changed");
  CHECK(Cmd(*conn, {"SISMEMBER", "big:s2", "migrated"}).integer == 0);
}

TEST_CASE("journal entries of format 1 (DUMP digests) are still undone, conflicts still found",
          "[redis][guarantee][digest]") {
  RedisServer server;
  auto conn = server.Connect();
  StateKeys state("keyshift:");
  for (const char* key : {"k:same", "k:changed"}) {
    Cmd(*conn, {"SET", key, "old"});
    std::string old_dump = Cmd(*conn, {"DUMP", key}).str;
    Cmd(*conn, {"SET", key, "new"});
    std::string post = Cmd(*conn, {"EVAL", "return redis.sha1hex(redis.call('DUMP', KEYS[1]))", "1", key}).str;
    Cmd(*conn, {"HSET", state.journal(1, key), key, "1|W|-1|" + post + "|0|" + old_dump});
  }
  Cmd(*conn, {"SET", "k:changed", "by the application"});
  auto lock = Lock::Acquire(conn.get(), state, "down");
  REQUIRE(lock.ok());
  Rollback rollback(conn.get(), state);
  for (bool dry_run : {true, false}) {
    INFO((dry_run ? "dry-run" : "down"));
    RollbackOptions options;
    options.dry_run = dry_run;
    auto report = rollback.Run(1, options, lock->get(), RollbackSinks{});
    REQUIRE(report.ok());
    CHECK(report->restored == 1);
    CHECK(report->conflicts == 1);
  }
  CHECK(Cmd(*conn, {"GET", "k:same"}).str == "old");
  CHECK(Cmd(*conn, {"GET", "k:changed"}).str == "by the application");
}

TEST_CASE("Redis's content digest of a hash or set equals the host's, for any size", "[redis][digest]") {
  RedisServer server;
  auto conn = server.Connect();
  const std::string script = std::string(kScriptSafetyLua) + "return digest_of(KEYS[1], ARGV[1])";
  for (int n : {1, 2, 3, 4, 5, 16, 17, 100, 1030}) {
    Command hset{"HSET", "h"}, sadd{"SADD", "s"};
    for (int i = 0; i < n; ++i) {
      std::string bytes = fmt::format("m{}", i * 7919 % 1000003) + std::string(1, static_cast<char>(i % 256));
      hset.insert(hset.end(), {bytes, std::string(i % 5, '\xff') + std::to_string(i)});
      sadd.push_back(bytes);
    }
    Cmd(*conn, {"DEL", "h", "s"});
    Cmd(*conn, hset);
    Cmd(*conn, sadd);
    for (const auto& [key, type, read] : {std::tuple{"h", "hash", "HGETALL"}, std::tuple{"s", "set", "SMEMBERS"}}) {
      INFO(type << " of " << n);
      Reply flat = Cmd(*conn, {read, key});
      CHECK(Cmd(*conn, {"EVAL", script, "1", key, type}).str == FlatContentDigest(type, flat.elements));
    }
  }
}

TEST_CASE("server mode journals the content digest of what it wrote, for every type", "[redis][digest][server]") {
  RedisServer server;
  auto conn = server.Connect();
  Cmd(*conn, {"SET", "t:s", "text"});
  Cmd(*conn, {"HSET", "t:h", "a", "1", "b", "2", "c", "3", "d", "4", "e", "5"});
  Cmd(*conn, {"RPUSH", "t:l", "x", "y", "x"});
  Cmd(*conn, {"SADD", "t:set", "p", "q", "r"});
  Cmd(*conn, {"ZADD", "t:z", "1", "m", "2.5", "n"});
  TempDir dir;
  dir.Write("0001_all.lua", R"(return {
  description = "changes every type",
  mode = "server",
  scan = { match = "t:*" },
  transform = function(key, value)
    if key == "t:s" then return value .. "!" end
    if key == "t:h" then value.b = nil value.f = "6" return value end
    if key == "t:l" or key == "t:set" then value[#value + 1] = "w" value[#value + 1] = "w" return value end
    if key == "t:z" then value.o = 1.0 return value end
  end,
})");
  CliResult up = Keyshift(server, dir).Run({"up"});
  INFO(Describe(up));
  REQUIRE(up.exit_code == 0);
  const std::map<std::string, std::pair<std::string, Command>> reads = {
      {"t:s", {"string", {"GET", "t:s"}}},       {"t:h", {"hash", {"HGETALL", "t:h"}}},
      {"t:l", {"list", {"LRANGE", "t:l", "0", "-1"}}}, {"t:set", {"set", {"SMEMBERS", "t:set"}}},
      {"t:z", {"zset", {"ZRANGE", "t:z", "0", "-1", "WITHSCORES"}}}};
  int entries = 0;
  for (const auto& jkey : ScanKeys(*conn, "keyshift:j:*"))
    for (const auto& [key, text] : PairMap(Cmd(*conn, {"HGETALL", jkey}))) {
      INFO(key);
      auto entry = DecodeJournalEntry(text);
      REQUIRE(entry.ok());
      const auto& [type, read] = reads.at(key);
      Reply now = Cmd(*conn, read);
      std::vector<Reply> flat = type == "string" ? std::vector<Reply>{now} : now.elements;
      CHECK(entry->post_digest == FlatContentDigest(type, flat));
      ++entries;
    }
  CHECK(entries == 5);
}
