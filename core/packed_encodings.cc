#include "core/packed_encodings.h"

#include "core/rdb_reader.h"

namespace keyshift::dump {

namespace {
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

}  // namespace

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

namespace {

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

}  // namespace

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

namespace {

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

}  // namespace

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

}  // namespace keyshift::dump
