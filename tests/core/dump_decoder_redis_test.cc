// Tests for core/dump_decoder, [redis]: DUMP output of a private Redis 7.0
// for every encoding it emits, compared with what GET/HGETALL/LRANGE/
// SMEMBERS/ZRANGE WITHSCORES read; and older encodings built by hand,
// RESTOREd into Redis (which validates them) and read back.
#include "core/dump_decoder.h"

#include <catch.hpp>

#include "tests/core/dump_payloads.h"
#include "tests/support/redis_server.h"

namespace keyshift {
namespace {

using namespace dump_test;
using testing::RedisServer;

// ------------------------------------------------------------------ [redis]

Reply Must(RedisConnection& conn, const Command& command) {
  auto reply = conn.Call(command);
  if (!reply.ok()) FAIL(command.front() << " failed: " << reply.error().message);
  return std::move(reply.value());
}

Strings ItemsOf(const Reply& array) {
  Strings out;
  for (const auto& e : array.elements) out.push_back(e.str);
  return out;
}

Pairs PairsOf(const Reply& array) {
  Pairs out;
  for (size_t i = 0; i + 1 < array.elements.size(); i += 2) out.emplace_back(array.elements[i].str, array.elements[i + 1].str);
  return out;
}

// The key's value as a caller reads it: GET, HGETALL, LRANGE, SMEMBERS, ZRANGE WITHSCORES.
Value ReadLive(RedisConnection& conn, const std::string& key) {
  Value v;
  v.type = KeyTypeFromName(Must(conn, {"TYPE", key}).str);
  switch (v.type) {
    case KeyType::kString: v.str = Must(conn, {"GET", key}).str; break;
    case KeyType::kHash: v.pairs = PairsOf(Must(conn, {"HGETALL", key})); break;
    case KeyType::kList: v.items = ItemsOf(Must(conn, {"LRANGE", key, "0", "-1"})); break;
    case KeyType::kSet: v.items = ItemsOf(Must(conn, {"SMEMBERS", key})); break;
    case KeyType::kZSet: v.pairs = PairsOf(Must(conn, {"ZRANGE", key, "0", "-1", "WITHSCORES"})); break;
    default: FAIL("unexpected type of " << key);
  }
  v.Normalize();
  return v;
}

std::string Dump(RedisConnection& conn, const std::string& key) {
  Reply r = Must(conn, {"DUMP", key});
  REQUIRE(r.kind == Reply::kString);
  return r.str;
}

std::string EncodingOf(RedisConnection& conn, const std::string& key) { return Must(conn, {"OBJECT", "ENCODING", key}).str; }

// DUMPs `key`, checks its RDB type byte, decodes it and compares with the live value.
std::string CheckKey(RedisConnection& conn, const std::string& key, int rdb_type) {
  INFO("key " << key << " (" << EncodingOf(conn, key) << ")");
  const std::string payload = Dump(conn, key);
  CHECK(static_cast<uint8_t>(payload[0]) == rdb_type);
  ExpectDecodes(payload, ReadLive(conn, key));
  return payload;
}

Command WithArgs(Command head, const Strings& args) {
  head.insert(head.end(), args.begin(), args.end());
  return head;
}

Strings NumberedStrings(const std::string& prefix, int n) {
  Strings out;
  for (int i = 0; i < n; ++i) out.push_back(prefix + std::to_string(i));
  return out;
}

Command HSetOf(const std::string& key, const Pairs& pairs) { return WithArgs({"HSET", key}, FlatItems(pairs)); }

TEST_CASE("dump decodes Redis 7.0 strings of every encoding", "[redis]") {
  RedisServer server;
  auto conn = server.Connect();
  struct Case {
    std::string value;
    int encoding;  // payload[1]: 0xc0..0xc3 for INT8/16/32/LZF, -1 for raw
  };
  const Case cases[] = {
      {"hello", -1}, {"", -1}, {std::string("\0a\0\xff\x01", 5), -1}, {"0", 0xc0}, {"-128", 0xc0},
      {"127", 0xc0}, {"128", 0xc1}, {"-32768", 0xc1}, {"40000", 0xc2}, {"-2147483648", 0xc2},
      {"2147483648", -1}, {"9223372036854775807", -1}, {"-9223372036854775808", -1}, {"007", -1},
      {"1.5", -1}, {Repeat("ab", 500), 0xc3}, {Repeat("keyshift ", 20000), 0xc3}, {Noise(300, 7), -1},
      {Noise(20, 8) + std::string(200, '\0'), 0xc3},
  };
  int i = 0;
  for (const auto& c : cases) {
    const std::string key = "s" + std::to_string(i++);
    Must(*conn, {"SET", key, c.value});
    const std::string payload = CheckKey(*conn, key, 0);
    if (c.encoding >= 0) CHECK(static_cast<uint8_t>(payload[1]) == c.encoding);
    if (c.encoding < 0) CHECK(static_cast<uint8_t>(payload[1]) < 0xc0);
  }
  Must(*conn, {"SET", "counter", "10"});
  Must(*conn, {"INCRBY", "counter", "-5000000000"});
  CheckKey(*conn, "counter", 0);
}

TEST_CASE("dump decodes Redis 7.0 hashes: listpack and hashtable", "[redis]") {
  RedisServer server;
  auto conn = server.Connect();
  Must(*conn, {"CONFIG", "SET", "hash-max-listpack-value", "20000"});
  Must(*conn, {"CONFIG", "SET", "hash-max-listpack-entries", "128"});
  Pairs small;
  const Strings items = MixedItems();
  for (size_t i = 0; i < items.size(); ++i) small.emplace_back(items[i], items[items.size() - 1 - i] + "v");
  for (const auto& t : IntTexts()) small.emplace_back("int:" + t, t);
  Must(*conn, HSetOf("small", small));
  CHECK(EncodingOf(*conn, "small") == "listpack");
  CheckKey(*conn, "small", 16);

  Pairs big;
  for (int i = 0; i < 300; ++i) big.emplace_back("field" + std::to_string(i), i % 3 ? std::to_string(i * 7919 - 100000) : Repeat("v", i));
  Must(*conn, HSetOf("big", big));
  CHECK(EncodingOf(*conn, "big") == "hashtable");
  CheckKey(*conn, "big", 4);

  Must(*conn, {"CONFIG", "SET", "hash-max-listpack-value", "64"});
  Must(*conn, {"HSET", "long-value", "f", std::string(65, 'x'), "g", "1"});
  CHECK(EncodingOf(*conn, "long-value") == "hashtable");
  CheckKey(*conn, "long-value", 4);
}

// Walks a small RDB_TYPE_LIST_QUICKLIST_2 payload (< 64 nodes) to count its
// PLAIN nodes and LZF-compressed nodes, to prove the test reached them.
struct QuicklistShape {
  int nodes = 0, plain = 0, lzf = 0;
};

uint64_t TestReadLen(const std::string& p, size_t* pos) {
  const uint8_t b = static_cast<uint8_t>(p.at((*pos)++));
  if ((b >> 6) == 0) return b & 0x3f;
  if ((b >> 6) == 1) return (static_cast<uint64_t>(b & 0x3f) << 8) | static_cast<uint8_t>(p.at((*pos)++));
  REQUIRE(b == 0x80);
  uint64_t v = 0;
  for (int i = 0; i < 4; ++i) v = (v << 8) | static_cast<uint8_t>(p.at((*pos)++));
  return v;
}

QuicklistShape ShapeOf(const std::string& payload) {
  QuicklistShape shape;
  REQUIRE(static_cast<uint8_t>(payload.at(0)) == 18);
  size_t pos = 1;
  shape.nodes = static_cast<int>(TestReadLen(payload, &pos));
  for (int i = 0; i < shape.nodes; ++i) {
    if (payload.at(pos++) == 1) ++shape.plain;
    if (static_cast<uint8_t>(payload.at(pos)) == 0xc3) {
      ++pos;
      ++shape.lzf;
      const uint64_t clen = TestReadLen(payload, &pos);
      TestReadLen(payload, &pos);
      pos += clen;
    } else {
      pos += TestReadLen(payload, &pos);
    }
  }
  CHECK(pos == payload.size() - 10);
  return shape;
}

TEST_CASE("dump decodes Redis 7.0 lists: quicklist nodes, compressed and PLAIN", "[redis]") {
  RedisServer server({{"--enable-debug-command", "yes"}, ""});
  auto conn = server.Connect();
  Strings items = MixedItems();
  for (int i = 0; i < 40; ++i) items.push_back(i % 2 ? std::to_string(-i * 100003) : Repeat("e" + std::to_string(i), 30));
  Must(*conn, WithArgs({"RPUSH", "one-node"}, {"a", "-1", "77", std::string("\0z", 2), ""}));
  CHECK(ShapeOf(CheckKey(*conn, "one-node", 18)).nodes == 1);

  Must(*conn, WithArgs({"RPUSH", "default"}, items));
  CheckKey(*conn, "default", 18);

  Must(*conn, {"CONFIG", "SET", "list-max-listpack-size", "4"});
  Must(*conn, WithArgs({"RPUSH", "many-nodes"}, items));
  CHECK(ShapeOf(CheckKey(*conn, "many-nodes", 18)).nodes > 10);

  // Node-level compression (rdbcompression off, so LZF can only come from the nodes).
  Must(*conn, {"CONFIG", "SET", "rdbcompression", "no"});
  Must(*conn, {"CONFIG", "SET", "list-compress-depth", "1"});
  Must(*conn, WithArgs({"RPUSH", "compressed"}, items));
  const QuicklistShape compressed = ShapeOf(CheckKey(*conn, "compressed", 18));
  CHECK(compressed.lzf > 3);

  // PLAIN nodes for elements at or above the packed threshold, compressed too.
  Must(*conn, {"DEBUG", "QUICKLIST-PACKED-THRESHOLD", "100"});
  Must(*conn, WithArgs({"RPUSH", "plain"}, items));
  Must(*conn, {"LPUSH", "plain", Repeat("head", 50)});
  const QuicklistShape plain = ShapeOf(CheckKey(*conn, "plain", 18));
  CHECK(plain.plain > 3);
  CHECK(plain.lzf > 0);
  Must(*conn, {"CONFIG", "SET", "list-compress-depth", "0"});
  Must(*conn, {"CONFIG", "SET", "rdbcompression", "yes"});
  Must(*conn, WithArgs({"RPUSH", "plain-uncompressed"}, items));
  CHECK(ShapeOf(CheckKey(*conn, "plain-uncompressed", 18)).plain == 3);

  Must(*conn, {"DEBUG", "QUICKLIST-PACKED-THRESHOLD", "0"});
  Must(*conn, {"CONFIG", "SET", "list-max-listpack-size", "-2"});
  Must(*conn, WithArgs({"RPUSH", "long"}, NumberedStrings("element-", 20000)));
  CHECK(ShapeOf(CheckKey(*conn, "long", 18)).nodes > 10);
}

TEST_CASE("dump decodes Redis 7.0 sets: intset and hashtable", "[redis]") {
  RedisServer server;
  auto conn = server.Connect();
  Must(*conn, {"CONFIG", "SET", "set-max-intset-entries", "512"});
  Must(*conn, {"SADD", "int16", "1", "-5", "300", "32767"});
  Must(*conn, {"SADD", "int32", "1", "-70000", "2147483647"});
  Must(*conn, {"SADD", "int64", "-9223372036854775808", "9223372036854775807", "0", "-1"});
  for (const char* key : {"int16", "int32", "int64"}) {
    CHECK(EncodingOf(*conn, key) == "intset");
    CheckKey(*conn, key, 11);
  }
  Strings many;
  for (int i = 0; i < 500; ++i) many.push_back(std::to_string(i * 1000003LL - 250000000LL));
  Must(*conn, WithArgs({"SADD", "big-intset"}, many));
  CheckKey(*conn, "big-intset", 11);
  for (int i = 0; i < 100; ++i) many.push_back(std::to_string(-i));
  Must(*conn, WithArgs({"SADD", "too-many-ints"}, many));
  CHECK(EncodingOf(*conn, "too-many-ints") == "hashtable");
  CheckKey(*conn, "too-many-ints", 2);
  Must(*conn, WithArgs({"SADD", "strings"}, MixedItems()));
  CheckKey(*conn, "strings", 2);
}

TEST_CASE("dump decodes Redis 7.0 sorted sets; scores as ZRANGE prints them", "[redis]") {
  RedisServer server;
  auto conn = server.Connect();
  const Strings scores = {"0.1",  "1.5",      "1e20",    "-inf",  "inf",  "3",         "-0",   "1e-300", "-2.5",
                          "0.3333333333333333", "123456789012345678", "-4096", "70000", "4.5e15", "1e308", "0"};
  Command small = {"ZADD", "small"};
  for (size_t i = 0; i < scores.size(); ++i) small.insert(small.end(), {scores[i], "m" + std::to_string(i)});
  small.insert(small.end(), {"7", std::string(70, 'L')});
  Must(*conn, {"CONFIG", "SET", "zset-max-listpack-value", "100"});
  Must(*conn, {"CONFIG", "SET", "zset-max-listpack-entries", "128"});
  Must(*conn, small);
  CHECK(EncodingOf(*conn, "small") == "listpack");
  CheckKey(*conn, "small", 17);
  const Value decoded = *DecodeDump(Dump(*conn, "small"));
  const Pairs expected_start = {{"m0", "0.10000000000000001"}, {"m1", "1.5"}, {"m10", "1.2345678901234568e+17"}};
  CHECK(Pairs(decoded.pairs.begin() + 1, decoded.pairs.begin() + 4) == expected_start);

  Command big = {"ZADD", "big"};
  for (int i = 0; i < 300; ++i) big.insert(big.end(), {scores[i % scores.size()], "member" + std::to_string(i)});
  Must(*conn, big);
  CHECK(EncodingOf(*conn, "big") == "skiplist");
  CheckKey(*conn, "big", 5);
  Must(*conn, {"ZADD", "neg-zero", "-0", "a"});
  Must(*conn, {"CONFIG", "SET", "zset-max-listpack-entries", "0"});
  Must(*conn, {"ZADD", "neg-zero-skiplist", "-0", "a", "0.1", "b"});
  CheckKey(*conn, "neg-zero", 17);
  CheckKey(*conn, "neg-zero-skiplist", 5);
}

// Redis 7.0 no longer writes these encodings but still RESTOREs them; it
// validates them (sanitize-dump-payload yes), which also checks the builders.
TEST_CASE("dump agrees with Redis 7.0 RESTORE on older encodings", "[redis]") {
  RedisServer server;
  auto conn = server.Connect();
  Must(*conn, {"CONFIG", "SET", "sanitize-dump-payload", "yes"});
  int i = 0;
  for (const auto& sample : HandBuiltCorpus()) {
    if (sample.name.find("7.2") != std::string::npos) continue;  // RDB version 11: newer than 7.0
    INFO(sample.name);
    const std::string key = "restored" + std::to_string(i++);
    Must(*conn, {"RESTORE", key, "0", sample.payload});
    ExpectDecodes(sample.payload, ReadLive(*conn, key));
  }
}

TEST_CASE("dump survives corruption of real Redis 7.0 payloads", "[redis]") {
  RedisServer server;
  auto conn = server.Connect();
  Must(*conn, {"SET", "str", Repeat("compress me ", 40)});
  Must(*conn, {"SET", "int", "-12345"});
  Must(*conn, WithArgs({"RPUSH", "list"}, MixedItems()));
  Must(*conn, HSetOf("hash", {{"a", "1"}, {"b", std::string(70, 'b')}, {"c", "-70000"}}));
  Must(*conn, {"SADD", "intset", "1", "-2", "300000"});
  Must(*conn, {"SADD", "set", "x", "y", "z"});
  Must(*conn, {"ZADD", "zset", "0.1", "a", "-inf", "b", "3", "c"});
  Must(*conn, {"ZADD", "skiplist", "0.1", "a", "2", std::string(100, 'q')});
  uint32_t seed = 100;
  for (const char* key : {"str", "int", "list", "hash", "intset", "set", "zset", "skiplist"}) {
    INFO(key);
    const std::string payload = Dump(*conn, key);
    REQUIRE(DecodeDump(payload).ok());
    Torture(payload, seed++, 500);
  }
}

}  // namespace
}  // namespace keyshift
