// Payload builders and checks shared by the DUMP decoder tests
// (dump_decoder_test.cc: [dump], no server; dump_decoder_redis_test.cc:
// [redis], against a private Redis 7.0).
#pragma once

#include "core/dump_decoder.h"
#include <algorithm>
#include <catch.hpp>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

namespace keyshift::dump_test {

using Pairs = std::vector<std::pair<std::string, std::string>>;
using Strings = std::vector<std::string>;

// ------------------------------------------------------------------ building payloads
// The RDB encodings written out independently of the decoder; the [redis]
// RESTORE test checks these builders against Redis itself.

inline std::string Le(uint64_t v, int width) {
  std::string s;
  for (int i = 0; i < width; ++i) s.push_back(static_cast<char>(v >> (8 * i)));
  return s;
}

inline std::string Be(uint64_t v, int width) {
  std::string s;
  for (int i = width - 1; i >= 0; --i) s.push_back(static_cast<char>(v >> (8 * i)));
  return s;
}

inline std::string Bytes(std::initializer_list<int> bytes) {
  std::string s;
  for (int b : bytes) s.push_back(static_cast<char>(b));
  return s;
}

inline std::string FromHex(const std::string& hex) {
  std::string s;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) s.push_back(static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16)));
  return s;
}

// Body + RDB version + CRC64: a complete DUMP payload.
inline std::string Seal(const std::string& body, int version = 10) {
  std::string p = body + Le(version, 2);
  return p + Le(DumpCrc64(p), 8);
}

// The body of a sealed payload (without its 10-byte footer).
inline std::string Body(const std::string& payload) { return payload.substr(0, payload.size() - 10); }

inline std::string RdbLen(uint64_t n) {
  if (n < 64) return Bytes({static_cast<int>(n)});
  if (n < 16384) return Bytes({static_cast<int>(0x40 | (n >> 8)), static_cast<int>(n & 0xff)});
  if (n <= 0xffffffffULL) return "\x80" + Be(n, 4);
  return "\x81" + Be(n, 8);
}

inline std::string RdbStr(const std::string& s) { return RdbLen(s.size()) + s; }

// True for the text of an integer Redis would store compactly ("12", not "012").
inline bool AsInt(const std::string& s, int64_t* v) {
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), *v);
  return ec == std::errc() && end == s.data() + s.size() && std::to_string(*v) == s;
}

inline bool Fits(int64_t v, int bits) { return v >= -(int64_t{1} << (bits - 1)) && v < (int64_t{1} << (bits - 1)); }

inline std::string ZiplistInt(int64_t v) {
  if (v >= 0 && v <= 12) return Bytes({0xf1 + static_cast<int>(v)});
  if (Fits(v, 8)) return "\xfe" + Le(v, 1);
  if (Fits(v, 16)) return "\xc0" + Le(v, 2);
  if (Fits(v, 24)) return "\xf0" + Le(v, 3);
  if (Fits(v, 32)) return "\xd0" + Le(v, 4);
  return "\xe0" + Le(v, 8);
}

inline std::string ZiplistEntry(const std::string& s, size_t prevlen) {
  std::string e = prevlen < 254 ? Bytes({static_cast<int>(prevlen)}) : "\xfe" + Le(prevlen, 4);
  int64_t v;
  const size_t n = s.size();
  if (AsInt(s, &v)) return e + ZiplistInt(v);
  if (n < 64) return e + Bytes({static_cast<int>(n)}) + s;
  if (n < 16384) return e + Bytes({static_cast<int>(0x40 | (n >> 8)), static_cast<int>(n & 0xff)}) + s;
  return e + "\x80" + Be(n, 4) + s;
}

inline std::string Ziplist(const Strings& items) {
  std::string entries;
  size_t prevlen = 0, tail = 10;
  for (const auto& s : items) {
    tail = 10 + entries.size();
    const std::string e = ZiplistEntry(s, prevlen);
    entries += e;
    prevlen = e.size();
  }
  const size_t total = 10 + entries.size() + 1;
  return Le(total, 4) + Le(tail, 4) + Le(std::min<size_t>(items.size(), 0xffff), 2) + entries + "\xff";
}

inline std::string LpBacklen(size_t l) {
  if (l <= 127) return Bytes({static_cast<int>(l)});
  if (l < 16383) return Bytes({static_cast<int>(l >> 7), static_cast<int>((l & 127) | 128)});
  return Bytes({static_cast<int>(l >> 14), static_cast<int>(((l >> 7) & 127) | 128),
                static_cast<int>((l & 127) | 128)});
}

