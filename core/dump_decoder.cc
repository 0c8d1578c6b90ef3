// Decodes Redis DUMP payloads (one RDB-serialized object plus footer) into
// Values. Written from the RDB format as Redis 7.0 defines it (rdb.h/rdb.c,
// listpack.c, ziplist.c, intset.c, zipmap.c, lzf_d.c).
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

namespace keyshift {
namespace {

#define DUMP_TRY(expr)                                \
  do {                                                \
    if (Status dump_try_ = (expr); !dump_try_.ok()) { \
      return dump_try_.error();                       \
    }                                                 \
  } while (0)

using Strings = std::vector<std::string>;
using Pairs = std::vector<std::pair<std::string, std::string>>;

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

Error Corrupt(const std::string& what) { return Fail("corrupt DUMP payload: " + what); }

std::string Hex(unsigned value) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "0x%02x", value);
  return buf;
}

// Two's complement value of the low `bits` bits of `raw`.
int64_t SignExtend(uint64_t raw, int bits) {
  if (bits >= 64) return static_cast<int64_t>(raw);
  const int shift = 64 - bits;
  return static_cast<int64_t>(raw << shift) >> shift;
}

// ------------------------------------------------------------------ Cursor

// A bounds-checked reader over bytes.
class Cursor {
 public:
  explicit Cursor(std::string_view data) : data_(data) {}
  size_t left() const { return data_.size() - pos_; }
  size_t pos() const { return pos_; }
  bool at_end() const { return pos_ == data_.size(); }

  Status Take(uint64_t n, std::string_view* out, const char* what) {
    if (n > left()) {
      return Corrupt(std::string(what) + " needs " + std::to_string(n) + " bytes, " +
                     std::to_string(left()) + " left");
    }
    *out = data_.substr(pos_, n);
    pos_ += n;
    return Status::Ok();
  }
  Status Byte(uint8_t* out, const char* what) {
    std::string_view b;
    DUMP_TRY(Take(1, &b, what));
    *out = static_cast<uint8_t>(b[0]);
    return Status::Ok();
  }
  // Unsigned integer of `width` (1..8) bytes, little or big endian.
  Status Le(int width, uint64_t* out, const char* what) { return Int(width, false, out, what); }
  Status Be(int width, uint64_t* out, const char* what) { return Int(width, true, out, what); }

 private:
  Status Int(int width, bool big_endian, uint64_t* out, const char* what) {
    std::string_view b;
    DUMP_TRY(Take(width, &b, what));
    uint64_t v = 0;
    for (int i = 0; i < width; ++i) {
      const int at = big_endian ? i : width - 1 - i;
      v = (v << 8) | static_cast<uint8_t>(b[at]);
    }
    *out = v;
    return Status::Ok();
  }

  std::string_view data_;
  size_t pos_ = 0;
};

// ------------------------------------------------------------------ LZF

// A 3-byte LZF back reference yields at most 264 bytes: the bound on expansion.
constexpr uint64_t kLzfMaxExpansion = 88;

Status LzfLiteral(std::string_view in, size_t* ip, size_t n, uint64_t out_len, std::string* out) {
  if (n > in.size() - *ip) return Corrupt("LZF literal runs past its input");
  if (out->size() + n > out_len) return Corrupt("LZF data longer than its declared length");
  out->append(in.substr(*ip, n));
  *ip += n;
  return Status::Ok();
}

Status LzfBackRef(std::string_view in, size_t* ip, unsigned ctrl, uint64_t out_len,
                  std::string* out) {
  size_t len = ctrl >> 5;
  if (*ip >= in.size()) return Corrupt("LZF back reference runs past its input");
  if (len == 7) {
    len += static_cast<uint8_t>(in[(*ip)++]);
    if (*ip >= in.size()) return Corrupt("LZF back reference runs past its input");
  }
  const size_t distance = ((ctrl & 0x1fu) << 8) + static_cast<uint8_t>(in[(*ip)++]) + 1;
  len += 2;
  if (distance > out->size()) return Corrupt("LZF back reference points before the start");
  if (out->size() + len > out_len) return Corrupt("LZF data longer than its declared length");
  const size_t from = out->size() - distance;
  for (size_t i = 0; i < len; ++i) {
    const char ch = (*out)[from + i];  // may overlap what this loop appends
    out->push_back(ch);
  }
  return Status::Ok();
}

