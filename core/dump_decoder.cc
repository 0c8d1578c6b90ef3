// Decodes Redis DUMP payloads (one RDB-serialized object plus footer) into
// Values. Written from the RDB format as Redis 7.0 defines it (rdb.h/rdb.c,
// listpack.c, ziplist.c, intset.c, zipmap.c, lzf_d.c). This file owns the
// top level: the object type dispatch, zset scores, the footer and CRC64;
// rdb_reader.h reads RDB lengths and strings, packed_encodings.h the compact
// encodings, lzf.h the compressed strings.
//
// Every read goes through Cursor, which checks bounds; every decoder returns
// a Status, so a corrupt payload ends in an Error rather than a crash.
#include "core/dump_decoder.h"

#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string_view>
#include <vector>

#include "core/packed_encodings.h"
#include "core/rdb_reader.h"

namespace keyshift {
namespace {

using dump::Corrupt;
using dump::Cursor;
using dump::ParseIntset;
using dump::ParseListpack;
using dump::ParseZiplist;
using dump::ParseZipmap;
using dump::ReadCount;
using dump::ReadPlainLen;
using dump::ReadRdbString;
using dump::ReadStringSeq;
using dump::Pairs;
using dump::Strings;

// RDB object type bytes (rdb.h; 20 and 21 are Redis 7.2's).
namespace rdb {
constexpr int kString = 0, kList = 1, kSet = 2, kZSet = 3, kHash = 4, kZSet2 = 5;
constexpr int kModule = 6, kModule2 = 7;
constexpr int kHashZipmap = 9, kListZiplist = 10, kSetIntset = 11, kZSetZiplist = 12;
constexpr int kHashZiplist = 13, kListQuicklist = 14, kStreamListpacks = 15;
constexpr int kHashListpack = 16, kZSetListpack = 17, kListQuicklist2 = 18;
constexpr int kStreamListpacks2 = 19, kSetListpack = 20, kStreamListpacks3 = 21;
}  // namespace rdb

constexpr size_t kFooterSize = 10;  // RDB version (2) + CRC64 (8)
// ------------------------------------------------------------------ scores

// As Redis 7.0's ZRANGE WITHSCORES prints a score (addReplyDouble, RESP2).
std::string ScoreText(double score) {
  if (std::isinf(score)) return score > 0 ? "inf" : "-inf";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.17g", score);
  return buf;
}

// A score stored as text, read as Redis does (zzlStrtod: the first 127
// bytes, up to a NUL, through strtod; trailing bytes are ignored).
Status ParseScore(const std::string& text, double* out) {
  const std::string buf = text.substr(0, 127);
  char* end = nullptr;
  *out = std::strtod(buf.c_str(), &end);
  if (end == buf.c_str() || std::isnan(*out)) return Corrupt("zset score is not a number");
  return Status::Ok();
}

// rdbLoadDoubleValue: <len u8> text, or 253/254/255 for nan/+inf/-inf.
Status ReadTextScore(Cursor& c, double* out) {
  uint8_t len = 0;
  DUMP_TRY(c.Byte(&len, "zset score"));
  if (len == 253) return Corrupt("zset score is NaN");
  if (len >= 254) {
    *out = len == 254 ? HUGE_VAL : -HUGE_VAL;
    return Status::Ok();
  }
  std::string_view text;
  DUMP_TRY(c.Take(len, &text, "zset score"));
  return ParseScore(std::string(text), out);
}

Status ReadBinaryScore(Cursor& c, double* out) {
  uint64_t raw = 0;
  DUMP_TRY(c.Le(8, &raw, "zset score"));
  *out = std::bit_cast<double>(raw);
  if (std::isnan(*out)) return Corrupt("zset score is NaN");
  return Status::Ok();
}

// RDB_TYPE_ZSET / RDB_TYPE_ZSET_2: <count> { member score }*.
Status ReadScoredMembers(Cursor& c, bool binary, Pairs* out) {
  uint64_t count = 0;
  DUMP_TRY(ReadCount(c, 2, &count, "zset length"));
  for (uint64_t i = 0; i < count; ++i) {
    std::string member;
    double score = 0;
    DUMP_TRY(ReadRdbString(c, &member));
    DUMP_TRY(binary ? ReadBinaryScore(c, &score) : ReadTextScore(c, &score));
    out->emplace_back(std::move(member), ScoreText(score));
  }
  return Status::Ok();
}

// ------------------------------------------------------------------ objects

using BlobParser = Status (*)(std::string_view, Strings*);

// An RDB string holding an encoded structure (ziplist, listpack, intset).
Status ReadBlob(Cursor& c, BlobParser parse, Strings* out) {
  std::string blob;
  DUMP_TRY(ReadRdbString(c, &blob));
  return parse(blob, out);
}

Status PairUp(Strings flat, Pairs* out) {
  if (flat.size() % 2 != 0) return Corrupt("odd number of elements in a field/value encoding");
  for (size_t i = 0; i < flat.size(); i += 2) {
    out->emplace_back(std::move(flat[i]), std::move(flat[i + 1]));
  }
  return Status::Ok();
}

// RDB_TYPE_LIST_QUICKLIST(_2): <node count> { [<container: 1 plain, 2 packed>] blob }*.
Status ReadQuicklist(Cursor& c, bool v2, Strings* out) {
  uint64_t nodes = 0;
  DUMP_TRY(ReadCount(c, v2 ? 2 : 1, &nodes, "quicklist node count"));
  for (uint64_t i = 0; i < nodes; ++i) {
    uint64_t container = 2;
    if (v2) DUMP_TRY(ReadPlainLen(c, &container, "quicklist container"));
    if (container != 1 && container != 2) return Corrupt("unknown quicklist container");
    std::string blob;
    DUMP_TRY(ReadRdbString(c, &blob));
    if (blob.empty()) return Corrupt("empty quicklist node");
    if (container == 1) {
      out->push_back(std::move(blob));
    } else {
      DUMP_TRY(v2 ? ParseListpack(blob, out) : ParseZiplist(blob, out));
    }
  }
  return Status::Ok();
}

Status ReadList(int type, Cursor& c, Strings* out) {
  switch (type) {
    case rdb::kList: return ReadStringSeq(c, 1, out);
    case rdb::kListZiplist: return ReadBlob(c, ParseZiplist, out);
    default: return ReadQuicklist(c, type == rdb::kListQuicklist2, out);
  }
}

Status ReadSet(int type, Cursor& c, Strings* out) {
  switch (type) {
    case rdb::kSet: return ReadStringSeq(c, 1, out);
    case rdb::kSetIntset: return ReadBlob(c, ParseIntset, out);
    default: return ReadBlob(c, ParseListpack, out);
  }
}

Status ReadHash(int type, Cursor& c, Pairs* out) {
  Strings flat;
  if (type == rdb::kHashZipmap) {
    std::string blob;
    DUMP_TRY(ReadRdbString(c, &blob));
    return ParseZipmap(blob, out);
  }
  if (type == rdb::kHash) DUMP_TRY(ReadStringSeq(c, 2, &flat));
  if (type == rdb::kHashZiplist) DUMP_TRY(ReadBlob(c, ParseZiplist, &flat));
  if (type == rdb::kHashListpack) DUMP_TRY(ReadBlob(c, ParseListpack, &flat));
  return PairUp(std::move(flat), out);
}

Status ReadZSet(int type, Cursor& c, Pairs* out) {
  if (type == rdb::kZSet || type == rdb::kZSet2) return ReadScoredMembers(c, type == rdb::kZSet2, out);
  Strings flat;
  DUMP_TRY(ReadBlob(c, type == rdb::kZSetZiplist ? ParseZiplist : ParseListpack, &flat));
  DUMP_TRY(PairUp(std::move(flat), out));
  for (auto& [member, score] : *out) {
    double d = 0;
    DUMP_TRY(ParseScore(score, &d));
    score = ScoreText(d);
  }
  return Status::Ok();
}

// Sorts; Redis refuses empty aggregates and duplicate members/fields.
template <typename T>
Status SortUnique(std::vector<T>* elements, bool (*same)(const T&, const T&)) {
  if (elements->empty()) return Corrupt("empty aggregate value");
  std::sort(elements->begin(), elements->end());
  if (std::adjacent_find(elements->begin(), elements->end(), same) != elements->end()) {
    return Corrupt("duplicate element");
  }
  return Status::Ok();
}

bool SameString(const std::string& a, const std::string& b) { return a == b; }
bool SameKey(const std::pair<std::string, std::string>& a, const std::pair<std::string, std::string>& b) {
  return a.first == b.first;
}

std::string TypeLabel(int type) {
  switch (type) {
    case rdb::kModule:
    case rdb::kModule2: return "a module value";
    case rdb::kStreamListpacks:
    case rdb::kStreamListpacks2:
    case rdb::kStreamListpacks3: return "a stream";
    default: return "an unknown value";
  }
}

Error Unsupported(int type) {
  return Fail("cannot decode a DUMP payload holding " + TypeLabel(type) + ": RDB object type " +
              std::to_string(type) + " not supported");
}

Status DecodeObject(int type, Cursor& c, Value* v) {
  switch (type) {
    case rdb::kString:
      v->type = KeyType::kString;
      return ReadRdbString(c, &v->str);
    case rdb::kList: case rdb::kListZiplist: case rdb::kListQuicklist: case rdb::kListQuicklist2:
      v->type = KeyType::kList;
      DUMP_TRY(ReadList(type, c, &v->items));
      return v->items.empty() ? Status(Corrupt("empty list")) : Status::Ok();
    case rdb::kSet: case rdb::kSetIntset: case rdb::kSetListpack:
      v->type = KeyType::kSet;
      DUMP_TRY(ReadSet(type, c, &v->items));
      return SortUnique(&v->items, SameString);
    case rdb::kHash: case rdb::kHashZipmap: case rdb::kHashZiplist: case rdb::kHashListpack:
      v->type = KeyType::kHash;
      DUMP_TRY(ReadHash(type, c, &v->pairs));
      return SortUnique(&v->pairs, SameKey);
    case rdb::kZSet: case rdb::kZSet2: case rdb::kZSetZiplist: case rdb::kZSetListpack:
      v->type = KeyType::kZSet;
      DUMP_TRY(ReadZSet(type, c, &v->pairs));
      return SortUnique(&v->pairs, SameKey);
    default:
      return Unsupported(type);
  }
}

// The footer: RDB version (2 bytes LE) and CRC64 (8 bytes LE; 0 = unchecked).
Status CheckFooter(std::string_view payload) {
  Cursor footer(payload.substr(payload.size() - kFooterSize));
  uint64_t version = 0, crc = 0;
  DUMP_TRY(footer.Le(2, &version, "RDB version"));
  DUMP_TRY(footer.Le(8, &crc, "CRC64"));
  if (version == 0 || version > static_cast<uint64_t>(kMaxDumpRdbVersion)) {
    return Fail("DUMP payload has RDB version " + std::to_string(version) +
                "; keyshift reads versions 1 to " + std::to_string(kMaxDumpRdbVersion));
  }
  if (crc != 0 && crc != DumpCrc64(payload.substr(0, payload.size() - 8))) {
    return Fail("DUMP payload checksum mismatch: the journaled payload is damaged");
  }
  return Status::Ok();
}

// Reflected form of the Jones polynomial 0xad93d23594c935a9 (crc64.c).
constexpr uint64_t kCrc64ReflectedPoly = 0x95ac9329ac4bc9b5ULL;

constexpr std::array<uint64_t, 256> MakeCrc64Table() {
  std::array<uint64_t, 256> table{};
  for (uint64_t i = 0; i < 256; ++i) {
    uint64_t crc = i;
    for (int bit = 0; bit < 8; ++bit) crc = (crc & 1) ? (crc >> 1) ^ kCrc64ReflectedPoly : crc >> 1;
    table[i] = crc;
  }
  return table;
}

constexpr std::array<uint64_t, 256> kCrc64Table = MakeCrc64Table();

#undef DUMP_TRY

}  // namespace

uint64_t DumpCrc64(std::string_view data) {
  uint64_t crc = 0;
  for (const char ch : data) crc = kCrc64Table[(crc ^ static_cast<uint8_t>(ch)) & 0xff] ^ (crc >> 8);
  return crc;
}

Result<Value> DecodeDump(const std::string& payload) {
  if (payload.size() < kFooterSize + 2) {
    return Corrupt(std::to_string(payload.size()) + " bytes is too short for a DUMP payload");
  }
  if (Status footer = CheckFooter(payload); !footer.ok()) return footer.error();
  Cursor c(std::string_view(payload).substr(0, payload.size() - kFooterSize));
  uint8_t type = 0;
  Value value;
  Status body = c.Byte(&type, "type");
  if (body.ok()) body = DecodeObject(type, c, &value);
  if (!body.ok()) return body.error();
  if (!c.at_end()) return Corrupt(std::to_string(c.left()) + " unread bytes after the value");
  value.Normalize();
  return value;
}

}  // namespace keyshift