inline std::string ListpackInt(int64_t v) {
  if (v >= 0 && v <= 127) return Bytes({static_cast<int>(v)});
  if (Fits(v, 13)) {
    const uint64_t u = static_cast<uint64_t>(v) & 0x1fff;
    return Bytes({static_cast<int>(0xc0 | (u >> 8)), static_cast<int>(u & 0xff)});
  }
  if (Fits(v, 16)) return "\xf1" + Le(v, 2);
  if (Fits(v, 24)) return "\xf2" + Le(v, 3);
  if (Fits(v, 32)) return "\xf3" + Le(v, 4);
  return "\xf4" + Le(v, 8);
}

inline std::string ListpackEntry(const std::string& s) {
  int64_t v;
  const size_t n = s.size();
  std::string e;
  if (AsInt(s, &v)) {
    e = ListpackInt(v);
  } else if (n < 64) {
    e = Bytes({static_cast<int>(0x80 | n)}) + s;
  } else if (n < 4096) {
    e = Bytes({static_cast<int>(0xe0 | (n >> 8)), static_cast<int>(n & 0xff)}) + s;
  } else {
    e = "\xf0" + Le(n, 4) + s;
  }
  return e + LpBacklen(e.size());
}

inline std::string Listpack(const Strings& items) {
  std::string entries;
  for (const auto& s : items) entries += ListpackEntry(s);
  const size_t total = 6 + entries.size() + 1;
  return Le(total, 4) + Le(std::min<size_t>(items.size(), 0xffff), 2) + entries + "\xff";
}

inline std::string Intset(const std::vector<int64_t>& values, int width) {
  std::string s = Le(width, 4) + Le(values.size(), 4);
  for (int64_t v : values) s += Le(v, width);
  return s;
}

inline std::string Zipmap(const Pairs& pairs, int free_bytes = 0) {
  auto len = [](size_t n) { return n < 254 ? Bytes({static_cast<int>(n)}) : "\xfe" + Le(n, 4); };
  std::string s = Bytes({static_cast<int>(std::min<size_t>(pairs.size(), 254))});
  for (const auto& [k, v] : pairs) {
    s += len(k.size()) + k + len(v.size()) + Bytes({free_bytes}) + v + std::string(free_bytes, 'x');
  }
  return s + "\xff";
}

inline std::string Flatten(const Pairs& pairs) {
  std::string s;
  for (const auto& [k, v] : pairs) s += RdbStr(k) + RdbStr(v);
  return s;
}

inline Strings FlatItems(const Pairs& pairs) {
  Strings out;
  for (const auto& [k, v] : pairs) {
    out.push_back(k);
    out.push_back(v);
  }
  return out;
}

inline std::string Seq(const Strings& items) {
  std::string s = RdbLen(items.size());
  for (const auto& i : items) s += RdbStr(i);
  return s;
}

// A deterministic random string of `n` bytes (incompressible, may hold NULs).
inline std::string Noise(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::string s(n, '\0');
  for (auto& ch : s) ch = static_cast<char>(rng() & 0xff);
  return s;
}

inline std::string Repeat(const std::string& unit, size_t times) {
  std::string s;
  for (size_t i = 0; i < times; ++i) s += unit;
  return s;
}

// ------------------------------------------------------------------ comparing Values

inline Value MakeValue(KeyType type, Strings items = {}, Pairs pairs = {}, std::string str = {}) {
  Value v;
  v.type = type;
  v.items = std::move(items);
  v.pairs = std::move(pairs);
  v.str = std::move(str);
  v.Normalize();
  return v;
}

inline std::string Show(const std::string& s) {
  std::string out;
  for (unsigned char ch : s.substr(0, 80)) {
    if (ch >= 32 && ch < 127) {
      out.push_back(static_cast<char>(ch));
    } else {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", ch);
      out += buf;
    }
  }
  return s.size() > 80 ? out + "...(" + std::to_string(s.size()) + " bytes)" : out;
}

// The first difference between two Values, or "" if equal.
inline std::string FirstDifference(const Value& got, const Value& want) {
  if (got.type != want.type) return std::string("type ") + KeyTypeName(got.type) + " vs " + KeyTypeName(want.type);
  if (got.str != want.str) return "str " + Show(got.str) + " vs " + Show(want.str);
  for (size_t i = 0; i < std::min(got.items.size(), want.items.size()); ++i) {
    if (got.items[i] != want.items[i]) return "item " + std::to_string(i) + ": " + Show(got.items[i]) + " vs " + Show(want.items[i]);
  }
  if (got.items.size() != want.items.size()) return "item counts " + std::to_string(got.items.size()) + " vs " + std::to_string(want.items.size());
  for (size_t i = 0; i < std::min(got.pairs.size(), want.pairs.size()); ++i) {
    if (got.pairs[i] != want.pairs[i]) {
      return "pair " + std::to_string(i) + ": " + Show(got.pairs[i].first) + "=" + Show(got.pairs[i].second) +
             " vs " + Show(want.pairs[i].first) + "=" + Show(want.pairs[i].second);
    }
  }
  if (got.pairs.size() != want.pairs.size()) return "pair counts " + std::to_string(got.pairs.size()) + " vs " + std::to_string(want.pairs.size());
  return "";
}