Status LzfDecompress(std::string_view in, uint64_t out_len, std::string* out) {
  if (out_len / kLzfMaxExpansion > in.size()) {
    return Corrupt("LZF length " + std::to_string(out_len) + " is impossible for " +
                   std::to_string(in.size()) + " compressed bytes");
  }
  out->clear();
  size_t ip = 0;
  while (ip < in.size()) {
    const unsigned ctrl = static_cast<uint8_t>(in[ip++]);
    if (ctrl < 32) {
      DUMP_TRY(LzfLiteral(in, &ip, ctrl + 1, out_len, out));
    } else {
      DUMP_TRY(LzfBackRef(in, &ip, ctrl, out_len, out));
    }
  }
  if (out->size() != out_len) {
    return Corrupt("LZF data holds " + std::to_string(out->size()) + " bytes, declared " +
                   std::to_string(out_len));
  }
  return Status::Ok();
}

// ------------------------------------------------------------------ RDB lengths and strings

struct RdbLen {
  uint64_t value = 0;
  bool encoded = false;  // 11xxxxxx: value is a string encoding (RDB_ENC_*)
};

// 00xxxxxx: 6 bits; 01xxxxxx + byte: 14 bits; 0x80 + BE u32; 0x81 + BE u64;
// 11xxxxxx: a special string encoding.
Status ReadRdbLen(Cursor& c, RdbLen* out) {
  uint8_t b = 0;
  DUMP_TRY(c.Byte(&b, "length"));
  out->encoded = false;
  switch (b >> 6) {
    case 0:
      out->value = b & 0x3f;
      return Status::Ok();
    case 1: {
      uint8_t lo = 0;
      DUMP_TRY(c.Byte(&lo, "14-bit length"));
      out->value = (static_cast<uint64_t>(b & 0x3f) << 8) | lo;
      return Status::Ok();
    }
    case 2:
      if (b == 0x80) return c.Be(4, &out->value, "32-bit length");
      if (b == 0x81) return c.Be(8, &out->value, "64-bit length");
      return Corrupt("unknown length prefix " + Hex(b));
    default:
      out->encoded = true;
      out->value = b & 0x3f;
      return Status::Ok();
  }
}

// A plain length (not a string encoding).
Status ReadPlainLen(Cursor& c, uint64_t* out, const char* what) {
  RdbLen len;
  DUMP_TRY(ReadRdbLen(c, &len));
  if (len.encoded) return Corrupt(std::string(what) + " is a string encoding");
  *out = len.value;
  return Status::Ok();
}

// A count of things that take at least `min_bytes` each: refuses counts the
// rest of the payload cannot hold, so no loop runs on a corrupt count.
Status ReadCount(Cursor& c, uint64_t min_bytes, uint64_t* out, const char* what) {
  DUMP_TRY(ReadPlainLen(c, out, what));
  if (*out > c.left() / min_bytes) {
    return Corrupt(std::string(what) + " " + std::to_string(*out) + " exceeds the payload");
  }
  return Status::Ok();
}

Status ReadIntString(Cursor& c, int width, std::string* out) {
  uint64_t raw = 0;
  DUMP_TRY(c.Le(width, &raw, "integer-encoded string"));
  *out = std::to_string(SignExtend(raw, width * 8));
  return Status::Ok();
}

Status ReadLzfString(Cursor& c, std::string* out) {
  uint64_t compressed_len = 0, len = 0;
  DUMP_TRY(ReadPlainLen(c, &compressed_len, "LZF compressed length"));
  DUMP_TRY(ReadPlainLen(c, &len, "LZF length"));
  std::string_view in;
  DUMP_TRY(c.Take(compressed_len, &in, "LZF data"));
  return LzfDecompress(in, len, out);
}

