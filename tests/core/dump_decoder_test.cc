// Tests for core/dump_decoder, [dump]: hand-built and captured payloads,
// corrupt payloads, no server. The [redis] half, against DUMP output of a
// private Redis 7.0, is dump_decoder_redis_test.cc.
#include "core/dump_decoder.h"

#include <catch.hpp>

#include "tests/core/dump_payloads.h"

namespace keyshift {
namespace {

using namespace dump_test;

// ------------------------------------------------------------------ [dump]

TEST_CASE("dump CRC64 is Redis's Jones CRC64", "[dump]") {
  CHECK(DumpCrc64("123456789") == 0xe9c6d914c4b8d9caULL);
  CHECK(DumpCrc64("") == 0);
}

TEST_CASE("dump decodes payloads captured from Redis 7.0", "[dump]") {
  // ZADD z 0.1 a 1.5 b 1e20 c -inf d 3 e inf f -0 g 1e-300 h 123456789012345678 i
  // (a listpack zset, LZF-compressed), and ZRANGE z 0 -1 WITHSCORES.
  ExpectDecodes(FromHex("11c3405d40641f640000001200816402842d696e660581670200018168028631652d33303007810661029330"
                        "2e3130e005001f311481620283312e35048165020301816902f450f330a64b9bb60109816302850931652b"
                        "3230068166028320530104ff0a00624e92ef58aecbd0"),
                MakeValue(KeyType::kZSet, {},
                          {{"d", "-inf"}, {"g", "0"}, {"h", "1e-300"}, {"a", "0.10000000000000001"}, {"b", "1.5"},
                           {"e", "3"}, {"i", "1.2345678901234568e+17"}, {"c", "1e+20"}, {"f", "inf"}}));
  // HSET h f1 v1
  ExpectDecodes(FromHex("100f0f00000002008266310382763103ff0a005e9922ca42314c99"),
                MakeValue(KeyType::kHash, {}, {{"f1", "v1"}}));
  // SET s abab...ab (100 bytes): an LZF string.
  ExpectDecodes(FromHex("00c30a406402616261e056010161620a0017383d942096d863"),
                MakeValue(KeyType::kString, {}, {}, Repeat("ab", 50)));
}

TEST_CASE("dump decodes every encoding, hand-built", "[dump]") {
  for (const auto& sample : HandBuiltCorpus()) {
    SECTION(sample.name) { ExpectDecodes(sample.payload, sample.want); }
  }
}

TEST_CASE("dump footer: version and checksum", "[dump]") {
  const std::string body = Bytes({0}) + RdbStr("hello");
  const Value hello = MakeValue(KeyType::kString, {}, {}, "hello");
  ExpectDecodes(Seal(body, 10), hello);
  ExpectDecodes(Seal(body, 1), hello);
  ExpectDecodes(body + Le(10, 2) + Le(0, 8), hello);  // CRC 0: not checked
  ExpectError(Seal(body, 0), "RDB version 0");
  ExpectError(Seal(body, kMaxDumpRdbVersion + 1), "RDB version");
  ExpectError("", "too short");
  ExpectError(Seal(""), "too short");
  std::string flipped = Seal(body);
  flipped[3] ^= 0x20;
  ExpectError(flipped, "checksum mismatch");
  std::string bad_crc = Seal(body);
  bad_crc.back() ^= 1;
  ExpectError(bad_crc, "checksum mismatch");
}

TEST_CASE("dump prints a binary -0 score as a skiplist ZRANGE does", "[dump]") {
  // Redis 7.0 prints -0 from a skiplist as "-0"; a listpack never stores it
  // (ZADD writes 0 there, and RESTORE of a small ZSET_2 converts to one).
  uint64_t raw = 0;
  const double negative_zero = -0.0;
  std::memcpy(&raw, &negative_zero, 8);
  ExpectDecodes(Seal("\x05" + RdbLen(1) + RdbStr("m") + Le(raw, 8)), MakeValue(KeyType::kZSet, {}, {{"m", "-0"}}));
  ExpectDecodes(Seal("\x11" + RdbStr(Listpack({"m", "-0"}))), MakeValue(KeyType::kZSet, {}, {{"m", "-0"}}));
}

TEST_CASE("dump refuses streams, module values and unknown types", "[dump]") {
  for (int type : {15, 19, 21, 6, 7, 8, 22, 200}) {
    INFO(type);
    ExpectError(Seal(Bytes({type}) + RdbLen(1) + RdbStr("x")), "type " + std::to_string(type) + " not supported");
  }
  ExpectError(Seal(Bytes({15}) + RdbLen(1)), "stream");
}

TEST_CASE("dump refuses structurally corrupt payloads", "[dump]") {
  const std::string huge = "\x81" + Be(~0ULL >> 1, 8);
  const std::string lp = Listpack({"a", "b"});
  const std::string zl = Ziplist({"a", "bb", "c"});
  const uint64_t nan_bits = 0x7ff8000000000000ULL;
  const struct {
    const char* name;
    std::string body;
    const char* message;
  } cases[] = {
      {"trailing bytes", Bytes({0}) + RdbStr("a") + "zz", "unread bytes"},
      {"string past the end", Bytes({0}) + RdbLen(10) + "abc", "needs 10 bytes"},
      {"unknown length prefix", Bytes({0, 0x82, 1}), "unknown length prefix"},
      {"unknown string encoding", Bytes({0, 0xc4}), "unknown string encoding"},
      {"huge list count", "\x01" + huge, "exceeds the payload"},
      {"huge string length", Bytes({0}) + huge, "needs"},
      {"empty list", "\x01" + RdbLen(0), "empty"},
      {"empty set", "\x02" + RdbLen(0), "empty"},
      {"empty hash", "\x04" + RdbLen(0), "empty"},
      {"empty zset listpack", "\x11" + RdbStr(Listpack({})), "empty"},
      {"quicklist of empty listpacks", "\x12" + RdbLen(1) + "\x02" + RdbStr(Listpack({})), "empty"},
      {"duplicate set member", "\x02" + Seq({"a", "b", "a"}), "duplicate"},
      {"duplicate hash field", "\x10" + RdbStr(Listpack({"f", "1", "f", "2"})), "duplicate"},
      {"odd hash listpack", "\x10" + RdbStr(Listpack({"f", "1", "g"})), "odd number"},
      {"NaN binary score", "\x05" + RdbLen(1) + RdbStr("m") + Le(nan_bits, 8), "NaN"},
      {"NaN text score", "\x03" + RdbLen(1) + RdbStr("m") + Bytes({253}), "NaN"},
      {"unparsable listpack score", "\x11" + RdbStr(Listpack({"m", "abc"})), "not a number"},
      {"LZF reference before start", Bytes({0, 0xc3, 2, 5, 0x20, 0}), "before the start"},
      {"LZF shorter than declared", Bytes({0, 0xc3, 2, 5, 0, 'a'}), "declared 5"},
      {"LZF longer than declared", Bytes({0, 0xc3, 3, 1, 1, 'a', 'b'}), "longer than"},
      {"LZF impossible ratio", Bytes({0, 0xc3, 1, 0x80, 0, 0, 1, 0, 0}), "impossible"},
      {"listpack size mismatch", "\x10" + RdbStr(Le(100, 4) + lp.substr(4)), "listpack size"},
      {"listpack count mismatch", "\x12" + RdbLen(1) + "\x02" + RdbStr(lp.substr(0, 4) + Le(3, 2) + lp.substr(6)), "count mismatch"},
      {"listpack without end", "\x12" + RdbLen(1) + "\x02" + RdbStr(Le(8, 4) + Le(1, 2) + Bytes({1, 1})), "listpack entry"},
      {"listpack bad back-length", "\x12" + RdbLen(1) + "\x02" + RdbStr(Le(9, 4) + Le(1, 2) + Bytes({1, 2, 0xff})), "back-length"},
      {"listpack unknown encoding", "\x12" + RdbLen(1) + "\x02" + RdbStr(Le(9, 4) + Le(1, 2) + Bytes({0xf5, 1, 0xff})), "unknown encoding"},
      {"ziplist prevlen mismatch", "\x0a" + RdbStr(zl.substr(0, 13) + Bytes({9}) + zl.substr(14)), "prevlen"},
      {"ziplist tail mismatch", "\x0a" + RdbStr(zl.substr(0, 4) + Le(10, 4) + zl.substr(8)), "tail"},
      {"intset bad width", "\x0b" + RdbStr(Le(3, 4) + Le(1, 4) + "abc"), "intset width"},
      {"intset size mismatch", "\x0b" + RdbStr(Le(2, 4) + Le(2, 4) + "ab"), "intset count"},
      {"quicklist container 3", "\x12" + RdbLen(1) + "\x03" + RdbStr(lp), "container"},
      {"empty quicklist node", "\x12" + RdbLen(1) + "\x01" + RdbStr(""), "empty quicklist node"},
      {"zipmap key without value", "\x09" + RdbStr(Bytes({1, 1, 'k', 0xff})), "without a value"},
      {"zipmap count mismatch", "\x09" + RdbStr(Bytes({2, 1, 'k', 1, 0, 'v', 0xff})), "count mismatch"},
  };
  for (const auto& c : cases) {
    SECTION(c.name) { ExpectError(Seal(c.body), c.message); }
  }
}

TEST_CASE("dump survives truncated and bit-flipped payloads", "[dump]") {
  uint32_t seed = 1;
  for (const auto& sample : HandBuiltCorpus()) {
    INFO(sample.name);
    Torture(sample.payload, seed++, 300);
  }
}

}  // namespace
}  // namespace keyshift