inline void ExpectDecodes(const std::string& payload, const Value& want) {
  auto got = DecodeDump(payload);
  if (!got.ok()) FAIL("DecodeDump failed: " << got.error().message);
  const std::string diff = FirstDifference(*got, want);
  INFO(diff);
  CHECK(diff.empty());
  CHECK(*got == want);
}

inline void ExpectError(const std::string& payload, const std::string& part_of_message) {
  auto got = DecodeDump(payload);
  REQUIRE_FALSE(got.ok());
  INFO(got.error().message);
  CHECK(got.error().message.find(part_of_message) != std::string::npos);
  CHECK(got.error().exit_code == kExitFailed);
}

// ------------------------------------------------------------------ hand-built corpus

struct Sample {
  std::string name;
  std::string payload;
  Value want;
};

inline Strings IntTexts() {
  return {"0",      "1",      "12",      "13",       "127",         "128",         "-1",
          "-128",   "-129",   "4095",    "-4096",    "4096",        "-4097",       "32767",
          "-32768", "32768",  "8388607", "-8388608", "8388608",     "2147483647",  "-2147483648",
          "2147483648",       "9223372036854775807", "-9223372036854775808", "007", "+5", "1.5"};
}

inline Strings MixedItems() {
  Strings items = IntTexts();
  items.push_back("");
  items.push_back(std::string("bin\0ary\xff", 8));
  items.push_back(std::string(63, 'a'));
  items.push_back(std::string(64, 'b'));
  items.push_back(Noise(300, 1));
  items.push_back(std::string(5000, 'c'));
  items.push_back(Noise(17000, 2));
  return items;
}

inline Pairs HashPairs() {
  Pairs pairs;
  const Strings items = MixedItems();
  for (size_t i = 0; i < items.size(); ++i) pairs.emplace_back("f" + std::to_string(i) + items[i].substr(0, 3), items[i]);
  return pairs;
}