// An RDB string: raw, RDB_ENC_INT8/16/32 or RDB_ENC_LZF.
Status ReadRdbString(Cursor& c, std::string* out) {
  RdbLen len;
  DUMP_TRY(ReadRdbLen(c, &len));
  if (!len.encoded) {
    std::string_view bytes;
    DUMP_TRY(c.Take(len.value, &bytes, "string"));
    out->assign(bytes);
    return Status::Ok();
  }
  switch (len.value) {
    case 0: return ReadIntString(c, 1, out);
    case 1: return ReadIntString(c, 2, out);
    case 2: return ReadIntString(c, 4, out);
    case 3: return ReadLzfString(c, out);
    default: return Corrupt("unknown string encoding " + std::to_string(len.value));
  }
}

// `count` * `per_count` RDB strings after a count (list, set, hash bodies).
Status ReadStringSeq(Cursor& c, uint64_t per_count, Strings* out) {
  uint64_t count = 0;
  DUMP_TRY(ReadCount(c, per_count, &count, "element count"));
  for (uint64_t i = 0; i < count * per_count; ++i) {
    DUMP_TRY(ReadRdbString(c, &out->emplace_back()));
  }
  return Status::Ok();
}

// ------------------------------------------------------------------ listpack

// listpack.c: the back-length after each entry holds the entry's size in
// 1..5 bytes, most significant 7 bits first, all but the first with bit 7 set.
size_t LpBacklenSize(uint64_t entry_len) {
  if (entry_len <= 127) return 1;
  if (entry_len < 16383) return 2;
  if (entry_len < 2097151) return 3;
  if (entry_len < 268435455) return 4;
  return 5;
}

Status ReadLpBacklen(Cursor& c, uint64_t entry_len) {
  std::string_view b;
  DUMP_TRY(c.Take(LpBacklenSize(entry_len), &b, "listpack back-length"));
  uint64_t v = 0;
  for (size_t i = 0; i < b.size(); ++i) {
    const uint8_t x = static_cast<uint8_t>(b[i]);
    if ((x & 0x80) != (i == 0 ? 0 : 0x80)) return Corrupt("bad listpack back-length");
    v = (v << 7) | (x & 0x7f);
  }
  if (v != entry_len) return Corrupt("listpack back-length does not match its entry");
  return Status::Ok();
}

Status TakeString(Cursor& c, uint64_t len, std::string* out) {
  std::string_view bytes;
  DUMP_TRY(c.Take(len, &bytes, "listpack string"));
  out->assign(bytes);
  return Status::Ok();
}

Status TakeInt(Cursor& c, int width, int bits, std::string* out) {
  uint64_t raw = 0;
  DUMP_TRY(c.Le(width, &raw, "packed integer"));
  *out = std::to_string(SignExtend(raw, bits));
  return Status::Ok();
}

// One listpack entry's encoding and data; `b` is its first byte (not 0xFF).
Status ReadLpBody(Cursor& c, uint8_t b, std::string* out) {
  if (b < 0x80) {  // 0xxxxxxx: 7-bit unsigned integer
    *out = std::to_string(b);
    return Status::Ok();
  }
  if ((b & 0xc0) == 0x80) return TakeString(c, b & 0x3f, out);  // 10xxxxxx: 6-bit length
  uint8_t lo = 0;
  if ((b & 0xe0) == 0xc0) {  // 110xxxxx: 13-bit signed integer
    DUMP_TRY(c.Byte(&lo, "13-bit integer"));
    *out = std::to_string(SignExtend((static_cast<uint64_t>(b & 0x1f) << 8) | lo, 13));
    return Status::Ok();
  }
  if ((b & 0xf0) == 0xe0) {  // 1110xxxx: 12-bit length
    DUMP_TRY(c.Byte(&lo, "12-bit string length"));
    return TakeString(c, (static_cast<uint64_t>(b & 0x0f) << 8) | lo, out);
  }
  uint64_t len = 0;
  switch (b) {
    case 0xf0:
      DUMP_TRY(c.Le(4, &len, "32-bit string length"));
      return TakeString(c, len, out);
    case 0xf1: return TakeInt(c, 2, 16, out);
    case 0xf2: return TakeInt(c, 3, 24, out);
    case 0xf3: return TakeInt(c, 4, 32, out);
    case 0xf4: return TakeInt(c, 8, 64, out);
    default: return Corrupt("listpack entry with unknown encoding " + Hex(b));
  }
}

