#include "core/rdb_reader.h"

#include <cstdio>

#include "core/lzf.h"

namespace keyshift::dump {

namespace {

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

}  // namespace

Status ReadPlainLen(Cursor& c, uint64_t* out, const char* what) {
  RdbLen len;
  DUMP_TRY(ReadRdbLen(c, &len));
  if (len.encoded) return Corrupt(std::string(what) + " is a string encoding");
  *out = len.value;
  return Status::Ok();
}

Status ReadCount(Cursor& c, uint64_t min_bytes, uint64_t* out, const char* what) {
  DUMP_TRY(ReadPlainLen(c, out, what));
  if (*out > c.left() / min_bytes) {
    return Corrupt(std::string(what) + " " + std::to_string(*out) + " exceeds the payload");
  }
  return Status::Ok();
}

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

}  // namespace keyshift::dump