inline std::vector<Sample> HandBuiltCorpus() {
  const Strings items = MixedItems();
  const Pairs hash = HashPairs();
  const Pairs zset_text = {{"a", "1.5"}, {"b", "0.1"}, {"c", "-3"}, {"d", "1e+20"}, {"e", "inf"}, {"f", "-inf"}, {"g", "7"}};
  const Pairs zset_want = {{"a", "1.5"}, {"b", "0.10000000000000001"}, {"c", "-3"}, {"d", "1e+20"},
                           {"e", "inf"},  {"f", "-inf"},               {"g", "7"}};
  const Value list = MakeValue(KeyType::kList, items);
  const Value set = MakeValue(KeyType::kSet, items);
  const Value hash_value = MakeValue(KeyType::kHash, {}, hash);
  const Value zset = MakeValue(KeyType::kZSet, {}, zset_want);
  const Strings head(items.begin(), items.begin() + 10), tail(items.begin() + 10, items.end());
  const std::string big = std::string(200, 'P');
  const Value plain_list = MakeValue(KeyType::kList, {"x", big, "y", "z"});
  std::string zset2 = RdbLen(4);
  for (double d : {1.5, 0.1, 3.0, -HUGE_VAL}) {
    zset2 += RdbStr("m" + std::to_string(zset2.size()));
    uint64_t raw;
    std::memcpy(&raw, &d, 8);
    zset2 += Le(raw, 8);
  }
  std::string zset3 = RdbLen(3) + RdbStr("a") + Bytes({3}) + "1.5" + RdbStr("b") + Bytes({254}) + RdbStr("c") + Bytes({255});
  std::vector<Sample> corpus = {
      {"raw string", Seal(Bytes({0}) + RdbStr("hello")), MakeValue(KeyType::kString, {}, {}, "hello")},
      {"INT8 string", Seal(Bytes({0, 0xc0, 0x85})), MakeValue(KeyType::kString, {}, {}, "-123")},
      {"INT16 string", Seal(Bytes({0, 0xc1}) + Le(static_cast<uint64_t>(-1000), 2)), MakeValue(KeyType::kString, {}, {}, "-1000")},
      {"INT32 string", Seal(Bytes({0, 0xc2}) + Le(2147483647, 4)), MakeValue(KeyType::kString, {}, {}, "2147483647")},
      {"LZF string, overlapping back reference", Seal(Bytes({0, 0xc3, 6, 9, 2, 'a', 'b', 'c', 0x80, 2})),
       MakeValue(KeyType::kString, {}, {}, "abcabcabc")},
      {"LZF string, long back reference", Seal(Bytes({0, 0xc3, 5, 0x40, 100, 0, 'a', 0xe0, 90, 0})),
       MakeValue(KeyType::kString, {}, {}, std::string(100, 'a'))},
      {"linked list (type 1)", Seal("\x01" + Seq(items)), list},
      {"ziplist list (type 10)", Seal("\x0a" + RdbStr(Ziplist(items))), list},
      {"ziplist quicklist (type 14)", Seal("\x0e" + RdbLen(2) + RdbStr(Ziplist(head)) + RdbStr(Ziplist(tail))), list},
      {"quicklist 2 (type 18)", Seal("\x12" + RdbLen(2) + "\x02" + RdbStr(Listpack(head)) + "\x02" + RdbStr(Listpack(tail))), list},
      {"quicklist 2 with PLAIN node", Seal("\x12" + RdbLen(3) + "\x02" + RdbStr(Listpack({"x"})) + "\x01" + RdbStr(big) + "\x02" + RdbStr(Listpack({"y", "z"}))), plain_list},
      {"set (type 2)", Seal("\x02" + Seq(items)), set},
      {"intset 16-bit (type 11)", Seal("\x0b" + RdbStr(Intset({-5, 1, 300}, 2))), MakeValue(KeyType::kSet, {"-5", "1", "300"})},
      {"intset 32-bit", Seal("\x0b" + RdbStr(Intset({-70000, 2, 70000}, 4))), MakeValue(KeyType::kSet, {"-70000", "2", "70000"})},
      {"intset 64-bit", Seal("\x0b" + RdbStr(Intset({std::numeric_limits<int64_t>::min(), 0, std::numeric_limits<int64_t>::max()}, 8))),
       MakeValue(KeyType::kSet, {"-9223372036854775808", "0", "9223372036854775807"})},
      {"listpack set (type 20, Redis 7.2)", Seal("\x14" + RdbStr(Listpack(items)), 11), set},
      {"hash (type 4)", Seal("\x04" + RdbLen(hash.size()) + Flatten(hash)), hash_value},
      {"zipmap hash (type 9)", Seal("\x09" + RdbStr(Zipmap(hash, 2))), hash_value},
      {"ziplist hash (type 13)", Seal("\x0d" + RdbStr(Ziplist(FlatItems(hash)))), hash_value},
      {"listpack hash (type 16)", Seal("\x10" + RdbStr(Listpack(FlatItems(hash)))), hash_value},
      {"zset with text scores (type 3)", Seal("\x03" + zset3), MakeValue(KeyType::kZSet, {}, {{"a", "1.5"}, {"b", "inf"}, {"c", "-inf"}})},
      {"zset with binary scores (type 5)", Seal("\x05" + zset2),
       MakeValue(KeyType::kZSet, {}, {{"m1", "1.5"}, {"m12", "0.10000000000000001"}, {"m24", "3"}, {"m36", "-inf"}})},
      {"ziplist zset (type 12)", Seal("\x0c" + RdbStr(Ziplist(FlatItems(zset_text)))), zset},
      {"listpack zset (type 17)", Seal("\x11" + RdbStr(Listpack(FlatItems(zset_text)))), zset},
  };
  return corpus;
}

// Truncations and byte flips of valid payloads, re-sealed so that the
// structure (not the CRC) has to catch them: never a crash, truncations
// always an Error.
inline void Torture(const std::string& payload, uint32_t seed, int flips) {
  const std::string body = Body(payload);
  const size_t step = body.size() > 4000 ? body.size() / 1000 : 1;
  for (size_t n = 0; n < body.size(); n += step) {
    auto r = DecodeDump(Seal(body.substr(0, n)));
    INFO("truncated to " << n << " of " << body.size());
    CHECK_FALSE(r.ok());
  }
  std::mt19937 rng(seed);
  for (int i = 0; i < flips; ++i) {
    std::string mutated = body;
    const int changes = 1 + static_cast<int>(rng() % 3);
    for (int k = 0; k < changes; ++k) mutated[rng() % mutated.size()] ^= static_cast<char>(1 + rng() % 255);
    auto r = DecodeDump(Seal(mutated));
    if (r.ok()) CHECK(r->type != KeyType::kNone);
  }
  std::string unsealed = payload;
  unsealed[std::uniform_int_distribution<size_t>(0, body.size() - 1)(rng)] ^= 0x01;
  ExpectError(unsealed, "checksum mismatch");
}

}  // namespace keyshift::dump_test