Status FinishListpack(const Cursor& c, uint64_t declared, uint64_t count) {
  if (!c.at_end()) return Corrupt("bytes after the listpack end");
  if (declared != 0xffff && declared != count) return Corrupt("listpack count mismatch");
  return Status::Ok();
}

// listpack.c: <total bytes u32 LE> <count u16 LE, 65535 = unknown> entries 0xFF.
Status ParseListpack(std::string_view blob, Strings* out) {
  Cursor c(blob);
  uint64_t total = 0, declared = 0;
  DUMP_TRY(c.Le(4, &total, "listpack header"));
  DUMP_TRY(c.Le(2, &declared, "listpack header"));
  if (total != blob.size()) return Corrupt("listpack size does not match its header");
  for (uint64_t count = 0;; ++count) {
    uint8_t b = 0;
    DUMP_TRY(c.Byte(&b, "listpack entry"));
    if (b == 0xff) return FinishListpack(c, declared, count);
    const size_t start = c.pos() - 1;
    DUMP_TRY(ReadLpBody(c, b, &out->emplace_back()));
    DUMP_TRY(ReadLpBacklen(c, c.pos() - start));
  }
}

// ------------------------------------------------------------------ ziplist

// ziplist.c entry encoding and data; `e` is the encoding byte.
Status ReadZipBody(Cursor& c, uint8_t e, std::string* out) {
  uint64_t len = 0;
  switch (e >> 6) {
    case 0: return TakeString(c, e & 0x3f, out);
    case 1: {
      uint8_t lo = 0;
      DUMP_TRY(c.Byte(&lo, "14-bit string length"));
      return TakeString(c, (static_cast<uint64_t>(e & 0x3f) << 8) | lo, out);
    }
    case 2:
      DUMP_TRY(c.Be(4, &len, "32-bit string length"));
      return TakeString(c, len, out);
  }
  if (e >= 0xf1 && e <= 0xfd) {  // 1111xxxx: immediate 0..12
    *out = std::to_string((e & 0x0f) - 1);
    return Status::Ok();
  }
  switch (e) {
    case 0xc0: return TakeInt(c, 2, 16, out);
    case 0xd0: return TakeInt(c, 4, 32, out);
    case 0xe0: return TakeInt(c, 8, 64, out);
    case 0xf0: return TakeInt(c, 3, 24, out);
    case 0xfe: return TakeInt(c, 1, 8, out);
    default: return Corrupt("ziplist entry with unknown encoding " + Hex(e));
  }
}

// prevlen: one byte < 254, or 0xFE + u32 LE; `b` is its first byte.
Status CheckZipPrevlen(Cursor& c, uint8_t b, uint64_t expected) {
  uint64_t prevlen = b;
  if (b == 0xfe) DUMP_TRY(c.Le(4, &prevlen, "ziplist prevlen"));
  if (prevlen != expected) return Corrupt("ziplist prevlen does not match the previous entry");
  return Status::Ok();
}

struct ZipHeader {
  uint64_t bytes = 0, tail = 0, count = 0;
};

Status FinishZiplist(const Cursor& c, const ZipHeader& h, uint64_t count, uint64_t last) {
  if (!c.at_end()) return Corrupt("bytes after the ziplist end");
  if (h.count != 0xffff && h.count != count) return Corrupt("ziplist count mismatch");
  if (h.tail != last) return Corrupt("ziplist tail offset mismatch");
  return Status::Ok();
}

