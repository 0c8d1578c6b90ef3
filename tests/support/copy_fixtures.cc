// Helpers of the copy and compare tests.
#include "tests/support/copy_fixtures.h"

#include <catch.hpp>

#include "core/slot.h"
#include "engine/copy.h"

namespace keyshift::testing {

bool Contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

const std::string kBinKey("bin:\0\xff:key", 10);
const std::string kBinValue("v\0\xff\x01" "end", 7);

int SeedEveryType(RedisConnection& conn) {
  long long in_an_hour = 0;
  {
    Reply t = Cmd(conn, {"TIME"});
    in_an_hour = std::stoll(t.elements[0].str) * 1000 + 3'600'000;
  }
  std::vector<Command> cmds = {
      {"SET", "s:plain", "hello"},
      {"SET", "s:ttl", "soon gone", "PXAT", std::to_string(in_an_hour)},
      {"SET", kBinKey, kBinValue},
      {"HSET", "h:small", "a", "1", std::string("b\0", 2), kBinValue},
      {"RPUSH", "l:list", "x", "y", "x", kBinValue},
      {"SADD", "set:s", "m1", "m2", kBinValue},
      {"ZADD", "z:z", "1.5", "one", "-2", "two", "inf", kBinValue},
      {"PEXPIREAT", "z:z", std::to_string(in_an_hour + 1234)},
      {"SET", "keyshift:{state}:ledger:not-data", "the source's own state: never copied"},
  };
  Command big{"HSET", "h:big"};
  for (int i = 0; i < 300; ++i) {
    big.push_back("f" + std::to_string(i));
    big.push_back(std::string(40, static_cast<char>('a' + i % 26)));
  }
  cmds.push_back(big);
  auto replies = conn.Pipeline(cmds);
  REQUIRE(replies.ok());
  for (const auto& r : *replies) REQUIRE_FALSE(r.is_error());
  return 8;  // the state key is not data
}

nlohmann::json Json(const CliResult& r) {
  INFO(Describe(r));
  auto at = r.out.find('{');
  REQUIRE(at != std::string::npos);
  return nlohmann::json::parse(r.out.substr(at));
}

CliResult Copy(const Keyshift& ks, const std::string& to, std::vector<std::string> more) {
  std::vector<std::string> args = {"--output", "json", "copy", "--to", to};
  args.insert(args.end(), more.begin(), more.end());
  return ks.Run(args);
}

CliResult Compare(const Keyshift& ks, const std::string& to, std::vector<std::string> more) {
  std::vector<std::string> args = {"--output", "json", "compare", "--to", to};
  args.insert(args.end(), more.begin(), more.end());
  return ks.Run(args);
}

void ExpectNoDifference(const Keyshift& ks, const std::string& to, std::vector<std::string> more) {
  CliResult same = Compare(ks, to, std::move(more));
  INFO(Describe(same));
  CHECK(same.exit_code == 0);
  CHECK(Json(same)["total"] == 0);
}

std::vector<std::string> StateKeysOn(RedisConnection& conn) { return ScanKeys(conn, "keyshift:*"); }

namespace {

std::string SourceId(const RedisServer& source) { return CopySourceId("127.0.0.1:" + std::to_string(source.port()), 0); }

}  // namespace

std::string CheckpointOf(const RedisServer& source) { return "keyshift:{state}:copy:" + SourceId(source); }

std::string MarksOf(const RedisServer& source, const std::string& key) {
  return "keyshift:copied:" + SourceId(source) + ":{" + SlotTag(KeySlot(key)) + "}";
}

std::string ChunksOf(const RedisServer& source, const std::string& key) {
  return "keyshift:chunks:" + SourceId(source) + ":{" + SlotTag(KeySlot(key)) + "}";
}

}  // namespace keyshift::testing