// ziplist.c: <zlbytes u32> <zltail u32> <zllen u16> entries 0xFF, each entry
// <prevlen> <encoding> <data>.
Status ParseZiplist(std::string_view blob, Strings* out) {
  Cursor c(blob);
  ZipHeader h;
  DUMP_TRY(c.Le(4, &h.bytes, "ziplist header"));
  DUMP_TRY(c.Le(4, &h.tail, "ziplist header"));
  DUMP_TRY(c.Le(2, &h.count, "ziplist header"));
  if (h.bytes != blob.size()) return Corrupt("ziplist size does not match its header");
  uint64_t count = 0, prev_len = 0, last = c.pos();
  for (;;) {
    uint8_t b = 0, e = 0;
    DUMP_TRY(c.Byte(&b, "ziplist entry"));
    if (b == 0xff) return FinishZiplist(c, h, count, last);
    last = c.pos() - 1;
    DUMP_TRY(CheckZipPrevlen(c, b, prev_len));
    DUMP_TRY(c.Byte(&e, "ziplist encoding"));
    DUMP_TRY(ReadZipBody(c, e, &out->emplace_back()));
    prev_len = c.pos() - last;
    ++count;
  }
}

// ------------------------------------------------------------------ intset, zipmap

// intset.c: <width u32: 2, 4 or 8> <count u32> <count signed LE integers>.
Status ParseIntset(std::string_view blob, Strings* out) {
  Cursor c(blob);
  uint64_t width = 0, count = 0;
  DUMP_TRY(c.Le(4, &width, "intset header"));
  DUMP_TRY(c.Le(4, &count, "intset header"));
  if (width != 2 && width != 4 && width != 8) return Corrupt("intset width " + std::to_string(width));
  if (count > c.left() / width || count * width != c.left()) {
    return Corrupt("intset count does not match its size");
  }
  for (uint64_t i = 0; i < count; ++i) {
    DUMP_TRY(TakeInt(c, static_cast<int>(width), static_cast<int>(width * 8), &out->emplace_back()));
  }
  return Status::Ok();
}

// zipmap.c length: one byte < 254, or 254 + u32 (little endian on every
// platform Redis 2.x wrote it).
Status ReadZipmapLen(Cursor& c, uint8_t b, uint64_t* len) {
  if (b == 0xff) return Corrupt("zipmap key without a value");
  *len = b;
  if (b == 0xfe) return c.Le(4, len, "zipmap length");
  return Status::Ok();
}

Status ReadZipmapPair(Cursor& c, uint8_t b, Pairs* out) {
  uint64_t klen = 0, vlen = 0;
  std::string_view key, value, unused;
  uint8_t free = 0;
  DUMP_TRY(ReadZipmapLen(c, b, &klen));
  DUMP_TRY(c.Take(klen, &key, "zipmap key"));
  DUMP_TRY(c.Byte(&b, "zipmap value length"));
  DUMP_TRY(ReadZipmapLen(c, b, &vlen));
  DUMP_TRY(c.Byte(&free, "zipmap free count"));
  DUMP_TRY(c.Take(vlen, &value, "zipmap value"));
  DUMP_TRY(c.Take(free, &unused, "zipmap free space"));
  out->emplace_back(key, value);
  return Status::Ok();
}

// zipmap.c (hashes before Redis 2.6): <count u8, 254 = unknown>
// { <len> key <len> <free u8> value <free bytes> }* 0xFF.
Status ParseZipmap(std::string_view blob, Pairs* out) {
  Cursor c(blob);
  uint8_t declared = 0, b = 0;
  DUMP_TRY(c.Byte(&declared, "zipmap header"));
  const size_t before = out->size();
  for (;;) {
    DUMP_TRY(c.Byte(&b, "zipmap entry"));
    if (b == 0xff) break;
    DUMP_TRY(ReadZipmapPair(c, b, out));
  }
  if (!c.at_end()) return Corrupt("bytes after the zipmap end");
  if (declared < 254 && declared != out->size() - before) return Corrupt("zipmap count mismatch");
  return Status::Ok();
}

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
